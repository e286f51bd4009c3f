"""The attempt engine for practice: draw questions, pin versions and option order, save answers once."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Attempt, BankRelease, QuestionVersion, QuestionVersionTag, ReleaseItem, Response, User
from app.models.base import utcnow
from app.services import ServiceError, readiness, scheduler
from app.services.banks import get_track

PRACTICE_SIZES = (5, 10, 20)


@dataclass(frozen=True)
class AnswerResult:
    """The response after an answer; ``counted`` is False when it had already been answered."""

    response: Response
    counted: bool


def candidate_versions(release: BankRelease, domain: str | None, tag: str | None) -> list[QuestionVersion]:
    """Question versions of a release, optionally narrowed to one domain and/or one tag."""
    query = (
        select(QuestionVersion)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release.id)
        .order_by(QuestionVersion.id)
    )
    if domain:
        query = query.where(QuestionVersion.domain == domain)
    if tag:
        query = query.join(QuestionVersionTag).where(QuestionVersionTag.tag == tag)
    return list(db.session.scalars(query))


def times_seen(user: User) -> dict[int, int]:
    """{question id: how many times this user has answered it}."""
    rows = db.session.execute(
        select(Response.question_id, func.count())
        .join(Attempt)
        .where(Attempt.user_id == user.id, Response.chosen_option.is_not(None))
        .group_by(Response.question_id)
    )
    return dict(rows.all())


def draw(
    candidates: list[QuestionVersion], seen: dict[int, int], count: int, rng: random.Random
) -> list[QuestionVersion]:
    """Pick ``count`` versions, least-seen first, ties broken by the seeded generator."""
    keyed = [(seen.get(v.question_id, 0), rng.random(), v) for v in candidates]
    keyed.sort(key=lambda item: (item[0], item[1]))
    chosen = [v for _, _, v in keyed[:count]]
    rng.shuffle(chosen)
    return chosen


def adaptive_draw(
    candidates: list[QuestionVersion],
    seen: dict[int, int],
    count: int,
    rng: random.Random,
    abilities: dict[str, float],
    difficulty,
) -> list[QuestionVersion]:
    """Pick ``count`` versions: least seen first, then the most informative at the learner's ability.

    Under the Rasch model an item is most informative where its difficulty equals the ability, so within
    each tier of times-seen the items closest in difficulty to the learner's ability in their domain come
    first. Kept in that order: the first question is the most informative one.
    """
    keyed = [
        (seen.get(v.question_id, 0), abs(difficulty(v) - abilities.get(v.domain, 0.0)), rng.random(), v)
        for v in candidates
    ]
    keyed.sort(key=lambda item: item[:3])
    return [v for *_, v in keyed[:count]]


def start_practice(
    user: User,
    release: BankRelease,
    *,
    domain: str | None = None,
    tag: str | None = None,
    count: int = 10,
    seed: int | None = None,
    adaptive: bool = False,
) -> Attempt:
    """Start a practice attempt: draw questions, pin their versions and shuffle each option order.

    ``adaptive``: instead of least seen at random, least seen and most informative at the learner's current
    ability (readiness's calibrated item difficulties and ability estimate).
    """
    if domain and domain not in release.domains:
        raise ServiceError("Choose a domain from the list.")
    if tag and tag not in release.tags:
        raise ServiceError("Choose a topic from the list.")
    if count not in PRACTICE_SIZES:
        raise ServiceError(f"Choose {', '.join(map(str, PRACTICE_SIZES))} questions.")
    candidates = candidate_versions(release, domain, tag)
    if not candidates:
        raise ServiceError("No questions match that choice yet. Try another domain or topic.")
    seed = secrets.randbelow(2**31) if seed is None else seed
    rng = random.Random(seed)  # noqa: S311 - shuffling quiz items, not security
    if adaptive:
        abilities, difficulty = readiness.abilities_for_selection(user, release)
        chosen = adaptive_draw(candidates, times_seen(user), count, rng, abilities, difficulty)
    else:
        chosen = draw(candidates, times_seen(user), count, rng)
    return create_attempt(user, release, chosen, mode="practice", seed=seed, rng=rng, domain=domain, tag=tag)


def create_attempt(
    user: User,
    release: BankRelease,
    versions: list[QuestionVersion],
    *,
    mode: str,
    seed: int,
    rng: random.Random | None = None,
    **fields,
) -> Attempt:
    """An attempt pinning these question versions, each with its own shuffled option order."""
    rng = rng or random.Random(seed)  # noqa: S311 - shuffling quiz items, not security
    attempt = Attempt(user_id=user.id, release=release, mode=mode, seed=seed, **fields)
    db.session.add(attempt)
    for position, version in enumerate(versions, start=1):
        order = list(range(len(version.options)))
        rng.shuffle(order)
        attempt.responses.append(
            Response(position=position, question_id=version.question_id, question_version=version, option_order=order)
        )
    db.session.flush()
    return attempt


def get_attempt(attempt_id: int, user: User) -> Attempt | None:
    """The user's own attempt with this id (None for another user's or a missing one)."""
    attempt = db.session.get(
        Attempt, attempt_id, options=[selectinload(Attempt.responses).selectinload(Response.question_version)]
    )
    return attempt if attempt is not None and attempt.user_id == user.id else None


def get_response(attempt: Attempt, position: int) -> Response | None:
    return next((r for r in attempt.responses if r.position == position), None)


def next_unanswered(attempt: Attempt) -> Response | None:
    return next((r for r in attempt.responses if not r.is_answered), None)


def answer(attempt: Attempt, position: int, shown_choice: int) -> AnswerResult:
    """Save the answer to one question exactly once; a repeat or stale submit changes nothing.

    ``shown_choice`` is the 0-based place of the option in the order the learner saw.
    """
    response = get_response(attempt, position)
    if response is None:
        raise ServiceError("That question is not part of this attempt.")
    if response.is_answered:
        return AnswerResult(response, counted=False)
    if attempt.is_submitted:
        raise ServiceError("This attempt is already finished; answers can no longer be changed.")
    if not 0 <= shown_choice < len(response.option_order):
        raise ServiceError("Choose one of the options.")
    chosen = response.option_order[shown_choice]
    correct = chosen == response.question_version.correct_index
    saved = db.session.execute(
        update(Response)
        .where(Response.id == response.id, Response.chosen_option.is_(None))
        .values(chosen_option=chosen, correct=correct, answered_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(response)
    if saved:
        scheduler.record_outcome(attempt.user_id, response.question_version, correct, response.answered_at)
        if next_unanswered(attempt) is None:
            finish(attempt)
    return AnswerResult(response, counted=bool(saved))


def finish(attempt: Attempt) -> bool:
    """Submit the attempt; True only for the call that actually submitted it.

    A finished practice or review adds a point to the learner's readiness history.
    """
    now = utcnow()
    submitted = mark_submitted(attempt, now)
    track = get_track(attempt.release)
    if submitted and track is not None and any(r.is_answered for r in attempt.responses):
        user = db.session.get(User, attempt.user_id)
        readiness.record_snapshot(user, attempt.release, track, attempt=attempt, now=now)
    return bool(submitted)


def mark_submitted(attempt: Attempt, stamp: datetime) -> bool:
    """Stamp the attempt as submitted unless it already is; True only for the call that stamped it.

    One guarded UPDATE, so concurrent calls cannot both succeed.
    """
    stamped = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None))
        .values(submitted_at=stamp)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(attempt)
    return bool(stamped)


def start_review(user: User, release: BankRelease, now: datetime | None = None, limit: int = 20) -> Attempt:
    """A review session of the learner's due item families (one question each, feedback after each)."""
    versions = scheduler.pick_review_versions(user.id, release, now or utcnow(), limit)
    if not versions:
        raise ServiceError("Nothing is due for review. Missed questions come back here on a schedule.")
    return create_attempt(user, release, versions, mode="review", seed=secrets.randbelow(2**31))


@dataclass(frozen=True)
class DomainScore:
    domain: str
    name: str
    answered: int
    correct: int

    @property
    def share(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class AttemptSummary:
    total: int
    answered: int
    correct: int
    by_domain: list[DomainScore]

    @property
    def share(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


def summarise(attempt: Attempt) -> AttemptSummary:
    """Score an attempt overall and per domain."""
    per_domain: dict[str, list[int]] = {}
    for response in attempt.responses:
        if response.is_answered:
            tally = per_domain.setdefault(response.question_version.domain, [0, 0])
            tally[0] += 1
            tally[1] += int(bool(response.correct))
    by_domain = [
        DomainScore(domain, name, *per_domain[domain])
        for domain, name in attempt.release.domains.items()
        if domain in per_domain
    ]
    return AttemptSummary(
        total=len(attempt.responses),
        answered=sum(s.answered for s in by_domain),
        correct=sum(s.correct for s in by_domain),
        by_domain=by_domain,
    )
