"""Item analysis per form: CTT figures and Rasch fit against hand-computed values; conventions; pages.

The tiny data set (five learners, one submitted mock exam each on the mini bank, three items) used by
the older tests:

    learner   A = adv-one-q1 (key 0)   B = adv-two-q1 (key 1)   C = eth-one-q1 (key 1)   total
       1          0 -> 1                   1 -> 1                   1 -> 1                  3
       2          0 -> 1                   1 -> 1                   3 -> 0                  2
       3          0 -> 1                   0 -> 0                   1 -> 1                  2
       4          0 -> 1                   2 -> 0                   0 -> 0                  1
       5          1 -> 0                   0 -> 0                   0 -> 0                  0

(chosen original option -> score).

The mixed data set (``long_bank``: 40 stand-alone items, key always A, even items 4 options, odd 3):
- the long form: ten learners L0..L9 each take one 40-question mock exam; Lj answers items i < 4j
  correctly and the others with B (j even) or C (j odd), so totals are 0, 4, ..., 36. L0 leaves item 5
  blank (omitted: it answers later ones) and items 30-39 blank (not reached);
- the short form: a trainer's 5-question exam set (items 0-4, pass mark 0.6) taken by six learners S1..S6
  (SHORT below, None = blank).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import event, func, select

import quizbank
from app.extensions import db
from app.models import Attempt, Bank, BankRelease, Organization, QuestionSet, QuestionVersion, Response, User
from app.services import accounts, banks, item_analysis
from app.services.item_analysis import (
    FLAG_CHECK_KEY,
    FLAG_FEW_RESPONSES,
    FLAG_LOW_DISCRIMINATION,
    FLAG_NEGATIVE,
    FLAG_NO_RESPONSES,
    FLAG_NON_FUNCTIONAL,
    FLAG_TOO_EASY,
    FLAG_TOO_FEW,
    FLAG_TOO_HARD,
    ItemStats,
    OptionStats,
    StatsFilter,
)
from tests.conftest import login

NOW = datetime(2026, 3, 10, 12, 0)
TINY = [  # chosen original option per item A, B, C, one row per learner (see the module docstring)
    (0, 1, 1),
    (0, 1, 3),
    (0, 0, 1),
    (0, 2, 0),
    (1, 0, 0),
]
TINY_ITEMS = ("adv-one-q1", "adv-two-q1", "eth-one-q1")
TINY_FORM = "exam:basic:3"

LONG_ITEMS = 40
SHORT = [  # items 0-4 of the long bank, key A (0): chosen option or None (blank)
    (0, 0, 0, 0, 0),  # S1: 5
    (0, 0, 0, 0, 1),  # S2: 4
    (0, 0, 1, 1, 0),  # S3: 3
    (0, None, 0, 1, 1),  # S4: 2 (item 1 omitted)
    (1, 0, 1, 1, 1),  # S5: 1
    (1, 1, 1, 1, None),  # S6: 0 (item 4 not reached)
]

_emails = itertools.count(1)


# --- helpers ---------------------------------------------------------------------------------------------


def release_versions(release_id: int) -> dict[str, QuestionVersion]:
    release = db.session.get(BankRelease, release_id)
    return {v.question.stable_id: v for v in banks.release_versions(release)}


def new_learner(email: str | None = None) -> User:
    email = email or f"learner{next(_emails)}@example.org"
    user = accounts.register_user(email, email.split("@")[0], "long-enough-password")
    db.session.flush()
    return user


def record(
    user: User,
    release_id: int,
    answers: list[tuple[QuestionVersion, int | None]],
    *,
    mode: str = "exam",
    submitted_at: datetime | None = NOW,
    question_set_id: int | None = None,
    track: str | None = None,
) -> Attempt:
    """An attempt with these answers (chosen original option, None = unanswered), scored like the app.
    Exam attempts outside a question set are the track's mock exams."""
    if track is None and mode == "exam" and question_set_id is None:
        track = "basic"
    attempt = Attempt(
        user_id=user.id,
        release_id=release_id,
        mode=mode,
        seed=0,
        track=track,
        started_at=(submitted_at or NOW) - timedelta(minutes=10),
        submitted_at=submitted_at,
        question_set_id=question_set_id,
    )
    for position, (version, chosen) in enumerate(answers, start=1):
        attempt.responses.append(
            Response(
                position=position,
                question_id=version.question_id,
                question_version_id=version.id,
                option_order=list(range(len(version.options))),
                chosen_option=chosen,
                correct=None if chosen is None else chosen == version.correct_index,
                answered_at=None if chosen is None else submitted_at or NOW,
            )
        )
    db.session.add(attempt)
    return attempt


def record_matrix(release_id, items: tuple[str, ...], rows, *, learners=None, **options) -> list[User]:
    """One attempt per row; each by a new learner unless ``learners`` gives them (one per row)."""
    versions = release_versions(release_id)
    learners = list(learners) if learners is not None else [new_learner() for _ in rows]
    for user, row in zip(learners, rows, strict=True):
        answers = [(versions[item], chosen) for item, chosen in zip(items, row, strict=True)]
        record(user, release_id, answers, **options)
    db.session.flush()
    return learners


def by_item(stats: list[ItemStats]) -> dict[str, ItemStats]:
    result = {}
    for item in stats:
        assert item.stable_id not in result, f"{item.stable_id} is on more than one form"
        result[item.stable_id] = item
    return result


def tiny(mini_release, times: int = 1) -> tuple[BankRelease, dict[str, ItemStats]]:
    record_matrix(mini_release, TINY_ITEMS, TINY * times)
    release = db.session.get(BankRelease, mini_release)
    return release, by_item(item_analysis.release_item_stats(release))


def statements_during(call) -> int:
    seen = []

    def count(*args):
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def item_on(reports, form: str, stable_id: str) -> ItemStats:
    (report,) = [r for r in reports if r.form.token == form]
    return next(item for item in report.items if item.stable_id == stable_id)


# --- the long bank (mixed data set) ----------------------------------------------------------------------


def write_long_bank(root) -> None:
    """40 stand-alone items (key A; even items 4 options, odd 3), one track: 40-question mock exam with a
    5-question quick form, cut 0.7."""
    (root / "scenarios").mkdir(parents=True)
    (root / "tracks").mkdir()
    (root / "bank.yaml").write_text(
        "id: long\ntitle: Long test bank\nversion: 1.0.0\n"
        "domains:\n  advocacy: Advocacy\n  ethics: Ethical Responsibility\n"
        "tags:\n  stigma: Stigma\ncompetencies: {}\n"
    )
    (root / "tracks" / "basic.yaml").write_text(
        "id: basic\ntitle: Basic track\nexam:\n  length: 40\n  time_limit_minutes: 60\n  cut_score: 0.7\n"
        "  forms:\n    - id: quick\n      title: Quick form\n      length: 5\n      time_limit_minutes: 10\n"
        "blueprint:\n  advocacy: 0.5\n  ethics: 0.5\n"
        "readiness:\n  min_recent_exams: 1\n  domain_floor: 0.5\n  min_coverage: 0.5\n  target_probability: 0.8\n"
    )
    for i in range(LONG_ITEMS):
        options = ["the best first step", "a step taken too early", "a step outside the role", "a step without consent"]
        lines = [
            f"id: item-{i:02d}",
            f"domain: {'advocacy' if i % 2 == 0 else 'ethics'}",
            "tags: [stigma]",
            "questions:",
            f"  - id: item-{i:02d}-q1",
            f"    stem: What is the best response in situation number {i}?",
            f"    difficulty: {('easy', 'medium', 'hard')[min(2, i // 14)]}",
            "    options:",
        ]
        for n, text in enumerate(options[: 4 if i % 2 == 0 else 3]):
            lines.append(f"      - text: Option {n} for situation {i}, {text}.")
            if n == 0:
                lines.append("        correct: true")
            lines.append(f"        rationale: Rationale {n} for situation {i}.")
        (root / "scenarios" / f"item-{i:02d}.yaml").write_text("\n".join(lines) + "\n")


@pytest.fixture
def long_release(app, tmp_path):
    root = tmp_path / "long"
    write_long_bank(root)
    with app.app_context():
        release = banks.import_bank(quizbank.load_bank(root)).release
        db.session.commit()
        return release.id


