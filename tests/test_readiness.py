"""Readiness: the Beta/beta-binomial math by hand, then evaluate() and snapshots on the mini bank."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Attempt, BankRelease, Response
from app.models.base import utcnow
from app.services import accounts, banks, calibration, practice, readiness
from app.services.readiness import (
    allocate,
    beta_binomial_pmf,
    beta_cdf,
    beta_quantile,
    pass_probability,
    posterior,
)

CPRS = {"advocacy": 0.25, "ethics": 0.30, "mentoring": 0.20, "recovery": 0.25}
approx = pytest.approx


# --- Pure math -------------------------------------------------------------------------------------------


def test_posterior_adds_successes_and_failures_to_uniform_prior():
    assert posterior(7, 10) == (8, 4)
    assert posterior(0, 0) == (1, 1)
    assert posterior(3, 3, prior=(2, 5)) == (5, 5)


@pytest.mark.parametrize(("correct", "answered"), [(-1, 3), (4, 3)])
def test_posterior_rejects_impossible_counts(correct, answered):
    with pytest.raises(ValueError):
        posterior(correct, answered)


@pytest.mark.parametrize("x", [0.1, 0.25, 0.5, 0.8, 0.95])
def test_beta_cdf_matches_closed_forms(x):
    assert beta_cdf(x, 1, 1) == approx(x)
    assert beta_cdf(x, 2, 1) == approx(x**2)
    assert beta_cdf(x, 1, 2) == approx(1 - (1 - x) ** 2)
    assert beta_cdf(x, 2, 2) == approx(3 * x**2 - 2 * x**3)
    assert beta_cdf(x, 1, 5) == approx(1 - (1 - x) ** 5)


def test_beta_cdf_edges():
    assert beta_cdf(0.5, 1, 1) == 0.5
    assert beta_cdf(0.0, 3, 4) == 0.0
    assert beta_cdf(-1.0, 3, 4) == 0.0
    assert beta_cdf(1.0, 3, 4) == 1.0
    assert beta_cdf(0.5, 6, 6) == approx(0.5)  # symmetric


@pytest.mark.parametrize(("a", "b"), [(1, 1), (2, 1), (8, 4), (31, 2), (3, 40)])
@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_beta_quantile_inverts_cdf(a, b, q):
    x = beta_quantile(q, a, b)
    assert 0.0 < x < 1.0
    assert beta_cdf(x, a, b) == approx(q, abs=1e-9)


def test_beta_quantile_hand_values():
    assert beta_quantile(0.25, 2, 1) == approx(0.5)  # x^2 = 0.25
    assert beta_quantile(0.1, 1, 1) == approx(0.1)
    assert beta_quantile(0.0, 2, 3) == 0.0
    assert beta_quantile(1.0, 2, 3) == 1.0


def test_beta_binomial_pmf_hand_values():
    assert beta_binomial_pmf(2, 1, 1) == approx([1 / 3, 1 / 3, 1 / 3])
    assert beta_binomial_pmf(1, 2, 1) == approx([1 / 3, 2 / 3])  # P(correct) = posterior mean 2/3
    assert beta_binomial_pmf(0, 5, 2) == approx([1.0])
    # Beta(2, 2), n = 2: C(2,k) B(k+2, 4-k) / B(2,2) -> 0.3, 0.4, 0.3
    assert beta_binomial_pmf(2, 2, 2) == approx([0.3, 0.4, 0.3])


@pytest.mark.parametrize(("n", "a", "b"), [(10, 1, 1), (40, 31, 2), (12, 3, 9)])
def test_beta_binomial_pmf_is_a_distribution_with_the_right_mean(n, a, b):
    pmf = beta_binomial_pmf(n, a, b)
    assert len(pmf) == n + 1
    assert math.fsum(pmf) == approx(1.0)
    assert math.fsum(k * p for k, p in enumerate(pmf)) == approx(n * a / (a + b))


def test_allocate_cprs_blueprint():
    assert allocate(40, CPRS) == {"advocacy": 10, "ethics": 12, "mentoring": 8, "recovery": 10}


def test_allocate_uses_largest_remainder():
    # Quotas 3.4 / 3.3 / 3.3: plain rounding gives 3+3+3 = 9; the spare question goes to the largest remainder.
    assert allocate(10, {"a": 0.34, "b": 0.33, "c": 0.33}) == {"a": 4, "b": 3, "c": 3}
    # Quotas 1.5 / 1.5 / 1.0: plain rounding gives 2+2+1 = 5; floors 1+1+1 leave one spare for the first tie.
    assert allocate(4, {"a": 0.375, "b": 0.375, "c": 0.25}) == {"a": 2, "b": 1, "c": 1}


def test_allocate_breaks_ties_by_domain_order_not_name():
    assert allocate(5, {"zeta": 0.5, "alpha": 0.5}) == {"zeta": 3, "alpha": 2}
    assert allocate(10, {"c": 1 / 3, "b": 1 / 3, "a": 1 / 3}) == {"c": 4, "b": 3, "a": 3}


@pytest.mark.parametrize("length", [1, 3, 7, 13, 40, 150])
def test_allocate_always_sums_to_length(length):
    assert sum(allocate(length, CPRS).values()) == length


def test_pass_probability_single_domain_by_hand():
    assert pass_probability({"a": (1, 1)}, {"a": 2}, 1.0) == approx(1 / 3)
    assert pass_probability({"a": (1, 1)}, {"a": 2}, 0.5) == approx(2 / 3)
    assert pass_probability({"a": (1, 1)}, {"a": 2}, 0.0) == approx(1.0)


def test_pass_probability_two_domains_by_hand():
    posteriors = {"a": (2, 1), "b": (1, 1)}  # a: P(right) 2/3 -> [1/3, 2/3]; b: [1/2, 1/2]
    allocation = {"a": 1, "b": 1}
    assert pass_probability(posteriors, allocation, 1.0) == approx(2 / 3 * 1 / 2)  # both right
    assert pass_probability(posteriors, allocation, 0.5) == approx(1 - 1 / 3 * 1 / 2)  # not both wrong


def test_pass_probability_two_uniform_domains_of_two():
    # Each domain uniform on {0, 1, 2}; the sum is 0..4 with weights 1,2,3,2,1 / 9. Need 3 of 4 (cut 0.75).
    assert pass_probability({"a": (1, 1), "b": (1, 1)}, {"a": 2, "b": 2}, 0.75) == approx(3 / 9)


def test_pass_probability_cut_is_not_pushed_up_by_float_error():
    # 0.7 * 10 = 7.000000000000001; the pass mark is 7, so P(K >= 7) under uniform 0..10 is 4/11.
    assert pass_probability({"a": (1, 1)}, {"a": 10}, 0.7) == approx(4 / 11)


def test_pass_probability_ignores_empty_domains_and_defaults_unknown_ones():
    assert pass_probability({"a": (1, 1), "b": (50, 1)}, {"a": 2, "b": 0}, 1.0) == approx(1 / 3)
    assert pass_probability({}, {"a": 2}, 1.0) == approx(1 / 3)


def test_pass_probability_rises_with_correct_answers():
    allocation = allocate(40, CPRS)
    values = [
        pass_probability({d: posterior(correct, 20) for d in CPRS}, allocation, 0.70) for correct in range(0, 21, 2)
    ]
    assert values == sorted(values)
    assert values[0] < 0.01 < 0.99 < values[-1]
    assert all(later > earlier for earlier, later in zip(values, values[1:], strict=False))


# --- Database --------------------------------------------------------------------------------------------


@pytest.fixture
def ctx(db_ctx, mini_release):
    """(user, release, track) for the mini bank's 'basic' track."""
    user = accounts.register_user("riley@example.org", "Riley", "correct-horse-battery")
    release = db.session.get(BankRelease, mini_release)
    track = banks.get_track(release, "basic")
    assert track is not None
    return user, release, track


