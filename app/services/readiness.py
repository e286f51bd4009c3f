"""Certification readiness: Beta posteriors per domain, combined by blueprint into P(pass a mock exam).

Each blueprint domain's proficiency is a Beta posterior (uniform Beta(1, 1) prior) over the learner's
most recent answers in that domain. A mock exam drawn to the blueprint is modelled exactly: each domain
contributes a beta-binomial count of correct answers, and the pass probability is the upper tail of
their convolution at the cut score. No sampling, so the same data always gives the same number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, cast, distinct, func, select

from app.extensions import db
from app.models import Attempt, BankRelease, QuestionVersion, ReadinessSnapshot, ReleaseItem, Response, User
from app.models.base import utcnow
from quizbank.blueprint import allocate

RECENT_ANSWERS = 50  # answers per domain that feed its estimate
INTERVAL = 0.80  # equal-tailed credible interval shown per domain
UNIFORM_PRIOR = (1, 1)
DEFAULT_RULES = {"min_recent_exams": 2, "domain_floor": 0.6, "min_coverage": 0.5, "target_probability": 0.8}


@dataclass(frozen=True)
class DomainEstimate:
    domain: str
    name: str
    weight: float
    answered: int
    correct: int
    mean: float  # posterior mean of proficiency
    low: float  # 80% equal-tailed credible interval
    high: float


@dataclass(frozen=True)
class RuleCheck:
    key: str
    label: str
    met: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    track_id: str
    track_title: str
    cut_score: float
    probability: float  # P(score >= cut) on a mock exam drawn to the blueprint
    coverage: float  # share of the release's questions this learner has answered at least once
    domains: list[DomainEstimate]
    rules: list[RuleCheck]

    @property
    def ready(self) -> bool:
        """True when every readiness rule is met."""
        return all(rule.met for rule in self.rules)


# --- Pure math -------------------------------------------------------------------------------------------


def posterior(correct: int, answered: int, prior: tuple[int, int] = UNIFORM_PRIOR) -> tuple[int, int]:
    """Beta posterior (a, b) after ``correct`` successes in ``answered`` trials."""
    if not 0 <= correct <= answered:
        raise ValueError(f"need 0 <= correct <= answered, got {correct} of {answered}")
    return prior[0] + correct, prior[1] + answered - correct


def beta_mean(a: float, b: float) -> float:
    """Mean of Beta(a, b)."""
    return a / (a + b)


def beta_cdf(x: float, a: int, b: int) -> float:
    """Exact regularised incomplete beta I_x(a, b) for positive integers a, b (binomial-sum identity)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    n = a + b - 1
    total = math.fsum(math.comb(n, j) * x**j * (1.0 - x) ** (n - j) for j in range(a, n + 1))
    return min(max(total, 0.0), 1.0)


def beta_quantile(q: float, a: int, b: int, tolerance: float = 1e-12) -> float:
    """The x with I_x(a, b) = q, found by bisection."""
    if q <= 0.0:
        return 0.0
    if q >= 1.0:
        return 1.0
    low, high = 0.0, 1.0
    while high - low > tolerance:
        middle = (low + high) / 2
        if beta_cdf(middle, a, b) < q:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def beta_binomial_pmf(n: int, a: float, b: float) -> list[float]:
    """P(k correct of n) for k = 0..n under a Beta(a, b) proficiency (posterior predictive)."""
    log_norm = _log_beta(a, b)
    log_n = math.lgamma(n + 1)
    return [
        math.exp(log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + _log_beta(k + a, n - k + b) - log_norm)
        for k in range(n + 1)
    ]


def _convolve(left: list[float], right: list[float]) -> list[float]:
    result = [0.0] * (len(left) + len(right) - 1)
    for i, p in enumerate(left):
        for j, q in enumerate(right):
            result[i + j] += p * q
    return result


def pass_probability(
    domain_posteriors: dict[str, tuple[float, float]], allocation: dict[str, int], cut_score: float
) -> float:
    """Exact P(correct >= cut) on an exam with ``allocation`` questions per domain (Beta(1, 1) if unknown)."""
    distribution = [1.0]
    for domain, count in allocation.items():
        if count > 0:
            a, b = domain_posteriors.get(domain, UNIFORM_PRIOR)
            distribution = _convolve(distribution, beta_binomial_pmf(count, a, b))
    length = sum(count for count in allocation.values() if count > 0)
    needed = max(math.ceil(cut_score * length - 1e-9), 0)
    return min(max(math.fsum(distribution[needed:]), 0.0), 1.0)


# --- Database --------------------------------------------------------------------------------------------


