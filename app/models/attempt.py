"""Attempts and the responses inside them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.bank import BankRelease, QuestionVersion

if TYPE_CHECKING:
    from app.models.organization import QuestionSet
from app.models.base import JSONType, utcnow


class Attempt(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("bank_release.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16), default="practice")
    domain: Mapped[str | None] = mapped_column(String(64))
    tag: Mapped[str | None] = mapped_column(String(64))
    seed: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    track: Mapped[str | None] = mapped_column(String(64))
    exam_form: Mapped[str | None] = mapped_column(String(64))  # the track's exam form; None = the default form
    question_set_id: Mapped[int | None] = mapped_column(ForeignKey("question_set.id", ondelete="SET NULL"))
    score: Mapped[float | None]
    passed: Mapped[bool | None]

    release: Mapped[BankRelease] = relationship()
    question_set: Mapped[QuestionSet | None] = relationship()
    responses: Mapped[list[Response]] = relationship(
        back_populates="attempt", order_by="Response.position", cascade="all, delete-orphan"
    )

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def title(self) -> str:
        if self.question_set is not None:
            return self.question_set.title
        if self.mode == "exam":
            track = next((t for t in self.release.tracks if t["id"] == self.track), None)
            if track is None:
                return "Mock exam"
            form = next((f for f in track["exam"].get("forms", ()) if f["id"] == self.exam_form), None)
            return f"{track['title']} · {form['title']}" if form else track["title"]
        if self.mode == "review":
            return "Spaced review"
        if self.domain:
            return self.release.domains.get(self.domain, self.domain)
        if self.tag:
            return self.release.tags.get(self.tag, self.tag)
        return "Mixed practice"


class Response(db.Model):
    """One question shown in an attempt: the pinned version, the option order shown, and the answer."""

    __table_args__ = (
        UniqueConstraint("attempt_id", "question_id"),
        UniqueConstraint("attempt_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"), index=True)
    option_order: Mapped[list] = mapped_column(JSONType)
    chosen_option: Mapped[int | None]
    correct: Mapped[bool | None]
    answered_at: Mapped[datetime | None]

    attempt: Mapped[Attempt] = relationship(back_populates="responses")
    question_version: Mapped[QuestionVersion] = relationship()

    @property
    def is_answered(self) -> bool:
        return self.chosen_option is not None

    def shown_options(self) -> list[tuple[int, dict]]:
        """(original index, option) pairs in the order the learner was shown them."""
        options = self.question_version.options
        return [(index, options[index]) for index in self.option_order]
