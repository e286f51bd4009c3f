"""Privacy self-service: a learner downloads everything stored about them, or deletes their account.

The export never contains the password hash or the session token. It holds the learner's pathway records
with their audit trail, their certifications and their evidence files' metadata (not the files), and their
statements, private ones included: it is their own data.

Deleting removes the user's own rows explicitly (SQLite does not enforce the ON DELETE CASCADE of the
foreign keys unless told to, so nothing is left to the database), and clears the authorship of content
others still use (question versions, question sets, invitations, API tokens, training sessions, and the
supervisor's name on other learners' decisions and trail). The user's stored evidence files are removed
once the deletion is committed (not before: a rolled-back deletion keeps them). Nobody can delete the last
site admin, or the last organization admin of an organization.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import (
    ApiToken,
    Attempt,
    BankRelease,
    Certificate,
    Certification,
    Cohort,
    CohortMember,
    EvidenceFile,
    Invitation,
    LearnerRecord,
    Membership,
    QuestionSet,
    QuestionSetAssignment,
    QuestionVersion,
    ReadinessSnapshot,
    RecordEvent,
    Response,
    ReviewCard,
    TrainingSession,
    User,
)
from app.models.base import utcnow
from app.models.user import ROLE_LABELS
from app.services import ServiceError

EXPORT_FORMAT = 1
CONFIRMATION_WORD = "DELETE"
# Columns pointing at the author of content that stays when its author leaves: (model, column name).
AUTHORSHIP_COLUMNS = (
    (BankRelease, "created_by_id"),
    (QuestionVersion, "created_by_id"),
    (QuestionSet, "created_by_id"),
    (QuestionSetAssignment, "assigned_by_id"),
    (Invitation, "created_by_id"),
    (ApiToken, "created_by_id"),
    (TrainingSession, "created_by_id"),
    (LearnerRecord, "decided_by_id"),  # a supervisor's decisions on other learners' records stay, unsigned
    (RecordEvent, "actor_id"),
)
FILES_TO_REMOVE = "privacy.files_to_remove"  # Session.info key: evidence folders to delete after the commit


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


# Export ------------------------------------------------------------------------------------------------


def export_user_data(user: User) -> dict:
    """Everything stored about ``user`` as a JSON-ready dict (no password hash, no session token)."""
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(utcnow()),
        "profile": _profile(user),
        "memberships": [_membership(m) for m in user.memberships],
        "cohorts": _cohorts(user),
        "attempts": [_attempt(a) for a in _attempts(user)],
        "review_cards": [_review_card(c) for c in _owned(ReviewCard, user, ReviewCard.id)],
        "readiness_snapshots": [_snapshot(s) for s in _owned(ReadinessSnapshot, user, ReadinessSnapshot.taken_at)],
        "certificates": [_certificate(c) for c in _owned(Certificate, user, Certificate.issued_at)],
        "learner_records": [_record(r, user) for r in _records(user)],
        "evidence_files": [_evidence(e) for e in _owned(EvidenceFile, user, EvidenceFile.id)],
        "certifications": [_certification(c) for c in _owned(Certification, user, Certification.certified_on)],
    }


def _owned(model, user: User, order_by) -> list:
    return list(db.session.scalars(select(model).where(model.user_id == user.id).order_by(order_by)))


def _profile(user: User) -> dict:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "site_admin": user.is_admin,
        "active": user.is_active_account,
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
    }


def _membership(membership: Membership) -> dict:
    return {
        "organization": membership.organization.name,
        "organization_slug": membership.organization.slug,
        "role": membership.role,
        "role_label": ROLE_LABELS.get(membership.role, membership.role),
        "since": _iso(membership.created_at),
    }


def _cohorts(user: User) -> list[dict]:
    rows = db.session.execute(
        select(CohortMember, Cohort)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .options(joinedload(Cohort.organization))
        .where(CohortMember.user_id == user.id)
        .order_by(CohortMember.added_at)
    )
    return [
        {"organization": cohort.organization.name, "cohort": cohort.name, "added_at": _iso(member.added_at)}
        for member, cohort in rows
    ]


def _attempts(user: User) -> list[Attempt]:
    query = (
        select(Attempt)
        .where(Attempt.user_id == user.id)
        .order_by(Attempt.started_at, Attempt.id)
        .options(
            joinedload(Attempt.release).joinedload(BankRelease.bank),
            selectinload(Attempt.responses).joinedload(Response.question_version).joinedload(QuestionVersion.question),
        )
    )
    return list(db.session.scalars(query).unique())


def _attempt(attempt: Attempt) -> dict:
    return {
        "id": attempt.id,
        "mode": attempt.mode,
        "title": attempt.title,
        "bank": attempt.release.bank.slug,
        "bank_version": attempt.release.version,
        "domain": attempt.domain,
        "tag": attempt.tag,
        "track": attempt.track,
        "started_at": _iso(attempt.started_at),
        "deadline_at": _iso(attempt.deadline_at),
        "submitted_at": _iso(attempt.submitted_at),
        "score": attempt.score,
        "passed": attempt.passed,
        "responses": [
            _response(r, sealed=attempt.mode == "exam" and attempt.submitted_at is None) for r in attempt.responses
        ],
    }


def _response(response: Response, *, sealed: bool = False) -> dict:
    """One answer; ``sealed``: an exam still running, whose correctness is withheld until it is submitted."""
    version = response.question_version
    chosen = response.chosen_option
    return {
        "position": response.position,
        "question": version.question.stable_id,
        "question_version": version.number,
        "stem": version.content["stem"],
        "shown_option_order": response.option_order,
        "chosen_option": chosen,
        "chosen_text": version.options[chosen]["text"] if chosen is not None else None,
        "correct": None if sealed else response.correct,
        "answered_at": _iso(response.answered_at),
    }


def _review_card(card: ReviewCard) -> dict:
    return {
        "family": card.family,
        "ease": card.ease,
        "interval_days": card.interval_days,
        "repetitions": card.repetitions,
        "lapses": card.lapses,
        "due_at": _iso(card.due_at),
        "last_reviewed_at": _iso(card.last_reviewed_at),
    }


def _snapshot(snapshot: ReadinessSnapshot) -> dict:
    return {
        "track": snapshot.track,
        "attempt_id": snapshot.attempt_id,
        "taken_at": _iso(snapshot.taken_at),
        "probability": snapshot.probability,
        "domains": snapshot.domains,
    }


def _certificate(certificate: Certificate) -> dict:
    return {
        "code": certificate.code,
        "kind": certificate.kind,
        "track": certificate.track,
        "holder_name": certificate.holder_name,
        "details": certificate.details,
        "issued_at": _iso(certificate.issued_at),
        "revoked_at": _iso(certificate.revoked_at),
        "revoked_reason": certificate.revoked_reason,
    }


def _records(user: User) -> list[LearnerRecord]:
    query = (
        select(LearnerRecord)
        .where(LearnerRecord.user_id == user.id)
        .order_by(LearnerRecord.created_at, LearnerRecord.id)
        .options(
            joinedload(LearnerRecord.organization),
            joinedload(LearnerRecord.decided_by),
            selectinload(LearnerRecord.events).joinedload(RecordEvent.actor),
        )
    )
    return list(db.session.scalars(query).unique())


def _person(person: User | None, user: User) -> str | None:
    """Who did something, as the learner's export names them."""
    if person is None:
        return None
    return "you" if person.id == user.id else person.display_name