def answered_conditions(user_ids, release: BankRelease, now: datetime | None) -> list:
    """Conditions for these users' answered responses in any release of this bank (as of ``now``).

    ``user_ids`` is a list or a subquery of ids; one learner's readiness and a cohort report use the same.
    """
    conditions = [
        Attempt.user_id.in_(user_ids),
        Response.chosen_option.is_not(None),
        BankRelease.bank_id == release.bank_id,
    ]
    if now is not None:
        conditions.append(Response.answered_at <= now)
    return conditions


def _answered(user: User, release: BankRelease, now: datetime | None) -> list:
    return answered_conditions([user.id], release, now)


def recent_domain_counts_by_user(
    user_ids, release: BankRelease, domains: list[str], now: datetime | None = None
) -> dict[int, dict[str, tuple[int, int]]]:
    """{user: {domain: (answered, correct)}} over each user's latest RECENT_ANSWERS answers per domain.

    One query: a window numbers each (user, domain)'s answers newest first and only the first are summed.
    """
    rank = func.row_number().over(
        partition_by=(Attempt.user_id, QuestionVersion.domain),
        order_by=(Response.answered_at.desc().nulls_last(), Response.id.desc()),
    )
    ranked = (
        select(
            Attempt.user_id.label("user_id"),
            QuestionVersion.domain.label("domain"),
            Response.correct.label("correct"),
            rank.label("rank"),
        )
        .select_from(Response)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(BankRelease, BankRelease.id == Attempt.release_id)
        .join(QuestionVersion, QuestionVersion.id == Response.question_version_id)
        .where(*answered_conditions(user_ids, release, now), QuestionVersion.domain.in_(domains))
        .subquery()
    )
    rows = db.session.execute(
        select(
            ranked.c.user_id,
            ranked.c.domain,
            func.count(),
            func.coalesce(func.sum(cast(ranked.c.correct, Integer)), 0),
        )
        .where(ranked.c.rank <= RECENT_ANSWERS)
        .group_by(ranked.c.user_id, ranked.c.domain)
    )
    counts: dict[int, dict[str, tuple[int, int]]] = {}
    for user_id, domain, answered, correct in rows:
        counts.setdefault(user_id, {})[domain] = (answered, int(correct))
    return counts


def recent_domain_counts(
    user: User, release: BankRelease, domains: list[str], now: datetime | None = None
) -> dict[str, tuple[int, int]]:
    """{domain: (answered, correct)} over each domain's most recent answers, in one grouped query."""
    return recent_domain_counts_by_user([user.id], release, domains, now).get(user.id, {})


def coverage(user: User, release: BankRelease, now: datetime | None = None) -> float:
    """Share of the release's questions this user has answered at least once (in any version)."""
    in_release = (
        select(QuestionVersion.question_id)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release.id)
    )
    total = db.session.scalar(select(func.count()).select_from(ReleaseItem).where(ReleaseItem.release_id == release.id))
    if not total:
        return 0.0
    seen = db.session.scalar(
        select(func.count(distinct(Response.question_id)))
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(BankRelease, BankRelease.id == Attempt.release_id)
        .where(*_answered(user, release, now), Response.question_id.in_(in_release))
    )
    return min(seen / total, 1.0)


def recent_exam_results(
    user: User, release: BankRelease, track_id: str, limit: int, now: datetime | None = None
) -> list[bool]:
    """Passed/failed of the user's latest ``limit`` submitted mock exams on this track, newest first."""
    if limit <= 0:
        return []
    query = (
        select(Attempt.passed)
        .join(BankRelease, BankRelease.id == Attempt.release_id)
        .where(
            Attempt.user_id == user.id,
            Attempt.mode == "exam",
            Attempt.track == track_id,
            Attempt.submitted_at.is_not(None),
            BankRelease.bank_id == release.bank_id,
        )
        .order_by(Attempt.submitted_at.desc(), Attempt.id.desc())
        .limit(limit)
    )
    if now is not None:
        query = query.where(Attempt.submitted_at <= now)
    return [bool(passed) for passed in db.session.scalars(query)]


# --- Rules -----------------------------------------------------------------------------------------------


def _exam_rule(results: list[bool], required: int) -> RuleCheck:
    label = "Pass your latest mock exams"
    if required <= 0:
        return RuleCheck("recent_exams", label, True, "No mock exams are required for this track.")
    exams = "mock exam" if required == 1 else f"{required} mock exams"
    if len(results) < required:
        detail = f"Take {required - len(results)} more mock exam(s): you need your last {exams} passed."
        return RuleCheck("recent_exams", label, False, detail)
    passed = sum(results)
    if passed == required:
        return RuleCheck("recent_exams", label, True, f"You passed your last {exams}.")
    return RuleCheck("recent_exams", label, False, f"You passed {passed} of your last {exams}; all must be passed.")