def practise(user, release, *, right: bool = True, domain: str | None = None, seed: int = 1) -> Attempt:
    """Answer a whole practice attempt (every mini-bank question, or one domain's) all right or all wrong."""
    attempt = practice.start_practice(user, release, domain=domain, count=5, seed=seed)
    for response in list(attempt.responses):
        key = response.option_order.index(response.question_version.correct_index)
        choice = key if right else (key + 1) % len(response.option_order)
        practice.answer(attempt, response.position, choice)
    return attempt


def take_exam(user, release, passed: bool, when: datetime | None = None, track: str = "basic") -> Attempt:
    """A submitted mock exam row (the exam engine is tested elsewhere)."""
    when = when or utcnow()
    attempt = Attempt(
        user_id=user.id,
        release_id=release.id,
        mode="exam",
        track=track,
        seed=1,
        started_at=when - timedelta(minutes=5),
        submitted_at=when,
        score=0.9 if passed else 0.4,
        passed=passed,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def rules(result) -> dict[str, bool]:
    return {rule.key: rule.met for rule in result.rules}


def lenient(track: dict, target: float = 0.6) -> dict:
    """The mini track with a lower probability target: the mini bank holds only 3 usable first-time answers,
    and 3 right answers under the cautious prior (and a possibly harder real exam) give about 0.7."""
    return {**track, "readiness": {**track["readiness"], "target_probability": target}}


def make_ready(user, release, rounds: int = 3) -> None:
    for seed in range(rounds):
        practise(user, release, seed=seed)
    take_exam(user, release, passed=True)


def test_new_learner_sees_not_enough_answers_and_the_population_prior(ctx):
    user, release, track = ctx
    result = readiness.evaluate(user, release, track)
    assert (result.track_id, result.track_title, result.cut_score) == ("basic", "Basic track", 0.75)
    assert [d.domain for d in result.domains] == ["advocacy", "ethics"]
    assert [d.name for d in result.domains] == ["Advocacy", "Ethical Responsibility"]
    for estimate in result.domains:
        assert (estimate.answered, estimate.correct, estimate.weight) == (0, 0, 0.5)
        assert 0 < estimate.low < estimate.mean < estimate.high < 1
    assert result.evidence == 0 and not result.enough_evidence
    assert result.chance == "not enough answers yet"
    probability_rule = next(rule for rule in result.rules if rule.key == "probability")
    assert not probability_rule.met and "Not enough answers yet" in probability_rule.detail
    assert result.coverage == 0.0
    assert rules(result) == {"recent_exams": False, "domain_floor": True, "coverage": False, "probability": False}
    assert not result.ready
    assert all(rule.label and rule.detail for rule in result.rules)


def test_estimates_rise_and_fall_with_first_time_answers(ctx):
    user, release, track = ctx
    practise(user, release, right=True, domain="advocacy")  # 3 questions, 2 families
    practise(user, release, right=False, domain="ethics")  # 2 questions
    result = readiness.evaluate(user, release, track)
    advocacy, ethics = result.domains
    # adv-one-q2 was answered after adv-one-q1's rationale was shown: it does not count.
    assert (advocacy.answered, advocacy.correct) == (2, 2)
    assert (ethics.answered, ethics.correct) == (1, 0)  # the ethics window is 2 - 1 = 1 (below the bank size)
    assert advocacy.mean > ethics.mean
    assert advocacy.low < advocacy.mean < advocacy.high
    assert result.coverage == 1.0


def test_repeats_and_answers_after_feedback_never_count(ctx):
    user, release, track = ctx
    practise(user, release, right=False, domain="advocacy", seed=1)
    first = readiness.evaluate(user, release, track).domains[0]
    for seed in range(2, 6):  # the same questions again, now right: memory, not knowledge
        practise(user, release, right=True, domain="advocacy", seed=seed)
    again = readiness.evaluate(user, release, track).domains[0]
    assert (again.answered, again.correct) == (first.answered, first.correct) == (2, 0)
    assert again.mean == approx(first.mean)


def answered_attempt(user, release, domain: str, right: bool, when: datetime, **fields) -> Attempt:
    """An attempt (practice unless ``fields`` say otherwise) answering every question of a domain at ``when``."""
    fields = {"mode": "practice", **fields}
    fields.setdefault("domain", domain if fields["mode"] == "practice" else None)
    attempt = Attempt(user_id=user.id, release_id=release.id, seed=1, **fields)
    db.session.add(attempt)
    for position, version in enumerate(practice.candidate_versions(release, domain, None), start=1):
        chosen = version.correct_index if right else (version.correct_index + 1) % len(version.options)
        attempt.responses.append(
            Response(
                position=position,
                question_id=version.question_id,
                question_version=version,
                option_order=list(range(len(version.options))),
                chosen_option=chosen,
                correct=right,
                answered_at=when,
            )
        )
    db.session.flush()
    return attempt


def exam_answers(user, release, domain: str, right: bool, when: datetime, submitted: bool = True) -> Attempt:
    """An exam attempt answering every question of a domain at ``when`` (submitted a minute later, or open)."""
    return answered_attempt(
        user,
        release,
        domain,
        right,
        when,
        mode="exam",
        track="basic",
        started_at=when - timedelta(minutes=1),
        deadline_at=when + timedelta(hours=1),
        submitted_at=when + timedelta(minutes=1) if submitted else None,
    )


def test_open_exam_answers_count_only_once_it_is_submitted(ctx):
    user, release, track = ctx
    when = utcnow() - timedelta(minutes=10)
    attempt = exam_answers(user, release, "advocacy", right=True, when=when, submitted=False)
    assert readiness.evaluate(user, release, track).domains[0].answered == 0
    attempt.submitted_at = when + timedelta(minutes=1)
    db.session.flush()
    advocacy = readiness.evaluate(user, release, track).domains[0]
    # Exam answers all count (no feedback until submit), up to the domain's window of 3 - 1.
    assert (advocacy.answered, advocacy.correct) == (2, 2)


def test_exam_answers_weigh_more_than_practice_answers(ctx):
    user, release, track = ctx
    other = accounts.register_user("kim@example.org", "Kim", "correct-horse-battery")
    when = utcnow() - timedelta(hours=1)
    exam_answers(user, release, "ethics", right=True, when=when)
    answered_attempt(other, release, "ethics", right=True, when=when)
    by_exam = readiness.evaluate(user, release, track).domains[1]
    by_practice = readiness.evaluate(other, release, track).domains[1]
    assert by_exam.answered == by_practice.answered == 1
    assert by_exam.mean > by_practice.mean


def test_other_learners_and_unanswered_questions_do_not_count(ctx):
    user, release, track = ctx
    other = accounts.register_user("kim@example.org", "Kim", "correct-horse-battery")
    practise(other, release)
    practice.start_practice(user, release, count=5, seed=3)  # started, never answered
    result = readiness.evaluate(user, release, track)
    assert [d.answered for d in result.domains] == [0, 0]
    assert result.coverage == 0.0


def statements_during(call) -> int:
    """How many SQL statements ``call`` runs."""
    seen: list[str] = []

    def count(*args):
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_evaluate_runs_a_fixed_number_of_queries(ctx):
    user, release, track = ctx
    practise(user, release, seed=1)
    few = statements_during(lambda: readiness.evaluate(user, release, track))
    for seed in range(2, 5):
        practise(user, release, seed=seed)
    take_exam(user, release, passed=True)
    assert statements_during(lambda: readiness.evaluate(user, release, track)) == few <= 7


def test_ready_when_every_rule_is_met(ctx):
    user, release, track = ctx
    track = lenient(track)
    make_ready(user, release)
    result = readiness.evaluate(user, release, track)
    assert rules(result) == {"recent_exams": True, "domain_floor": True, "coverage": True, "probability": True}
    assert result.ready
    # Rules compare what the page shows: the displayed percent reaches the target's.
    assert readiness.shown_percent(result.probability) >= readiness.shown_percent(
        track["readiness"]["target_probability"]
    )


def test_recent_exam_rule_follows_the_latest_exam(ctx):
    user, release, track = ctx
    track = lenient(track)
    for seed in range(3):
        practise(user, release, seed=seed)
    start = utcnow() - timedelta(days=3)
    assert rules(readiness.evaluate(user, release, track))["recent_exams"] is False  # none taken
    take_exam(user, release, passed=False, when=start)
    assert rules(readiness.evaluate(user, release, track))["recent_exams"] is False
    take_exam(user, release, passed=True, when=start + timedelta(days=1))
    result = readiness.evaluate(user, release, track)
    assert rules(result)["recent_exams"] is True
    assert result.ready
    take_exam(user, release, passed=False, when=start + timedelta(days=2))
    assert rules(readiness.evaluate(user, release, track))["recent_exams"] is False


def test_recent_exam_rule_needs_enough_submitted_exams_on_this_track(ctx):
    user, release, track = ctx
    track = {**track, "readiness": {**track["readiness"], "min_recent_exams": 2}}
    take_exam(user, release, passed=True)
    take_exam(user, release, passed=True, track="other")  # another track
    db.session.add(Attempt(user_id=user.id, release_id=release.id, mode="exam", track="basic", seed=1))  # unfinished
    db.session.flush()
    rule = readiness.evaluate(user, release, track).rules[0]
    assert (rule.key, rule.met) == ("recent_exams", False)
    assert "1 more" in rule.detail
    take_exam(user, release, passed=True)
    assert readiness.evaluate(user, release, track).rules[0].met


def test_domain_floor_rule_flips_on_a_weak_domain(ctx):
    user, release, track = ctx
    track = {**track, "readiness": {**track["readiness"], "domain_floor": 0.6}}
    practise(user, release, right=True, domain="advocacy")
    assert rules(readiness.evaluate(user, release, track))["domain_floor"] is True  # ethics borrows from advocacy
    exam_answers(user, release, "ethics", right=False, when=utcnow() - timedelta(minutes=5))
    result = readiness.evaluate(user, release, track)
    floor = next(rule for rule in result.rules if rule.key == "domain_floor")
    assert not floor.met
    assert "Ethical Responsibility" in floor.detail and "Advocacy" not in floor.detail


def test_coverage_rule_counts_distinct_questions(ctx):
    user, release, track = ctx
    practise(user, release, domain="ethics")  # 2 of 5 questions
    practise(user, release, domain="ethics", seed=2)  # the same 2 again
    result = readiness.evaluate(user, release, track)
    assert result.coverage == approx(2 / 5)
    assert rules(result)["coverage"] is False
    practise(user, release, domain="advocacy")  # all 5
    result = readiness.evaluate(user, release, track)
    assert result.coverage == 1.0
    assert rules(result)["coverage"] is True


def test_probability_rule_flips_with_accuracy(ctx):
    user, release, track = ctx
    track = lenient(track)
    first = readiness.evaluate(user, release, track)  # no answers: not enough evidence
    assert rules(first)["probability"] is False
    practise(user, release, seed=1)
    second = readiness.evaluate(user, release, track)
    assert second.enough_evidence and second.probability > first.probability
    assert rules(second)["probability"] is True
    other = accounts.register_user("kim@example.org", "Kim", "correct-horse-battery")
    practise(other, release, right=False, seed=1)
    third = readiness.evaluate(other, release, track)
    assert third.enough_evidence and third.probability < first.probability < second.probability
    assert rules(third)["probability"] is False
    assert not third.ready


def test_evaluate_as_of_an_earlier_time_ignores_later_data(ctx):
    user, release, track = ctx
    before = utcnow() - timedelta(seconds=1)
    make_ready(user, release)
    result = readiness.evaluate(user, release, track, now=before)
    assert [d.answered for d in result.domains] == [0, 0]
    assert result.coverage == 0.0
    assert not result.ready


def test_record_snapshot_stores_the_evaluation(ctx):
    user, release, track = ctx
    attempt = practise(user, release)
    snapshot = readiness.record_snapshot(user, release, track, attempt=attempt)
    assert snapshot.id is not None
    result = readiness.evaluate(user, release, track)
    assert (snapshot.user_id, snapshot.track, snapshot.attempt_id) == (user.id, "basic", attempt.id)
    assert snapshot.probability == approx(result.probability)
    assert snapshot.domains == {d.domain: approx(d.mean) for d in result.domains}
    assert snapshot.taken_at <= utcnow()


def test_history_is_oldest_first_per_user_and_track(ctx):
    user, release, track = ctx
    other = accounts.register_user("kim@example.org", "Kim", "correct-horse-battery")
    base = datetime(2024, 5, 1, 12, 0)
    for day in (3, 1, 2):  # recorded out of order
        readiness.record_snapshot(user, release, track, now=base + timedelta(days=day))
    readiness.record_snapshot(other, release, track, now=base)
    readiness.record_snapshot(user, release, {**track, "id": "other"}, now=base)
    taken = [s.taken_at for s in readiness.history(user, "basic")]
    assert taken == [base + timedelta(days=day) for day in (1, 2, 3)]
    assert [s.taken_at for s in readiness.history(user, "basic", limit=2)] == [
        base + timedelta(days=2),
        base + timedelta(days=3),
    ]
    assert len(readiness.history(other, "basic")) == 1
    assert readiness.history(user, "missing") == []


# --- One formatter, and rules that compare what is displayed ------------------------------------------


@pytest.mark.parametrize(
    ("value", "enough", "text"),
    [
        (0.999, True, "over 99%"),
        (1.0, True, "over 99%"),
        (0.0, True, "under 1%"),
        (0.004, True, "under 1%"),
        (0.995, True, "over 99%"),
        (0.634, True, "63%"),
        (0.635, True, "64%"),
        (0.9, False, "not enough answers yet"),
        (None, True, "not enough answers yet"),
    ],
)
def test_chance_text_never_claims_certainty(value, enough, text):
    assert readiness.chance_text(value, enough) == text


def test_probability_rule_compares_the_displayed_percent():
    estimate = readiness.Estimate(0.7996, [], evidence=30, exam_length=75)
    rule = readiness._probability_rule(0.7996, 0.80, estimate)
    assert rule.met and "80%" in rule.detail and "aim" not in rule.detail
    below = readiness._probability_rule(0.7949, 0.80, estimate)
    assert not below.met and "79%" in below.detail and "the aim is 80%" in below.detail


def test_rules_speak_of_the_learner_in_the_third_person_for_staff(ctx):
    user, release, track = ctx
    mine = readiness.evaluate(user, release, track)
    theirs = readiness.evaluate(user, release, track, you=False)
    assert "Take 1 more mock exam: your last mock exam must be passed." in [r.detail for r in mine.rules]
    assert "This learner needs 1 more mock exam." in [r.detail for r in theirs.rules]
    assert not any(r.detail.startswith(("You ", "Your ")) for r in theirs.rules)


def test_plurals_are_correct():
    assert readiness.plural(1, "more mock exam") == "1 more mock exam"
    assert readiness.plural(2, "more mock exam") == "2 more mock exams"


# --- Live calibration: stated chances against later mock-exam results -----------------------------------


def test_summarize_computes_brier_ece_and_reliability_by_hand():
    pairs = [(0.9, True), (0.9, True), (0.9, False), (0.2, False)]
    live = calibration.summarize(pairs)
    assert live.pairs == 4 and live.caution
    assert live.brier == approx((0.01 + 0.01 + 0.81 + 0.04) / 4)
    assert live.base_rate_brier == approx((0.25 + 0.25 + 0.25 + 0.25) / 4)
    # bins: 0.2 -> observed 0 (gap 0.2, weight 1/4); 0.9 -> observed 2/3 (gap 0.2333, weight 3/4)
    assert live.ece == approx(0.2 / 4 + (0.9 - 2 / 3) * 3 / 4)
    assert [(b.low, b.count) for b in live.bins] == [(0.2, 1), (0.9, 3)]
    assert calibration.summarize([]).pairs == 0


def test_live_calibration_pairs_each_exam_with_the_chance_shown_before_it(ctx):
    user, release, track = ctx
    base = utcnow() - timedelta(days=5)
    snapshot = readiness.record_snapshot(user, release, track, now=base)
    snapshot.evidence, snapshot.probability = 25, 0.8
    thin = readiness.record_snapshot(user, release, track, now=base + timedelta(days=2))
    thin.evidence, thin.probability = 3, 0.1  # "not enough answers yet" was shown: not a stated chance
    exam = take_exam(user, release, passed=True, when=base + timedelta(days=3))
    exam.started_at = base + timedelta(days=3)
    take_exam(user, release, passed=False, when=base - timedelta(days=1))  # before any snapshot: no pair
    db.session.flush()
    live = calibration.live_calibration()
    assert live.pairs == 1 and live.brier == approx(0.04)
    assert [(b.count, b.stated, b.observed) for b in live.bins] == [(1, approx(0.8), 1.0)]
