"""Question sets: a trainer's fixed list or rules over a bank's latest release, assigned to learners.

A fixed set names questions by stable id, so it follows a question to its newest version; questions
retired from the bank are left out when a learner starts the set. A rules set draws like practice
(seeded, least-seen first). A practice set runs on the practice pages, an exam set on the exam pages
with the set's own time limit and pass mark (see ``exams.exam_terms``).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, or_, select, union
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Attempt,
    Bank,
    BankRelease,
    Cohort,
    CohortMember,
    Membership,
    Organization,
    Question,
    QuestionSet,
    QuestionSetAssignment,
    QuestionVersion,
    QuestionVersionTag,
    ReleaseItem,
    Response,
    User,
)
from app.models.base import utcnow
from app.services import ServiceError, exams
from app.services.banks import latest_release
from app.services.permissions import can_manage_bank
from app.services.practice import create_attempt, draw, times_seen

KINDS = ("fixed", "rules")
MODES = ("practice", "exam")
DIFFICULTIES = ("easy", "medium", "hard")
TIME_LIMIT_MINUTES = (1, 300)
PASS_MARK = (0.05, 1.0)
MAX_TITLE_LENGTH = 160


class SetRejected(ServiceError):
    """Every problem found with a set's settings at once; each one names its form field."""

    def __init__(self, problems: list[ServiceError]):
        super().__init__(str(problems[0]), problems[0].field)
        self.problems = problems


@dataclass(frozen=True)
class SetSpec:
    """What a trainer asks for; ``tags`` means "any of these", None for domain/difficulty means any."""

    title: str
    kind: str
    mode: str
    question_ids: tuple[str, ...] = ()
    domain: str | None = None
    tags: tuple[str, ...] = ()
    difficulty: str | None = None
    count: int | None = None
    time_limit_minutes: int | None = None
    pass_mark: float | None = None

    @property
    def rules(self) -> dict:
        return {"domain": self.domain, "tags": list(self.tags), "difficulty": self.difficulty, "count": self.count}


# --- who may author a bank's sets ---------------------------------------------------------------------


def can_author(user: User, bank: Bank) -> bool:
    """Site admins, and trainers of the organization that owns the bank."""
    return can_manage_bank(user, bank)


def authorable_banks(user: User) -> list[Bank]:
    """The banks whose sets this user may author, by title."""
    query = select(Bank).order_by(Bank.title)
    if not user.is_admin:
        query = query.where(Bank.organization_id.in_(_org_ids(user, "trainer")))
    return list(db.session.scalars(query))


def bank_sets(bank: Bank) -> list[QuestionSet]:
    """A bank's sets, active ones first, newest first."""
    return list(
        db.session.scalars(
            select(QuestionSet)
            .where(QuestionSet.bank_id == bank.id)
            .order_by(QuestionSet.archived_at.is_not(None), QuestionSet.id.desc())
        )
    )


def _org_ids(user: User, role: str) -> set[int]:
    return {m.organization_id for m in user.memberships if m.role == role}


# --- what a set can draw from -------------------------------------------------------------------------


def release_questions(release: BankRelease) -> list[QuestionVersion]:
    """The release's question versions (with their stable ids loaded), by domain order then stable id."""
    versions = db.session.scalars(
        select(QuestionVersion)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(ReleaseItem.release_id == release.id)
        .options(selectinload(QuestionVersion.question))
        .order_by(Question.stable_id)
    ).all()
    domain_order = {domain: index for index, domain in enumerate(release.domains)}
    return sorted(versions, key=lambda v: domain_order.get(v.domain, len(domain_order)))


def filter_questions(
    versions: list[QuestionVersion],
    *,
    domain: str | None = None,
    tag: str | None = None,
    difficulty: str | None = None,
    text: str | None = None,
) -> list[QuestionVersion]:
    """Narrow a question list for the picker: by domain, tag, difficulty and words in the id, stem or scenario."""
    needle = (text or "").strip().lower()
    return [
        v
        for v in versions
        if (not domain or v.domain == domain)
        and (not tag or tag in v.content["tags"])
        and (not difficulty or v.difficulty == difficulty)
        and (not needle or needle in f"{v.question.stable_id} {v.content['stem']} {v.content['scenario']}".lower())
    ]


