"""Cohort readiness report: every learner's readiness in a fixed number of grouped queries.

``readiness.evaluate`` runs a handful of queries for one learner; calling it per learner would make a
dashboard of 5,000 learners run 20,000 queries. This module asks the same questions once for the whole
group (window functions partitioned by learner) and feeds the answers to readiness's pure math, so a
learner's row here always equals ``readiness.evaluate`` for that learner.

Each row also carries the learner's certification pathway (``pathway.progress_by_user``: education,
experience and supervision hours, attestations) and the number of their records waiting for this
organization's supervisors, in three more grouped queries. "Ready to apply" = every requirement verified
and exam readiness met. ``PATHWAY_FILTERS`` narrow the rows to ready / pending / incomplete learners.

The CSV export (``report_csv``) has one row per learner; CSV_COLUMNS documents its header.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import Integer, case, cast, distinct, func, select

from app.extensions import db
from app.models import (
    Attempt,
    BankRelease,
    Cohort,
    CohortMember,
    LearnerRecord,
    Membership,
    Organization,
    QuestionVersion,
    ReleaseItem,
    Response,
    User,
)
from app.models.base import utcnow
from app.services import calibration, evidence, exams, pathway, readiness
from app.services.banks import release_counts_by_domain
from app.services.pathway import PathwayProgress
from app.services.readiness import DEFAULT_RULES, answered_conditions

STALLED_AFTER = timedelta(days=14)
AT_RISK_PROBABILITY = 0.5
AT_RISK_MIN_ANSWERS = 20
FLAG_HELP = {
    "ready": "Every readiness rule is met.",
    "at_risk": f"Estimated chance of passing under {AT_RISK_PROBABILITY:.0%} after {AT_RISK_MIN_ANSWERS}+ answers.",
    "stalled": f"No answers in the last {STALLED_AFTER.days} days, or none at all.",
}
CSV_COLUMNS = (
    ("name", "The learner's display name."),
    ("email", "The learner's account email."),
    ("chance_of_passing", "Estimated chance of reaching the pass mark, as pages show it (never 0% or 100%)."),
    ("probability", "The same estimate as a number (0-1, 3 decimals); empty until there are enough answers."),
    ("proficiency_<domain>", "Estimated share correct (0-1) on the domain's questions, in blueprint order."),
    ("coverage", "Share (0-1) of the current release's questions answered at least once."),
    ("answers", "Answers given in this question bank."),
    ("last_active", "Time of the latest answer (UTC, ISO 8601); empty if never."),
    ("mock_exams_passed", "Submitted mock exams passed on this track."),
    ("ready", "yes/no: " + FLAG_HELP["ready"]),
    ("stalled", "yes/no: " + FLAG_HELP["stalled"]),
    ("at_risk", "yes/no: " + FLAG_HELP["at_risk"]),
    (
        "education",
        "Share (0-1) of the education hours requirement verified: the lowest of the total and each domain's "
        "minimum, so 1 means all of it is met. Empty when the track asks for no education hours.",
    ),
    ("experience", "Share (0-1) of the required work experience hours verified; empty when not required."),
    ("supervision", "Share (0-1) of the required supervision hours verified; empty when not required."),
    ("attestations_verified", "Attestations verified by a supervisor."),
    ("attestations_required", "Attestations the track asks for."),
    ("pending_verifications", "The learner's records waiting for this organization's supervisors."),
    ("requirements_met", "yes/no: every hours requirement and attestation of the track is verified."),
    ("ready_to_apply", "yes/no: requirements_met and ready (every requirement verified and exam readiness met)."),
    (
        "recertification_due",
        "Due date (ISO 8601) of the current recertification cycle once the learner recorded their "
        "certification; empty before.",
    ),
)
SORT_KEYS = ("name", "probability", "coverage", "answers", "last_active", "exams_passed")
PATHWAY_HEADER = (
    "education",
    "experience",
    "supervision",
    "attestations_verified",
    "attestations_required",
    "pending_verifications",
    "requirements_met",
    "ready_to_apply",
    "recertification_due",
)
PATHWAY_FILTERS = {
    "ready": "Ready to apply",
    "pending": "Waiting for verification",
    "incomplete": "Requirements not yet met",
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class LearnerRow:
    user_id: int
    name: str
    email: str
    probability: float
    domains: dict[str, float]  # posterior mean per blueprint domain, in blueprint order
    coverage: float
    answers: int
    last_active: datetime | None
    exams_passed: int
    rules: dict[str, bool]  # readiness rule key -> met
    stalled: bool
    at_risk: bool
    enough_evidence: bool = True
    pathway: PathwayProgress | None = None  # the certification requirements beyond the exam
    pending_records: int = 0  # records waiting for this organization's supervisors

    @property
    def ready(self) -> bool:
        """Exam readiness: every readiness rule is met."""
        return all(self.rules.values())

    @property
    def education_share(self) -> float | None:
        """The least complete part of the education requirement (total or a domain minimum), or None."""
        if self.pathway is None or not self.pathway.education:
            return None
        return min(line.share for line in self.pathway.education)

    @property
    def experience_share(self) -> float | None:
        line = self.pathway.experience if self.pathway else None
        return line.share if line else None

    @property
    def supervision_share(self) -> float | None:
        line = self.pathway.supervision if self.pathway else None
        return line.share if line else None

    @property
    def attestations_verified(self) -> int:
        return sum(1 for line in self.pathway.attestations if line.met) if self.pathway else 0

    @property
    def attestations_required(self) -> int:
        return len(self.pathway.attestations) if self.pathway else 0

    @property
    def requirements_met(self) -> bool:
        """Every requirement beyond the exam is verified (False when the pathway is unknown)."""
        return self.pathway is not None and self.pathway.requirements_met

    @property
    def ready_to_apply(self) -> bool:
        """Every requirement verified and exam readiness met."""
        return self.ready and self.requirements_met

    @property
    def recertification_due(self) -> date | None:
        """The current recertification cycle's due date, once the learner is certified; else None."""
        cycle = self.pathway.cycle if self.pathway else None
        return cycle.end if cycle else None

    def matches(self, pathway_filter: str | None) -> bool:
        """Whether the row passes a PATHWAY_FILTERS key (None: every row does)."""
        if pathway_filter == "ready":
            return self.ready_to_apply
        if pathway_filter == "pending":
            return self.pending_records > 0
        if pathway_filter == "incomplete":
            return not self.requirements_met
        return True

    @property
    def chance(self) -> str:
        return readiness.chance_text(self.probability, self.enough_evidence)

    @property
    def flags(self) -> list[str]:
        """The row's flags, most urgent first."""
        return [
            name for name, on in (("at_risk", self.at_risk), ("stalled", self.stalled), ("ready", self.ready)) if on
        ]


