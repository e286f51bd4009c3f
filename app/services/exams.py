"""Mock exams: a seeded form drawn to the track blueprint, a server-side deadline, exactly-once submit.

Concurrency: answers and submit both take the attempt's row lock (``FOR UPDATE`` on PostgreSQL) and
guard their UPDATE statements with the attempt's state, so a late tab, a double click or two tabs can
never save an answer after submission or submit (and score) twice. SQLite serialises writers, and
the guarded statements keep it correct there too.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update

from app.extensions import db
from app.models import Attempt, BankRelease, QuestionSet, QuestionVersion, Response, User
from app.models.base import utcnow
from app.services import ServiceError, readiness, scheduler
from app.services.banks import get_track
from app.services.practice import candidate_versions, create_attempt, draw, mark_submitted, times_seen
from quizbank.blueprint import allocate


def open_exam(user: User, track_id: str) -> Attempt | None:
    """The learner's unsubmitted exam on this track, if any."""
    return db.session.scalar(
        select(Attempt)
        .where(
            Attempt.user_id == user.id,
            Attempt.mode == "exam",
            Attempt.track == track_id,
            Attempt.submitted_at.is_(None),
        )
        .order_by(Attempt.id.desc())
        .limit(1)
    )


DEFAULT_FORM = "short"


def exam_forms(track: dict) -> list[dict]:
    """Every form of the track's mock exam, the default (short) form first; all share blueprint and cut."""
    exam = track["exam"]
    default = {
        "id": DEFAULT_FORM,
        "title": "Short form",
        "length": exam["length"],
        "time_limit_minutes": exam["time_limit_minutes"],
    }
    return [default, *exam.get("forms", ())]


def exam_form(track: dict, form_id: str | None) -> dict | None:
    """One form of the track's exam by id (None or "short" is the default form)."""
    wanted = form_id or DEFAULT_FORM
    return next((f for f in exam_forms(track) if f["id"] == wanted), None)


def draw_exam_form(
    user: User, release: BankRelease, track: dict, rng: random.Random, length: int | None = None
) -> list[QuestionVersion]:
    """The exam's questions: per-domain counts from the blueprint, unseen items first, then shuffled."""
    by_domain: dict[str, list[QuestionVersion]] = defaultdict(list)
    for version in candidate_versions(release, None, None):
        by_domain[version.domain].append(version)
    length = length or track["exam"]["length"]
    counts = allocate(length, track["blueprint"], {d: len(v) for d, v in by_domain.items()})
    seen = times_seen(user)
    form = [v for domain in track["blueprint"] for v in draw(by_domain[domain], seen, counts[domain], rng)]
    rng.shuffle(form)
    return form


def start_exam(
    user: User,
    release: BankRelease,
    track: dict,
    now: datetime | None = None,
    seed: int | None = None,
    form_id: str | None = None,
) -> Attempt:
    """Resume the learner's open exam on this track, or start a new timed one of the chosen form.

    The same seed, release, form and history always give the same questions and option orders.
    """
    form = exam_form(track, form_id)
    if form is None:
        raise ServiceError("This track has no such exam form.")
    now = now or utcnow()
    current = open_exam(user, track["id"])
    if current is not None:
        if not is_expired(current, now):
            return current
        submit(current, now)
    seed = secrets.randbelow(2**31) if seed is None else seed
    rng = random.Random(seed)  # noqa: S311 - shuffling exam items, not security
    questions = draw_exam_form(user, release, track, rng, form["length"])
    if not questions:
        raise ServiceError("This bank has no questions for the exam yet.")
    return create_attempt(
        user,
        release,
        questions,
        mode="exam",
        seed=seed,
        rng=rng,
        track=track["id"],
        exam_form=None if form["id"] == DEFAULT_FORM else form["id"],
        started_at=now,
        deadline_at=now + timedelta(minutes=form["time_limit_minutes"]),
    )


@dataclass(frozen=True)
class ExamTerms:
    """What an exam attempt is held to: its time limit and the share needed to pass."""

    time_limit_minutes: int
    cut_score: float


def exam_terms(attempt: Attempt) -> ExamTerms:
    """The terms of an exam attempt: from its question set when it has one, else from its track."""
    question_set = db.session.get(QuestionSet, attempt.question_set_id) if attempt.question_set_id else None
    if question_set is not None and question_set.pass_mark is not None:
        return ExamTerms(question_set.time_limit_minutes or 0, question_set.pass_mark)
    track = get_track(attempt.release, attempt.track)
    form = exam_form(track, attempt.exam_form) or exam_form(track, DEFAULT_FORM)
    return ExamTerms(form["time_limit_minutes"], track["exam"]["cut_score"])


def is_expired(attempt: Attempt, now: datetime | None = None) -> bool:
    return attempt.deadline_at is not None and (now or utcnow()) >= attempt.deadline_at


def seconds_left(attempt: Attempt, now: datetime | None = None) -> int:
    if attempt.deadline_at is None:
        return 0
    return max(0, int((attempt.deadline_at - (now or utcnow())).total_seconds()))


