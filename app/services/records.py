"""Learner records toward a credential: create, correct (supersede), verify or return, and evidence files.

Rules:
- a learner creates records (pending); a supervisor (or organization admin) of the record's organization
  verifies it or returns it with a comment; nobody verifies their own records;
- verified records never change: a correction is a new record naming the one it supersedes, and the old one
  becomes "superseded" when the correction is verified; a returned record can be corrected the same way;
- every step is a RecordEvent (who, when, what);
- evidence files are PDF, PNG or JPEG by content (not by name), at most MAX_EVIDENCE_BYTES, stored outside
  the web root under their SHA-256, and served only to their owner and the record organization's supervisors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import EvidenceFile, LearnerRecord, Membership, Organization, RecordEvent, TrainingSession, User
from app.models.base import utcnow
from app.models.pathway import MAX_COMMENT, MAX_STATEMENT, MAX_TITLE, RECORD_KINDS
from app.services import ServiceError

MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
MAX_HOURS = 10_000.0
VERIFIER_ROLES = ("supervisor", "org_admin")
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


@dataclass(frozen=True)
class RecordInput:
    """What a learner enters for a record (validated by ``validate``)."""

    kind: str
    title: str = ""
    provider: str = ""
    started_on: date | None = None
    ended_on: date | None = None
    hours: float = 0.0
    domain_hours: dict[str, float] = field(default_factory=dict)
    attestation: str | None = None
    statement: str | None = None
    shared: bool = False


def validate(data: RecordInput, requirements: dict) -> list[ServiceError]:
    """Every problem with a record's fields, as (message, field) errors; empty when it is valid."""
    problems: list[ServiceError] = []
    if data.kind not in RECORD_KINDS:
        problems.append(ServiceError("Choose training, experience, supervision or an attestation.", "kind"))
        return problems
    if data.kind != "attestation" and not data.title.strip():
        problems.append(ServiceError("Enter a title (the course, role or session).", "title"))
    for name, value in (("title", data.title), ("provider", data.provider)):
        if len(value) > MAX_TITLE:
            problems.append(ServiceError(f"Keep this to {MAX_TITLE} characters.", name))
    if data.started_on is None:
        problems.append(ServiceError("Enter the date.", "started_on"))
    elif data.started_on > date.today() + timedelta(days=1):  # a day of slack: learners east of UTC
        problems.append(ServiceError("The date cannot be in the future.", "started_on"))
    if data.ended_on is not None and data.started_on is not None and data.ended_on < data.started_on:
        problems.append(ServiceError("The end date is before the start date.", "ended_on"))
    problems += _hour_problems(data, requirements)
    if data.kind == "attestation":
        known = {a["id"] for a in requirements.get("attestations", ())}
        if data.attestation not in known:
            problems.append(ServiceError("Choose one of the track's attestations.", "attestation"))
    if data.statement and len(data.statement) > MAX_STATEMENT:
        problems.append(ServiceError(f"Keep the statement to {MAX_STATEMENT} characters.", "statement"))
    return problems


def _hour_problems(data: RecordInput, requirements: dict) -> list[ServiceError]:
    if data.kind == "attestation":
        return []
    problems = []
    if not 0 < data.hours <= MAX_HOURS:
        problems.append(ServiceError(f"Enter the hours: more than 0 and at most {MAX_HOURS:g}.", "hours"))
    if any(v < 0 for v in data.domain_hours.values()):
        problems.append(ServiceError("Domain hours cannot be negative.", "domain_hours"))
    if data.kind == "training":
        known = set(requirements.get("education", {}).get("domains", {})) | set(
            requirements.get("recertification", {}).get("domains", {})
        )
        unknown = sorted(set(data.domain_hours) - known)
        if unknown:
            problems.append(ServiceError(f"Unknown domain(s): {', '.join(unknown)}.", "domain_hours"))
        split = sum(data.domain_hours.values())
        if split > data.hours + 1e-9:
            problems.append(
                ServiceError(
                    f"The domain hours ({split:g}) add up to more than the total ({data.hours:g}).", "domain_hours"
                )
            )
    return problems


