"""Organizations: creation, members and roles, invite links and join codes, cohorts.

Invite links and join codes are both ``Invitation`` rows; only the SHA-256 of their secret is stored, so
a link or code is shown once, when it is made. A link is single use, carries a role, an optional cohort,
an optional email restriction and an expiry. A join code is the organization's shared learner code
(many uses, optional cohort); making a new one revokes the old one.

Every look-up of a cohort, member or invitation takes the organization it must belong to, so a route
that found the organization through the current user's membership can never reach another one's rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update

from app.extensions import db
from app.models import Cohort, CohortMember, Invitation, Membership, Organization, QuestionSetAssignment, User
from app.models.base import utcnow
from app.models.user import ROLE_LABELS, ROLES
from app.services import ServiceError
from app.services.accounts import find_user, normalise_email
from app.services.codes import ReadableCode, hash_secret, new_secret

INVITATION_DAYS = 14
MAX_INVITATION_DAYS = 90
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: easy to read aloud and type
CODE_LENGTH = 10
CODE_GROUP = 5
JOIN_CODES = ReadableCode(CODE_ALPHABET, CODE_LENGTH, CODE_GROUP, min_length=8)
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}  # learner < trainer < supervisor < org_admin
SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


@dataclass(frozen=True)
class IssuedSecret:
    """A new invitation and its secret (the link's token or the join code), available only now."""

    invitation: Invitation
    secret: str


# Organizations -----------------------------------------------------------------------------------------


def create_organization(name: str, slug: str, admin_email: str) -> Organization:
    """A new organization with an existing user as its first org admin."""
    name, slug = name.strip(), slug.strip().lower()
    if not name:
        raise ServiceError("Give the organization a name.", "name")
    if not SLUG_PATTERN.fullmatch(slug):
        raise ServiceError("Use lower-case letters, digits and dashes (not at either end).", "slug")
    if db.session.scalar(select(func.count()).select_from(Organization).where(Organization.slug == slug)):
        raise ServiceError("Another organization already uses this short name.", "slug")
    admin = find_user(admin_email)
    if admin is None:
        raise ServiceError("No account has this email; ask the person to register first.", "admin_email")
    organization = Organization(name=name, slug=slug)
    db.session.add(organization)
    db.session.add(Membership(user=admin, organization=organization, role="org_admin"))
    db.session.flush()
    return organization


def administered_organizations(user: User) -> list[Organization]:
    """Organizations the user administers (every organization for a site admin), by name."""
    query = select(Organization).order_by(Organization.name, Organization.id)
    if not user.is_admin:
        query = query.join(Membership).where(Membership.user_id == user.id, Membership.role == "org_admin")
    return list(db.session.scalars(query))


def administered_organization(user: User, organization_id: int) -> Organization | None:
    """The organization if the user administers it (site admins: any), else None."""
    return organization_with_role(user, organization_id, ("org_admin",))


def organization_with_role(user: User, organization_id: int, roles: tuple[str, ...]) -> Organization | None:
    """The organization if the user holds one of ``roles`` in it (site admins: any), else None.

    Supervisors reach the verification pages and trainers the attendance pages of their own organization
    this way; another organization answers None (the routes turn it into a 404).
    """
    query = select(Organization).where(Organization.id == organization_id)
    if not user.is_admin:
        query = query.join(Membership).where(Membership.user_id == user.id, Membership.role.in_(roles))
    return db.session.scalar(query)


# Members -----------------------------------------------------------------------------------------------


def list_members(organization: Organization) -> list[Membership]:
    """Every membership with its user, admins first, then by name."""
    rows = db.session.scalars(
        select(Membership).join(User).where(Membership.organization_id == organization.id).order_by(User.display_name)
    )
    return sorted(rows, key=lambda m: (-ROLE_RANK.get(m.role, 0), m.user.display_name.lower(), m.user_id))


def get_membership(organization: Organization, user_id: int) -> Membership | None:
    """This organization's membership of the user, or None (also for other organizations' users)."""
    return db.session.scalar(
        select(Membership).where(Membership.organization_id == organization.id, Membership.user_id == user_id)
    )


def _admin_count(organization: Organization) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization.id, Membership.role == "org_admin")
    )


def _check_not_last_admin(membership: Membership, action: str) -> None:
    if membership.role == "org_admin" and _admin_count(membership.organization) <= 1:
        raise ServiceError(f"You cannot {action} the last organization admin; make someone else an admin first.")


