"""Learning state kept per learner: spaced-repetition cards, readiness snapshots, certificates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONType, utcnow
from app.models.user import User


class ReviewCard(db.Model):
    """SM-2 state for one learner and one item family (a scenario), not one answer letter."""

    __table_args__ = (
        UniqueConstraint("user_id", "bank_id", "family"),
        Index("ix_review_card_user_due", "user_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(120))
    ease: Mapped[float] = mapped_column(default=2.5)
    interval_days: Mapped[float] = mapped_column(default=0.0)
    repetitions: Mapped[int] = mapped_column(default=0)
    lapses: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_reviewed_at: Mapped[datetime | None]
    last_question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))


class ReadinessSnapshot(db.Model):
    """The learner's readiness estimate after a finished attempt, for the chart over time."""

    __table_args__ = (Index("ix_readiness_snapshot_user_taken", "user_id", "taken_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    track: Mapped[str] = mapped_column(String(64))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"))
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    probability: Mapped[float]
    domains: Mapped[dict] = mapped_column(JSONType)
    evidence: Mapped[int | None]  # independent answers behind it (None: recorded before readiness 2)


class Certificate(db.Model):
    """A certificate of readiness or completion, verifiable by its code until revoked."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    track: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="readiness")
    holder_name: Mapped[str] = mapped_column(String(80))
    details: Mapped[dict] = mapped_column(JSONType)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship()

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None


class BankCalibration(db.Model):
    """One Rasch calibration of a bank: item difficulties per question version and the population prior.

    Written by ``flask stats calibrate`` (and after every import); readiness reads the newest one.
    """

    __table_args__ = (Index("ix_bank_calibration_bank_created", "bank_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responses: Mapped[int] = mapped_column(default=0)  # first-attempt responses used
    learners: Mapped[int] = mapped_column(default=0)
    population: Mapped[dict] = mapped_column(JSONType)  # mean, general_sd, domain_sd, learners
    items: Mapped[dict] = mapped_column(JSONType)  # {version id: [difficulty, se, responses]}