@dataclass(frozen=True)
class CohortReport:
    track_id: str
    track_title: str
    domain_names: dict[str, str]  # blueprint domain -> display name
    rows: list[LearnerRow]
    generated_at: datetime
    cohort: Cohort | None = None
    counts: dict[str, int] = field(default_factory=dict)
    has_pathway: bool = False  # the track lists requirements beyond the exam
    pathway_filter: str | None = None  # the PATHWAY_FILTERS key the rows were narrowed to
    pathway_counts: dict[str, int] = field(default_factory=dict)  # PATHWAY_FILTERS key -> learners (all rows)
    total: int = 0  # learners before the pathway filter


@dataclass(frozen=True)
class _Activity:
    answers: int = 0
    seen: int = 0
    last_active: datetime | None = None


@dataclass(frozen=True)
class _Exams:
    recent: list[bool] = field(default_factory=list)  # newest first
    passed: int = 0


# --- Grouped queries -------------------------------------------------------------------------------------


def learner_ids(organization: Organization, cohort: Cohort | None = None):
    """A subquery of the ids of the organization's learners (only those in ``cohort`` when given)."""
    query = select(Membership.user_id).where(
        Membership.organization_id == organization.id, Membership.role == "learner"
    )
    if cohort is not None:
        query = query.where(
            Membership.user_id.in_(select(CohortMember.user_id).where(CohortMember.cohort_id == cohort.id))
        )
    return query