def long_ids() -> list[str]:
    return [f"item-{i:02d}-q1" for i in range(LONG_ITEMS)]


def long_row(j: int) -> list[int | None]:
    """Learner Lj's answers on the long form (see the module docstring)."""
    row: list[int | None] = [0 if i < 4 * j else 1 + j % 2 for i in range(LONG_ITEMS)]
    if j == 0:
        row[5] = None
        row[30:] = [None] * 10
    return row


def record_long_form(release_id, learners=None) -> list[User]:
    return record_matrix(release_id, tuple(long_ids()), [long_row(j) for j in range(10)], learners=learners)


def exam_set(release_id, *, pass_mark: float = 0.6, mode: str = "exam") -> QuestionSet:
    release = db.session.get(BankRelease, release_id)
    question_set = QuestionSet(
        bank_id=release.bank_id,
        title="Trainer check",
        kind="fixed",
        mode=mode,
        question_ids=long_ids()[:5],
        pass_mark=pass_mark if mode == "exam" else None,
    )
    db.session.add(question_set)
    db.session.flush()
    return question_set


def record_short_form(release_id, question_set: QuestionSet, learners=None, **options) -> list[User]:
    return record_matrix(
        release_id, tuple(long_ids()[:5]), SHORT, learners=learners, question_set_id=question_set.id, **options
    )


def long_bank() -> Bank:
    return banks.get_bank("long")


def reference_item(matrix: list[list[int | None]], item: int) -> dict:
    """Straightforward per-learner computation of an item's statistics (key A = 0, blanks wrong)."""
    scores = [[1 if chosen == 0 else 0 for chosen in row] for row in matrix]
    totals = [sum(row) for row in scores]
    x = [row[item] for row in scores]
    y = [t - xi for t, xi in zip(totals, x, strict=True)]
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / n
    vx, vy = sum((a - mx) ** 2 for a in x) / n, sum((b - my) ** 2 for b in y) / n
    return {"p": mx, "r_pb": cov / math.sqrt(vx * vy) if vx and vy else None, "totals": totals, "x": x}


def reference_kr20(matrix: list[list[int | None]], drop: int | None = None) -> float:
    scores = [[1 if chosen == 0 else 0 for i, chosen in enumerate(row) if i != drop] for row in matrix]
    n, k = len(scores), len(scores[0])
    totals = [sum(row) for row in scores]
    mean = sum(totals) / n
    variance = sum((t - mean) ** 2 for t in totals) / n
    ps = [sum(row[i] for row in scores) / n for i in range(k)]
    return k / (k - 1) * (1 - sum(p * (1 - p) for p in ps) / variance)


# --- pure math -------------------------------------------------------------------------------------------


def test_pearson_from_sums_matches_the_definition_and_is_undefined_for_constants():
    xs, ys = [1, 1, 0, 0, 1], [3, 2, 2, 0, 1]
    n, mx, my = len(xs), sum(xs) / 5, sum(ys) / 5
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / n
    expected = cov / math.sqrt(sum((x - mx) ** 2 for x in xs) / n * sum((y - my) ** 2 for y in ys) / n)
    sums = (
        n,
        sum(xs),
        sum(x * x for x in xs),
        sum(ys),
        sum(y * y for y in ys),
        sum(x * y for x, y in zip(xs, ys, strict=True)),
    )
    assert item_analysis.pearson(*sums) == pytest.approx(expected)
    assert item_analysis.pearson(3, 3, 3, 4, 6, 4) is None  # x constant (everybody right)
    assert item_analysis.pearson(1, 1, 1, 2, 4, 2) is None


def test_kr20_and_sem_formulas():
    assert item_analysis.kr20(3, 0.64, 1.04) == pytest.approx(1.5 * (1 - 0.64 / 1.04))
    assert item_analysis.kr20(1, 0.2, 1.0) is None
    assert item_analysis.kr20(3, 0.2, 0.0) is None
    assert item_analysis.sem(2.0, 0.75) == pytest.approx(1.0)
    assert item_analysis.sem(2.0, None) is None


def test_lord_csem_cut_score_and_subkoviak_by_hand():
    assert item_analysis.cut_raw_score(0.75, 3) == 3  # 2.25 -> 3
    assert item_analysis.cut_raw_score(0.7, 40) == 28
    assert item_analysis.cut_raw_score(0.6, 5) == 3
    # Lord: sqrt(x (k - x) / (k - 1)); at 28 of 40: sqrt(28 * 12 / 39) = 2.935.
    assert item_analysis.lord_csem(40, 28) == pytest.approx(math.sqrt(28 * 12 / 39))
    assert item_analysis.lord_csem(1, 1) is None
    # Subkoviak, two scores on a 2-item test, cut 2, r = 0.5: mean 1; true shares 0.5*0/2 + 0.5*0.5 = 0.25
    # and 0.5*2/2 + 0.25 = 0.75; P(pass) = 0.0625 and 0.5625; p0 = mean of P^2 + (1-P)^2.
    p_low, p_high = 0.25**2, 0.75**2
    p0 = ((p_low**2 + (1 - p_low) ** 2) + (p_high**2 + (1 - p_high) ** 2)) / 2
    mean_p = (p_low + p_high) / 2
    chance = mean_p**2 + (1 - mean_p) ** 2
    agreement, kappa = item_analysis.subkoviak({0: 1, 2: 1}, 2, 2, 0.5)
    assert agreement == pytest.approx(p0)
    assert kappa == pytest.approx((p0 - chance) / (1 - chance))
    assert item_analysis.subkoviak({0: 1}, 2, 2, None) is None


def test_group_weights_take_27_percent_sharing_boundary_ties():
    # Scores 0, 1, 2, 2, 3 (five attempts): 27% = 1.35 attempts per group.
    weights = item_analysis.group_weights({0: 1, 1: 1, 2: 2, 3: 1})
    assert weights[0] == pytest.approx((0, 0, 1))
    assert weights[1] == pytest.approx((0, 0.65, 0.35))
    assert weights[2] == pytest.approx((0.175, 0.825, 0))  # 0.35 of two tied attempts
    assert weights[3] == pytest.approx((1, 0, 0))
    # Everyone tied: both groups are 27% of the same attempts.
    assert item_analysis.group_weights({4: 10})[4] == pytest.approx((0.27, 0.46, 0.27))


# --- flag rules (pure) -----------------------------------------------------------------------------------


def make_item(n: int, correct: int, r_pb: float | None, options: list[tuple[bool, float, float | None]]) -> ItemStats:
    """An item from (is key, share, r_pb) per option; non-functional as the analysis judges it."""
    rows = [
        OptionStats(
            i,
            f"option {i}",
            key,
            round(share * n),
            share,
            r,
            non_functional=n >= item_analysis.MIN_RESPONSES and not key and share < 0.05,
        )
        for i, (key, share, r) in enumerate(options)
    ]
    return ItemStats(1, "q", 1, "advocacy", "medium", "stem", n, correct, r_pb, rows)


def test_check_key_and_negative_discrimination_are_separate_flags():
    # A distractor discriminates better than a (weakly positive) key: check key, not negative.
    weak_key = make_item(100, 60, 0.05, [(True, 0.6, 0.05), (False, 0.3, 0.25), (False, 0.1, -0.3)])
    assert weak_key.flags == [FLAG_CHECK_KEY, FLAG_LOW_DISCRIMINATION]
    assert [o.letter for o in weak_key.check_key_options] == ["B"]
    # The key discriminates negatively but no distractor positively (the stronger learners left it blank):
    # negative discrimination, no check key.
    negative = make_item(100, 50, -0.12, [(True, 0.5, -0.12), (False, 0.25, -0.05), (False, 0.15, -0.02)])
    assert negative.flags == [FLAG_NEGATIVE]
    # The usual miskey: the key negative, one distractor clearly positive.
    miskeyed = make_item(100, 50, -0.3, [(True, 0.5, -0.3), (False, 0.4, 0.35), (False, 0.1, -0.1)])
    assert miskeyed.flags == [FLAG_CHECK_KEY, FLAG_NEGATIVE]
    # A good item: key positive, distractors negative.
    good = make_item(100, 60, 0.4, [(True, 0.6, 0.4), (False, 0.3, -0.2), (False, 0.1, -0.3)])
    assert good.flags == []


