"""Spaced repetition: the pure SM-2 step and the family-level review queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import BankRelease, Question, QuestionVersion, ReviewCard
from app.services import accounts, scheduler
from app.services.scheduler import (
    CardState,
    due_cards,
    due_count,
    pick_review_versions,
    record_outcome,
    sm2,
)
from tests.conftest import PASSWORD

NOW = datetime(2025, 3, 1, 9, 0, 0)
DAY = timedelta(days=1)
NEW = CardState(ease=2.5, interval_days=0.0, repetitions=0, lapses=0, due_at=NOW)


def run(outcomes: list[bool], state: CardState = NEW, start: datetime = NOW) -> list[CardState]:
    """Apply outcomes one after another, each answered on the day the card falls due."""
    states, now = [], start
    for correct in outcomes:
        state = sm2(state, correct, now)
        states.append(state)
        now = state.due_at
    return states


# --- pure SM-2 ---------------------------------------------------------------------------------------


def test_correct_sequence_gives_1_6_15_days_with_ease_unchanged():
    states = run([True, True, True])
    assert [s.interval_days for s in states] == [1, 6, 15]
    assert [s.repetitions for s in states] == [1, 2, 3]
    assert all(s.ease == pytest.approx(2.5) for s in states)
    assert states[-1].due_at == NOW + timedelta(days=1 + 6 + 15)


def test_due_date_is_now_plus_interval():
    state = sm2(replace(NEW, repetitions=2, interval_days=6.0), True, NOW)
    assert state.interval_days == 15
    assert state.due_at == NOW + timedelta(days=15)


def test_miss_resets_repetitions_counts_lapse_and_lowers_ease():
    before = run([True, True, True])[-1]
    after = sm2(before, False, NOW)
    assert after.repetitions == 0
    assert after.lapses == before.lapses + 1
    assert after.ease == pytest.approx(2.3)
    assert after.interval_days == 1
    assert after.due_at == NOW + DAY


def test_first_miss_is_due_again_within_a_day():
    state = sm2(NEW, False, NOW)
    assert NOW < state.due_at <= NOW + DAY


def test_relearning_after_a_miss_restarts_the_ladder_with_lower_ease():
    states = run([False, True, True, True])
    assert [s.interval_days for s in states] == [1, 1, 6, round(6 * 2.3)]
    assert states[-1].ease == pytest.approx(2.3)
    assert states[-1].lapses == 1


def test_ease_never_drops_below_1_3():
    states = run([False] * 12)
    assert states[-1].ease == pytest.approx(1.3)
    assert min(s.ease for s in states) >= 1.3
    assert states[-1].lapses == 12
    assert sm2(states[-1], True, NOW).ease == pytest.approx(1.3)


def test_sm2_is_pure():
    state = replace(NEW, repetitions=1, interval_days=1.0)
    sm2(state, False, NOW)
    assert state == replace(NEW, repetitions=1, interval_days=1.0)


# --- database-backed queue ---------------------------------------------------------------------------


@pytest.fixture
def release(db_ctx, mini_release) -> BankRelease:
    return db.session.get(BankRelease, mini_release)


@pytest.fixture
def user_id(db_ctx) -> int:
    return accounts.register_user("learner@example.org", "Learner", PASSWORD).id


def version(stable_id: str) -> QuestionVersion:
    return db.session.scalar(
        select(QuestionVersion)
        .join(Question)
        .where(Question.stable_id == stable_id)
        .order_by(QuestionVersion.number.desc())
    )


def card_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ReviewCard))


def test_correct_answer_without_card_creates_nothing(release, user_id):
    assert record_outcome(user_id, version("adv-one-q1"), True, NOW) is None
    assert card_count() == 0


def test_miss_creates_family_card(release, user_id):
    q1 = version("adv-one-q1")
    card = record_outcome(user_id, q1, False, NOW)
    assert card is not None and card.id is not None
    assert (card.user_id, card.bank_id, card.family) == (user_id, release.bank_id, "adv-one")
    assert (card.repetitions, card.lapses, card.interval_days) == (0, 1, 1)
    assert card.ease == pytest.approx(2.3)
    assert card.due_at == NOW + DAY
    assert card.last_reviewed_at == NOW
    assert card.last_question_id == q1.question_id


def test_later_correct_answer_updates_the_card(release, user_id):
    record_outcome(user_id, version("adv-one-q1"), False, NOW)
    later = NOW + DAY
    q2 = version("adv-one-q2")
    card = record_outcome(user_id, q2, True, later)
    assert card is not None
    assert (card.repetitions, card.lapses, card.interval_days) == (1, 1, 1)
    assert card.due_at == later + DAY
    assert card.last_reviewed_at == later
    assert card.last_question_id == q2.question_id
    assert card_count() == 1


def test_correct_answer_before_the_card_is_due_does_not_skip_it_ahead(release, user_id):
    record_outcome(user_id, version("adv-one-q1"), False, NOW)
    assert record_outcome(user_id, version("adv-one-q2"), True, NOW + timedelta(hours=2)) is None
    card = db.session.scalar(select(ReviewCard))
    assert (card.repetitions, card.due_at) == (0, NOW + DAY)


def test_interval_is_capped_so_long_streaks_never_overflow():
    states = run([True] * 40)
    assert states[-1].interval_days == scheduler.MAX_INTERVAL_DAYS
    assert states[-1].due_at.year < 2100


def test_questions_of_one_scenario_share_one_card(release, user_id):
    first = record_outcome(user_id, version("adv-one-q1"), False, NOW)
    second = record_outcome(user_id, version("adv-one-q2"), False, NOW + timedelta(hours=1))
    assert first.id == second.id
    assert second.lapses == 2
    assert card_count() == 1


def test_creating_an_existing_card_reuses_it(release, user_id):
    """A concurrent first miss (card inserted between our select and insert) must not raise."""
    card = record_outcome(user_id, version("adv-one-q1"), False, NOW)
    again = scheduler._create_card(user_id, release.bank_id, "adv-one", NOW)
    assert again.id == card.id
    assert card_count() == 1


def test_record_outcome_flushes_but_does_not_commit(release, user_id):
    record_outcome(user_id, version("eth-one-q1"), False, NOW)
    db.session.rollback()
    assert card_count() == 0


def test_due_cards_and_count_before_and_after_due(release, user_id):
    record_outcome(user_id, version("adv-one-q1"), False, NOW)
    assert due_count(user_id, release.bank_id, NOW) == 0
    assert due_cards(user_id, release.bank_id, NOW + DAY - timedelta(seconds=1)) == []
    assert due_count(user_id, release.bank_id, NOW + DAY) == 1
    assert [c.family for c in due_cards(user_id, release.bank_id, NOW + 2 * DAY)] == ["adv-one"]


def test_due_cards_most_overdue_first_with_limit(release, user_id):
    record_outcome(user_id, version("eth-one-q1"), False, NOW + timedelta(hours=2))
    record_outcome(user_id, version("adv-two-q1"), False, NOW)
    record_outcome(user_id, version("eth-two-q1"), False, NOW + timedelta(hours=1))
    later = NOW + 3 * DAY
    assert [c.family for c in due_cards(user_id, release.bank_id, later)] == ["adv-two", "eth-two", "eth-one"]
    assert [c.family for c in due_cards(user_id, release.bank_id, later, limit=2)] == ["adv-two", "eth-two"]
    assert due_count(user_id, release.bank_id, later) == 3


def test_due_cards_belong_to_the_user_only(release, user_id):
    other = accounts.register_user("other@example.org", "Other", PASSWORD).id
    record_outcome(other, version("adv-one-q1"), False, NOW)
    assert due_count(user_id, release.bank_id, NOW + 2 * DAY) == 0
    assert due_count(other, release.bank_id, NOW + 2 * DAY) == 1


def test_pick_rotates_to_the_other_question_of_the_family(release, user_id):
    record_outcome(user_id, version("adv-one-q1"), False, NOW)
    picked = pick_review_versions(user_id, release, NOW + DAY)
    assert [v.question.stable_id for v in picked] == ["adv-one-q2"]
    record_outcome(user_id, picked[0], False, NOW + DAY)
    picked = pick_review_versions(user_id, release, NOW + 2 * DAY)
    assert [v.question.stable_id for v in picked] == ["adv-one-q1"]


def test_pick_single_question_family_and_nothing_before_due(release, user_id):
    record_outcome(user_id, version("eth-one-q1"), False, NOW)
    assert pick_review_versions(user_id, release, NOW) == []
    assert [v.question.stable_id for v in pick_review_versions(user_id, release, NOW + DAY)] == ["eth-one-q1"]


def test_pick_skips_families_missing_from_the_release(release, user_id):
    db.session.add(ReviewCard(user_id=user_id, bank_id=release.bank_id, family="gone", due_at=NOW - DAY))
    record_outcome(user_id, version("adv-two-q1"), False, NOW)
    picked = pick_review_versions(user_id, release, NOW + DAY, limit=1)
    assert [v.question.stable_id for v in picked] == ["adv-two-q1"]


def test_pick_starts_at_first_stable_id_when_last_question_is_unknown(release, user_id):
    card = record_outcome(user_id, version("adv-one-q2"), False, NOW)
    card.last_question_id = None
    db.session.flush()
    assert [v.question.stable_id for v in pick_review_versions(user_id, release, NOW + DAY)] == ["adv-one-q1"]


def test_pick_uses_a_bounded_number_of_queries(release, user_id):
    for index, stable_id in enumerate(["adv-one-q1", "adv-two-q1", "eth-one-q1", "eth-two-q1"]):
        record_outcome(user_id, version(stable_id), False, NOW + timedelta(minutes=index))
    db.session.expire_all()
    db.session.refresh(release)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        picked = pick_review_versions(user_id, release, NOW + 2 * DAY)
        stable_ids = [v.question.stable_id for v in picked]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert stable_ids == ["adv-one-q2", "adv-two-q1", "eth-one-q1", "eth-two-q1"]
    assert len(statements) == 2
