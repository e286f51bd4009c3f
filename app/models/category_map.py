"""Where an imported file's categories go in a bank: remembered per bank, applied to the next upload."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import utcnow


class BankCategoryMap(db.Model):
    """One remembered choice: a GIFT/Moodle XML category (matched by its key) goes to a domain, or is skipped."""

    __table_args__ = (UniqueConstraint("bank_id", "category_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"), index=True)
    category_key: Mapped[str] = mapped_column(String(255))  # quizbank.converters.common.category_key
    category: Mapped[str] = mapped_column(String(255))  # the path as last seen in a file
    domain: Mapped[str] = mapped_column(String(64))  # a domain id, or "-" (skip these questions)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