def test_no_flag_below_the_minimum_number_of_responses():
    one = make_item(1, 1, None, [(True, 1.0, None), (False, 0.0, None), (False, 0.0, None)])
    assert one.flags == [FLAG_TOO_FEW]  # not "too easy" from one response
    assert one.non_functional == []
    below = make_item(29, 5, -0.5, [(True, 5 / 29, -0.5), (False, 0.8, 0.5), (False, 0.03, 0.1)])
    assert below.flags == [FLAG_TOO_FEW]
    at = make_item(30, 5, -0.5, [(True, 5 / 30, -0.5), (False, 0.8, 0.5), (False, 1 / 30, 0.1)])
    assert at.flags[:3] == [FLAG_CHECK_KEY, FLAG_NEGATIVE, FLAG_TOO_HARD]
    assert FLAG_FEW_RESPONSES in at.flags  # 30 to 99: flags, with a caution
    assert make_item(0, 0, None, [(True, 0.0, None), (False, 0.0, None), (False, 0.0, None)]).flags == [
        FLAG_NO_RESPONSES
    ]


def test_too_hard_is_relative_to_the_chance_score():
    three = [(True, 0.40, 0.3), (False, 0.35, -0.1), (False, 0.25, -0.2)]
    four = [(True, 0.40, 0.3), (False, 0.2, -0.1), (False, 0.2, -0.1), (False, 0.2, -0.1)]
    # p = 0.40 is under chance (1/3) + 0.10 for three options, but not under 1/4 + 0.10 for four.
    assert FLAG_TOO_HARD in make_item(100, 40, 0.3, three).flags
    assert FLAG_TOO_HARD not in make_item(100, 40, 0.3, four).flags
    four_hard = [(True, 0.30, 0.3), (False, 0.3, -0.1), (False, 0.2, -0.1), (False, 0.2, -0.1)]
    assert FLAG_TOO_HARD in make_item(100, 30, 0.3, four_hard).flags
    assert make_item(100, 40, 0.3, three).too_hard_below == pytest.approx(1 / 3 + 0.10)
    assert FLAG_TOO_EASY in make_item(100, 91, 0.3, [(True, 0.91, 0.3), (False, 0.05, -0.1), (False, 0.04, -0.2)]).flags


def test_non_functional_distractors_are_counted_and_flagged_from_two():
    one = make_item(100, 60, 0.4, [(True, 0.6, 0.4), (False, 0.37, -0.3), (False, 0.03, -0.1)])
    assert [o.letter for o in one.non_functional] == ["C"]
    assert FLAG_NON_FUNCTIONAL not in one.flags
    two = make_item(100, 60, 0.4, [(True, 0.6, 0.4), (False, 0.36, -0.3), (False, 0.02, -0.1), (False, 0.02, -0.1)])
    assert FLAG_NON_FUNCTIONAL in two.flags


# --- Rasch fit on simulated data --------------------------------------------------------------------------


def test_rasch_infit_and_outfit_single_out_a_misfitting_item():
    rng = np.random.default_rng(7)
    persons, difficulties = 600, np.linspace(-1.5, 1.5, 25)
    theta = rng.normal(0.5, 1.0, persons)
    responses, labels = [], {}
    for i, b in enumerate(difficulties):
        labels[f"i{i}"] = "medium"
        prob = 1 / (1 + np.exp(-(theta - b)))
        responses += [(n, f"i{i}", int(rng.random() < prob[n])) for n in range(persons)]
    # "bad" discriminates the wrong way (as a miskeyed item does): weaker learners are likelier to get it.
    labels["bad"] = "medium"
    prob = 1 / (1 + np.exp(theta - 0.5))
    responses += [(n, "bad", int(rng.random() < prob[n])) for n in range(persons)]
    responses += [("ace", item, 1) for item in labels]  # a perfect score: no information about fit

    fit = item_analysis.rasch_fit(responses, labels)

    bad = fit["bad"]
    others = [fit[f"i{i}"] for i in range(len(difficulties))]
    # With true abilities the bad item's infit would be about 1.8; estimated abilities (25 items, a prior)
    # pull every mean-square down a little, the model-fitting items to about 0.9.
    assert bad.infit > 1.3 and bad.outfit > 1.4
    assert bad.misfit == "noisy"
    assert all(0.8 < item.infit < 1.15 for item in others)
    assert all(0.7 < item.outfit < 1.25 for item in others)
    assert not any(item.misfit == "noisy" for item in others)
    assert bad.infit > max(item.infit for item in others) + 0.3
    assert bad.outfit > max(item.outfit for item in others) + 0.3
    # Difficulties recover the generating order.
    estimated = [item.b for item in others]
    assert np.corrcoef(estimated, difficulties)[0, 1] > 0.98
    assert all(item.fit_n == persons for item in [*others, bad])  # the perfect score is left out of fit


# --- item statistics against hand-computed values (tiny set) --------------------------------------------


def test_p_values_and_corrected_point_biserials_match_hand_computation(db_ctx, mini_release):
    _, items = tiny(mini_release)
    a, b, c = (items[name] for name in TINY_ITEMS)

    # p = correct / n.
    assert (a.n, a.correct, a.p) == (5, 4, pytest.approx(0.8))
    assert (b.n, b.p) == (5, pytest.approx(0.4))
    assert (c.n, c.p) == (5, pytest.approx(0.4))
    assert a.form == TINY_FORM
    # A: x = 1 1 1 1 0, rest y = total - x = 2 1 1 0 0.
    #    cov = mean(xy) - mean(x)mean(y) = 4/5 - 0.8*0.8 = 0.16; var x = 0.16; var y = 6/5 - 0.64 = 0.56
    #    r = 0.16 / sqrt(0.16 * 0.56) = sqrt(2/7) = 0.5345
    assert a.r_pb == pytest.approx(math.sqrt(2 / 7))
    # B: x = 1 1 0 0 0, y = 2 1 2 1 0: cov = 3/5 - 0.4*1.2 = 0.12; var x = 0.24; var y = 10/5 - 1.44 = 0.56
    assert b.r_pb == pytest.approx(0.12 / math.sqrt(0.24 * 0.56))
    # C: x = 1 0 1 0 0, y = 2 2 1 1 0: cov = 3/5 - 0.4*1.2 = 0.12; var x = 0.24; var y = 0.56
    assert c.r_pb == pytest.approx(0.12 / math.sqrt(0.24 * 0.56))
    assert b.r_pb == pytest.approx(0.3273, abs=1e-4)
    # The uncorrected point-biserial of A (against the total 3 2 2 1 0) would be higher: 0.784.
    assert a.r_pb < 0.78
    # Upper/lower 27% (1.35 attempts): totals 3 | 2 2 | 1 | 0 -> upper = the 3 and 0.175 of each 2;
    # lower = the 0 and 0.35 of the 1. A: p_U = (1 + 0.35) / 1.35 = 1; p_L = (0 + 0.35) / 1.35.
    assert a.p_upper == pytest.approx(1.0)
    assert a.p_lower == pytest.approx(0.35 / 1.35)
    assert a.d == pytest.approx(1 - 0.35 / 1.35)
    # KR-20 without A: totals 2 1 1 0 0 (mean 0.8, variance 0.56); sum pq = 0.24 + 0.24; k = 2.
    assert a.kr20_if_deleted == pytest.approx(2 * (1 - 0.48 / 0.56))
    # Without B: totals 2 1 2 1 0 (mean 1.2, variance 0.56); sum pq = 0.16 + 0.24.
    assert b.kr20_if_deleted == pytest.approx(2 * (1 - 0.40 / 0.56))