def _record(record: LearnerRecord, user: User) -> dict:
    """One pathway record with its audit trail; the statement in full (private ones too: it is the learner's)."""
    return {
        "id": record.id,
        "kind": record.kind,
        "title": record.title,
        "provider": record.provider,
        "started_on": _day(record.started_on),
        "ended_on": _day(record.ended_on),
        "hours": record.hours,
        "domain_hours": record.domain_hours,
        "attestation": record.attestation,
        "statement": record.statement,
        "statement_shared": record.shared,
        "organization": record.organization.name if record.organization else None,
        "evidence_file_id": record.evidence_id,
        "training_session_id": record.training_session_id,
        "status": record.status,
        "supersedes_id": record.supersedes_id,
        "created_at": _iso(record.created_at),
        "decided_by": _person(record.decided_by, user),
        "decided_at": _iso(record.decided_at),
        "comment": record.comment,
        "events": [
            {"action": e.action, "by": _person(e.actor, user), "comment": e.comment, "at": _iso(e.at)}
            for e in record.events
        ],
    }


def _evidence(evidence: EvidenceFile) -> dict:
    """An uploaded file's metadata (the file itself is downloaded from the record's page)."""
    return {
        "id": evidence.id,
        "original_name": evidence.original_name,
        "content_type": evidence.content_type,
        "size": evidence.size,
        "sha256": evidence.sha256,
        "uploaded_at": _iso(evidence.created_at),
    }