def _rule_query(release: BankRelease, domain: str | None, tags: list[str] | tuple[str, ...], difficulty: str | None):
    query = (
        select(QuestionVersion)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release.id)
    )
    if domain:
        query = query.where(QuestionVersion.domain == domain)
    if difficulty:
        query = query.where(QuestionVersion.difficulty == difficulty)
    if tags:
        tagged = select(QuestionVersionTag.question_version_id).where(QuestionVersionTag.tag.in_(list(tags)))
        query = query.where(QuestionVersion.id.in_(tagged))
    return query


def count_rule_matches(release: BankRelease, domain: str | None, tags=(), difficulty: str | None = None) -> int:
    """How many questions of the release match a rule (tags: any of them)."""
    query = _rule_query(release, domain, tags, difficulty).with_only_columns(func.count(QuestionVersion.id))
    return db.session.scalar(query) or 0


def rule_matches(release: BankRelease, rules: dict) -> list[QuestionVersion]:
    """The release's question versions matching a set's rules, by id."""
    query = _rule_query(release, rules.get("domain"), rules.get("tags") or (), rules.get("difficulty"))
    return list(db.session.scalars(query.order_by(QuestionVersion.id)))


# --- create, edit, archive ----------------------------------------------------------------------------


def create_set(bank: Bank, author: User, spec: SetSpec) -> QuestionSet:
    """Create a set on a bank after checking it against the bank's latest release."""
    question_set = QuestionSet(bank_id=bank.id, created_by_id=author.id)
    _apply(question_set, _checked(bank, spec))
    db.session.add(question_set)
    db.session.flush()
    return question_set


def update_set(question_set: QuestionSet, spec: SetSpec) -> QuestionSet:
    """Change a set; its mode is fixed once a learner has started it (their results would mix)."""
    bank = db.session.get(Bank, question_set.bank_id)
    checked = _checked(bank, spec)
    if checked.mode != question_set.mode and _has_attempts(question_set):
        raise SetRejected(
            [ServiceError("Learners have started this set, so its mode cannot change. Make a new set.", "mode")]
        )
    _apply(question_set, checked)
    db.session.flush()
    return question_set


def archive_set(question_set: QuestionSet, now: datetime | None = None) -> bool:
    """Archive a set: learners no longer see or start it. False if it was already archived."""
    if question_set.archived_at is not None:
        return False
    question_set.archived_at = now or utcnow()
    db.session.flush()
    return True


def _has_attempts(question_set: QuestionSet) -> bool:
    return db.session.scalar(select(Attempt.id).where(Attempt.question_set_id == question_set.id).limit(1)) is not None


def _apply(question_set: QuestionSet, spec: SetSpec) -> None:
    question_set.title = spec.title
    question_set.kind = spec.kind
    question_set.mode = spec.mode
    question_set.question_ids = list(spec.question_ids) if spec.kind == "fixed" else []
    question_set.rules = spec.rules if spec.kind == "rules" else {}
    question_set.time_limit_minutes = spec.time_limit_minutes if spec.mode == "exam" else None
    question_set.pass_mark = spec.pass_mark if spec.mode == "exam" else None


def _checked(bank: Bank, spec: SetSpec) -> SetSpec:
    """The spec, tidied, or SetRejected listing every problem."""
    release = latest_release(bank.slug)
    if release is None:
        raise SetRejected([ServiceError("This bank has no release yet: import it before making sets.")])
    spec = _tidy(spec)
    problems = [*_basic_problems(spec), *_exam_problems(spec)]
    if spec.kind == "fixed":
        problems += _fixed_problems(release, spec)
    elif spec.kind == "rules":
        problems += _rules_problems(release, spec)
    if problems:
        raise SetRejected(problems)
    return spec


def _tidy(spec: SetSpec) -> SetSpec:
    ids = tuple(dict.fromkeys(i.strip() for i in spec.question_ids if i and i.strip()))
    tags = tuple(dict.fromkeys(t for t in spec.tags if t))
    return SetSpec(
        title=" ".join(spec.title.split()),
        kind=spec.kind,
        mode=spec.mode,
        question_ids=ids,
        domain=spec.domain or None,
        tags=tags,
        difficulty=spec.difficulty or None,
        count=spec.count,
        time_limit_minutes=spec.time_limit_minutes,
        pass_mark=spec.pass_mark,
    )


