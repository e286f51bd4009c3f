"""The learner's side of the certification pathway: what the record forms offer, submitting and correcting
records with their evidence, the learner's certification (one per track) and the dashboard reminders.

Records are not tied to one track: a course is recorded once and counts toward every track whose domains
it covers. The record forms therefore offer the *catalog*, every track's domains and attestations merged.

Dates are calendar dates as the learner enters them (their local date, no time zone): a session finished at
11:30 pm in California on March 31 is dated March 31, even though it was already April 1 in UTC when it was
saved. ``created_at`` (UTC) only orders the audit trail; the requirement arithmetic uses the entered date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import Certification, LearnerRecord, Organization, User
from app.models.pathway import MAX_TITLE
from app.services import ServiceError, records
from app.services.pathway import Cycle, certification_of, learner_progress
from app.services.records import RecordInput

MAX_CREDENTIAL = 64
CORRECTABLE = ("verified", "returned")
WITHDRAWABLE = ("pending", "returned")


class RecordRejected(ServiceError):
    """Every problem with a submitted record (``problems``); the message is the first one."""

    def __init__(self, problems: list[ServiceError]):
        super().__init__(str(problems[0]), problems[0].field)
        self.problems = problems


@dataclass(frozen=True)
class Upload:
    """An uploaded evidence file as the route read it."""

    data: bytes
    filename: str


@dataclass(frozen=True)
class Reminder:
    """A recertification due date within 90 (or 30) days."""

    track_id: str
    track_title: str
    due: date
    days_left: int
    threshold: int  # 90 or 30


# --- The catalog the record forms offer -------------------------------------------------------------------


def requirement_catalog(tracks: list[dict]) -> dict:
    """Every track's education and recertification domains and attestations, merged (first label wins).

    An attestation is private or needs a document when any track says so. The result has the shape of a
    track's ``requirements`` so ``records.validate`` accepts it.
    """
    education: dict[str, dict] = {}
    recertification: dict[str, dict] = {}
    attestations: dict[str, dict] = {}
    for track in tracks:
        requirements = track.get("requirements") or {}
        for domain_id, spec in requirements.get("education", {}).get("domains", {}).items():
            education.setdefault(domain_id, spec)
        for domain_id, spec in requirements.get("recertification", {}).get("domains", {}).items():
            recertification.setdefault(domain_id, spec)
        for spec in requirements.get("attestations", ()):
            merged = attestations.setdefault(spec["id"], dict(spec))
            merged["private"] = merged.get("private", False) or spec.get("private", False)
            merged["document"] = merged.get("document", False) or spec.get("document", False)
    return {
        "education": {"hours": 0.0, "domains": education},
        "recertification": {"cycle_months": 1, "hours": 0.0, "domains": recertification},
        "attestations": list(attestations.values()),
    }


def training_domains(catalog: dict) -> dict[str, str]:
    """{domain id: label} a training record can split its hours across (education first, then CE-only)."""
    domains = {d: spec["label"] for d, spec in catalog.get("education", {}).get("domains", {}).items()}
    for domain_id, spec in catalog.get("recertification", {}).get("domains", {}).items():
        domains.setdefault(domain_id, spec["label"])
    return domains


def private_attestations(requirements: dict) -> set[str]:
    """The ids of attestations whose statement stays with the learner unless they share it."""
    return {a["id"] for a in requirements.get("attestations", ()) if a.get("private")}


def attestation_labels(requirements: dict) -> dict[str, str]:
    return {a["id"]: a["label"] for a in requirements.get("attestations", ())}


def attestation_spec(requirements: dict, attestation_id: str | None) -> dict | None:
    return next((a for a in requirements.get("attestations", ()) if a["id"] == attestation_id), None)


# --- The learner's records --------------------------------------------------------------------------------


def organizations_of(user: User) -> list[Organization]:
    """The organizations the user belongs to (in any role), by name: where their records can be verified."""
    return sorted((m.organization for m in user.memberships), key=lambda o: o.name.lower())


def own_record(user: User, record_id: int) -> LearnerRecord | None:
    """The record if it is the user's own (None for anyone else's: routes answer 404)."""
    record = db.session.get(LearnerRecord, record_id)
    return record if record is not None and record.user_id == user.id else None


def corrections_of(record: LearnerRecord) -> list[LearnerRecord]:
    """Records that correct (supersede) this one, oldest first."""
    return list(
        db.session.scalars(
            select(LearnerRecord).where(LearnerRecord.supersedes_id == record.id).order_by(LearnerRecord.id)
        )
    )


def can_correct(record: LearnerRecord) -> bool:
    """Verified and returned records can be corrected, unless a correction is already waiting."""
    if record.status not in CORRECTABLE:
        return False
    return not any(c.status == "pending" for c in corrections_of(record))


def can_withdraw(record: LearnerRecord) -> bool:
    return record.status in WITHDRAWABLE


def _document_problem(data: RecordInput, catalog: dict, has_file: bool) -> ServiceError | None:
    spec = attestation_spec(catalog, data.attestation) if data.kind == "attestation" else None
    if spec and spec.get("document") and not has_file:
        return ServiceError("This attestation needs a document: upload it as a PDF, PNG or JPEG.", "evidence")
    return None


def submit_record(
    user: User,
    data: RecordInput,
    catalog: dict,
    organization: Organization | None,
    upload: Upload | None,
    evidence_root: Path,
    supersedes: LearnerRecord | None = None,
) -> LearnerRecord:
    """Check every field, store the evidence file (if any), then create the pending record.

    A correction (``supersedes``) keeps the corrected record's evidence file unless a new one is uploaded.
    Raises ``RecordRejected`` with every field problem, or ``ServiceError`` for the rest.
    """
    if supersedes is not None and (supersedes.user_id != user.id or not can_correct(supersedes)):
        raise ServiceError("This record cannot be corrected now.")
    if supersedes is not None and data.kind != supersedes.kind:
        raise ServiceError("A correction is the same kind of record as the one it corrects.")
    kept = supersedes.evidence if supersedes is not None else None
    problems = records.validate(data, catalog)
    document = _document_problem(data, catalog, upload is not None or kept is not None)
    if document is not None:
        problems.append(document)
    if problems:
        raise RecordRejected(problems)
    if organization is not None and organization not in organizations_of(user):
        raise ServiceError("Choose an organization you belong to.", "organization")
    evidence = records.store_evidence(user, upload.data, upload.filename, evidence_root) if upload else kept
    return records.create_record(user, data, catalog, organization, evidence=evidence, supersedes=supersedes)


def prefill(record: LearnerRecord) -> dict:
    """A record's values as form data, for a correction."""
    return {
        "title": record.title,
        "provider": record.provider,
        "started_on": record.started_on,
        "ended_on": record.ended_on,
        "hours": record.hours,
        "domain_hours": dict(record.domain_hours or {}),
        "attestation": record.attestation,
        "statement": record.statement,
        "shared": record.shared,
        "organization": str(record.organization_id) if record.organization_id else "",
    }


