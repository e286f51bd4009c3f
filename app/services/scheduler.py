"""Spaced repetition (SM-2) at item-family level: one ReviewCard per (learner, bank, scenario).

A family is a scenario (``QuestionVersion.content["scenario_id"]``), so a learner who missed one
question about a situation reviews the situation again, usually through a different question, instead
of memorising an answer letter. Only families the learner has missed enter the review queue.

All times are naive UTC datetimes (``app.models.base.utcnow``). Services flush; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import BankRelease, Question, QuestionVersion, ReleaseItem, ReviewCard

QUALITY_CORRECT = 4
QUALITY_INCORRECT = 1
NEW_EASE = 2.5
MIN_EASE = 1.3
MISS_EASE_PENALTY = 0.2
RELEARN_DAYS = 1.0
FIRST_INTERVAL_DAYS = 1.0
SECOND_INTERVAL_DAYS = 6.0
MAX_INTERVAL_DAYS = 365.0  # certification prep runs on months, and an uncapped interval overflows datetime


@dataclass(frozen=True)
class CardState:
    """The SM-2 state of one card, detached from the database."""

    ease: float
    interval_days: float
    repetitions: int
    lapses: int
    due_at: datetime


def sm2(state: CardState, correct: bool, now: datetime) -> CardState:
    """The next SM-2 state after one review at ``now`` (pure: no database, no clock).

    Grades: a correct answer is quality 4 ("correct after some hesitation"), an incorrect one is
    quality 1. The learner never grades themselves; the answer's correctness is the grade.

    * Incorrect: repetitions = 0, lapses + 1, interval = 1 day, ease = max(1.3, ease - 0.2), and the
      card is due again at ``now + 1 day`` (relearn tomorrow).
    * Correct: repetitions + 1; interval = 1 day for the 1st success in a row, 6 days for the 2nd,
      then ``round(interval * ease)``, at most 365 days; ease += 0.1 - (5 - q) * (0.08 + (5 - q) * 0.02), which is 0 for
      q = 4, never below 1.3; due at ``now + interval``.
    """
    if correct:
        return _after_success(state, now)
    return _after_lapse(state, now)


def _after_lapse(state: CardState, now: datetime) -> CardState:
    return CardState(
        ease=max(MIN_EASE, state.ease - MISS_EASE_PENALTY),
        interval_days=RELEARN_DAYS,
        repetitions=0,
        lapses=state.lapses + 1,
        due_at=now + timedelta(days=RELEARN_DAYS),
    )


def _after_success(state: CardState, now: datetime) -> CardState:
    repetitions = state.repetitions + 1
    interval = _next_interval(repetitions, state.interval_days, state.ease)
    return CardState(
        ease=_next_ease(state.ease, QUALITY_CORRECT),
        interval_days=interval,
        repetitions=repetitions,
        lapses=state.lapses,
        due_at=now + timedelta(days=interval),
    )


def _next_interval(repetitions: int, interval_days: float, ease: float) -> float:
    if repetitions == 1:
        return FIRST_INTERVAL_DAYS
    if repetitions == 2:
        return SECOND_INTERVAL_DAYS
    return float(min(round(interval_days * ease), MAX_INTERVAL_DAYS))


def _next_ease(ease: float, quality: int) -> float:
    gap = 5 - quality
    return max(MIN_EASE, ease + 0.1 - gap * (0.08 + gap * 0.02))


def card_state(card: ReviewCard) -> CardState:
    """The SM-2 state stored on a card."""
    return CardState(
        ease=card.ease,
        interval_days=card.interval_days,
        repetitions=card.repetitions,
        lapses=card.lapses,
        due_at=card.due_at,
    )


def _apply(card: ReviewCard, state: CardState) -> None:
    card.ease = state.ease
    card.interval_days = state.interval_days
    card.repetitions = state.repetitions
    card.lapses = state.lapses
    card.due_at = state.due_at


def family_of(version: QuestionVersion) -> str:
    """The item family (scenario id) of a question version."""
    return version.content["scenario_id"]


def _naive_utc(moment: datetime) -> datetime:
    """Accept an aware datetime too, but compare and store naive UTC like every other timestamp."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def record_outcome(user_id: int, version: QuestionVersion, correct: bool, now: datetime) -> ReviewCard | None:
    """Update the learner's card for the version's family after an answer; flushes, never commits.

    A miss creates the card when there is none (ease 2.5, repetitions 0) and then applies the miss;
    a correct answer only updates an existing card that is due, so families never missed stay out of
    the queue and answering two questions of one family in a session does not skip it ahead twice
    (returns None when nothing changed). Sets ``last_reviewed_at`` and ``last_question_id``.
    """
    changed = record_outcomes(user_id, version.question.bank_id, [(version, correct)], now)
    return changed[0] if changed else None