def test_distractor_shares_point_biserials_and_non_functional_options(db_ctx, mini_release):
    _, items = tiny(mini_release)
    a, c = items["adv-one-q1"], items["eth-one-q1"]

    assert [(o.letter, o.count, o.share) for o in a.options] == [("A", 4, 0.8), ("B", 1, 0.2), ("C", 0, 0.0)]
    assert [o.share for o in c.options] == [0.4, 0.4, 0.0, 0.2]
    assert [o.correct for o in c.options] == [False, True, False, False]
    # A's option B was chosen only by learner 5: x_d = 0 0 0 0 1 against y = 2 1 1 0 0.
    #   r = (5*0 - 1*4) / sqrt((5*1 - 1) * (5*6 - 16)) = -4 / sqrt(56)
    assert a.options[1].r_pb == pytest.approx(-4 / math.sqrt(56))
    assert a.options[2].r_pb is None  # chosen by nobody: undefined
    assert a.options[0].r_pb == pytest.approx(a.r_pb)  # the key's r is the item's r
    # Five responses: non-functional distractors are not judged yet, and no flag but the count.
    # (Changed: the 5% rule used to mark C and flag the item from five responses.)
    assert a.non_functional == [] and a.flags == [FLAG_TOO_FEW]
    # Group shares of A's options: upper 1.35 attempts all chose A; lower: 0.35 chose A, 1 chose B.
    assert (a.options[0].upper, a.options[0].lower) == (pytest.approx(1.0), pytest.approx(0.35 / 1.35))
    assert a.options[1].lower == pytest.approx(1 / 1.35)


def test_non_functional_distractors_from_the_minimum_on(db_ctx, mini_release):
    _, items = tiny(mini_release, times=6)  # 30 learners: the same shares and correlations
    a, c = items["adv-one-q1"], items["eth-one-q1"]
    assert a.n == 30 and a.r_pb == pytest.approx(math.sqrt(2 / 7))
    assert [o.letter for o in a.non_functional] == ["C"]
    assert [o.letter for o in c.non_functional] == ["C"]
    assert FLAG_NON_FUNCTIONAL not in a.flags  # one non-functional distractor: counted, not flagged


def test_five_percent_is_functional_and_below_is_not(db_ctx, mini_release):
    # 40 respondents: 38 choose the key, 2 (exactly 5%) distractor B, nobody distractor C.
    record_matrix(mini_release, ("adv-one-q1",), [(0,)] * 38 + [(1,)] * 2)
    item = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))["adv-one-q1"]
    assert item.options[1].share == pytest.approx(0.05)
    assert not item.options[1].non_functional
    assert item.options[2].non_functional
    assert FLAG_TOO_EASY in item.flags  # p = 0.95 > 0.90


def test_a_miskeyed_item_gets_check_key_and_negative_discrimination(db_ctx, mini_release):
    # Scores (A, B, D = adv-one-q2, C): the three strongest miss C, the two weakest get only C right.
    #   1 1 1 0 / 1 1 1 0 / 1 1 0 0 / 0 0 0 1 / 0 0 0 1: C's rest scores 3 3 2 0 0 fall where C is right.
    items = ("adv-one-q1", "adv-two-q1", "adv-one-q2", "eth-one-q1")
    rows = [(0, 1, 0, 0), (0, 1, 0, 2), (0, 1, 1, 3), (1, 0, 2, 1), (2, 2, 3, 1)]
    record_matrix(mini_release, items, rows * 6)  # 30 learners
    items = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))

    c = items["eth-one-q1"]
    assert c.r_pb < 0
    assert c.flags[:2] == [FLAG_CHECK_KEY, FLAG_NEGATIVE]
    assert FLAG_LOW_DISCRIMINATION not in c.flags  # negative is its own flag now
    assert [o.letter for o in c.check_key_options] == ["A", "C", "D"]  # each chosen only by strong learners
    assert FLAG_CHECK_KEY not in items["adv-one-q1"].flags
    assert FLAG_NEGATIVE not in items["adv-one-q1"].flags


def test_difficulty_flags(db_ctx, mini_release):
    rows = [(1, 1), (1, 1), (2, 1), (1, 1), (1, 0)] * 6  # A: p = 0 (too hard); B: p = 0.8
    record_matrix(mini_release, ("adv-one-q1", "adv-two-q1"), rows)
    items = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))
    assert FLAG_TOO_HARD in items["adv-one-q1"].flags
    assert not {FLAG_TOO_HARD, FLAG_TOO_EASY} & set(items["adv-two-q1"].flags)
    assert items["eth-two-q1"].flags == [FLAG_NO_RESPONSES]
    assert items["eth-two-q1"].p is None and items["eth-two-q1"].r_pb is None
    assert items["eth-two-q1"].form is None  # shown on no form


def test_caution_below_100_responses(db_ctx, mini_release):
    record_matrix(mini_release, ("adv-one-q1", "adv-two-q1"), [(0, 1)] * 50 + [(1, 0)] * 49)
    items = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))
    assert items["adv-one-q1"].n == 99
    assert items["adv-one-q1"].caution and FLAG_FEW_RESPONSES in items["adv-one-q1"].flags

    record_matrix(mini_release, ("adv-one-q1", "adv-two-q1"), [(0, 0)])
    items = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))
    assert items["adv-one-q1"].n == 100
    assert not items["adv-one-q1"].caution
    assert FLAG_FEW_RESPONSES not in items["adv-one-q1"].flags


def test_blanks_count_as_wrong_and_the_scope_decides_which_attempts_count(db_ctx, mini_release):
    record_matrix(mini_release, TINY_ITEMS, TINY)
    versions = release_versions(mini_release)
    a, b, c = (versions[name] for name in TINY_ITEMS)
    record(new_learner(), mini_release, [(a, 2), (b, 0), (c, 1)], submitted_at=None)  # still open: ignored
    record(new_learner(), mini_release, [(a, None), (b, 1), (c, 1)])  # A omitted: shown, scored 0
    record(new_learner(), mini_release, [(a, 2)], mode="practice")  # a practice session: not a form
    db.session.flush()
    release = db.session.get(BankRelease, mini_release)

    # (Changed: blanks used to be left out of n and p while counting 0 in the rest score.)
    exam = by_item(item_analysis.release_item_stats(release))
    assert (exam["adv-one-q1"].n, exam["adv-one-q1"].correct, exam["adv-one-q1"].omitted) == (6, 4, 1)
    assert exam["adv-one-q1"].answered == 5
    assert exam["adv-one-q1"].p == pytest.approx(4 / 6)
    assert [o.count for o in exam["adv-one-q1"].options] == [4, 1, 0]
    assert [(b.label, b.count, b.share) for b in exam["adv-one-q1"].blanks] == [
        ("Omitted", 1, pytest.approx(1 / 6)),
        ("Not reached", 0, 0.0),
    ]
    assert (exam["adv-two-q1"].n, exam["adv-two-q1"].correct) == (6, 3)

    every = item_analysis.release_item_stats(release, StatsFilter(mode=None))
    practice_a = [i for i in every if i.stable_id == "adv-one-q1" and i.form == "practice::1"]
    assert [(i.n, i.correct, i.form_label) for i in practice_a] == [
        (1, 0, "Practice sessions, 1 question (not a fixed form)")
    ]
    assert len([i for i in every if i.stable_id == "adv-one-q1"]) == 2  # two forms, never pooled

    practice = by_item(item_analysis.release_item_stats(release, StatsFilter(mode="practice")))
    assert practice["adv-one-q1"].n == 1 and practice["adv-two-q1"].n == 0


def test_date_range_is_inclusive_on_submission_dates(db_ctx, mini_release):
    a = release_versions(mini_release)["adv-one-q1"]
    for day, chosen in ((1, 0), (2, 1), (3, 2)):
        record(new_learner(), mini_release, [(a, chosen)], submitted_at=datetime(2026, 3, day, 23, 59))
    db.session.flush()
    release = db.session.get(BankRelease, mini_release)

    def counts(since, until):
        item = by_item(item_analysis.release_item_stats(release, StatsFilter(since=since, until=until)))["adv-one-q1"]
        return [o.count for o in item.options]

    assert counts(None, None) == [1, 1, 1]
    assert counts(date(2026, 3, 2), None) == [0, 1, 1]
    assert counts(None, date(2026, 3, 2)) == [1, 1, 0]
    assert counts(date(2026, 3, 2), date(2026, 3, 2)) == [0, 1, 0]