def _event(record: LearnerRecord, actor: User | None, action: str, comment: str | None = None) -> None:
    record.events.append(RecordEvent(actor_id=actor.id if actor else None, action=action, comment=comment, at=utcnow()))


def create_record(
    user: User,
    data: RecordInput,
    requirements: dict,
    organization: Organization | None,
    evidence: EvidenceFile | None = None,
    supersedes: LearnerRecord | None = None,
) -> LearnerRecord:
    """A new pending record (a correction when ``supersedes`` is given). Raises the first problem found."""
    problems = validate(data, requirements)
    if problems:
        raise problems[0]
    if organization is not None and not _member_of(user, organization):
        raise ServiceError("Choose an organization you belong to.", "organization")
    if supersedes is not None and (supersedes.user_id != user.id or supersedes.status == "superseded"):
        raise ServiceError("That record cannot be corrected.")
    if evidence is not None and evidence.user_id != user.id:
        raise ServiceError("That evidence file is not yours.")
    record = LearnerRecord(
        user_id=user.id,
        organization_id=organization.id if organization else None,
        kind=data.kind,
        title=data.title.strip(),
        provider=data.provider.strip(),
        started_on=data.started_on,
        ended_on=data.ended_on,
        hours=0.0 if data.kind == "attestation" else float(data.hours),
        domain_hours={k: float(v) for k, v in data.domain_hours.items() if v},
        attestation=data.attestation if data.kind == "attestation" else None,
        statement=(data.statement or None),
        shared=data.shared,
        evidence_id=evidence.id if evidence else None,
        supersedes_id=supersedes.id if supersedes else None,
        status="pending",
    )
    db.session.add(record)
    _event(record, user, "corrected" if supersedes else "created")
    db.session.flush()
    return record


def _member_of(user: User, organization: Organization, roles: tuple[str, ...] | None = None) -> bool:
    query = select(Membership.id).where(Membership.user_id == user.id, Membership.organization_id == organization.id)
    if roles:
        query = query.where(Membership.role.in_(roles))
    return db.session.scalar(query) is not None


def can_verify(user: User, record: LearnerRecord) -> bool:
    """Supervisors and organization admins of the record's organization, never the record's own learner."""
    if record.user_id == user.id or record.organization_id is None:
        return False
    organization = db.session.get(Organization, record.organization_id)
    return _member_of(user, organization, VERIFIER_ROLES)


def decide(record: LearnerRecord, supervisor: User, verified: bool, comment: str | None = None) -> LearnerRecord:
    """Verify a pending record, or return it with a comment (a comment is required to return)."""
    comment = (comment or "").strip() or None
    if not can_verify(supervisor, record):
        raise ServiceError("Only a supervisor of this organization can verify another learner's records.")
    if record.status != "pending":
        raise ServiceError("This record has already been decided.")
    if comment and len(comment) > MAX_COMMENT:
        raise ServiceError(f"Keep the comment to {MAX_COMMENT} characters.", "comment")
    if not verified and not comment:
        raise ServiceError("Say what needs to change when you return a record.", "comment")
    record.status = "verified" if verified else "returned"
    record.decided_by_id, record.decided_at, record.comment = supervisor.id, utcnow(), comment
    _event(record, supervisor, record.status, comment)
    if verified and record.supersedes_id:
        old = db.session.get(LearnerRecord, record.supersedes_id)
        if old is not None and old.status in ("verified", "returned", "pending"):
            old.status = "superseded"
            _event(old, supervisor, "superseded", f"Replaced by record {record.id}")
    db.session.flush()
    return record


def withdraw(record: LearnerRecord, user: User) -> None:
    """The learner withdraws a record that is not verified yet (it is deleted with its trail)."""
    if record.user_id != user.id or record.status not in ("pending", "returned"):
        raise ServiceError("Only your own records that are not verified can be withdrawn.")
    db.session.delete(record)
    db.session.flush()


def pending_for(supervisor: User, organization: Organization) -> list[LearnerRecord]:
    """The organization's records waiting for verification (never the supervisor's own), oldest first."""
    return list(
        db.session.scalars(
            select(LearnerRecord)
            .where(
                LearnerRecord.organization_id == organization.id,
                LearnerRecord.status == "pending",
                LearnerRecord.user_id != supervisor.id,
            )
            .order_by(LearnerRecord.created_at, LearnerRecord.id)
        )
    )


