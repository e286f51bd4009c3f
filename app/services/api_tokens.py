"""Organization API tokens, and the organization data the JSON API reads.

A token is shown once when it is created: only its SHA-256 and a short display prefix are stored.
Everything a token can read is scoped to its own organization; members of other organizations are
simply not found. No email address leaves through these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import ApiToken, Cohort, CohortMember, Membership, Organization, User
from app.models.base import utcnow
from app.services import ServiceError, codes
from app.services.codes import hash_secret
from app.services.progress import learner_activity

TOKEN_PREFIX = "pst_"  # noqa: S105 - the public marker every token starts with, not a secret
TOKEN_RANDOM_CHARS = 40
DISPLAY_PREFIX_LENGTH = 12  # "pst_" and the first 8 random characters: enough to tell tokens apart
NAME_MAX_LENGTH = 80
LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write per token per minute
_TOKEN_SHAPE = re.compile(rf"{TOKEN_PREFIX}[A-Za-z0-9_-]{{{TOKEN_RANDOM_CHARS}}}")

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 100_000
MAX_ID = 2**31 - 1  # ids beyond a 32-bit integer column cannot exist


# --- Tokens ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    """A freshly created token and its secret, which is never stored and can be shown only now."""

    token: ApiToken
    secret: str


def new_secret() -> str:
    """A token secret: "pst_" and 40 random URL-safe characters (240 bits)."""
    return codes.new_secret(30, prefix=TOKEN_PREFIX)  # 30 bytes -> exactly 40 characters


def create_token(organization: Organization, name: str, created_by: User | None = None) -> NewToken:
    """Create a named token for an organization; the secret is returned once and only its hash is kept."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("Give the token a name, such as the system that will use it.", "name")
    if len(name) > NAME_MAX_LENGTH:
        raise ServiceError(f"Keep the name to {NAME_MAX_LENGTH} characters.", "name")
    secret = new_secret()
    token = ApiToken(
        organization_id=organization.id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[:DISPLAY_PREFIX_LENGTH],
        created_by_id=created_by.id if created_by is not None else None,
    )
    db.session.add(token)
    db.session.flush()
    return NewToken(token, secret)


def list_tokens(organization: Organization) -> list[ApiToken]:
    """An organization's tokens, active ones first, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.organization_id == organization.id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
        )
    )


def get_token(organization: Organization, token_id: int) -> ApiToken | None:
    """The organization's token with this id (None for another organization's or a missing one)."""
    if not 0 < token_id <= MAX_ID:
        return None
    token = db.session.get(ApiToken, token_id)
    return token if token is not None and token.organization_id == organization.id else None


def revoke_token(token: ApiToken, now: datetime | None = None) -> bool:
    """Revoke a token for good; True if this call revoked it, False if it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now or utcnow()
    db.session.flush()
    return True


def authenticate(secret: str | None, now: datetime | None = None) -> ApiToken | None:
    """The active token with this secret, or None; records when it was last used (to the minute)."""
    if not secret or not _TOKEN_SHAPE.fullmatch(secret):
        return None
    token = db.session.scalar(
        select(ApiToken).options(joinedload(ApiToken.organization)).where(ApiToken.token_hash == hash_secret(secret))
    )
    if token is None or token.revoked_at is not None:
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.flush()
    return token


# --- Organization data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortSummary:
    id: int
    name: str
    members: int


@dataclass(frozen=True)
class OrganizationOverview:
    organization: Organization
    members: int
    learners: int
    cohorts: list[CohortSummary]


@dataclass(frozen=True)
class LearnerRow:
    """One member as the API shows them: no email, only a display name, role and practice figures."""

    user_id: int
    display_name: str
    role: str
    joined_at: datetime
    last_activity: datetime | None
    answered: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class LearnerPage:
    page: int
    per_page: int
    total: int
    items: list[LearnerRow]


def organization_overview(organization: Organization) -> OrganizationOverview:
    """Member and learner counts and the cohorts (with sizes) of an organization."""
    by_role = dict(
        db.session.execute(
            select(Membership.role, func.count())
            .where(Membership.organization_id == organization.id)
            .group_by(Membership.role)
        ).all()
    )
    cohorts = db.session.execute(
        select(Cohort.id, Cohort.name, func.count(CohortMember.user_id))
        .outerjoin(CohortMember, CohortMember.cohort_id == Cohort.id)
        .where(Cohort.organization_id == organization.id)
        .group_by(Cohort.id, Cohort.name)
        .order_by(Cohort.name, Cohort.id)
    )
    return OrganizationOverview(
        organization=organization,
        members=sum(by_role.values()),
        learners=by_role.get("learner", 0),
        cohorts=[CohortSummary(*row) for row in cohorts],
    )


def find_cohort(organization: Organization, cohort_id: int) -> Cohort | None:
    """The organization's cohort with this id (None for another organization's or a missing one)."""
    if not 0 < cohort_id <= MAX_ID:
        return None
    cohort = db.session.get(Cohort, cohort_id)
    return cohort if cohort is not None and cohort.organization_id == organization.id else None


def _row(membership: Membership, activity: dict[int, tuple[int, int, datetime | None]]) -> LearnerRow:
    answered, correct, last = activity.get(membership.user_id, (0, 0, None))
    return LearnerRow(
        user_id=membership.user_id,
        display_name=membership.user.display_name,
        role=membership.role,
        joined_at=membership.created_at,
        last_activity=last,
        answered=answered,
        correct=correct,
    )


def learner_page(
    organization: Organization, page: int = 1, per_page: int = DEFAULT_PER_PAGE, cohort_id: int | None = None
) -> LearnerPage:
    """One page of an organization's members (optionally one cohort's), by name, with practice figures."""
    if not 1 <= page <= MAX_PAGE:
        raise ServiceError(f"Must be a whole number from 1 to {MAX_PAGE}.", "page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ServiceError(f"Must be a whole number from 1 to {MAX_PER_PAGE}.", "per_page")
    conditions = [Membership.organization_id == organization.id]
    if cohort_id is not None:
        cohort = find_cohort(organization, cohort_id)
        if cohort is None:
            raise ServiceError("No cohort with this id in your organization.", "cohort")
        conditions.append(
            Membership.user_id.in_(select(CohortMember.user_id).where(CohortMember.cohort_id == cohort.id))
        )
    total = db.session.scalar(select(func.count()).select_from(Membership).where(*conditions)) or 0
    offset = (page - 1) * per_page
    if offset >= total:
        return LearnerPage(page, per_page, total, [])
    members = list(
        db.session.scalars(
            select(Membership)
            .join(User, User.id == Membership.user_id)
            .options(joinedload(Membership.user))
            .where(*conditions)
            .order_by(func.lower(User.display_name), User.id)
            .limit(per_page)
            .offset(offset)
        )
    )
    activity = learner_activity([m.user_id for m in members])
    return LearnerPage(page, per_page, total, [_row(m, activity) for m in members])


def find_member(organization: Organization, user_id: int) -> Membership | None:
    """This user's membership of the organization (None if they are not a member: never another org's)."""
    if not 0 < user_id <= MAX_ID:
        return None
    return db.session.scalar(
        select(Membership)
        .options(joinedload(Membership.user))
        .where(Membership.organization_id == organization.id, Membership.user_id == user_id)
    )


def learner_row(membership: Membership) -> LearnerRow:
    """One member's summary row (the same figures as in the paginated list)."""
    return _row(membership, learner_activity([membership.user_id]))
