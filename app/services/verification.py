"""The organization's side of learner records: look-ups for the supervisor's queue, a record's trail, and
the trainers' training sessions.

The rules themselves (who verifies, what a decision does, bulk attendance) live in ``records``; this module
only finds things *inside* one organization, so a route that found the organization through the current
user's membership can never reach another organization's records or sessions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import LearnerRecord, Organization, RecordEvent, TrainingSession, User

RECENT_DECISIONS = 20


@dataclass(frozen=True)
class SessionSummary:
    """A past training session and how many learners' records it created."""

    session: TrainingSession
    attendees: int

    @property
    def hours(self) -> float:
        return sum(self.session.domain_hours.values())


def organization_record(organization: Organization, record_id: int) -> LearnerRecord | None:
    """A record filed with this organization (any status), or None (also for other organizations' records)."""
    return db.session.scalar(
        select(LearnerRecord)
        .options(selectinload(LearnerRecord.events).selectinload(RecordEvent.actor))
        .where(LearnerRecord.id == record_id, LearnerRecord.organization_id == organization.id)
    )


def superseded_by(record: LearnerRecord) -> LearnerRecord | None:
    """The newest record that names ``record`` as the one it corrects, or None."""
    return db.session.scalar(
        select(LearnerRecord).where(LearnerRecord.supersedes_id == record.id).order_by(LearnerRecord.id.desc()).limit(1)
    )


def recent_decisions(organization: Organization, limit: int = RECENT_DECISIONS) -> list[LearnerRecord]:
    """The organization's records decided most recently (verified, returned or superseded), newest first."""
    return list(
        db.session.scalars(
            select(LearnerRecord)
            .options(selectinload(LearnerRecord.user), selectinload(LearnerRecord.decided_by))
            .where(
                LearnerRecord.organization_id == organization.id,
                LearnerRecord.decided_at.is_not(None),
                LearnerRecord.training_session_id.is_(None),  # attendance lists are shown with their session
            )
            .order_by(LearnerRecord.decided_at.desc(), LearnerRecord.id.desc())
            .limit(limit)
        )
    )


def training_sessions(organization: Organization) -> list[SessionSummary]:
    """The organization's training sessions, newest first, with their number of attendees (one query)."""
    attendees = (
        select(LearnerRecord.training_session_id, func.count().label("attendees"))
        .where(LearnerRecord.training_session_id.is_not(None))
        .group_by(LearnerRecord.training_session_id)
        .subquery()
    )
    rows = db.session.execute(
        select(TrainingSession, func.coalesce(attendees.c.attendees, 0))
        .outerjoin(attendees, attendees.c.training_session_id == TrainingSession.id)
        .where(TrainingSession.organization_id == organization.id)
        .order_by(TrainingSession.held_on.desc(), TrainingSession.id.desc())
    )
    return [SessionSummary(session, int(count)) for session, count in rows]


def chosen_learners(learners: Iterable[User], user_ids: Iterable[int]) -> list[User]:
    """The users among ``learners`` whose ids were chosen, in the order of ``learners``."""
    wanted = set(user_ids)
    return [user for user in learners if user.id in wanted]


def domain_labels(requirements: dict) -> dict[str, str]:
    """Every domain a training record may split its hours across: education domains, then recertification ones."""
    labels: dict[str, str] = {}
    for block in (requirements.get("education") or {}, requirements.get("recertification") or {}):
        for domain, spec in (block.get("domains") or {}).items():
            labels.setdefault(domain, spec["label"])
    return labels


def attestation_labels(tracks: Iterable[dict]) -> dict[str, str]:
    """Attestation id -> label over the given tracks (the first track naming an id wins)."""
    labels: dict[str, str] = {}
    for track in tracks:
        for spec in (track.get("requirements") or {}).get("attestations", ()):
            labels.setdefault(spec["id"], spec["label"])
    return labels


def private_attestations(tracks: Iterable[dict]) -> set[str]:
    """Ids of attestations that any of the tracks marks private (their statements stay with the learner)."""
    return {
        spec["id"]
        for track in tracks
        for spec in (track.get("requirements") or {}).get("attestations", ())
        if spec.get("private")
    }