def change_role(membership: Membership, role: str) -> Membership:
    """Give a member another role; the last org admin cannot be demoted."""
    if role not in ROLES:
        raise ServiceError(f"Choose one of: {', '.join(ROLE_LABELS[r] for r in ROLES)}.", "role")
    if role != "org_admin":
        _check_not_last_admin(membership, "demote")
    membership.role = role
    db.session.flush()
    return membership


def remove_member(membership: Membership) -> None:
    """Take a member out of the organization and its cohorts; their attempts and history stay theirs."""
    _check_not_last_admin(membership, "remove")
    organization_cohorts = select(Cohort.id).where(Cohort.organization_id == membership.organization_id)
    db.session.execute(
        delete(CohortMember).where(
            CohortMember.user_id == membership.user_id, CohortMember.cohort_id.in_(organization_cohorts)
        )
    )
    db.session.delete(membership)
    db.session.flush()


# Invitations -------------------------------------------------------------------------------------------


def _check_cohort(organization: Organization, cohort: Cohort | None) -> None:
    if cohort is not None and cohort.organization_id != organization.id:
        raise ServiceError("That cohort belongs to another organization.", "cohort")


def create_invitation(
    organization: Organization,
    created_by: User | None,
    role: str = "learner",
    cohort: Cohort | None = None,
    email: str | None = None,
    days: int = INVITATION_DAYS,
    now: datetime | None = None,
) -> IssuedSecret:
    """A single-use invite link; the returned secret is never stored and cannot be shown again."""
    if role not in ROLES:
        raise ServiceError(f"Choose one of: {', '.join(ROLE_LABELS[r] for r in ROLES)}.", "role")
    if not 1 <= days <= MAX_INVITATION_DAYS:
        raise ServiceError(f"An invitation can last from 1 to {MAX_INVITATION_DAYS} days.", "days")
    _check_cohort(organization, cohort)
    now = now or utcnow()
    secret = new_secret(32)
    invitation = Invitation(
        organization_id=organization.id,
        kind="link",
        secret_hash=hash_secret(secret),
        role=role,
        cohort_id=cohort.id if cohort else None,
        email=normalise_email(email) if email and email.strip() else None,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
        expires_at=now + timedelta(days=days),
        max_uses=1,
    )
    db.session.add(invitation)
    db.session.flush()
    return IssuedSecret(invitation, secret)


def list_invitations(organization: Organization) -> list[Invitation]:
    """The organization's invite links, newest first."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.organization_id == organization.id, Invitation.kind == "link")
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def get_invitation(organization: Organization, invitation_id: int) -> Invitation | None:
    """An invite link or join code of this organization, or None."""
    return db.session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.organization_id == organization.id)
    )


def revoke_invitation(invitation: Invitation, now: datetime | None = None) -> None:
    """Stop a link or code from working (revoking twice keeps the first time)."""
    if invitation.revoked_at is None:
        invitation.revoked_at = now or utcnow()
    db.session.flush()


def invitation_status(invitation: Invitation, now: datetime | None = None) -> str:
    """'revoked', 'used', 'expired' or 'active'."""
    now = now or utcnow()
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.max_uses is not None and invitation.uses >= invitation.max_uses:
        return "used"
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return "expired"
    return "active"


def new_join_code() -> str:
    """A random join code (canonical form: upper case, no separators)."""
    return JOIN_CODES.new()


def normalise_code(raw: str | None) -> str | None:
    """The canonical form of a typed join code (case, spaces and dashes ignored), or None if it cannot be one."""
    return JOIN_CODES.normalize(raw)


def format_code(code: str) -> str:
    """ABCDEFGHJK → ABCDE-FGHJK."""
    return JOIN_CODES.format(code)


def active_join_code(organization: Organization) -> Invitation | None:
    """The organization's current join code, if it has one."""
    return db.session.scalar(
        select(Invitation)
        .where(
            Invitation.organization_id == organization.id,
            Invitation.kind == "code",
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.id.desc())
        .limit(1)
    )