def _learners(ids) -> list[tuple[int, str, str]]:
    return list(db.session.execute(select(User.id, User.display_name, User.email).where(User.id.in_(ids))).all())


def pending_records(ids, organization: Organization) -> dict[int, int]:
    """Per user: their records filed with this organization that wait for a supervisor (one grouped query)."""
    rows = db.session.execute(
        select(LearnerRecord.user_id, func.count())
        .where(
            LearnerRecord.user_id.in_(ids),
            LearnerRecord.organization_id == organization.id,
            LearnerRecord.status == "pending",
        )
        .group_by(LearnerRecord.user_id)
    )
    return {user_id: int(count) for user_id, count in rows}


def _release_size(release: BankRelease) -> int:
    return db.session.scalar(select(func.count()).select_from(ReleaseItem).where(ReleaseItem.release_id == release.id))


def activity(ids, release: BankRelease, now: datetime | None = None) -> dict[int, _Activity]:
    """Per user: answers in this bank, distinct release questions answered (as readiness.coverage counts
    them) and the latest answer's time, in one grouped query."""
    in_release = (
        select(QuestionVersion.question_id)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release.id)
    )
    rows = db.session.execute(
        select(
            Attempt.user_id,
            func.count(),
            func.count(distinct(case((Response.question_id.in_(in_release), Response.question_id)))),
            func.max(Response.answered_at),
        )
        .select_from(Response)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(BankRelease, BankRelease.id == Attempt.release_id)
        .where(*answered_conditions(ids, release, now))
        .group_by(Attempt.user_id)
    )
    return {user_id: _Activity(answers, seen, last) for user_id, answers, seen, last in rows}


def exam_results(ids, release: BankRelease, track_id: str, limit: int, now: datetime | None = None) -> dict:
    """Per user: passed/failed of the latest ``limit`` submitted mock exams (newest first) and the number
    passed in all, over one window query."""
    partition = {"partition_by": Attempt.user_id}
    rank = func.row_number().over(**partition, order_by=(Attempt.submitted_at.desc(), Attempt.id.desc()))
    passed_total = func.sum(case((Attempt.passed.is_(True), 1), else_=0)).over(**partition)
    conditions = [
        Attempt.user_id.in_(ids),
        Attempt.mode == "exam",
        Attempt.track == track_id,
        Attempt.submitted_at.is_not(None),
        BankRelease.bank_id == release.bank_id,
    ]
    if now is not None:
        conditions.append(Attempt.submitted_at <= now)
    ranked = (
        select(
            Attempt.user_id.label("user_id"),
            Attempt.passed.label("passed"),
            rank.label("rank"),
            passed_total.label("passed_total"),
        )
        .join(BankRelease, BankRelease.id == Attempt.release_id)
        .where(*conditions)
        .subquery()
    )
    rows = db.session.execute(
        select(ranked.c.user_id, ranked.c.passed, ranked.c.passed_total)
        .where(ranked.c.rank <= max(limit, 1))
        .order_by(ranked.c.user_id, ranked.c.rank)
    )
    results: dict[int, _Exams] = {}
    for user_id, passed, total in rows:
        entry = results.setdefault(user_id, _Exams(passed=int(total)))
        if len(entry.recent) < limit:
            entry.recent.append(bool(passed))
    return results


# --- The report ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What every row of one report shares."""

    track: dict
    rules: dict
    params: calibration.ItemParameters
    exam: object  # irt.ExamModel of the release
    domain_names: dict[str, str]
    sizes: dict[str, int]
    release_size: int
    now: datetime