def record_attendance(
    organization: Organization,
    trainer: User,
    title: str,
    provider: str,
    held_on: date,
    domain_hours: dict[str, float],
    attendees: list[User],
    requirements: dict,
) -> TrainingSession:
    """A training session with its attendees: one verified training record each, in one go."""
    total = sum(domain_hours.values())
    data = RecordInput("training", title, provider, held_on, None, total, domain_hours)
    problems = validate(data, requirements)
    if problems:
        raise problems[0]
    if not attendees:
        raise ServiceError("Choose at least one attendee.", "attendees")
    outsiders = [u.display_name for u in attendees if not _member_of(u, organization, ("learner",))]
    if outsiders:
        raise ServiceError(f"Not learners of this organization: {', '.join(outsiders)}.", "attendees")
    session = TrainingSession(
        organization_id=organization.id,
        title=title.strip(),
        provider=provider.strip(),
        held_on=held_on,
        domain_hours={k: float(v) for k, v in domain_hours.items() if v},
        created_by_id=trainer.id,
    )
    db.session.add(session)
    db.session.flush()
    now = utcnow()
    for attendee in attendees:
        record = LearnerRecord(
            user_id=attendee.id,
            organization_id=organization.id,
            kind="training",
            title=session.title,
            provider=session.provider,
            started_on=held_on,
            hours=total,
            domain_hours=dict(session.domain_hours),
            training_session_id=session.id,
            status="verified",
            decided_by_id=trainer.id,
            decided_at=now,
        )
        db.session.add(record)
        _event(record, trainer, "attendance", f"Attended {session.title} on {held_on.isoformat()}")
    db.session.flush()
    return session


# --- Evidence files ----------------------------------------------------------------------------------------


def sniff(head: bytes) -> str | None:
    """The content type of a file by its first bytes (PDF, PNG, JPEG), or None."""
    return next((kind for signature, kind in SIGNATURES if head.startswith(signature)), None)


def store_evidence(user: User, data: bytes, filename: str, root: Path) -> EvidenceFile:
    """Check and store an uploaded file under ``root`` (outside the web root); returns its row."""
    if not data:
        raise ServiceError("The file is empty.", "evidence")
    if len(data) > MAX_EVIDENCE_BYTES:
        raise ServiceError(f"Files can be at most {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB.", "evidence")
    content_type = sniff(data[:16])
    if content_type is None:
        raise ServiceError("Upload a PDF, PNG or JPEG file.", "evidence")
    digest = hashlib.sha256(data).hexdigest()
    folder = root / str(user.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / digest
    if not path.exists():
        temporary = path.with_suffix(".part")
        temporary.write_bytes(data)
        temporary.replace(path)
    name = Path(filename or "evidence").name[:MAX_TITLE] or "evidence"
    row = EvidenceFile(user_id=user.id, sha256=digest, content_type=content_type, size=len(data), original_name=name)
    db.session.add(row)
    db.session.flush()
    return row


def evidence_path(evidence: EvidenceFile, root: Path) -> Path:
    return root / str(evidence.user_id) / evidence.sha256


def can_see_evidence(user: User, evidence: EvidenceFile) -> bool:
    """The owner, and supervisors of an organization one of the owner's records with this file belongs to."""
    if user.id == evidence.user_id:
        return True
    organizations = db.session.scalars(
        select(LearnerRecord.organization_id).where(
            LearnerRecord.evidence_id == evidence.id, LearnerRecord.organization_id.is_not(None)
        )
    ).all()
    return any(_member_of(user, db.session.get(Organization, org_id), VERIFIER_ROLES) for org_id in set(organizations))


def visible_statement(record: LearnerRecord, viewer: User, private_ids: set[str]) -> str | None:
    """A record's statement as ``viewer`` may see it: private attestations only when the learner shared them."""
    if record.statement is None:
        return None
    if viewer.id == record.user_id or record.attestation not in private_ids or record.shared:
        return record.statement
    return None