def test_version_stats_match_the_bank_table(db_ctx, mini_release):
    _, items = tiny(mini_release)
    version = release_versions(mini_release)["adv-one-q1"]
    (report,) = item_analysis.version_item_stats(version)
    (single,) = report.items
    assert report.form.token == TINY_FORM
    assert (single.n, single.correct) == (items["adv-one-q1"].n, items["adv-one-q1"].correct)
    assert single.r_pb == pytest.approx(items["adv-one-q1"].r_pb)
    assert single.kr20_if_deleted == pytest.approx(items["adv-one-q1"].kr20_if_deleted)
    assert single.d == pytest.approx(items["adv-one-q1"].d)
    assert single.rasch.b == pytest.approx(items["adv-one-q1"].rasch.b)
    assert [o.count for o in single.options] == [o.count for o in items["adv-one-q1"].options]


def test_an_edited_question_gets_its_own_statistics(db_ctx, bank_copy):
    first = banks.import_bank(quizbank.load_bank(bank_copy)).release
    record_matrix(first.id, TINY_ITEMS, TINY)
    v1 = release_versions(first.id)["adv-one-q1"]
    scenario = bank_copy / "scenarios" / "adv-one.yaml"
    scenario.write_text(scenario.read_text().replace("What is the best first action?", "What should you do first?"))
    bank_yaml = bank_copy / "bank.yaml"
    bank_yaml.write_text(bank_yaml.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    second = banks.import_bank(quizbank.load_bank(bank_copy)).release
    v2 = release_versions(second.id)["adv-one-q1"]
    assert (v1.number, v2.number) == (1, 2)
    # Same form (the basic track's 3-question mock exam) in the new release.
    record_matrix(second.id, TINY_ITEMS, [(1, 1, 1), (2, 1, 0)])

    (report,) = item_analysis.version_item_stats(v1)
    assert report.items[0].n == 5
    latest = by_item(item_analysis.release_item_stats(second))
    assert latest["adv-one-q1"].version_id == v2.id
    assert (latest["adv-one-q1"].n, latest["adv-one-q1"].correct) == (2, 0)
    # The unchanged question keeps one version across both releases and pools its responses on the form.
    assert latest["adv-two-q1"].n == 7
    every = item_analysis.bank_item_stats(db.session.get(Bank, second.bank_id))
    assert sorted((i.stable_id, i.number, i.n) for i in every if i.stable_id == "adv-one-q1") == [
        ("adv-one-q1", 1, 5),
        ("adv-one-q1", 2, 2),
    ]


# --- forms: KR-20, SEM, cut ------------------------------------------------------------------------------


def test_kr20_and_sem_of_a_fixed_form_match_hand_computation(db_ctx, mini_release):
    release, _ = tiny(mini_release)
    (form,) = item_analysis.form_stats(release.bank)

    # Totals 3 2 2 1 0: mean 1.6; population variance 18/5 - 1.6^2 = 1.04.
    # p = 0.8, 0.4, 0.4: sum(pq) = 0.16 + 0.24 + 0.24 = 0.64.
    # KR-20 = 3/2 * (1 - 0.64/1.04) = 0.5769; SEM = sqrt(1.04) * sqrt(1 - 0.5769) = 0.6633.
    assert (form.attempts, form.learners, form.items_per_attempt, form.distinct_items) == (5, 5, 3, 3)
    assert form.mean == pytest.approx(1.6)
    assert form.sd == pytest.approx(math.sqrt(1.04))
    assert form.kr20 == pytest.approx(1.5 * (1 - 0.64 / 1.04))
    assert form.kr20 == pytest.approx(0.5769, abs=1e-4)
    assert form.sem == pytest.approx(math.sqrt(1.04) * math.sqrt(1 - form.kr20))
    assert form.sem == pytest.approx(0.6633, abs=1e-4)
    assert not form.approximate
    assert form.caution
    # (Changed: forms are a track's mock exams of one length across releases, no longer one per release.)
    assert form.label == "Basic track: mock exam, 3 questions"
    assert form.token == TINY_FORM
    # Cut 0.75 of 3 -> 3 correct; Lord's SEM there: sqrt(3 * 0 / 2) = 0; one attempt in five passes.
    assert (form.cut_score, form.sem_at_cut, form.pass_rate) == (3, 0.0, pytest.approx(0.2))


def test_kr20_over_random_forms_is_marked_approximate(db_ctx, mini_release):
    v = release_versions(mini_release)
    a, b, c = (v[name] for name in TINY_ITEMS)
    # Attempts see two of three items: (A, B) right-right, (A, C) right-wrong, (B, C) wrong-right, (A, B) wrong-wrong.
    for answers in ([(a, 0), (b, 1)], [(a, 0), (c, 0)], [(b, 0), (c, 1)], [(a, 1), (b, 0)]):
        record(new_learner(), mini_release, answers)
    db.session.flush()
    (form,) = item_analysis.form_stats(db.session.get(BankRelease, mini_release).bank)

    # p from the attempts that saw each item: A 2/3 (seen 3 times), B 1/3 (3), C 1/2 (2).
    # sum(pq) averaged over attempts = 3/4 * 2/9 + 3/4 * 2/9 + 2/4 * 1/4 = 0.4583.
    # Totals 2 1 1 0: mean 1, variance 0.5; k = 2: KR-20 = 2 * (1 - 0.4583/0.5) = 0.1667.
    sum_pq = 3 / 4 * 2 / 9 + 3 / 4 * 2 / 9 + 2 / 4 * 1 / 4
    assert form.kr20 == pytest.approx(2 * (1 - sum_pq / 0.5))
    assert (form.items_per_attempt, form.distinct_items) == (2, 3)
    assert form.approximate


def test_unanswered_items_count_as_wrong_in_form_scores(db_ctx, mini_release):
    v = release_versions(mini_release)
    a, b = v["adv-one-q1"], v["adv-two-q1"]
    for answers in ([(a, 0), (b, 1)], [(a, 0), (b, None)], [(a, None), (b, None)]):
        record(new_learner(), mini_release, answers)
    db.session.flush()
    (form,) = item_analysis.form_stats(db.session.get(BankRelease, mini_release).bank)
    # Scores 2 1 0: mean 1, variance 2/3; p = 2/3 and 1/3; KR-20 = 2 * (1 - (2/9 + 2/9) / (2/3)) = 2/3.
    assert form.mean == pytest.approx(1.0)
    assert form.kr20 == pytest.approx(2 / 3)
    assert not form.approximate


def test_question_set_attempts_form_their_own_group(db_ctx, mini_release):
    release = db.session.get(BankRelease, mini_release)
    question_set = QuestionSet(bank_id=release.bank_id, title="Boundaries drill", kind="fixed", mode="practice")
    db.session.add(question_set)
    db.session.flush()
    record_matrix(mini_release, TINY_ITEMS, TINY, mode="practice", question_set_id=question_set.id)
    record_matrix(mini_release, TINY_ITEMS, TINY[:2], mode="practice")

    (form,) = item_analysis.form_stats(release.bank)  # plain practice attempts are not a form
    assert form.label == "Question set: Boundaries drill (practice), 3 questions"
    assert form.attempts == 5
    assert form.kr20 == pytest.approx(1.5 * (1 - 0.64 / 1.04))
    assert form.cut_score is None and form.consistency is None  # a practice set has no pass mark


# --- the mixed data set: a 40-question mock exam and a 5-question trainer set ------------------------------


def test_item_statistics_per_form_on_a_mixed_data_set(db_ctx, long_release):
    record_long_form(long_release)
    record_short_form(long_release, exam_set(long_release))
    reports = item_analysis.form_reports(long_bank())

    assert [(r.form.token, r.form.attempts) for r in reports] == [("exam:basic:40", 10), (f"set:{_set_id()}:5", 6)]
    long_form, short_form = (r.form for r in reports)
    assert long_form.label == "Basic track: mock exam, 40 questions"
    assert short_form.label == "Question set: Trainer check (exam), 5 questions"

    # Long form, item 0 (right for L1..L9): p = 0.9; rest scores y = 4j - x = 0 3 7 11 ... 35:
    #   n = 10, sum x = 9, sum y = 171, sum y^2 = 4209, sum xy = 171
    #   r = (10*171 - 9*171) / sqrt((10*9 - 81) * (10*4209 - 171^2)) = 171 / sqrt(9 * 12849) = 0.5029
    item0 = item_on(reports, "exam:basic:40", "item-00-q1")
    assert (item0.n, item0.p) == (10, pytest.approx(0.9))
    assert item0.r_pb == pytest.approx(171 / math.sqrt(9 * 12849))
    # 27% of 10 = 2.7: upper = L9, L8 and 0.7 of L7; lower = L0, L1 and 0.7 of L2.
    item10 = item_on(reports, "exam:basic:40", "item-10-q1")  # right for L3..L9
    assert item10.p_upper == pytest.approx(1.0)
    assert item10.p_lower == pytest.approx(0.0)
    item8 = item_on(reports, "exam:basic:40", "item-08-q1")  # right for L3..L9: p_L = 0
    item4 = item_on(reports, "exam:basic:40", "item-04-q1")  # right for L2..L9: p_L = 0.7 / 2.7
    assert item8.d == pytest.approx(1.0)
    assert item4.d == pytest.approx(1 - 0.7 / 2.7)
    # Blanks: L0 omitted item 5 and did not reach 30-39.
    assert (item_on(reports, "exam:basic:40", "item-05-q1").omitted, item0.omitted) == (1, 0)
    assert [item_on(reports, "exam:basic:40", f"item-{i}-q1").not_reached for i in (29, 30, 39)] == [0, 1, 1]
    # Options: wrong answers are B for even learners, C for odd ones (item 0: only L0 is wrong, with B).
    assert [o.count for o in item0.options] == [9, 1, 0, 0]
    item39 = item_on(reports, "exam:basic:40", "item-39-q1")  # nobody right; L0 did not reach it
    assert [o.count for o in item39.options] + [b.count for b in item39.blanks] == [0, 4, 5, 0, 1]
    item5 = item_on(reports, "exam:basic:40", "item-05-q1")  # right from L2 on; L1 chose C; L0 omitted it
    assert [o.count for o in item5.options] + [b.count for b in item5.blanks] == [8, 0, 1, 1, 0]
    # Every item against a direct per-learner computation, KR-20 if deleted included.
    matrix = [long_row(j) for j in range(10)]
    for i in range(LONG_ITEMS):
        item = item_on(reports, "exam:basic:40", f"item-{i:02d}-q1")
        expected = reference_item(matrix, i)
        assert item.p == pytest.approx(expected["p"])
        assert item.r_pb == (pytest.approx(expected["r_pb"]) if expected["r_pb"] is not None else None)
        assert item.kr20_if_deleted == pytest.approx(reference_kr20(matrix, drop=i))
    assert long_form.kr20 == pytest.approx(reference_kr20(matrix))
    assert long_form.mean == pytest.approx(18.0)

    # Short form (hand-computed). Totals 5 4 3 2 1 0; p = 4/6 4/6 3/6 2/6 2/6.
    #   sum pq = 4 * 2/9 + 1/4 = 1.1389; variance = 55/6 - 2.5^2 = 2.9167; KR-20 = 5/4 (1 - 1.1389/2.9167) = 0.7619
    assert short_form.kr20 == pytest.approx(1.25 * (1 - (8 / 9 + 1 / 4) / (55 / 6 - 6.25)))
    assert short_form.kr20 == pytest.approx(0.7619, abs=1e-4)
    token = short_form.token
    s0 = item_on(reports, token, "item-00-q1")
    # Item 0: x = 1 1 1 1 0 0, y = 4 3 2 1 1 0: n = 6, sum x = 4, sum y = 11, sum y^2 = 31, sum xy = 10
    #   r = (60 - 44) / sqrt((24 - 16) * (186 - 121)) = 16 / sqrt(520) = 0.7016
    assert (s0.n, s0.p) == (6, pytest.approx(4 / 6))
    assert s0.r_pb == pytest.approx(16 / math.sqrt(520))
    # KR-20 without item 0: totals 4 3 2 1 1 0 (mean 11/6, variance 31/6 - (11/6)^2); sum pq 1.1389 - 2/9; k = 4.
    assert s0.kr20_if_deleted == pytest.approx(4 / 3 * (1 - (8 / 9 + 1 / 4 - 2 / 9) / (31 / 6 - (11 / 6) ** 2)))
    # Groups: 27% of 6 = 1.62: upper = S1 and 0.62 of S2, lower = S6 and 0.62 of S5. Item 4 (right for S1, S3):
    #   p_U = (1 + 0.62 * 0) / 1.62; p_L = 0.
    s4 = item_on(reports, token, "item-04-q1")
    assert s4.d == pytest.approx(1 / 1.62)
    assert s0.d == pytest.approx(1.0)
    # Omitted (S4's item 1) and not reached (S6's item 4).
    s1 = item_on(reports, token, "item-01-q1")
    assert (s1.omitted, s1.not_reached, s4.omitted, s4.not_reached) == (1, 0, 0, 1)
    assert [o.count for o in s1.options] + [b.count for b in s1.blanks] == [4, 1, 0, 1, 0]
    # Cut: 0.6 of 5 -> 3; Lord's SEM there sqrt(3 * 2 / 4); S1-S3 pass.
    assert (short_form.cut_score, short_form.pass_rate) == (3, pytest.approx(0.5))
    assert short_form.sem_at_cut == pytest.approx(math.sqrt(1.5))
    # Subkoviak: true share r x/5 + (1 - r) 2.5/5 per total; P(pass) = P(Binomial(5, share) >= 3).
    r = short_form.kr20
    passes = [
        sum(math.comb(5, j) * s**j * (1 - s) ** (5 - j) for j in (3, 4, 5))
        for s in [r * t / 5 + (1 - r) / 2 for t in range(6)]
    ]
    p0 = sum(p * p + (1 - p) ** 2 for p in passes) / 6
    chance = (sum(passes) / 6) ** 2 + (1 - sum(passes) / 6) ** 2
    assert short_form.consistency == pytest.approx(p0)
    assert short_form.kappa == pytest.approx((p0 - chance) / (1 - chance))
    # Rasch: every item on both forms has a difficulty; harder items (fewer right) sit higher.
    assert item_on(reports, "exam:basic:40", "item-30-q1").rasch.b > item0.rasch.b
    assert s0.rasch is not None and s0.rasch.infit is not None


def _set_id() -> int:
    return db.session.scalar(select(QuestionSet.id).where(QuestionSet.title == "Trainer check"))


def test_long_form_statistics_do_not_change_when_short_form_attempts_are_added(db_ctx, long_release):
    """Regression: short trainer sets and short mock exams used to be pooled with the 40-question mock
    exams, mixing 5- and 40-question rest scores in one correlation."""
    learners = record_long_form(long_release)

    def long_items() -> dict[str, tuple]:
        reports = item_analysis.form_reports(long_bank())
        (report,) = [r for r in reports if r.form.token == "exam:basic:40"]
        return {
            i.stable_id: (i.n, i.correct, i.r_pb, i.d, i.kr20_if_deleted, i.rasch.b, [o.count for o in i.options])
            for i in report.items
        } | {"form": (report.form.attempts, report.form.kr20, report.form.sem)}

    before = long_items()
    question_set = exam_set(long_release)
    record_short_form(long_release, question_set)  # new learners
    record_short_form(long_release, question_set, learners=learners[:6])  # the same learners
    quick = [[0, 0, 1, None, 2], [1, 0, 0, 0, 0], [2, 2, 2, 2, 0]] * 4
    record_matrix(long_release, tuple(long_ids()[:5]), quick)  # the track's 5-question quick form
    after = long_items()

    assert after == before
    tokens = [form.token for form in item_analysis.form_stats(long_bank())]
    assert tokens == ["exam:basic:40", "exam:basic:5", f"set:{question_set.id}:5"]
    # Under the exam-mode scope the set's exams are their own form too.
    exam_scope = item_analysis.form_stats(long_bank(), StatsFilter(mode="exam"))
    assert [f.token for f in exam_scope] == tokens


def test_first_last_or_all_attempts_per_learner(db_ctx, long_release):
    question_set = exam_set(long_release)
    learners = record_short_form(long_release, question_set, submitted_at=NOW)
    # S6 (all wrong) and S1 (all right) take the set again later and get everything right.
    retakes = [(0, 0, 0, 0, 0), (0, 0, 0, 0, 0)]
    record_matrix(
        long_release,
        tuple(long_ids()[:5]),
        retakes,
        learners=[learners[5], learners[0]],
        question_set_id=question_set.id,
        submitted_at=NOW + timedelta(days=1),
    )

    def item0(attempts: str) -> tuple:
        (report,) = item_analysis.form_reports(long_bank(), StatsFilter(attempts=attempts))
        item = next(i for i in report.items if i.stable_id == "item-00-q1")
        return report.form.attempts, report.form.learners, item.n, item.correct

    # First (the default): the six first attempts; item 0 right for S1-S4.
    assert item0("first") == (6, 6, 6, 4)
    assert item_analysis.form_reports(long_bank())[0].form.selection == "first"
    # Last: S1's and S6's retakes replace their first attempts: item 0 right for all but S5.
    assert item0("last") == (6, 6, 6, 5)
    (last,) = item_analysis.form_reports(long_bank(), StatsFilter(attempts="last"))
    assert last.form.mean == pytest.approx((5 + 4 + 3 + 2 + 1 + 5) / 6)
    # All: eight attempts by six learners.
    assert item0("all") == (8, 6, 8, 6)
    (first,) = item_analysis.form_stats(long_bank())
    assert first.mean == pytest.approx(2.5)
    with pytest.raises(ValueError):
        item_analysis.form_stats(long_bank(), StatsFilter(attempts="best"))


def test_the_bank_overview_shows_one_form_and_the_pool_it_has_not_shown(db_ctx, long_release):
    record_long_form(long_release)
    question_set = exam_set(long_release)
    record_short_form(long_release, question_set)
    bank = long_bank()

    overview = item_analysis.bank_overview(bank)
    assert [f.token for f in overview.forms] == ["exam:basic:40", f"set:{question_set.id}:5"]
    assert overview.selected.form.token == "exam:basic:40"  # the most attempts
    assert len(overview.selected.items) == 40 and overview.unseen == []

    chosen = item_analysis.bank_overview(bank, StatsFilter(form=f"set:{question_set.id}:5"))
    assert chosen.selected.form.token == f"set:{question_set.id}:5"
    assert sorted(i.stable_id for i in chosen.selected.items) == long_ids()[:5]
    assert chosen.unseen == []  # a set's pool is its own questions
    assert [f.token for f in chosen.forms] == [f.token for f in overview.forms]  # the list is not narrowed

    bogus = item_analysis.bank_overview(bank, StatsFilter(form="exam:nope:3"))
    assert bogus.selected.form.token == "exam:basic:40"


# --- queries ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["forms", None])
def test_query_count_does_not_grow_with_responses(db_ctx, mini_release, mode):
    names = ("adv-one-q1", "adv-one-q2", "adv-two-q1", "eth-one-q1", "eth-two-q1")
    filters = StatsFilter(mode=mode)
    version_id = release_versions(mini_release)["adv-one-q1"].id

    def queries_per_call() -> dict[str, int]:
        db.session.expire_all()
        bank = banks.get_bank("mini")
        release = bank.releases[-1]
        version = item_analysis.get_version(version_id)
        return {
            "items": statements_during(lambda: item_analysis.release_item_stats(release, filters)),
            "overview": statements_during(lambda: item_analysis.bank_overview(bank, filters)),
            "forms": statements_during(lambda: item_analysis.form_stats(bank, filters)),
            "csv": statements_during(lambda: item_analysis.bank_csv(bank, filters)),
            "version": statements_during(lambda: item_analysis.version_item_stats(version, filters)),
        }

    record_matrix(mini_release, names[:3], [(i % 3, i % 2, (i + 1) % 3) for i in range(10)])
    few = queries_per_call()
    record_matrix(mini_release, names, [(i % 3, i % 4, i % 3, i % 4, i % 3) for i in range(40)])
    learners = record_matrix(mini_release, names[:3], [(0, 1, 1)] * 5, mode="practice")
    record_matrix(mini_release, names[:3], [(1, 1, 1)] * 5, learners=learners, mode="practice")
    many = queries_per_call()

    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 60
    assert many == few
    # Forms: one grouped query (counts per form x item x option x total score) and the set titles. Items
    # add the responses for Rasch, the versions and the release's (or bank's) versions; the overview the
    # latest release's ids and the versions its form has not shown; the CSV the latest release's ids.
    # (Changed numbers: every form figure now comes from one grouped query, Rasch adds one.)
    assert few == {"items": 5, "overview": 6, "forms": 2, "csv": 6, "version": 4}


# --- CSV -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("plain", "plain"),
        (-0.25, -0.25),
        (3, 3),
    ],
)
def test_csv_guard_prefixes_formula_text_only(value, safe):
    assert item_analysis.csv_safe(value) == safe