def _lock(attempt: Attempt) -> datetime | None:
    """Take the attempt's row lock and return its committed submitted_at."""
    return db.session.execute(
        select(Attempt.submitted_at).where(Attempt.id == attempt.id).with_for_update()
    ).scalar_one()


def save_answer(attempt: Attempt, position: int, shown_choice: int, now: datetime | None = None) -> str:
    """Save (or change) an exam answer before the deadline.

    Returns "saved", or "submitted" if the exam was already submitted, or "expired" if time ran
    out (the exam is then submitted with the answers saved before the deadline).
    """
    response = next((r for r in attempt.responses if r.position == position), None)
    if response is None:
        raise ServiceError("That question is not part of this exam.")
    if not 0 <= shown_choice < len(response.option_order):
        raise ServiceError("Choose one of the options.")
    if _lock(attempt) is not None:
        return "submitted"
    now = now or utcnow()  # read after the lock: a save that waited on a submit is judged as of now
    if is_expired(attempt, now):
        submit(attempt, now)
        return "expired"
    chosen = response.option_order[shown_choice]
    still_open = exists().where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None), Attempt.deadline_at > now)
    saved = db.session.execute(
        update(Response)
        .where(Response.id == response.id, still_open)
        .values(chosen_option=chosen, correct=chosen == response.question_version.correct_index, answered_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(response)
    return "saved" if saved else "submitted"


def submit(attempt: Attempt, now: datetime | None = None) -> bool:
    """Submit and score the exam exactly once; True only for the call that submitted it.

    An expired exam is stamped with its deadline, not the later moment it was noticed.
    """
    _lock(attempt)
    now = now or utcnow()
    stamp = min(now, attempt.deadline_at) if attempt.deadline_at else now
    if not mark_submitted(attempt, stamp):
        return False
    results = _saved_results(attempt)
    _score(attempt, results)
    _after_submit(attempt, results, now)
    db.session.flush()
    return True


def _saved_results(attempt: Attempt) -> list[tuple[QuestionVersion, bool | None]]:
    """(version, correct) per question as committed (correct is None when unanswered), read after the lock."""
    rows = db.session.execute(
        select(QuestionVersion, Response.correct)
        .join(Response, Response.question_version_id == QuestionVersion.id)
        .where(Response.attempt_id == attempt.id)
        .order_by(Response.position)
    )
    return [(version, correct) for version, correct in rows]


def _score(attempt: Attempt, results: list[tuple[QuestionVersion, bool | None]]) -> None:
    correct = sum(1 for _, is_correct in results if is_correct)
    attempt.score = correct / len(results) if results else 0.0
    attempt.passed = attempt.score >= exam_terms(attempt).cut_score - 1e-9


def _after_submit(attempt: Attempt, results: list[tuple[QuestionVersion, bool | None]], now: datetime) -> None:
    """Feed the finished exam to spaced repetition and the readiness history."""
    answered = [(version, bool(correct)) for version, correct in results if correct is not None]
    scheduler.record_outcomes(attempt.user_id, attempt.release.bank_id, answered, now)
    track = get_track(attempt.release, attempt.track)  # a question-set exam has no track: the bank's first one
    if track is not None:
        user = db.session.get(User, attempt.user_id)
        readiness.record_snapshot(user, attempt.release, track, attempt=attempt, now=now)


def expire_due(now: datetime | None = None, user: User | None = None, user_ids=None) -> int:
    """Submit every exam whose deadline has passed (only one learner's, or these ids', when given).

    Returns how many. Reports call it first, so an overdue exam counts the same everywhere.
    """
    now = now or utcnow()
    query = select(Attempt).where(Attempt.mode == "exam", Attempt.submitted_at.is_(None), Attempt.deadline_at <= now)
    if user is not None:
        query = query.where(Attempt.user_id == user.id)
    if user_ids is not None:
        query = query.where(Attempt.user_id.in_(user_ids))
    return sum(submit(attempt, now) for attempt in db.session.scalars(query).all())


def past_exams(user: User, track_id: str, limit: int = 20) -> list[Attempt]:
    """The learner's submitted exams on a track, newest first."""
    return list(
        db.session.scalars(
            select(Attempt)
            .where(
                Attempt.user_id == user.id,
                Attempt.mode == "exam",
                Attempt.track == track_id,
                Attempt.submitted_at.is_not(None),
            )
            .order_by(Attempt.submitted_at.desc(), Attempt.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class ExamDomainScore:
    domain: str
    name: str
    total: int
    correct: int

    @property
    def share(self) -> float:
        return self.correct / self.total if self.total else 0.0


def domain_scores(attempt: Attempt) -> list[ExamDomainScore]:
    """Per-domain results of an exam, unanswered items counting as not correct."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for response in attempt.responses:
        tally[response.question_version.domain][0] += 1
        tally[response.question_version.domain][1] += int(bool(response.correct))
    return [
        ExamDomainScore(domain, name, *tally[domain])
        for domain, name in attempt.release.domains.items()
        if domain in tally
    ]