def _basic_problems(spec: SetSpec) -> list[ServiceError]:
    problems = []
    if not spec.title:
        problems.append(ServiceError("Give the set a title.", "title"))
    elif len(spec.title) > MAX_TITLE_LENGTH:
        problems.append(ServiceError(f"Keep the title to {MAX_TITLE_LENGTH} characters.", "title"))
    if spec.kind not in KINDS:
        problems.append(ServiceError("Choose a fixed list or rules.", "kind"))
    if spec.mode not in MODES:
        problems.append(ServiceError("Choose practice or exam.", "mode"))
    return problems


def _exam_problems(spec: SetSpec) -> list[ServiceError]:
    if spec.mode != "exam":
        return []
    problems = []
    low, high = TIME_LIMIT_MINUTES
    if spec.time_limit_minutes is None:
        problems.append(ServiceError("An exam set needs a time limit in minutes.", "time_limit_minutes"))
    elif not low <= spec.time_limit_minutes <= high:
        problems.append(ServiceError(f"Choose a time limit from {low} to {high} minutes.", "time_limit_minutes"))
    low_mark, high_mark = PASS_MARK
    if spec.pass_mark is None:
        problems.append(ServiceError("An exam set needs a pass mark.", "pass_mark"))
    elif not low_mark <= spec.pass_mark <= high_mark:
        message = f"Choose a pass mark from {low_mark:g} to {high_mark:g} (for example 0.7 for 70%)."
        problems.append(ServiceError(message, "pass_mark"))
    return problems


def _fixed_problems(release: BankRelease, spec: SetSpec) -> list[ServiceError]:
    if not spec.question_ids:
        return [ServiceError("Choose at least one question for a fixed set.", "question_ids")]
    missing = missing_from_release(release, spec.question_ids)
    if missing:
        message = f"Not in release {release.version} of the bank: {', '.join(missing)}. Untick them."
        return [ServiceError(message, "question_ids")]
    return []


def _rules_problems(release: BankRelease, spec: SetSpec) -> list[ServiceError]:
    problems = []
    if spec.domain and spec.domain not in release.domains:
        problems.append(ServiceError("Choose a domain from the list.", "rule_domain"))
    unknown_tags = [t for t in spec.tags if t not in release.tags]
    if unknown_tags:
        problems.append(ServiceError(f"Unknown topics: {', '.join(unknown_tags)}.", "rule_tags"))
    if spec.difficulty and spec.difficulty not in DIFFICULTIES:
        problems.append(ServiceError("Choose a difficulty from the list.", "rule_difficulty"))
    if spec.count is None or spec.count < 1:
        problems.append(ServiceError("Say how many questions to draw (at least 1).", "rule_count"))
    if problems:
        return problems
    matches = count_rule_matches(release, spec.domain, spec.tags, spec.difficulty)
    if matches < spec.count:
        message = (
            f"Only {matches} question{'' if matches == 1 else 's'} in release {release.version} "
            f"match{'es' if matches == 1 else ''} these rules, fewer than the {spec.count} asked for: "
            "lower the count or widen the rules."
        )
        problems.append(ServiceError(message, "rule_count"))
    return problems


def missing_from_release(release: BankRelease, stable_ids) -> list[str]:
    """The stable ids (in their order) that have no version in this release."""
    present = set(db.session.scalars(_stable_ids_in(release, stable_ids)))
    return [i for i in stable_ids if i not in present]


def _stable_ids_in(release: BankRelease, stable_ids):
    return (
        select(Question.stable_id)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release.id, Question.stable_id.in_(list(stable_ids)))
    )


# --- assignments --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentTarget:
    """Somewhere a set can be assigned: all learners of an organization, or one of its cohorts."""

    organization: Organization
    cohort: Cohort | None = None

    @property
    def value(self) -> str:
        return f"cohort:{self.cohort.id}" if self.cohort else f"org:{self.organization.id}"

    @property
    def label(self) -> str:
        if self.cohort is None:
            return f"All learners in {self.organization.name}"
        return f"{self.organization.name}: cohort {self.cohort.name}"


def assignment_targets(user: User) -> list[AssignmentTarget]:
    """Where this user may assign sets: their trainer organizations (all of them for site admins)."""
    query = select(Organization).order_by(Organization.name)
    if not user.is_admin:
        query = query.where(Organization.id.in_(_org_ids(user, "trainer")))
    organizations = list(db.session.scalars(query))
    cohorts = db.session.scalars(
        select(Cohort).where(Cohort.organization_id.in_([o.id for o in organizations])).order_by(Cohort.name)
    ).all()
    by_org: dict[int, list[Cohort]] = {}
    for cohort in cohorts:
        by_org.setdefault(cohort.organization_id, []).append(cohort)
    return [
        target
        for org in organizations
        for target in [AssignmentTarget(org), *(AssignmentTarget(org, c) for c in by_org.get(org.id, []))]
    ]