def test_csv_header_lists_every_documented_column():
    header = item_analysis.csv_header(4)
    assert header[:4] == ["form", "form_id", "form_attempts", "attempts_per_learner"]
    assert "share_D" in header and "r_pb_D" in header and "share_E" not in header
    documented = set(item_analysis.CSV_COLUMNS) - {"share_<letter>", "r_pb_<letter>"}
    assert documented <= set(header)
    assert len(header) == len(documented) + 8


# --- pages -----------------------------------------------------------------------------------------------


def own_bank(app, org: str = "acme", slug: str = "mini") -> None:
    """Give a bank to an organization (imports leave banks without an owner)."""
    with app.app_context():
        organization = db.session.scalar(select(Organization).where(Organization.slug == org))
        if organization is None:
            organization = accounts.get_or_create_organization(org.title(), org)
        bank = banks.get_bank(slug)
        bank.organization_id = organization.id
        db.session.commit()


own_mini_bank = own_bank


def seeded_tiny(app, mini_release, times: int = 1) -> dict[str, int]:
    with app.app_context():
        record_matrix(mini_release, TINY_ITEMS, TINY * times)
        db.session.commit()
        return {name: v.id for name, v in release_versions(mini_release).items()}


def trainer_client(app, make_user, email: str = "tess@acme.org", org: str = "acme", **options):
    client = app.test_client()
    make_user(email, role=options.pop("role", "trainer"), org=org, **options)
    assert login(client, email).status_code == 302
    return client


