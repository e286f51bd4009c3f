"""Independent evidence for readiness and calibration: first exposures only.

An answer is evidence of what a learner knows only if they had not yet been shown the rationale of that
item's family (its scenario). So, per learner:
- an answer counts only if it came before the first feedback on its family: a practice or review answer
  shows feedback right after it is saved; a mock exam shows feedback when it is submitted;
- only the first answer to an item counts (a repeat is memory, not knowledge);
- answers in an exam that is not yet submitted never count (nor does their correctness leak anywhere);
- mock-exam answers (no feedback until submit, timed, drawn to the blueprint) weigh EXAM_WEIGHT, practice
  and review answers PRACTICE_WEIGHT, in the readiness likelihood.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Attempt, BankRelease, QuestionVersion, Response

MIN_EVIDENCE = 20  # independent answers before a chance of passing is shown (readiness; the live check)
EXAM_WEIGHT = 1.0
PRACTICE_WEIGHT = 0.8
FEEDBACK_DELAY = timedelta(microseconds=1)  # practice feedback is shown just after the answer is saved


@dataclass(frozen=True)
class Answer:
    """One saved answer with what independence and weighting need."""

    user_id: int
    version_id: int
    question_id: int
    domain: str
    family: str
    label: str  # the author's difficulty label
    correct: bool
    exam: bool
    answered_at: datetime

    @property
    def weight(self) -> float:
        return EXAM_WEIGHT if self.exam else PRACTICE_WEIGHT


def family_expression():
    """SQL expression of an item's family (its scenario id) from its version content."""
    return QuestionVersion.content["scenario_id"].as_string()


def answers_for(user_ids, bank_id: int, now: datetime | None = None) -> dict[int, list[Answer]]:
    """Every saved answer of these users in this bank that may count: exam answers only once submitted.

    ``user_ids`` is a list or a subquery. One query; ordered by learner and time.
    """
    exam = Attempt.mode == "exam"
    query = (
        select(
            Attempt.user_id,
            Response.question_version_id,
            Response.question_id,
            QuestionVersion.domain,
            family_expression(),
            QuestionVersion.difficulty,
            Response.correct,
            exam,
            Response.answered_at,
            Attempt.submitted_at,
        )
        .select_from(Response)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(BankRelease, BankRelease.id == Attempt.release_id)
        .join(QuestionVersion, QuestionVersion.id == Response.question_version_id)
        .where(
            Attempt.user_id.in_(user_ids),
            BankRelease.bank_id == bank_id,
            Response.chosen_option.is_not(None),
            Response.answered_at.is_not(None),
            or_(Attempt.mode != "exam", Attempt.submitted_at.is_not(None)),
        )
        .order_by(Attempt.user_id, Response.answered_at, Response.id)
    )
    if now is not None:
        query = query.where(Response.answered_at <= now, or_(Attempt.mode != "exam", Attempt.submitted_at <= now))
    grouped: dict[int, list[Answer]] = defaultdict(list)
    feedback: dict[int, dict[str, datetime]] = defaultdict(dict)
    for (
        user_id,
        version_id,
        question_id,
        domain,
        family,
        label,
        correct,
        is_exam,
        answered_at,
        submitted_at,
    ) in db.session.execute(query):
        shown = submitted_at if is_exam else answered_at + FEEDBACK_DELAY
        families = feedback[user_id]
        if family not in families or shown < families[family]:
            families[family] = shown
        grouped[user_id].append(
            Answer(user_id, version_id, question_id, domain, family, label, bool(correct), bool(is_exam), answered_at)
        )
    return {user_id: independent(answers, feedback[user_id]) for user_id, answers in grouped.items()}


def independent(answers: Iterable[Answer], first_feedback: dict[str, datetime]) -> list[Answer]:
    """The answers given before any feedback on their family, and only the first per item."""
    kept, seen = [], set()
    for answer in answers:
        if answer.question_id in seen:
            continue
        seen.add(answer.question_id)
        if answer.answered_at < first_feedback.get(answer.family, datetime.max):
            kept.append(answer)
    return kept


def recent_by_domain(answers: list[Answer], windows: dict[str, int]) -> list[Answer]:
    """Each domain's latest ``windows[domain]`` independent answers (answers are in time order)."""
    picked: list[Answer] = []
    taken: dict[str, int] = defaultdict(int)
    for answer in reversed(answers):
        if taken[answer.domain] < windows.get(answer.domain, 0):
            taken[answer.domain] += 1
            picked.append(answer)
    return list(reversed(picked))
