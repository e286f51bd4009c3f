"""Accounts, organizations and memberships."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow

ROLES = ("learner", "trainer", "supervisor", "org_admin")
ROLE_LABELS = {
    "learner": "Trainee",
    "trainer": "Trainer",
    "supervisor": "Supervisor",
    "org_admin": "Organization admin",
}


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    session_token: Mapped[str] = mapped_column(String(64), default="")

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated accounts cannot log in
        return self.is_active_account

    def get_id(self) -> str:
        """Session id = user id + a per-login token, so logging in again invalidates old sessions' ids."""
        return f"{self.id}:{self.session_token}"

    def roles(self) -> set[str]:
        """Every membership role this user holds, plus 'admin' for site admins."""
        held = {m.role for m in self.memberships}
        return held | {"admin"} if self.is_admin else held

    def has_role(self, role: str) -> bool:
        return self.is_admin or role in self.roles()

    def organizations_where(self, role: str) -> list[Organization]:
        return [m.organization for m in self.memberships if m.role == role]

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Organization(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="organization", cascade="all, delete-orphan")


class Membership(db.Model):
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="learner")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(back_populates="memberships")
