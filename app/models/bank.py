"""The versioned question bank: banks, releases, questions and immutable question versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import JSONType, utcnow

STATUSES = ("draft", "review", "published", "retired")


class Bank(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    releases: Mapped[list[BankRelease]] = relationship(
        back_populates="bank", order_by="BankRelease.id", cascade="all, delete-orphan"
    )


class BankRelease(db.Model):
    """A published version of a bank: a semver and the exact set of question versions in it."""

    __table_args__ = (UniqueConstraint("bank_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    manifest: Mapped[dict] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    counts: Mapped[dict] = mapped_column(JSONType, default=dict)
    note: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    bank: Mapped[Bank] = relationship(back_populates="releases")

    @property
    def domains(self) -> dict[str, str]:
        return self.manifest["domains"]

    @property
    def tags(self) -> dict[str, str]:
        return self.manifest["tags"]

    @property
    def tracks(self) -> list[dict]:
        return self.manifest.get("tracks", [])


class Question(db.Model):
    """A question's stable identity across versions."""

    __table_args__ = (UniqueConstraint("bank_id", "stable_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"), index=True)
    stable_id: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    bank: Mapped[Bank] = relationship()
    versions: Mapped[list[QuestionVersion]] = relationship(
        back_populates="question", order_by="QuestionVersion.number", cascade="all, delete-orphan"
    )

    @property
    def latest(self) -> QuestionVersion:
        return self.versions[-1]


class QuestionVersion(db.Model):
    """Immutable content of one version of a question. Only ``status`` moves through its lifecycle."""

    __table_args__ = (
        UniqueConstraint("question_id", "number"),
        Index("ix_question_version_domain", "domain"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    content: Mapped[dict] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="published")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    change_note: Mapped[str | None] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(64))
    difficulty: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    question: Mapped[Question] = relationship(back_populates="versions")
    tag_rows: Mapped[list[QuestionVersionTag]] = relationship(cascade="all, delete-orphan")

    @property
    def options(self) -> list[dict]:
        return self.content["options"]

    @property
    def correct_index(self) -> int:
        return next(i for i, option in enumerate(self.options) if option["correct"])


class QuestionVersionTag(db.Model):
    """Topic tags of a question version, one row each, so practice can filter by tag in SQL."""

    question_version_id: Mapped[int] = mapped_column(
        ForeignKey("question_version.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class ReleaseItem(db.Model):
    """Membership of a question version in a release."""

    release_id: Mapped[int] = mapped_column(ForeignKey("bank_release.id", ondelete="CASCADE"), primary_key=True)
    question_version_id: Mapped[int] = mapped_column(
        ForeignKey("question_version.id", ondelete="CASCADE"), primary_key=True, index=True
    )
