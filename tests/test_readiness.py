"""Readiness: the Beta/beta-binomial math by hand, then evaluate() and snapshots on the mini bank."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Attempt, BankRelease, Response
from app.models.base import utcnow
from app.services import accounts, banks, practice, readiness
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


def make_ready(user, release, rounds: int = 3) -> None:
    for seed in range(rounds):
        practise(user, release, seed=seed)
    take_exam(user, release, passed=True)


def test_new_learner_gets_uniform_estimates(ctx):
    user, release, track = ctx
    result = readiness.evaluate(user, release, track)
    assert (result.track_id, result.track_title, result.cut_score) == ("basic", "Basic track", 0.75)
    assert [d.domain for d in result.domains] == ["advocacy", "ethics"]
    assert [d.name for d in result.domains] == ["Advocacy", "Ethical Responsibility"]
    for estimate in result.domains:
        assert (estimate.answered, estimate.correct, estimate.weight) == (0, 0, 0.5)
        assert estimate.mean == 0.5
        assert (estimate.low, estimate.high) == (approx(0.1), approx(0.9))
    assert result.probability == approx(1 / 3)  # 2 + 2 questions from uniform domains, need 3 of 4
    assert result.coverage == 0.0
    assert rules(result) == {"recent_exams": False, "domain_floor": True, "coverage": False, "probability": False}
    assert not result.ready
    assert all(rule.label and rule.detail for rule in result.rules)


def test_estimates_count_answers_per_domain(ctx):
    user, release, track = ctx
    practise(user, release, right=True, domain="advocacy")  # 3 questions
    practise(user, release, right=False, domain="ethics")  # 2 questions
    result = readiness.evaluate(user, release, track)
    advocacy, ethics = result.domains
    assert (advocacy.answered, advocacy.correct, advocacy.mean) == (3, 3, approx(4 / 5))
    assert (ethics.answered, ethics.correct, ethics.mean) == (2, 0, approx(1 / 4))
    assert advocacy.low < advocacy.mean < advocacy.high
    assert beta_cdf(advocacy.low, 4, 1) == approx(0.1)
    assert result.coverage == 1.0
    expected = pass_probability({"advocacy": (4, 1), "ethics": (1, 3)}, {"advocacy": 2, "ethics": 2}, 0.75)
    assert result.probability == approx(expected)


def answered_attempt(user, release, domain: str, right: bool, when: datetime) -> Attempt:
    """A practice attempt answering every question of a domain at ``when``, written directly as rows."""
    attempt = Attempt(user_id=user.id, release_id=release.id, mode="practice", domain=domain, seed=1)
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


def test_only_the_most_recent_answers_count(ctx):
    user, release, track = ctx
    start = datetime(2024, 1, 1, 9, 0)
    for hour in range(1, 18):  # 17 x 3 = 51 right answers
        answered_attempt(user, release, "advocacy", right=True, when=start + timedelta(hours=hour))
    answered_attempt(user, release, "advocacy", right=False, when=start)  # 3 wrong: newest rows, oldest answers
    advocacy, ethics = readiness.evaluate(user, release, track).domains
    assert (advocacy.answered, advocacy.correct) == (readiness.RECENT_ANSWERS, readiness.RECENT_ANSWERS)
    assert (ethics.answered, ethics.correct) == (0, 0)
    answered_attempt(user, release, "advocacy", right=False, when=start + timedelta(days=1))
    advocacy = readiness.evaluate(user, release, track).domains[0]
    assert (advocacy.answered, advocacy.correct) == (50, 47)


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
    assert statements_during(lambda: readiness.evaluate(user, release, track)) == few <= 5


def test_ready_when_every_rule_is_met(ctx):
    user, release, track = ctx
    make_ready(user, release)
    result = readiness.evaluate(user, release, track)
    assert rules(result) == {"recent_exams": True, "domain_floor": True, "coverage": True, "probability": True}
    assert result.ready
    assert result.probability >= track["readiness"]["target_probability"]


def test_recent_exam_rule_follows_the_latest_exam(ctx):
    user, release, track = ctx
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
    practise(user, release, right=True, domain="advocacy")
    assert rules(readiness.evaluate(user, release, track))["domain_floor"] is True  # ethics still 0.5
    practise(user, release, right=False, domain="ethics")
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
    make_ready(user, release, rounds=1)  # 5 right answers: not yet enough evidence
    first = readiness.evaluate(user, release, track)
    assert rules(first)["probability"] is False
    for seed in range(1, 3):
        practise(user, release, seed=seed)
    second = readiness.evaluate(user, release, track)
    assert second.probability > first.probability
    assert rules(second)["probability"] is True
    for seed in range(3, 6):
        practise(user, release, right=False, seed=seed)
    third = readiness.evaluate(user, release, track)
    assert third.probability < second.probability
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