def _row(
    learner: tuple[int, str, str],
    context: _Context,
    answers: list[evidence.Answer],
    seen: _Activity,
    exam_record: _Exams,
) -> LearnerRow:
    """One learner's row: the same estimate and rules as ``readiness.evaluate`` for that learner."""
    user_id, name, email = learner
    result = readiness.estimate(
        answers, context.params, context.exam, context.track, context.domain_names, context.sizes
    )
    coverage = min(seen.seen / context.release_size, 1.0) if context.release_size else 0.0
    checks = readiness.rule_checks(context.rules, exam_record.recent, result, coverage, you=False)
    return LearnerRow(
        user_id=user_id,
        name=name,
        email=email,
        probability=result.probability,
        domains={d.domain: d.mean for d in result.domains},
        coverage=coverage,
        answers=seen.answers,
        last_active=seen.last_active,
        exams_passed=exam_record.passed,
        rules={check.key: check.met for check in checks},
        stalled=seen.last_active is None or seen.last_active < context.now - STALLED_AFTER,
        at_risk=result.enough and result.probability < AT_RISK_PROBABILITY and seen.answers >= AT_RISK_MIN_ANSWERS,
        enough_evidence=result.enough,
    )


def build_report(
    organization: Organization,
    release: BankRelease,
    track: dict,
    cohort: Cohort | None = None,
    now: datetime | None = None,
    sort: str = "name",
    pathway_filter: str | None = None,
) -> CohortReport:
    """Readiness of every learner of the organization (or of one cohort) on a track, in a fixed number of queries.

    Overdue exams of these learners are submitted first (as the learner's own pages do), unless ``now``
    asks for the report as of an earlier moment (later answers and exams are then ignored).
    ``sort`` is one of SORT_KEYS, with a leading "-" for descending order. ``pathway_filter`` (a
    PATHWAY_FILTERS key) keeps only those rows; the counts are over every learner.
    """
    if pathway_filter is not None and pathway_filter not in PATHWAY_FILTERS:
        raise ValueError(f"unknown pathway filter {pathway_filter!r}")
    ids = learner_ids(organization, cohort)
    if now is None:
        exams.expire_due(user_ids=ids)
    blueprint = track["blueprint"]
    rules = {**DEFAULT_RULES, **track.get("readiness", {})}
    learners = _learners(ids)
    answers = evidence.answers_for(ids, release.bank_id, now)
    seen = activity(ids, release, now)
    exam_records = exam_results(ids, release, track["id"], int(rules["min_recent_exams"]), now)
    params = calibration.parameters(release.bank_id)
    context = _Context(
        track,
        rules,
        params,
        params.exam_model(release),
        release.domains,
        release_counts_by_domain(release),
        _release_size(release),
        now or utcnow(),
    )
    today = now.date() if now is not None else None
    progress = pathway.progress_by_user(ids, track, today)
    empty = pathway.progress_for(track.get("requirements") or {}, [], today=today)
    waiting = pending_records(ids, organization)
    rows = [
        replace(
            _row(
                learner,
                context,
                answers.get(learner[0], []),
                seen.get(learner[0], _Activity()),
                exam_records.get(learner[0], _Exams()),
            ),
            pathway=progress.get(learner[0], empty),
            pending_records=waiting.get(learner[0], 0),
        )
        for learner in learners
    ]
    shown = [row for row in rows if row.matches(pathway_filter)]
    return CohortReport(
        track_id=track["id"],
        track_title=track["title"],
        domain_names={domain: release.domains.get(domain, domain) for domain in blueprint},
        rows=sort_rows(shown, sort),
        generated_at=context.now,
        cohort=cohort,
        counts={flag: sum(1 for row in rows if flag in row.flags) for flag in FLAG_HELP},
        has_pathway=bool(track.get("requirements")),
        pathway_filter=pathway_filter,
        pathway_counts={key: sum(1 for row in rows if row.matches(key)) for key in PATHWAY_FILTERS},
        total=len(rows),
    )