def regenerate_join_code(
    organization: Organization,
    created_by: User | None,
    cohort: Cohort | None = None,
    code: str | None = None,
    now: datetime | None = None,
) -> IssuedSecret:
    """A new learner join code for the organization (``code`` for a chosen one); older codes stop working."""
    _check_cohort(organization, cohort)
    canonical = normalise_code(code) if code is not None else new_join_code()
    if canonical is None:
        raise ServiceError(f"A join code has 8 to {CODE_LENGTH} of these characters: {CODE_ALPHABET}.", "code")
    now = now or utcnow()
    db.session.execute(
        update(Invitation)
        .where(
            Invitation.organization_id == organization.id,
            Invitation.kind == "code",
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    invitation = Invitation(
        organization_id=organization.id,
        kind="code",
        secret_hash=hash_secret(canonical),
        role="learner",
        cohort_id=cohort.id if cohort else None,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
    )
    db.session.add(invitation)
    db.session.flush()
    return IssuedSecret(invitation, canonical)


def find_invitation(secret: str, kind: str = "link") -> Invitation | None:
    """The invitation of this kind whose secret this is, or None."""
    if not secret:
        return None
    return db.session.scalar(
        select(Invitation).where(Invitation.secret_hash == hash_secret(secret), Invitation.kind == kind)
    )


_REFUSALS = {
    "revoked": "This invitation was withdrawn by the organization. Ask them for a new one.",
    "used": "This invitation has already been used. Invitation links work once; ask for a new one.",
    "expired": "This invitation has expired. Ask the organization for a new one.",
}
NOT_FOUND = "This invitation link is not valid. Check that you copied the whole link, or ask for a new one."
WRONG_EMAIL = (
    "This invitation was sent to a different email address. Log in with the invited account, or ask for a new link."
)


def check_invitation(invitation: Invitation | None, user: User, now: datetime | None = None) -> Invitation:
    """The invitation, if this user may accept it now; otherwise a ServiceError saying why not."""
    if invitation is None:
        raise ServiceError(NOT_FOUND)
    status = invitation_status(invitation, now)
    if status != "active":
        raise ServiceError(_REFUSALS[status])
    if invitation.email and invitation.email != normalise_email(user.email):
        raise ServiceError(WRONG_EMAIL)
    return invitation


def _use(invitation: Invitation, now: datetime) -> None:
    """Count one use; the guarded UPDATE keeps a single-use link single-use even under a race."""
    used = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.revoked_at.is_(None),
            or_(Invitation.max_uses.is_(None), Invitation.uses < Invitation.max_uses),
            or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
        )
        .values(uses=Invitation.uses + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(invitation)
    if not used:
        raise ServiceError(_REFUSALS.get(invitation_status(invitation, now), NOT_FOUND))


def _join(user: User, invitation: Invitation) -> Membership:
    """Membership with the invitation's role (never lowering a role already held) and its cohort."""
    membership = db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organization_id == invitation.organization_id
        )
    )
    if membership is None:
        membership = Membership(user_id=user.id, organization_id=invitation.organization_id, role=invitation.role)
        db.session.add(membership)
    elif ROLE_RANK[invitation.role] > ROLE_RANK.get(membership.role, 0):
        membership.role = invitation.role
    if invitation.cohort_id is not None and db.session.get(CohortMember, (invitation.cohort_id, user.id)) is None:
        db.session.add(CohortMember(cohort_id=invitation.cohort_id, user_id=user.id))
    db.session.flush()
    db.session.refresh(membership)
    return membership


def accept_invitation(user: User, secret: str, now: datetime | None = None) -> Membership:
    """Join the organization of an invite link (one use; role, cohort and email as the link says)."""
    now = now or utcnow()
    invitation = check_invitation(find_invitation(secret), user, now)
    _use(invitation, now)
    return _join(user, invitation)


def join_with_code(user: User, raw_code: str, now: datetime | None = None) -> Membership:
    """Join an organization as a learner with its join code."""
    now = now or utcnow()
    code = normalise_code(raw_code)
    invitation = find_invitation(code, kind="code") if code else None
    if invitation is None or invitation_status(invitation, now) != "active":
        raise ServiceError("That join code is not valid. Check it with your organization.", "join_code")
    _use(invitation, now)
    return _join(user, invitation)


# Cohorts -----------------------------------------------------------------------------------------------


def list_cohorts(organization: Organization) -> list[tuple[Cohort, int]]:
    """(cohort, number of members) for every cohort of the organization, by name."""
    counts = select(CohortMember.cohort_id, func.count().label("members")).group_by(CohortMember.cohort_id).subquery()
    rows = db.session.execute(
        select(Cohort, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.cohort_id == Cohort.id)
        .where(Cohort.organization_id == organization.id)
        .order_by(Cohort.name, Cohort.id)
    )
    return [(cohort, members) for cohort, members in rows]