def _certification(certification: Certification) -> dict:
    return {
        "track": certification.track,
        "certified_on": _day(certification.certified_on),
        "credential_number": certification.credential_number,
        "recorded_at": _iso(certification.created_at),
    }


# Deletion ----------------------------------------------------------------------------------------------


def deletion_blockers(user: User) -> list[str]:
    """Why this account cannot be deleted now (empty when it can): it is the last admin of something."""
    blockers = []
    if user.is_admin and not _other_site_admins(user):
        blockers.append(
            "You are the only site admin. Make another account a site admin before deleting yours "
            "(flask users create --admin)."
        )
    for membership in user.memberships:
        if membership.role == "org_admin" and not _other_org_admins(user, membership.organization_id):
            blockers.append(
                f"You are the only organization admin of {membership.organization.name}. "
                "Make another member an organization admin there before deleting your account."
            )
    return blockers


def _other_site_admins(user: User) -> int:
    query = select(func.count()).select_from(User).where(User.is_admin, User.is_active_account, User.id != user.id)
    return db.session.scalar(query)


def _other_org_admins(user: User, organization_id: int) -> int:
    query = (
        select(func.count())
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organization_id == organization_id,
            Membership.role == "org_admin",
            Membership.user_id != user.id,
            User.is_active_account,
        )
    )
    return db.session.scalar(query)


def delete_account(user: User, password: str, confirmation: str) -> None:
    """Delete ``user`` and their own data after checking the password and the typed confirmation word.

    Raises ServiceError (on the ``password`` or ``confirm`` field, or for the whole form when the user
    is the last site admin or the last admin of an organization).
    """
    if not check_password_hash(user.password_hash, password or ""):
        raise ServiceError("That is not your current password.", "password")
    if (confirmation or "").strip() != CONFIRMATION_WORD:
        raise ServiceError(f"Type {CONFIRMATION_WORD} in capital letters to confirm.", "confirm")
    blockers = deletion_blockers(user)
    if blockers:
        raise ServiceError(" ".join(blockers))
    erase_user(user.id)


def erase_user(user_id: int, evidence_root: Path | str | None = None) -> None:
    """Remove a user's rows in dependency order and unlink them from content that stays.

    The user's evidence folder under ``evidence_root`` (default: the EVIDENCE_DIR setting) is removed
    once the session commits.
    """
    attempt_ids = select(Attempt.id).where(Attempt.user_id == user_id).scalar_subquery()
    record_ids = select(LearnerRecord.id).where(LearnerRecord.user_id == user_id).scalar_subquery()
    statements = [
        delete(RecordEvent).where(RecordEvent.record_id.in_(record_ids)),
        update(LearnerRecord).where(LearnerRecord.user_id == user_id).values(supersedes_id=None, evidence_id=None),
        delete(LearnerRecord).where(LearnerRecord.user_id == user_id),
        delete(EvidenceFile).where(EvidenceFile.user_id == user_id),
        delete(Certification).where(Certification.user_id == user_id),
        delete(ReadinessSnapshot).where(ReadinessSnapshot.user_id == user_id),
        delete(Response).where(Response.attempt_id.in_(attempt_ids)),
        delete(Attempt).where(Attempt.user_id == user_id),
        delete(ReviewCard).where(ReviewCard.user_id == user_id),
        delete(Certificate).where(Certificate.user_id == user_id),
        delete(CohortMember).where(CohortMember.user_id == user_id),
        delete(Membership).where(Membership.user_id == user_id),
        *(
            update(model).where(getattr(model, column) == user_id).values({column: None})
            for model, column in AUTHORSHIP_COLUMNS
        ),
        delete(User).where(User.id == user_id),
    ]
    for statement in statements:
        db.session.execute(statement.execution_options(synchronize_session="fetch"))
    db.session.flush()
    root = evidence_root if evidence_root is not None else current_app.config.get("EVIDENCE_DIR")
    if root:
        db.session.info.setdefault(FILES_TO_REMOVE, []).append(Path(root) / str(int(user_id)))


@event.listens_for(Session, "after_commit")
def _remove_files_after_commit(session: Session) -> None:
    """Delete the evidence folders of accounts whose deletion was just committed."""
    for folder in session.info.pop(FILES_TO_REMOVE, []):
        shutil.rmtree(folder, ignore_errors=True)


@event.listens_for(Session, "after_rollback")
def _keep_files_after_rollback(session: Session) -> None:
    """A rolled-back deletion keeps the files."""
    session.info.pop(FILES_TO_REMOVE, None)