def record_outcomes(
    user_id: int, bank_id: int, outcomes: list[tuple[QuestionVersion, bool]], now: datetime
) -> list[ReviewCard]:
    """``record_outcome`` for many answers at once (an exam): one query for the existing cards.

    Outcomes are applied in order; returns the cards that changed.
    """
    now = _naive_utc(now)
    families = {family_of(version) for version, _ in outcomes}
    cards = _locked_cards(user_id, bank_id, families)
    missed_without_card = {family_of(v) for v, correct in outcomes if not correct} - set(cards)
    if missed_without_card:
        _create_cards(user_id, bank_id, missed_without_card, now)
        cards = _locked_cards(user_id, bank_id, families)
    changed: dict[int, ReviewCard] = {}
    for version, correct in outcomes:
        card = cards.get(family_of(version))
        if card is None or (correct and card.due_at > now):
            continue
        _apply(card, sm2(card_state(card), correct, now))
        card.last_reviewed_at = now
        card.last_question_id = version.question_id
        changed[card.id] = card
    db.session.flush()
    return list(changed.values())


def _locked_cards(user_id: int, bank_id: int, families: set[str]) -> dict[str, ReviewCard]:
    """The learner's cards for these families, row-locked on PostgreSQL so concurrent answers keep every update."""
    rows = db.session.scalars(
        select(ReviewCard)
        .where(ReviewCard.user_id == user_id, ReviewCard.bank_id == bank_id, ReviewCard.family.in_(families))
        .with_for_update()
    )
    return {card.family: card for card in rows}


def _create_cards(user_id: int, bank_id: int, families: set[str], now: datetime) -> None:
    """Insert new cards in one statement; a card a concurrent request inserted first is left as it is."""
    rows = [
        {
            "user_id": user_id,
            "bank_id": bank_id,
            "family": family,
            "ease": NEW_EASE,
            "interval_days": 0.0,
            "repetitions": 0,
            "lapses": 0,
            "due_at": now,
        }
        for family in sorted(families)
    ]
    dialect = db.session.get_bind().dialect.name
    inserter = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if inserter is None:
        db.session.add_all(ReviewCard(**row) for row in rows)
        db.session.flush()
        return
    db.session.execute(inserter(ReviewCard).values(rows).on_conflict_do_nothing())


def _create_card(user_id: int, bank_id: int, family: str, now: datetime) -> ReviewCard:
    """Insert one new card (or find the one a concurrent request inserted first)."""
    _create_cards(user_id, bank_id, {family}, now)
    return _locked_cards(user_id, bank_id, {family})[family]


def _due_query(user_id: int, bank_id: int, now: datetime):
    return select(ReviewCard).where(
        ReviewCard.user_id == user_id, ReviewCard.bank_id == bank_id, ReviewCard.due_at <= _naive_utc(now)
    )


def due_cards(user_id: int, bank_id: int, now: datetime, limit: int = 20) -> list[ReviewCard]:
    """Cards of the learner in this bank that are due at ``now``, most overdue first (at most ``limit``)."""
    query = _due_query(user_id, bank_id, now).order_by(ReviewCard.due_at, ReviewCard.id).limit(limit)
    return list(db.session.scalars(query))


def due_count(user_id: int, bank_id: int, now: datetime) -> int:
    """How many of the learner's cards in this bank are due at ``now``."""
    return db.session.scalar(select(func.count()).select_from(_due_query(user_id, bank_id, now).subquery()))


def _release_family():
    return QuestionVersion.content["scenario_id"].as_string()


def _families_in_release(release_id: int):
    return (
        select(_release_family())
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release_id)
    )


def _due_cards_in_release(user_id: int, release: BankRelease, now: datetime, limit: int) -> list[ReviewCard]:
    query = (
        _due_query(user_id, release.bank_id, now)
        .where(ReviewCard.family.in_(_families_in_release(release.id)))
        .order_by(ReviewCard.due_at, ReviewCard.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def _release_versions_by_family(release_id: int, families: list[str]) -> dict[str, list[QuestionVersion]]:
    """{family: its versions in the release, ordered by question stable id}, in one query."""
    rows = db.session.scalars(
        select(QuestionVersion)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .join(QuestionVersion.question)
        .options(contains_eager(QuestionVersion.question))
        .where(ReleaseItem.release_id == release_id, _release_family().in_(families))
        .order_by(Question.stable_id)
    )
    by_family: dict[str, list[QuestionVersion]] = {}
    for version in rows:
        by_family.setdefault(family_of(version), []).append(version)
    return by_family


def _rotate(versions: list[QuestionVersion], last_question_id: int | None) -> QuestionVersion:
    """The version after the last question asked (wrapping), or the first when it is unknown."""
    ids = [v.question_id for v in versions]
    if last_question_id not in ids:
        return versions[0]
    return versions[(ids.index(last_question_id) + 1) % len(versions)]


def pick_review_versions(user_id: int, release: BankRelease, now: datetime, limit: int = 20) -> list[QuestionVersion]:
    """One question version from ``release`` per due card, most overdue first, at most ``limit``.

    Within a family the versions are ordered by question stable id and the pick rotates past the
    question asked last time, so a family with several questions is reviewed through a different one.
    Families no longer in the release are skipped (and do not use up the limit). Two queries in all.
    """
    cards = _due_cards_in_release(user_id, release, now, limit)
    if not cards:
        return []
    by_family = _release_versions_by_family(release.id, sorted({c.family for c in cards}))
    return [_rotate(by_family[c.family], c.last_question_id) for c in cards if c.family in by_family]