def assign_set(
    question_set: QuestionSet,
    assigner: User,
    target: AssignmentTarget,
    due_on: date | None = None,
    today: date | None = None,
) -> QuestionSetAssignment:
    """Assign a set to an organization's learners or one cohort, optionally due at the end of a day (UTC)."""
    if question_set.archived_at is not None:
        raise ServiceError("This set is archived; it cannot be assigned.")
    organization, cohort = target.organization, target.cohort
    if not assigner.is_admin and organization.id not in _org_ids(assigner, "trainer"):
        raise ServiceError("You can assign sets only to organizations where you are a trainer.", "target")
    if cohort is not None and cohort.organization_id != organization.id:
        raise ServiceError("That cohort belongs to another organization.", "target")
    if due_on is not None and due_on < (today or utcnow().date()):
        raise ServiceError("Choose a due date from today on.", "due_on")
    if _existing_assignment(question_set, organization, cohort) is not None:
        raise ServiceError(f"This set is already assigned to {target.label.lower()}.", "target")
    assignment = QuestionSetAssignment(
        question_set=question_set,
        organization_id=organization.id,
        cohort_id=cohort.id if cohort else None,
        assigned_by_id=assigner.id,
        due_at=datetime.combine(due_on, time(23, 59, 59)) if due_on else None,
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


def _existing_assignment(question_set: QuestionSet, organization: Organization, cohort: Cohort | None):
    cohort_match = (
        QuestionSetAssignment.cohort_id.is_(None) if cohort is None else (QuestionSetAssignment.cohort_id == cohort.id)
    )
    return db.session.scalar(
        select(QuestionSetAssignment).where(
            QuestionSetAssignment.question_set_id == question_set.id,
            QuestionSetAssignment.organization_id == organization.id,
            cohort_match,
        )
    )


def remove_assignment(assignment: QuestionSetAssignment) -> None:
    """Withdraw an assignment; learners' attempts and results stay."""
    db.session.delete(assignment)
    db.session.flush()


def get_assignment(question_set: QuestionSet, assignment_id: int) -> QuestionSetAssignment | None:
    assignment = db.session.get(QuestionSetAssignment, assignment_id)
    return assignment if assignment is not None and assignment.question_set_id == question_set.id else None


@dataclass(frozen=True)
class AssignmentRow:
    assignment: QuestionSetAssignment
    organization_name: str
    cohort_name: str | None


def set_assignments(question_set: QuestionSet) -> list[AssignmentRow]:
    """A set's assignments with their organization and cohort names, in the order they were made."""
    rows = db.session.execute(
        select(QuestionSetAssignment, Organization.name, Cohort.name)
        .join(Organization, Organization.id == QuestionSetAssignment.organization_id)
        .outerjoin(Cohort, Cohort.id == QuestionSetAssignment.cohort_id)
        .where(QuestionSetAssignment.question_set_id == question_set.id)
        .order_by(QuestionSetAssignment.id)
    )
    return [AssignmentRow(*row) for row in rows]


def _assignments_reaching(user_id):
    """Condition: assignments that reach this user (as a learner of the organization, or via a cohort)."""
    learner_orgs = select(Membership.organization_id).where(Membership.user_id == user_id, Membership.role == "learner")
    cohorts = select(CohortMember.cohort_id).where(CohortMember.user_id == user_id)
    return or_(
        and_(QuestionSetAssignment.cohort_id.is_(None), QuestionSetAssignment.organization_id.in_(learner_orgs)),
        QuestionSetAssignment.cohort_id.in_(cohorts),
    )


def _audience_ids(question_set: QuestionSet):
    """Select of the ids of every user a set's assignments reach."""
    assignments = select(QuestionSetAssignment).where(QuestionSetAssignment.question_set_id == question_set.id)
    org_wide = assignments.where(QuestionSetAssignment.cohort_id.is_(None)).subquery()
    by_cohort = assignments.where(QuestionSetAssignment.cohort_id.is_not(None)).subquery()
    return union(
        select(Membership.user_id)
        .join(org_wide, org_wide.c.organization_id == Membership.organization_id)
        .where(Membership.role == "learner"),
        select(CohortMember.user_id).join(by_cohort, by_cohort.c.cohort_id == CohortMember.cohort_id),
    )


# --- results ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetResult:
    """The latest attempt at a set (by a learner) and how it went."""

    attempt_id: int
    mode: str
    attempts: int
    submitted_at: datetime | None
    deadline_at: datetime | None
    score: float | None
    passed: bool | None
    total: int
    answered: int
    correct: int

    @property
    def finished(self) -> bool:
        return self.submitted_at is not None

    @property
    def share(self) -> float:
        """The exam score, or for practice the share of answered questions that were correct."""
        if self.mode == "exam":
            return self.score or 0.0
        return self.correct / self.answered if self.answered else 0.0


def _latest_results(condition, key_column) -> dict:
    """{key: SetResult} for the latest attempt per key among attempts meeting ``condition``: one grouped query."""
    latest = (
        select(
            key_column.label("key"), func.max(Attempt.id).label("attempt_id"), func.count(Attempt.id).label("attempts")
        )
        .where(condition)
        .group_by(key_column)
        .subquery()
    )
    tally = (
        select(
            Response.attempt_id,
            func.count(Response.id).label("total"),
            func.count(Response.chosen_option).label("answered"),
            func.sum(case((Response.correct.is_(True), 1), else_=0)).label("correct"),
        )
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(condition)
        .group_by(Response.attempt_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            latest.c.key,
            Attempt.id,
            Attempt.mode,
            latest.c.attempts,
            Attempt.submitted_at,
            Attempt.deadline_at,
            Attempt.score,
            Attempt.passed,
            func.coalesce(tally.c.total, 0),
            func.coalesce(tally.c.answered, 0),
            func.coalesce(tally.c.correct, 0),
        )
        .select_from(latest)
        .join(Attempt, Attempt.id == latest.c.attempt_id)
        .outerjoin(tally, tally.c.attempt_id == latest.c.attempt_id)
    )
    return {key: SetResult(*values) for key, *values in rows}


@dataclass(frozen=True)
class LearnerResult:
    user_id: int
    name: str
    email: str
    assigned: bool
    result: SetResult | None


def learner_results(question_set: QuestionSet) -> list[LearnerResult]:
    """Every assigned learner (and anyone else who attempted the set) with their latest result, by name."""
    results = _latest_results(Attempt.question_set_id == question_set.id, Attempt.user_id)
    audience = set(db.session.scalars(_audience_ids(question_set)))
    users = db.session.execute(
        select(User.id, User.display_name, User.email)
        .where(User.id.in_(audience | set(results)))
        .order_by(func.lower(User.display_name), User.id)
    )
    return [LearnerResult(uid, name, email, uid in audience, results.get(uid)) for uid, name, email in users]


# --- learners: what is assigned to them, starting a set -----------------------------------------------


@dataclass(frozen=True)
class AssignedSet:
    question_set: QuestionSet
    due_at: datetime | None
    result: SetResult | None

    @property
    def in_progress(self) -> bool:
        return self.result is not None and not self.result.finished

    @property
    def size(self) -> int:
        return set_size(self.question_set)

    def overdue(self, now: datetime | None = None) -> bool:
        return self.due_at is not None and (now or utcnow()) > self.due_at


def assigned_sets(user: User) -> list[AssignedSet]:
    """The active sets assigned to this learner (from any organization or cohort), soonest due first.

    A set assigned twice (to the organization and to a cohort) shows once, with its earliest due date.
    """
    rows = db.session.execute(
        select(QuestionSet, func.min(QuestionSetAssignment.due_at))
        .join(QuestionSetAssignment, QuestionSetAssignment.question_set_id == QuestionSet.id)
        .where(_assignments_reaching(user.id), QuestionSet.archived_at.is_(None))
        .group_by(QuestionSet.id)
    ).all()
    if not rows:
        return []
    set_ids = [question_set.id for question_set, _ in rows]
    results = _latest_results(
        and_(Attempt.user_id == user.id, Attempt.question_set_id.in_(set_ids)), Attempt.question_set_id
    )
    assigned = [AssignedSet(question_set, due, results.get(question_set.id)) for question_set, due in rows]
    return sorted(assigned, key=lambda a: (a.due_at is None, a.due_at or datetime.max, a.question_set.title.lower()))


def assigned_set(user: User, set_id: int) -> QuestionSet | None:
    """The set with this id if it is assigned to this learner (archived or not), else None."""
    return db.session.scalar(
        select(QuestionSet)
        .join(QuestionSetAssignment, QuestionSetAssignment.question_set_id == QuestionSet.id)
        .where(QuestionSet.id == set_id, _assignments_reaching(user.id))
        .limit(1)
    )


@dataclass(frozen=True)
class StartedSet:
    """The attempt a learner is sent to; ``skipped`` lists fixed-set questions no longer in the bank."""

    attempt: Attempt
    resumed: bool = False
    skipped: list[str] = field(default_factory=list)
    short_by: int = 0

    @property
    def notes(self) -> list[str]:
        notes = []
        if self.skipped:
            count = len(self.skipped)
            notes.append(
                f"{count} question{' is' if count == 1 else 's are'} no longer in the question bank "
                "and left out of this set."
            )
        if self.short_by:
            notes.append(f"The bank has {self.short_by} fewer matching questions than this set asks for.")
        return notes


def start_set(
    user: User, question_set: QuestionSet, now: datetime | None = None, seed: int | None = None
) -> StartedSet:
    """Resume the learner's open attempt at this set, or start one from the bank's latest release.

    A practice set gives a practice attempt (feedback after each question); an exam set gives a timed
    exam attempt with the set's time limit, scored against its pass mark on submit.
    """
    if question_set.archived_at is not None:
        raise ServiceError("This set has been archived by your trainer and can no longer be started.")
    now = now or utcnow()
    current = _open_attempt(user, question_set)
    if current is not None:
        if not (current.mode == "exam" and exams.is_expired(current, now)):
            return StartedSet(current, resumed=True)
        exams.submit(current, now)
    release = latest_release(db.session.get(Bank, question_set.bank_id).slug)
    if release is None:
        raise ServiceError("This set's question bank has no release yet.")
    seed = secrets.randbelow(2**31) if seed is None else seed
    rng = random.Random(seed)  # noqa: S311 - shuffling quiz items, not security
    versions, skipped, short_by = _questions_for(user, question_set, release, rng)
    if not versions:
        raise ServiceError("None of this set's questions are in the question bank any more. Ask your trainer.")
    fields = {"question_set_id": question_set.id}
    if question_set.mode == "exam":
        fields.update(started_at=now, deadline_at=now + timedelta(minutes=question_set.time_limit_minutes))
    attempt = create_attempt(user, release, versions, mode=question_set.mode, seed=seed, rng=rng, **fields)
    return StartedSet(attempt, skipped=skipped, short_by=short_by)


def _open_attempt(user: User, question_set: QuestionSet) -> Attempt | None:
    return db.session.scalar(
        select(Attempt)
        .where(Attempt.user_id == user.id, Attempt.question_set_id == question_set.id, Attempt.submitted_at.is_(None))
        .order_by(Attempt.id.desc())
        .limit(1)
    )


def _questions_for(
    user: User, question_set: QuestionSet, release: BankRelease, rng: random.Random
) -> tuple[list[QuestionVersion], list[str], int]:
    """(versions to show, fixed-set ids left out, how many short a rules set is)."""
    if question_set.kind == "fixed":
        by_id = _fixed_versions(release, question_set.question_ids)
        skipped = [i for i in question_set.question_ids if i not in by_id]
        return [by_id[i] for i in question_set.question_ids if i in by_id], skipped, 0
    count = int(question_set.rules.get("count") or 0)
    candidates = rule_matches(release, question_set.rules)
    return draw(candidates, times_seen(user), count, rng), [], max(0, count - len(candidates))


def _fixed_versions(release: BankRelease, stable_ids: list[str]) -> dict[str, QuestionVersion]:
    rows = db.session.execute(
        select(Question.stable_id, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release.id, Question.stable_id.in_(list(stable_ids)))
    )
    return dict(rows.all())


def expire_set_exams(question_set: QuestionSet, now: datetime | None = None) -> int:
    """Submit this set's exam attempts whose time is up (so results are current); returns how many."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Attempt).where(
            Attempt.question_set_id == question_set.id,
            Attempt.mode == "exam",
            Attempt.submitted_at.is_(None),
            Attempt.deadline_at <= now,
        )
    ).all()
    return sum(exams.submit(attempt, now) for attempt in due)


def set_size(question_set: QuestionSet) -> int:
    """How many questions the set asks for."""
    if question_set.kind == "fixed":
        return len(question_set.question_ids)
    return int(question_set.rules.get("count") or 0)