def _floor_rule(domains: list[DomainEstimate], floor: float) -> RuleCheck:
    label = f"Reach at least {floor:.0%} in every domain"
    weak = [d for d in domains if d.mean < floor]
    if not weak:
        return RuleCheck("domain_floor", label, True, f"Every domain is estimated at {floor:.0%} or higher.")
    listed = ", ".join(f"{d.name} ({d.mean:.0%})" for d in weak)
    return RuleCheck("domain_floor", label, False, f"Practise more in: {listed}.")


def _coverage_rule(value: float, minimum: float) -> RuleCheck:
    label = f"Answer at least {minimum:.0%} of the question bank"
    met = value >= minimum
    detail = f"You have answered {value:.0%} of the questions" + ("." if met else f"; aim for {minimum:.0%}.")
    return RuleCheck("coverage", label, met, detail)


def chance_text(value: float) -> str:
    """A probability for people: never "100%" or "0%", which would claim certainty."""
    if value > 0.99:
        return "over 99%"
    if value < 0.01:
        return "under 1%"
    return f"{value:.0%}"


def _probability_rule(value: float, target: float) -> RuleCheck:
    label = f"Reach a {target:.0%} estimated chance of passing"
    met = value >= target
    detail = f"Your estimated chance of passing is {chance_text(value)}" + ("." if met else f"; aim for {target:.0%}.")
    return RuleCheck("probability", label, met, detail)


# --- Public API ------------------------------------------------------------------------------------------


def _estimate(domain: str, name: str, weight: float, answered: int, correct: int) -> DomainEstimate:
    a, b = posterior(correct, answered)
    tail = (1.0 - INTERVAL) / 2
    return DomainEstimate(
        domain=domain,
        name=name,
        weight=weight,
        answered=answered,
        correct=correct,
        mean=beta_mean(a, b),
        low=beta_quantile(tail, a, b),
        high=beta_quantile(1.0 - tail, a, b),
    )


def domain_estimates(
    user: User, release: BankRelease, blueprint: dict[str, float], now: datetime | None = None
) -> list[DomainEstimate]:
    """A posterior estimate for every blueprint domain, in the blueprint's order."""
    counts = recent_domain_counts(user, release, list(blueprint), now)
    return [
        _estimate(domain, release.domains.get(domain, domain), weight, *counts.get(domain, (0, 0)))
        for domain, weight in blueprint.items()
    ]


def evaluate(user: User, release: BankRelease, track: dict, now: datetime | None = None) -> Readiness:
    """Readiness of one learner for one track, using data up to ``now`` (all data when None)."""
    rules = {**DEFAULT_RULES, **track.get("readiness", {})}
    exam = track["exam"]
    blueprint = track["blueprint"]
    domains = domain_estimates(user, release, blueprint, now)
    posteriors = {d.domain: posterior(d.correct, d.answered) for d in domains}
    probability = pass_probability(posteriors, allocate(exam["length"], blueprint), exam["cut_score"])
    covered = coverage(user, release, now)
    required = int(rules["min_recent_exams"])
    checks = [
        _exam_rule(recent_exam_results(user, release, track["id"], required, now), required),
        _floor_rule(domains, rules["domain_floor"]),
        _coverage_rule(covered, rules["min_coverage"]),
        _probability_rule(probability, rules["target_probability"]),
    ]
    return Readiness(track["id"], track["title"], exam["cut_score"], probability, covered, domains, checks)


def record_snapshot(
    user: User, release: BankRelease, track: dict, attempt: Attempt | None = None, now: datetime | None = None
) -> ReadinessSnapshot:
    """Evaluate readiness and store it as a snapshot (added and flushed, not committed)."""
    result = evaluate(user, release, track, now)
    snapshot = ReadinessSnapshot(
        user_id=user.id,
        track=track["id"],
        attempt_id=attempt.id if attempt is not None else None,
        taken_at=now or utcnow(),
        probability=result.probability,
        domains={d.domain: d.mean for d in result.domains},
    )
    db.session.add(snapshot)
    db.session.flush()
    return snapshot


def history(user: User, track_id: str, limit: int = 50) -> list[ReadinessSnapshot]:
    """The user's latest ``limit`` snapshots on a track, oldest first."""
    newest_first = db.session.scalars(
        select(ReadinessSnapshot)
        .where(ReadinessSnapshot.user_id == user.id, ReadinessSnapshot.track == track_id)
        .order_by(ReadinessSnapshot.taken_at.desc(), ReadinessSnapshot.id.desc())
        .limit(limit)
    )
    return list(reversed(list(newest_first)))