def _sort_value(row: LearnerRow, key: str):
    if key == "last_active":
        return row.last_active or datetime.min
    if key == "name":
        return row.name.lower()
    return getattr(row, key)


def sort_rows(rows: list[LearnerRow], sort: str) -> list[LearnerRow]:
    """Rows ordered by a SORT_KEYS key ("-key" for descending); ties and unknown keys go by name."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    by_name = sorted(rows, key=lambda row: (row.name.lower(), row.user_id))
    if key not in SORT_KEYS or key == "name":
        return list(reversed(by_name)) if descending and key == "name" else by_name
    return sorted(by_name, key=lambda row: _sort_value(row, key), reverse=descending)


# --- CSV -----------------------------------------------------------------------------------------------------


def csv_header(report: CohortReport) -> list[str]:
    """The CSV's column names (documented in this module's docstring)."""
    domains = [f"proficiency_{domain}" for domain in report.domain_names]
    return [
        "name",
        "email",
        "chance_of_passing",
        "probability",
        *domains,
        "coverage",
        "answers",
        "last_active",
        "mock_exams_passed",
        "ready",
        "stalled",
        "at_risk",
        *PATHWAY_HEADER,
    ]


def safe_cell(value: object) -> str:
    """A cell spreadsheets will not run as a formula: text starting with = + - @ (or tab/CR) gets a "'"."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _pathway_cells(row: LearnerRow) -> list[object]:
    """The pathway columns of one row, in PATHWAY_HEADER order."""
    due = row.recertification_due
    return [
        _share(row.education_share),
        _share(row.experience_share),
        _share(row.supervision_share),
        row.attestations_verified,
        row.attestations_required,
        row.pending_records,
        _yes(row.requirements_met),
        _yes(row.ready_to_apply),
        due.isoformat() if due else "",
    ]


def csv_rows(report: CohortReport) -> list[list[str]]:
    """The report as CSV rows (header first), every cell guarded against formula injection."""
    rows = [csv_header(report)]
    for row in report.rows:
        cells = [
            row.name,
            row.email,
            row.chance,
            f"{row.probability:.3f}" if row.enough_evidence else "",
            *(f"{mean:.3f}" for mean in row.domains.values()),
            f"{row.coverage:.3f}",
            row.answers,
            row.last_active.isoformat(timespec="seconds") if row.last_active else "",
            row.exams_passed,
            _yes(row.ready),
            _yes(row.stalled),
            _yes(row.at_risk),
            *_pathway_cells(row),
        ]
        rows.append([safe_cell(cell) for cell in cells])
    return rows


def report_csv(report: CohortReport) -> str:
    """The report as CSV text."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(csv_rows(report))
    return buffer.getvalue()


# --- One learner's recent attempts (drill-down) ----------------------------------------------------------


@dataclass(frozen=True)
class AttemptScore:
    attempt: Attempt
    questions: int
    answered: int
    correct: int

    @property
    def share(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


def recent_attempt_scores(user: User, limit: int = 10) -> list[AttemptScore]:
    """The user's latest attempts, newest first, with question/answer/correct counts (two queries)."""
    attempts = list(
        db.session.scalars(select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id.desc()).limit(limit))
    )
    rows = db.session.execute(
        select(
            Response.attempt_id,
            func.count(),
            func.count(Response.chosen_option),
            func.coalesce(func.sum(cast(Response.correct, Integer)), 0),
        )
        .where(Response.attempt_id.in_([attempt.id for attempt in attempts]))
        .group_by(Response.attempt_id)
    )
    tallies = {attempt_id: (questions, answered, int(correct)) for attempt_id, questions, answered, correct in rows}
    return [AttemptScore(attempt, *tallies.get(attempt.id, (0, 0, 0))) for attempt in attempts]