def test_bank_page_lists_items_with_figures_and_flags(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    seeded_tiny(app, mini_release)

    html = client.get("/author/stats/banks/mini").get_data(as_text=True)
    assert "Items on Basic track: mock exam, 3 questions (5)" in html
    row = re.search(r"<th scope=\"row\">adv-one-q1</th>(.*?)</tr>", html, re.S).group(1)
    assert ">5<" in row and "0.80" in row and "0.53" in row
    # (Changed: five responses give "too few responses" only, no longer "non-functional distractor".)
    assert "too few responses" in row and "non-functional" not in row
    assert "no responses" in html  # adv-one-q2 and eth-two-q1 were never drawn on the form
    assert "Caution:" in html
    assert "How these numbers are computed" in html
    assert "first attempt" in html.lower()
    assert "<script" not in html and "style=" not in html


def test_bank_page_groups_by_form_and_switches_form(app, make_user, long_release):
    client = trainer_client(app, make_user)
    own_bank(app, slug="long")
    with app.app_context():
        record_long_form(long_release)
        set_id = exam_set(long_release).id
        record_short_form(long_release, db.session.get(QuestionSet, set_id))
        db.session.commit()

    html = client.get("/author/stats/banks/long").get_data(as_text=True)
    assert "Basic track: mock exam, 40 questions" in html and "Question set: Trainer check (exam), 5 questions" in html
    assert "Items on Basic track: mock exam, 40 questions (40)" in html
    assert f"form=set%3A{set_id}%3A5" in html or f"form=set:{set_id}:5" in html
    short = client.get(f"/author/stats/banks/long?form=set:{set_id}:5&attempts=all").get_data(as_text=True)
    assert "Items on Question set: Trainer check (exam), 5 questions (5)" in short
    assert sorted(re.findall(r'<th scope="row">(item-[0-9]+-q1)</th>', short)) == long_ids()[:5]
    assert re.search(r'<option[^>]*selected[^>]*value="all"|<option[^>]*value="all"[^>]*selected', short)


def test_bank_page_sorts_by_a_query_parameter(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    seeded_tiny(app, mini_release)

    def order(query: str) -> list[str]:
        html = client.get(f"/author/stats/banks/mini?{query}").get_data(as_text=True)
        return re.findall(r'<th scope="row">(adv-[a-z0-9-]+|eth-[a-z0-9-]+)</th>', html)

    assert order("sort=p&order=desc")[:3] == ["adv-one-q1", "adv-two-q1", "eth-one-q1"]
    assert order("sort=p&order=asc")[:3] == ["adv-two-q1", "eth-one-q1", "adv-one-q1"]
    assert order("sort=p")[-2:] == ["adv-one-q2", "eth-two-q1"]  # no responses: last either way
    assert order("sort=bogus") == order("")


def test_bank_page_filter_by_mode_and_rejects_reversed_dates(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    seeded_tiny(app, mini_release)

    practice = client.get("/author/stats/banks/mini?mode=practice").get_data(as_text=True)
    assert "0.80" not in practice
    reversed_dates = client.get("/author/stats/banks/mini?since=2026-03-05&until=2026-03-01")
    assert reversed_dates.status_code == 200
    assert "The end date must not be before the start date." in reversed_dates.get_data(as_text=True)
    unknown = client.get("/author/stats/banks/mini?attempts=best")
    assert unknown.status_code == 200  # an invalid choice falls back to the defaults


def test_version_page_shows_distractor_table_and_chart(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    ids = seeded_tiny(app, mini_release)

    html = client.get(f"/author/stats/versions/{ids['adv-one-q1']}").get_data(as_text=True)
    assert "<svg" in html and 'role="img"' in html
    assert "Phone the landlord and demand the lease." in html
    assert "80%" in html and "20%" in html
    assert "-0.53" in html  # distractor B's point-biserial
    assert "Basic track: mock exam, 3 questions" in html
    assert "Upper 27%" in html and "Lower 27%" in html
    assert "Omitted" in html and "Not reached" in html
    assert "KR-20 if deleted" in html and "Infit" in html
    empty = client.get(f"/author/stats/versions/{ids['eth-two-q1']}").get_data(as_text=True)
    assert "No responses to this version match the filter yet." in empty and "<svg" not in empty


def test_forms_page_shows_kr20_sem_and_decision_consistency(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    seeded_tiny(app, mini_release)

    html = client.get("/author/stats/banks/mini/forms").get_data(as_text=True)
    assert "Basic track: mock exam, 3 questions" in html
    assert "0.58" in html and "0.66" in html  # KR-20 and SEM
    assert "few attempts" in html
    assert "Lord" in html and "Subkoviak" in html


def test_csv_download_has_a_header_and_one_row_per_version_and_form(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    seeded_tiny(app, mini_release, times=6)

    response = client.get("/author/stats/banks/mini.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    # (Changed: the name says the scope and which attempts count.)
    assert response.headers["Content-Disposition"] == 'attachment; filename="mini-item-stats-forms-first.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 5  # three versions on the form, two on none
    first = next(r for r in rows if r["question_id"] == "adv-one-q1")
    assert (first["form"], first["form_id"], first["form_attempts"]) == (
        "Basic track: mock exam, 3 questions",
        TINY_FORM,
        "30",
    )
    assert first["attempts_per_learner"] == "first"
    assert first["n_responses"] == "30" and first["n_answered"] == "30"
    assert (first["omitted"], first["not_reached"]) == ("0", "0")
    assert float(first["p_value"]) == pytest.approx(0.8)
    assert float(first["r_pb_corrected"]) == pytest.approx(math.sqrt(2 / 7), abs=1e-4)
    assert float(first["d_index"]) == pytest.approx(1 - 0.35 / 1.35, abs=1e-4)
    assert float(first["kr20_if_deleted"]) == pytest.approx(2 * (1 - 0.48 / 0.56), abs=1e-4)
    assert first["rasch_b"] and first["infit_ms"] and first["outfit_ms"]
    assert (first["key"], first["share_A"], first["share_B"], first["share_C"], first["share_D"]) == (
        "A",
        "0.8",
        "0.2",
        "0.0",
        "",
    )
    assert first["nonfunctional_distractors"] == "C" and first["nonfunctional_count"] == "1"
    assert first["in_latest_release"] == "yes"
    assert first["domain"] == "Advocacy"
    unseen = next(r for r in rows if r["question_id"] == "eth-two-q1")
    assert (unseen["form"], unseen["n_responses"], unseen["flags"]) == ("", "0", "no responses")


def test_csv_guards_against_formula_injection(app, make_user, bank_copy):
    scenario = bank_copy / "scenarios" / "adv-one.yaml"
    scenario.write_text(scenario.read_text().replace("stem: What is the best first action?", 'stem: "=1+1"'))
    bank_yaml = bank_copy / "bank.yaml"
    bank_yaml.write_text(bank_yaml.read_text().replace("advocacy: Advocacy", 'advocacy: "@Advocacy"'))
    with app.app_context():
        banks.import_bank(quizbank.load_bank(bank_copy))
        db.session.commit()
    client = trainer_client(app, make_user)
    own_mini_bank(app)

    text = client.get("/author/stats/banks/mini.csv").get_data(as_text=True)
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["question_id"] == "adv-one-q1")
    assert row["stem"] == "'=1+1"
    assert row["domain"] == "'@Advocacy"
    assert "\n=1+1" not in text and ",=1+1" not in text


# --- access ----------------------------------------------------------------------------------------------

PAGES = ["/author/stats/banks/mini", "/author/stats/banks/mini/forms", "/author/stats/banks/mini.csv"]


def pages(app, mini_release) -> list[str]:
    ids = seeded_tiny(app, mini_release)
    return [*PAGES, f"/author/stats/versions/{ids['adv-one-q1']}"]


def test_trainer_of_the_owning_organization_and_site_admin_see_every_page(app, make_user, mini_release):
    own_mini_bank(app)
    urls = pages(app, mini_release)
    for client in (
        trainer_client(app, make_user),
        trainer_client(app, make_user, "root@example.org", role=None, admin=True),
    ):
        assert [client.get(url).status_code for url in urls] == [200] * 4


def test_trainer_of_another_organization_gets_404(app, make_user, mini_release):
    own_mini_bank(app, "acme")
    urls = pages(app, mini_release)
    client = trainer_client(app, make_user, "gil@globex.org", org="globex")
    assert [client.get(url).status_code for url in urls] == [404] * 4
    assert "Item statistics" not in client.get("/author/banks/mini").get_data(as_text=True)


def test_trainee_gets_403(app, make_user, mini_release):
    own_mini_bank(app)
    urls = pages(app, mini_release)
    client = trainer_client(app, make_user, "lee@acme.org", role="learner")
    assert [client.get(url).status_code for url in urls] == [403] * 4


def test_org_admin_of_the_owning_organization_who_is_not_a_trainer_gets_403(app, make_user, mini_release):
    own_mini_bank(app)
    client = trainer_client(app, make_user, "ada@acme.org", role="org_admin")
    assert client.get("/author/stats/banks/mini").status_code == 403


def test_a_bank_without_owner_is_for_site_admins_only(app, make_user, mini_release):
    urls = pages(app, mini_release)
    trainer = trainer_client(app, make_user)
    admin = trainer_client(app, make_user, "root@example.org", role=None, admin=True)
    assert [trainer.get(url).status_code for url in urls] == [404] * 4
    assert [admin.get(url).status_code for url in urls] == [200] * 4


def test_missing_bank_or_version_is_404_even_for_site_admins(app, make_user, mini_release):
    admin = trainer_client(app, make_user, "root@example.org", role=None, admin=True)
    assert admin.get("/author/stats/banks/nope").status_code == 404
    assert admin.get("/author/stats/versions/999999").status_code == 404


def test_author_bank_page_links_to_statistics_for_its_trainers(app, make_user, mini_release):
    own_mini_bank(app)
    client = trainer_client(app, make_user)
    html = client.get("/author/banks/mini").get_data(as_text=True)
    assert 'href="/author/stats/banks/mini"' in html


@pytest.mark.parametrize(
    ("n", "correct", "observed"),
    [(29, 29, None), (30, 24, "easy"), (30, 23, "medium"), (40, 20, "medium"), (40, 19, "hard")],
)
def test_observed_difficulty_sits_beside_the_label_once_there_are_enough_responses(n, correct, observed):
    item = make_item(n, correct, 0.3, [(True, correct / n, 0.3), (False, 1 - correct / n, -0.3)])
    assert item.observed_difficulty == observed
