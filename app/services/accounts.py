"""Accounts: registration, authentication, session rotation, user creation for the CLI."""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Membership, Organization, User
from app.models.base import utcnow
from app.models.user import ROLES
from app.services import ServiceError

MIN_PASSWORD_LENGTH = 10
# Compared against when the email is unknown, so a failed login takes as long either way
# (one per hash method, made with the configured method: a cheap dummy would reveal unknown emails).
_DUMMY_HASHES: dict[str, str] = {}


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def register_user(email: str, display_name: str, password: str, *, is_admin: bool = False) -> User:
    """Create an account; raise ServiceError if the email is taken or the password too short."""
    email = normalise_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", "password")
    if db.session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise ServiceError("An account with this email already exists.", "email")
    user = User(
        email=email,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        is_admin=is_admin,
        session_token=secrets.token_hex(16),
    )
    db.session.add(user)
    db.session.flush()
    return user


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user = find_user(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user


def start_session(user: User) -> None:
    """Record a login and rotate the session token (old session ids stop working)."""
    user.session_token = secrets.token_hex(16)
    user.last_login_at = utcnow()
    db.session.flush()


def end_session(user: User) -> None:
    """Invalidate every session of this user (logout everywhere)."""
    user.session_token = secrets.token_hex(16)
    db.session.flush()


def load_session_user(session_id: str) -> User | None:
    """Flask-Login loader: 'id:token' -> the user, if the token is still current."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def get_or_create_organization(name: str, slug: str) -> Organization:
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        org = Organization(name=name, slug=slug)
        db.session.add(org)
        db.session.flush()
    return org


def add_membership(user: User, organization: Organization, role: str) -> Membership:
    """Give a user a role in an organization (replacing an earlier role there)."""
    if role not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.organization_id == organization.id)
    )
    if membership is None:
        membership = Membership(user=user, organization=organization, role=role)
        db.session.add(membership)
    membership.role = role
    db.session.flush()
    return membership


def list_users() -> list[User]:
    """Every account, newest first."""
    return list(db.session.scalars(select(User).order_by(User.id.desc())))
