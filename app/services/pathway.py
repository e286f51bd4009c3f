"""Progress toward a credential: every requirement of the track, verified vs pending vs missing.

Pure arithmetic first (``progress_for`` over plain record values), then the database helpers. Only
verified records count; pending ones are shown beside them so a learner sees what is waiting. Dates are
calendar dates (no time of day, no time zone): a record dated on a cycle's first day belongs to that
cycle, one dated the day before belongs to the previous one.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from app.extensions import db
from app.models import Certification, LearnerRecord, User

REMINDER_DAYS = (90, 30)


@dataclass(frozen=True)
class RecordValue:
    """What the arithmetic needs of a record."""

    kind: str
    status: str
    hours: float
    domain_hours: dict[str, float]
    on: date  # the record's date (training date, period start, session date)
    attestation: str | None = None


@dataclass(frozen=True)
class HoursLine:
    """One hour requirement (a total, or one domain's minimum)."""

    key: str
    label: str
    required: float
    verified: float
    pending: float

    @property
    def missing(self) -> float:
        return max(0.0, self.required - self.verified)

    @property
    def met(self) -> bool:
        return self.verified + 1e-9 >= self.required

    @property
    def share(self) -> float:
        return min(1.0, self.verified / self.required) if self.required else 1.0


@dataclass(frozen=True)
class AttestationLine:
    key: str
    label: str
    status: str  # "verified", "pending", "returned" or "missing"
    document: bool
    private: bool

    @property
    def met(self) -> bool:
        return self.status == "verified"


@dataclass(frozen=True)
class Cycle:
    """A recertification cycle: [start, end) in calendar dates."""

    number: int
    start: date
    end: date  # due date: the first day of the next cycle
    hours: HoursLine
    domains: list[HoursLine]

    def days_left(self, today: date) -> int:
        return (self.end - today).days

    def reminder(self, today: date) -> int | None:
        """90 or 30 when the due date is that close (the smallest threshold reached), else None."""
        left = self.days_left(today)
        reached = [days for days in REMINDER_DAYS if 0 <= left <= days]
        return min(reached) if reached else None

    @property
    def met(self) -> bool:
        return self.hours.met and all(line.met for line in self.domains)


@dataclass(frozen=True)
class PathwayProgress:
    """Everything the pathway page, the packet and the organization view show."""

    label: str
    education: list[HoursLine] = field(default_factory=list)  # the total first, then each domain
    experience: HoursLine | None = None
    supervision: HoursLine | None = None
    attestations: list[AttestationLine] = field(default_factory=list)
    cycle: Cycle | None = None  # set once the learner recorded a certification

    @property
    def hour_lines(self) -> list[HoursLine]:
        return [*self.education, *(line for line in (self.experience, self.supervision) if line)]

    @property
    def requirements_met(self) -> bool:
        return all(line.met for line in self.hour_lines) and all(a.met for a in self.attestations)

    @property
    def pending(self) -> int:
        return sum(1 for line in self.hour_lines if line.pending) + sum(
            a.status == "pending" for a in self.attestations
        )

    def checklist(self) -> list[str]:
        """What is left, in plain words, most basic first."""
        left = [
            f"{_hours(line.missing)} more verified {line.label.lower()} hours"
            for line in self.hour_lines
            if not line.met
        ]
        left += [
            f"{a.label} ({'waiting for verification' if a.status == 'pending' else 'not yet recorded'})"
            for a in self.attestations
            if not a.met
        ]
        return left


def _hours(value: float) -> str:
    return f"{value:g}"


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _sum_hours(records: Iterable[RecordValue], status: str, domain: str | None = None) -> float:
    if domain is None:
        return sum(r.hours for r in records if r.status == status)
    return sum(float(r.domain_hours.get(domain, 0.0)) for r in records if r.status == status)


def _hours_line(
    key: str, label: str, required: float, records: list[RecordValue], domain: str | None = None
) -> HoursLine:
    return HoursLine(
        key, label, required, _sum_hours(records, "verified", domain), _sum_hours(records, "pending", domain)
    )


def _education(requirements: dict, training: list[RecordValue]) -> list[HoursLine]:
    block = requirements.get("education")
    if not block:
        return []
    lines = [_hours_line("education", "Education (all domains)", block["hours"], training)]
    lines += [
        _hours_line(f"education:{d}", f"Education: {spec['label']}", spec["hours"], training, domain=d)
        for d, spec in block.get("domains", {}).items()
    ]
    return lines


def _attestations(requirements: dict, records: list[RecordValue]) -> list[AttestationLine]:
    lines = []
    for spec in requirements.get("attestations", ()):
        statuses = {r.status for r in records if r.kind == "attestation" and r.attestation == spec["id"]}
        status = next((s for s in ("verified", "pending", "returned") if s in statuses), "missing")
        lines.append(
            AttestationLine(spec["id"], spec["label"], status, spec.get("document", False), spec.get("private", False))
        )
    return lines


def current_cycle(requirements: dict, certified_on: date, records: list[RecordValue], today: date) -> Cycle | None:
    """The recertification cycle containing ``today`` (the first one before it starts) and its CE hours."""
    block = requirements.get("recertification")
    if not block:
        return None
    months = int(block["cycle_months"])
    # Every boundary is counted from the certification date, never from the previous boundary: a leap-day (or
    # 31st) certification would otherwise drift to the 28th for good after its first short month.
    number = 1
    while add_months(certified_on, months * number) <= today:
        number += 1
    start, end = add_months(certified_on, months * (number - 1)), add_months(certified_on, months * number)
    ce = [r for r in records if r.kind == "training" and start <= r.on < end]
    hours = _hours_line("recertification", "Continuing education", block["hours"], ce)
    domains = [
        _hours_line(f"recertification:{d}", f"Continuing education: {spec['label']}", spec["hours"], ce, domain=d)
        for d, spec in block.get("domains", {}).items()
    ]
    return Cycle(number, start, end, hours, domains)


def progress_for(
    requirements: dict, records: list[RecordValue], certified_on: date | None = None, today: date | None = None
) -> PathwayProgress:
    """Requirement arithmetic over plain values: verified, pending and missing hours, attestations, cycle.

    Initial certification counts training dated before ``certified_on`` (all of it when not certified);
    after certification the current recertification cycle counts training dated within it.
    """
    today = today or date.today()
    live = [r for r in records if r.status in ("verified", "pending")]
    initial = [r for r in live if certified_on is None or r.on < certified_on]
    training = [r for r in initial if r.kind == "training"]
    progress = PathwayProgress(
        label=requirements.get("label", ""),
        education=_education(requirements, training),
        experience=_block_line(requirements, "experience", "Work experience", initial),
        supervision=_block_line(requirements, "supervision", "Supervision", initial),
        attestations=_attestations(requirements, records),
        cycle=current_cycle(requirements, certified_on, live, today) if certified_on else None,
    )
    return progress


def _block_line(requirements: dict, kind: str, label: str, records: list[RecordValue]) -> HoursLine | None:
    block = requirements.get(kind)
    if not block:
        return None
    return _hours_line(kind, label, block["hours"], [r for r in records if r.kind == kind])


# --- Database -------------------------------------------------------------------------------------------


def value_of(record: LearnerRecord) -> RecordValue:
    return RecordValue(
        kind=record.kind,
        status=record.status,
        hours=float(record.hours or 0.0),
        domain_hours={k: float(v) for k, v in (record.domain_hours or {}).items()},
        on=record.started_on,
        attestation=record.attestation,
    )


def records_of(user: User) -> list[LearnerRecord]:
    """The learner's records, newest first."""
    return list(
        db.session.scalars(
            select(LearnerRecord)
            .where(LearnerRecord.user_id == user.id)
            .order_by(LearnerRecord.started_on.desc(), LearnerRecord.id.desc())
        )
    )


def certification_of(user: User, track_id: str) -> Certification | None:
    return db.session.scalar(
        select(Certification).where(Certification.user_id == user.id, Certification.track == track_id)
    )


def learner_progress(user: User, track: dict, today: date | None = None) -> PathwayProgress:
    """The learner's progress on a track's requirements (exam readiness is evaluated separately)."""
    certification = certification_of(user, track["id"])
    return progress_for(
        track.get("requirements", {}),
        [value_of(r) for r in records_of(user)],
        certification.certified_on if certification else None,
        today,
    )


def progress_by_user(user_ids, track: dict, today: date | None = None) -> dict[int, PathwayProgress]:
    """Progress of many learners in two queries (records, certifications), for organization views."""
    records: dict[int, list[RecordValue]] = {}
    for record in db.session.scalars(select(LearnerRecord).where(LearnerRecord.user_id.in_(user_ids))):
        records.setdefault(record.user_id, []).append(value_of(record))
    certified = dict(
        db.session.execute(
            select(Certification.user_id, Certification.certified_on).where(
                Certification.user_id.in_(user_ids), Certification.track == track["id"]
            )
        ).all()
    )
    requirements = track.get("requirements", {})
    return {
        user_id: progress_for(requirements, records.get(user_id, []), certified.get(user_id), today)
        for user_id in set(records) | set(certified)
    }


def empty_progress(track: dict) -> PathwayProgress:
    return progress_for(track.get("requirements", {}), [])
