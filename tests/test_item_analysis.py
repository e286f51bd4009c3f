"""Item analysis: p, corrected point-biserial, distractors, KR-20/SEM against hand-computed values; pages.

The tiny data set (five submitted mock exams on the mini bank, three items) used throughout:

    attempt   A = adv-one-q1 (key 0)   B = adv-two-q1 (key 1)   C = eth-one-q1 (key 1)   total
       1          0 -> 1                   1 -> 1                   1 -> 1                  3
       2          0 -> 1                   1 -> 1                   3 -> 0                  2
       3          0 -> 1                   0 -> 0                   1 -> 1                  2
       4          0 -> 1                   2 -> 0                   0 -> 0                  1
       5          1 -> 0                   0 -> 0                   0 -> 0                  0

(chosen original option -> score).
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

import quizbank
from app.extensions import db
from app.models import Attempt, Bank, BankRelease, Organization, QuestionSet, QuestionVersion, Response, User
from app.services import accounts, banks, item_analysis
from app.services.item_analysis import StatsFilter
from tests.conftest import login

NOW = datetime(2026, 3, 10, 12, 0)
TINY = [  # chosen original option per item A, B, C, one row per attempt (see the module docstring)
    (0, 1, 1),
    (0, 1, 3),
    (0, 0, 1),
    (0, 2, 0),
    (1, 0, 0),
]
TINY_ITEMS = ("adv-one-q1", "adv-two-q1", "eth-one-q1")


# --- helpers ---------------------------------------------------------------------------------------------


def release_versions(release_id: int) -> dict[str, QuestionVersion]:
    release = db.session.get(BankRelease, release_id)
    return {v.question.stable_id: v for v in banks.release_versions(release)}


def new_learner(email: str = "learner@example.org") -> User:
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
) -> Attempt:
    """An attempt with these answers (chosen original option, None = unanswered), scored like the app."""
    attempt = Attempt(
        user_id=user.id,
        release_id=release_id,
        mode=mode,
        seed=0,
        track="basic" if mode == "exam" else None,
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


def record_matrix(user, release_id, items: tuple[str, ...], rows, **options) -> None:
    versions = release_versions(release_id)
    for row in rows:
        record(user, release_id, [(versions[item], chosen) for item, chosen in zip(items, row, strict=True)], **options)
    db.session.flush()


def by_item(stats: list[item_analysis.ItemStats]) -> dict[str, item_analysis.ItemStats]:
    return {item.stable_id: item for item in stats}


def tiny(mini_release) -> tuple[BankRelease, dict[str, item_analysis.ItemStats]]:
    record_matrix(new_learner(), mini_release, TINY_ITEMS, TINY)
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


# --- item statistics against hand-computed values --------------------------------------------------------


def test_p_values_and_corrected_point_biserials_match_hand_computation(db_ctx, mini_release):
    _, items = tiny(mini_release)
    a, b, c = (items[name] for name in TINY_ITEMS)

    # p = correct / answered.
    assert (a.n, a.correct, a.p) == (5, 4, pytest.approx(0.8))
    assert (b.n, b.p) == (5, pytest.approx(0.4))
    assert (c.n, c.p) == (5, pytest.approx(0.4))
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


def test_distractor_shares_point_biserials_and_non_functional_options(db_ctx, mini_release):
    _, items = tiny(mini_release)
    a, c = items["adv-one-q1"], items["eth-one-q1"]

    assert [(o.letter, o.count, o.share) for o in a.options] == [("A", 4, 0.8), ("B", 1, 0.2), ("C", 0, 0.0)]
    assert [o.share for o in c.options] == [0.4, 0.4, 0.0, 0.2]
    assert [o.correct for o in c.options] == [False, True, False, False]
    assert [o.letter for o in a.non_functional] == ["C"]  # nobody chose it: under 5%
    assert [o.letter for o in c.non_functional] == ["C"]
    # A's option B was chosen only by attempt 5: x_d = 0 0 0 0 1 against y = 2 1 1 0 0.
    #   r = (5*0 - 1*4) / sqrt((5*1 - 1) * (5*6 - 16)) = -4 / sqrt(56)
    assert a.options[1].r_pb == pytest.approx(-4 / math.sqrt(56))
    assert a.options[2].r_pb is None  # chosen by nobody: undefined
    assert a.options[0].r_pb == pytest.approx(a.r_pb)  # the key's r is the item's r
    assert item_analysis.FLAG_NON_FUNCTIONAL in a.flags


def test_five_percent_is_functional_and_below_is_not(db_ctx, mini_release):
    # 20 respondents: 19 choose the key, 1 (exactly 5%) distractor B, nobody distractor C.
    rows = [(0,)] * 19 + [(1,)]
    record_matrix(new_learner(), mini_release, ("adv-one-q1",), rows)
    item = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))["adv-one-q1"]
    assert item.options[1].share == pytest.approx(0.05)
    assert not item.options[1].non_functional
    assert item.options[2].non_functional
    assert item_analysis.FLAG_TOO_EASY in item.flags  # p = 0.95 > 0.90


def test_negative_discrimination_is_flagged_check_key(db_ctx, mini_release):
    # Scores (A, B, D = adv-one-q2, C): the three strongest miss C, the two weakest get only C right.
    #   1 1 1 0 / 1 1 1 0 / 1 1 0 0 / 0 0 0 1 / 0 0 0 1: C's rest scores 3 3 2 0 0 fall where C is right.
    items = ("adv-one-q1", "adv-two-q1", "adv-one-q2", "eth-one-q1")
    rows = [(0, 1, 0, 0), (0, 1, 0, 2), (0, 1, 1, 3), (1, 0, 2, 1), (2, 2, 3, 1)]
    record_matrix(new_learner(), mini_release, items, rows)
    items = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))

    c = items["eth-one-q1"]
    assert c.r_pb < 0
    assert c.flags[:2] == [item_analysis.FLAG_CHECK_KEY, item_analysis.FLAG_LOW_DISCRIMINATION]
    assert item_analysis.FLAG_CHECK_KEY not in items["adv-one-q1"].flags


def test_difficulty_flags(db_ctx, mini_release):
    rows = [(1, 1), (1, 1), (2, 1), (1, 1), (1, 0)]  # A: p = 0 (too hard); B: p = 0.8
    record_matrix(new_learner(), mini_release, ("adv-one-q1", "adv-two-q1"), rows)
    items = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))
    assert item_analysis.FLAG_TOO_HARD in items["adv-one-q1"].flags
    assert not {item_analysis.FLAG_TOO_HARD, item_analysis.FLAG_TOO_EASY} & set(items["adv-two-q1"].flags)
    assert items["eth-two-q1"].flags == [item_analysis.FLAG_NO_RESPONSES]
    assert items["eth-two-q1"].p is None and items["eth-two-q1"].r_pb is None


def test_caution_below_100_responses(db_ctx, mini_release):
    record_matrix(new_learner(), mini_release, ("adv-one-q1", "adv-two-q1"), [(0, 1)] * 50 + [(1, 0)] * 49)
    items = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))
    assert items["adv-one-q1"].n == 99
    assert items["adv-one-q1"].caution and item_analysis.FLAG_FEW_RESPONSES in items["adv-one-q1"].flags

    record_matrix(new_learner("second@example.org"), mini_release, ("adv-one-q1",), [(0,)])
    items = by_item(item_analysis.release_item_stats(db.session.get(BankRelease, mini_release)))
    assert items["adv-one-q1"].n == 100
    assert not items["adv-one-q1"].caution
    assert item_analysis.FLAG_FEW_RESPONSES not in items["adv-one-q1"].flags
    assert items["adv-two-q1"].caution  # still 99


def test_only_answered_responses_of_submitted_attempts_in_the_chosen_mode_count(db_ctx, mini_release):
    user = new_learner()
    record_matrix(user, mini_release, TINY_ITEMS, TINY)
    versions = release_versions(mini_release)
    a, b = versions["adv-one-q1"], versions["adv-two-q1"]
    record(user, mini_release, [(a, 2), (b, 0)], submitted_at=None)  # still open: ignored
    record(user, mini_release, [(a, None), (b, 1)])  # A unanswered: not a response to A
    record(user, mini_release, [(a, 2)], mode="practice")  # counted only when every mode is chosen
    db.session.flush()
    release = db.session.get(BankRelease, mini_release)

    exam = by_item(item_analysis.release_item_stats(release))
    assert (exam["adv-one-q1"].n, exam["adv-one-q1"].correct) == (5, 4)
    assert (exam["adv-two-q1"].n, exam["adv-two-q1"].correct) == (6, 3)

    every = by_item(item_analysis.release_item_stats(release, StatsFilter(mode=None)))
    assert (every["adv-one-q1"].n, every["adv-one-q1"].correct) == (6, 4)
    assert [o.count for o in every["adv-one-q1"].options] == [4, 1, 1]

    practice = by_item(item_analysis.release_item_stats(release, StatsFilter(mode="practice")))
    assert practice["adv-one-q1"].n == 1 and practice["adv-two-q1"].n == 0


def test_date_range_is_inclusive_on_submission_dates(db_ctx, mini_release):
    user = new_learner()
    versions = release_versions(mini_release)
    a = versions["adv-one-q1"]
    for day, chosen in ((1, 0), (2, 1), (3, 2)):
        record(user, mini_release, [(a, chosen)], submitted_at=datetime(2026, 3, day, 23, 59))
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
    release, items = tiny(mini_release)
    version = release_versions(mini_release)["adv-one-q1"]
    single = item_analysis.version_item_stats(version)
    assert (single.n, single.correct) == (items["adv-one-q1"].n, items["adv-one-q1"].correct)
    assert single.r_pb == pytest.approx(items["adv-one-q1"].r_pb)
    assert [o.count for o in single.options] == [o.count for o in items["adv-one-q1"].options]


def test_an_edited_question_gets_its_own_statistics(db_ctx, bank_copy):
    first = banks.import_bank(quizbank.load_bank(bank_copy)).release
    user = new_learner()
    record_matrix(user, first.id, TINY_ITEMS, TINY)
    v1 = release_versions(first.id)["adv-one-q1"]
    scenario = bank_copy / "scenarios" / "adv-one.yaml"
    scenario.write_text(scenario.read_text().replace("What is the best first action?", "What should you do first?"))
    bank_yaml = bank_copy / "bank.yaml"
    bank_yaml.write_text(bank_yaml.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    second = banks.import_bank(quizbank.load_bank(bank_copy)).release
    v2 = release_versions(second.id)["adv-one-q1"]
    assert (v1.number, v2.number) == (1, 2)
    record_matrix(user, second.id, ("adv-one-q1", "adv-two-q1"), [(1, 1), (2, 1)])

    assert item_analysis.version_item_stats(v1).n == 5
    latest = by_item(item_analysis.release_item_stats(second))
    assert latest["adv-one-q1"].version_id == v2.id
    assert (latest["adv-one-q1"].n, latest["adv-one-q1"].correct) == (2, 0)
    # The unchanged question keeps one version across both releases and pools its responses.
    assert latest["adv-two-q1"].n == 7
    every = item_analysis.bank_item_stats(db.session.get(Bank, second.bank_id))
    assert sorted((i.stable_id, i.number, i.n) for i in every if i.stable_id == "adv-one-q1") == [
        ("adv-one-q1", 1, 5),
        ("adv-one-q1", 2, 2),
    ]


# --- forms: KR-20 and SEM --------------------------------------------------------------------------------


def test_kr20_and_sem_of_a_fixed_form_match_hand_computation(db_ctx, mini_release):
    release, _ = tiny(mini_release)
    (form,) = item_analysis.form_stats(release.bank)

    # Totals 3 2 2 1 0: mean 1.6; population variance 18/5 - 1.6^2 = 1.04.
    # p = 0.8, 0.4, 0.4: sum(pq) = 0.16 + 0.24 + 0.24 = 0.64.
    # KR-20 = 3/2 * (1 - 0.64/1.04) = 0.5769; SEM = sqrt(1.04) * sqrt(1 - 0.5769) = 0.6633.
    assert (form.attempts, form.items_per_attempt, form.distinct_items) == (5, 3, 3)
    assert form.mean == pytest.approx(1.6)
    assert form.sd == pytest.approx(math.sqrt(1.04))
    assert form.kr20 == pytest.approx(1.5 * (1 - 0.64 / 1.04))
    assert form.kr20 == pytest.approx(0.5769, abs=1e-4)
    assert form.sem == pytest.approx(math.sqrt(1.04) * math.sqrt(1 - form.kr20))
    assert form.sem == pytest.approx(0.6633, abs=1e-4)
    assert not form.approximate
    assert form.caution
    assert form.label == "Basic track: mock exams, release 1.0.0"


def test_kr20_over_random_forms_is_marked_approximate(db_ctx, mini_release):
    user = new_learner()
    v = release_versions(mini_release)
    a, b, c = (v[name] for name in TINY_ITEMS)
    # Attempts see two of three items: (A, B) right-right, (A, C) right-wrong, (B, C) wrong-right, (A, B) wrong-wrong.
    for answers in ([(a, 0), (b, 1)], [(a, 0), (c, 0)], [(b, 0), (c, 1)], [(a, 1), (b, 0)]):
        record(user, mini_release, answers)
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
    user = new_learner()
    v = release_versions(mini_release)
    a, b = v["adv-one-q1"], v["adv-two-q1"]
    for answers in ([(a, 0), (b, 1)], [(a, 0), (b, None)], [(a, None), (b, None)]):
        record(user, mini_release, answers)
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
    record_matrix(new_learner(), mini_release, TINY_ITEMS, TINY, mode="practice", question_set_id=question_set.id)
    record_matrix(new_learner("other@example.org"), mini_release, TINY_ITEMS, TINY[:2], mode="practice")

    (form,) = item_analysis.form_stats(release.bank)  # plain practice attempts are not a form
    assert form.label == "Question set: Boundaries drill"
    assert form.attempts == 5
    assert form.kr20 == pytest.approx(1.5 * (1 - 0.64 / 1.04))


# --- queries ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["exam", None])
def test_query_count_does_not_grow_with_responses(db_ctx, mini_release, mode):
    user = new_learner()
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
            "forms": statements_during(lambda: item_analysis.form_stats(bank, filters)),
            "csv": statements_during(lambda: item_analysis.bank_csv(bank, filters)),
            "version": statements_during(lambda: item_analysis.version_item_stats(version, filters)),
        }

    record_matrix(user, mini_release, names[:3], [(i % 3, i % 2, (i + 1) % 3) for i in range(10)])
    few = queries_per_call()
    record_matrix(user, mini_release, names, [(i % 3, i % 4, i % 3, i % 4, i % 3) for i in range(40)])
    many = queries_per_call()

    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 50
    assert many == few
    # Versions + one grouped query; forms: two grouped queries + set titles; CSV adds the latest release's ids.
    assert few == {"items": 2, "forms": 3, "csv": 3, "version": 2}


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


# --- pages -----------------------------------------------------------------------------------------------


def own_mini_bank(app, org: str = "acme") -> None:
    """Give the mini bank to an organization (imports leave banks without an owner)."""
    with app.app_context():
        organization = db.session.scalar(select(Organization).where(Organization.slug == org))
        if organization is None:
            organization = accounts.get_or_create_organization(org.title(), org)
        bank = banks.get_bank("mini")
        bank.organization_id = organization.id
        db.session.commit()


def seeded_tiny(app, mini_release) -> dict[str, int]:
    with app.app_context():
        record_matrix(new_learner(), mini_release, TINY_ITEMS, TINY)
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
    assert "Question versions in release 1.0.0 (5)" in html
    row = re.search(r"<th scope=\"row\">adv-one-q1</th>(.*?)</tr>", html, re.S).group(1)
    assert ">5<" in row and "0.80" in row and "0.53" in row
    assert "non-functional distractor" in row and "few responses" in row
    assert "no responses" in html  # adv-one-q2 and eth-two-q1 were never answered
    assert "Caution:" in html
    assert "<script" not in html and "style=" not in html


def test_bank_page_sorts_by_a_query_parameter(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    seeded_tiny(app, mini_release)

    def order(query: str) -> list[str]:
        html = client.get(f"/author/stats/banks/mini?{query}").get_data(as_text=True)
        return re.findall(r'<th scope="row">([a-z0-9-]+)</th>', html)

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


def test_version_page_shows_distractor_table_and_chart(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    ids = seeded_tiny(app, mini_release)

    html = client.get(f"/author/stats/versions/{ids['adv-one-q1']}").get_data(as_text=True)
    assert "<svg" in html and 'role="img"' in html
    assert "Phone the landlord and demand the lease." in html
    assert "80%" in html and "20%" in html
    assert "non-functional" in html
    assert "-0.53" in html  # distractor B's point-biserial
    empty = client.get(f"/author/stats/versions/{ids['eth-two-q1']}").get_data(as_text=True)
    assert "No responses to this version match the filter yet." in empty and "<svg" not in empty


def test_forms_page_shows_kr20_and_sem(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    seeded_tiny(app, mini_release)

    html = client.get("/author/stats/banks/mini/forms").get_data(as_text=True)
    assert "Basic track: mock exams, release 1.0.0" in html
    assert "0.58" in html and "0.66" in html  # KR-20 and SEM
    assert "few attempts" in html


def test_csv_download_has_a_header_and_one_row_per_version(app, make_user, mini_release):
    client = trainer_client(app, make_user)
    own_mini_bank(app)
    seeded_tiny(app, mini_release)

    response = client.get("/author/stats/banks/mini.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="mini-item-stats-exam.csv"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 5
    first = next(r for r in rows if r["question_id"] == "adv-one-q1")
    assert first["n_responses"] == "5"
    assert float(first["p_value"]) == pytest.approx(0.8)
    assert float(first["r_pb_corrected"]) == pytest.approx(math.sqrt(2 / 7), abs=1e-4)
    assert (first["key"], first["share_A"], first["share_B"], first["share_C"], first["share_D"]) == (
        "A",
        "0.8",
        "0.2",
        "0.0",
        "",
    )
    assert first["nonfunctional_distractors"] == "C"
    assert first["in_latest_release"] == "yes"
    assert first["domain"] == "Advocacy"


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
