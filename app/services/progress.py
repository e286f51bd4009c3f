"""A learner's progress: per-domain accuracy and coverage of the current release."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, cast, distinct, func, or_, select

from app.extensions import db
from app.models import Attempt, BankRelease, QuestionVersion, Response, User
from app.services.banks import release_counts_by_domain


@dataclass(frozen=True)
class DomainProgress:
    domain: str
    name: str
    answered: int
    correct: int
    seen: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0

    @property
    def coverage(self) -> float:
        return min(self.seen / self.total, 1.0) if self.total else 0.0


def _settled():
    """Answers whose correctness may be shown: everything but an exam that is not yet submitted."""
    return or_(Attempt.mode != "exam", Attempt.submitted_at.is_not(None))


def domain_progress(user: User, release: BankRelease) -> list[DomainProgress]:
    """Answers, correct answers and distinct questions seen per domain, in the release's domain order.

    Answers in an exam that is still open are left out until it is submitted: their correctness must not
    be derivable from any page while the exam runs.
    """
    rows = db.session.execute(
        select(
            QuestionVersion.domain,
            func.count(),
            func.coalesce(func.sum(cast(Response.correct, Integer)), 0),
            func.count(distinct(Response.question_id)),
        )
        .select_from(Response)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == Response.question_version_id)
        .where(Attempt.user_id == user.id, Response.chosen_option.is_not(None), _settled())
        .group_by(QuestionVersion.domain)
    )
    stats = {domain: (answered, int(correct), seen) for domain, answered, correct, seen in rows}
    totals = release_counts_by_domain(release)
    return [
        DomainProgress(domain, name, *stats.get(domain, (0, 0, 0)), totals.get(domain, 0))
        for domain, name in release.domains.items()
    ]


def recent_attempts(user: User, limit: int = 10) -> list[Attempt]:
    """The user's latest attempts, newest first."""
    return list(
        db.session.scalars(select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id.desc()).limit(limit))
    )


def learner_activity(user_ids: list[int]) -> dict[int, tuple[int, int, datetime | None]]:
    """{user id: (answers, correct answers, last answer time)} for these users, in one grouped query."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(
            Attempt.user_id,
            func.count(Response.id),
            func.coalesce(func.sum(cast(Response.correct, Integer)), 0),
            func.max(Response.answered_at),
        )
        .join(Response, Response.attempt_id == Attempt.id)
        .where(Attempt.user_id.in_(user_ids), Response.chosen_option.is_not(None), _settled())
        .group_by(Attempt.user_id)
    )
    return {user_id: (answered, int(correct), last) for user_id, answered, correct, last in rows}
