"""The certification pathway beyond the exam: learner records, their verification trail and evidence files.

A record is training, experience, supervision or an attestation. A supervisor of the record's organization
verifies it or returns it with a comment. Verified records are immutable: a correction is a new record that
supersedes the old one once it is verified itself. Every step is a RecordEvent (who, when, what).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONType, utcnow
from app.models.user import Organization, User

RECORD_KINDS = ("training", "experience", "supervision", "attestation")
RECORD_KIND_LABELS = {
    "training": "Training",
    "experience": "Work experience",
    "supervision": "Supervision",
    "attestation": "Attestation",
}
RECORD_STATUSES = ("pending", "verified", "returned", "superseded")
MAX_TITLE = 200
MAX_COMMENT = 500
MAX_STATEMENT = 10_000


class EvidenceFile(db.Model):
    """An uploaded PDF, PNG or JPEG, stored outside the web root under its content hash."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    original_name: Mapped[str] = mapped_column(String(MAX_TITLE))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingSession(db.Model):
    """A course a trainer ran for several learners: attendance creates verified training records."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(MAX_TITLE))
    provider: Mapped[str] = mapped_column(String(MAX_TITLE))
    held_on: Mapped[date] = mapped_column(Date)
    domain_hours: Mapped[dict] = mapped_column(JSONType)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearnerRecord(db.Model):
    """One piece of evidence toward a credential (see the module docstring)."""

    __table_args__ = (
        Index("ix_learner_record_user_kind", "user_id", "kind"),
        Index("ix_learner_record_org_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(MAX_TITLE), default="")  # course, role, or attestation label
    provider: Mapped[str] = mapped_column(String(MAX_TITLE), default="")  # provider, employer or supervisor
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(default=0.0)
    domain_hours: Mapped[dict] = mapped_column(JSONType, default=dict)  # {domain id: hours}
    attestation: Mapped[str | None] = mapped_column(String(64))  # the track's attestation id
    statement: Mapped[str | None] = mapped_column(Text)  # e.g. a lived-experience statement
    shared: Mapped[bool] = mapped_column(default=False)  # a private statement shown to supervisors
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_file.id", ondelete="SET NULL"))
    training_session_id: Mapped[int | None] = mapped_column(ForeignKey("training_session.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("learner_record.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(String(MAX_COMMENT))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    organization: Mapped[Organization | None] = relationship()
    evidence: Mapped[EvidenceFile | None] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    supersedes: Mapped[LearnerRecord | None] = relationship(remote_side=[id])
    events: Mapped[list[RecordEvent]] = relationship(
        back_populates="record", order_by="RecordEvent.id", cascade="all, delete-orphan"
    )

    @property
    def counts(self) -> bool:
        """Verified records count toward requirements; pending ones are shown as pending."""
        return self.status == "verified"


class RecordEvent(db.Model):
    """The audit trail of a record: created, verified, returned, superseded, attendance recorded."""

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("learner_record.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(String(MAX_COMMENT))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    record: Mapped[LearnerRecord] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Certification(db.Model):
    """The learner's own record of holding the credential: it starts the recertification cycles."""

    __table_args__ = (UniqueConstraint("user_id", "track"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    track: Mapped[str] = mapped_column(String(64))
    certified_on: Mapped[date] = mapped_column(Date)
    credential_number: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