# --- Certification and recertification --------------------------------------------------------------------


def record_certification(
    user: User, track_id: str, certified_on: date | None, credential_number: str, today: date | None = None
) -> Certification:
    """Create or update the learner's certification on a track (the date starts the recertification cycles)."""
    today = today or date.today()
    number = (credential_number or "").strip()
    if certified_on is None:
        raise ServiceError("Enter the date you were certified.", "certified_on")
    if certified_on > today:
        raise ServiceError("The certification date cannot be in the future.", "certified_on")
    if not number:
        raise ServiceError("Enter your credential number.", "credential_number")
    if len(number) > MAX_CREDENTIAL:
        raise ServiceError(f"Keep the credential number to {MAX_CREDENTIAL} characters.", "credential_number")
    certification = certification_of(user, track_id)
    if certification is None:
        certification = Certification(user_id=user.id, track=track_id[:MAX_TITLE])
        db.session.add(certification)
    certification.certified_on, certification.credential_number = certified_on, number
    db.session.flush()
    return certification


def certifications_of(user: User) -> dict[str, Certification]:
    """{track id: certification} for the user."""
    rows = db.session.scalars(select(Certification).where(Certification.user_id == user.id))
    return {row.track: row for row in rows}


def reminders(user: User, tracks: list[dict], today: date | None = None) -> list[Reminder]:
    """Recertification due dates within 90 days (30 when that close) on the tracks the user is certified in."""
    today = today or date.today()
    held = certifications_of(user)
    found = []
    for track in tracks:
        if track["id"] not in held:
            continue
        cycle: Cycle | None = learner_progress(user, track, today).cycle
        threshold = cycle.reminder(today) if cycle else None
        if threshold is not None:
            found.append(Reminder(track["id"], track["title"], cycle.end, cycle.days_left(today), threshold))
    return found