def get_cohort(organization: Organization, cohort_id: int) -> Cohort | None:
    """A cohort of this organization, or None."""
    return db.session.scalar(select(Cohort).where(Cohort.id == cohort_id, Cohort.organization_id == organization.id))


def _clean_cohort_name(organization: Organization, name: str, cohort: Cohort | None = None) -> str:
    name = name.strip()
    if not name:
        raise ServiceError("Give the cohort a name.", "name")
    query = select(func.count()).select_from(Cohort).where(Cohort.organization_id == organization.id)
    query = query.where(func.lower(Cohort.name) == name.lower())
    if cohort is not None:
        query = query.where(Cohort.id != cohort.id)
    if db.session.scalar(query):
        raise ServiceError("Another cohort already has this name.", "name")
    return name


def create_cohort(organization: Organization, name: str) -> Cohort:
    """A new, empty cohort; names are unique within the organization (ignoring case)."""
    cohort = Cohort(organization_id=organization.id, name=_clean_cohort_name(organization, name))
    db.session.add(cohort)
    db.session.flush()
    return cohort


def rename_cohort(cohort: Cohort, name: str) -> Cohort:
    """Give a cohort a new name."""
    cohort.name = _clean_cohort_name(cohort.organization, name, cohort)
    db.session.flush()
    return cohort


def delete_cohort(cohort: Cohort) -> None:
    """Delete a cohort: its members stay in the organization; links and codes for it no longer add to it.

    The foreign keys say the same (SET NULL / CASCADE); doing it here keeps SQLite, which does not
    enforce them, consistent with PostgreSQL.
    """
    db.session.execute(
        update(Invitation)
        .where(Invitation.cohort_id == cohort.id)
        .values(cohort_id=None)
        .execution_options(synchronize_session="fetch")
    )
    db.session.execute(delete(QuestionSetAssignment).where(QuestionSetAssignment.cohort_id == cohort.id))
    db.session.delete(cohort)
    db.session.flush()


def cohort_members(cohort: Cohort) -> list[User]:
    """The cohort's members, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(CohortMember, CohortMember.user_id == User.id)
            .where(CohortMember.cohort_id == cohort.id)
            .order_by(User.display_name, User.id)
        )
    )


def user_cohorts(organization: Organization, user: User) -> list[Cohort]:
    """The organization's cohorts this user is in, by name."""
    return list(
        db.session.scalars(
            select(Cohort)
            .join(CohortMember, CohortMember.cohort_id == Cohort.id)
            .where(Cohort.organization_id == organization.id, CohortMember.user_id == user.id)
            .order_by(Cohort.name)
        )
    )


def organization_learners(organization: Organization) -> list[User]:
    """Users holding the learner role in the organization, by name."""
    return list(
        db.session.scalars(
            select(User)
            .join(Membership)
            .where(Membership.organization_id == organization.id, Membership.role == "learner")
            .order_by(User.display_name, User.id)
        )
    )


def addable_learners(cohort: Cohort) -> list[User]:
    """The organization's learners who are not in the cohort yet."""
    inside = {user.id for user in cohort_members(cohort)}
    return [user for user in organization_learners(cohort.organization) if user.id not in inside]


def add_to_cohort(cohort: Cohort, user_ids: list[int]) -> int:
    """Add learners of the cohort's organization; returns how many were new. Anyone else is refused."""
    wanted = set(user_ids)
    if not wanted:
        raise ServiceError("Choose at least one learner to add.", "learners")
    learners = {user.id for user in organization_learners(cohort.organization)}
    if not wanted <= learners:
        raise ServiceError("Only learners of this organization can join its cohorts.", "learners")
    inside = {member.user_id for member in cohort.members}
    new = sorted(wanted - inside)
    cohort.members.extend(CohortMember(user_id=user_id) for user_id in new)
    db.session.flush()
    return len(new)


def remove_from_cohort(cohort: Cohort, user_id: int) -> bool:
    """Take a user out of the cohort; False if they were not in it."""
    removed = db.session.execute(
        delete(CohortMember).where(CohortMember.cohort_id == cohort.id, CohortMember.user_id == user_id)
    ).rowcount
    db.session.expire(cohort, ["members"])
    db.session.flush()
    return bool(removed)
