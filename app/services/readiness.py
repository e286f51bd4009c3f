"""Certification readiness: a calibrated chance of passing, from independent evidence only.

Evidence (``evidence``): each learner's first exposures only, never an answer given after the rationale of
its scenario was shown, never an answer in an exam that is not submitted; mock-exam answers weigh more.
Model (``irt``): Rasch item difficulties calibrated on everyone's first attempts (``calibration``), one
hierarchical ability per domain with a population prior (an empty domain borrows from the others), and
uncertainty about how much harder the real exam is than this bank. The chance is P(score ≥ cut) on a
fresh exam of the track's longest form. Until MIN_EVIDENCE independent answers exist, pages say "not
enough answers yet" instead of a number. Rules compare the values as displayed (whole percents).

The Beta-binomial functions below are the 1.x model, kept for the calibration benchmark's "before" and
for their tests; readiness no longer uses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import distinct, func, select

from app.extensions import db
from app.models import Attempt, BankRelease, QuestionVersion, ReadinessSnapshot, ReleaseItem, Response, User
from app.models.base import utcnow
from app.services import calibration, evidence, irt
from app.services.banks import release_counts_by_domain
from quizbank.blueprint import allocate

RECENT_ANSWERS = 50  # independent answers per domain that feed its estimate (fewer when the bank is smaller)
MIN_EVIDENCE = evidence.MIN_EVIDENCE  # independent answers before a chance is shown (80% of a smaller bank)
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
    evidence: int = 0  # independent answers behind the estimate
    exam_length: int = 0  # the exam the probability refers to
    required: int = MIN_EVIDENCE  # independent answers needed before the chance is shown

    @property
    def ready(self) -> bool:
        """True when every readiness rule is met."""
        return all(rule.met for rule in self.rules)

    @property
    def enough_evidence(self) -> bool:
        return self.evidence >= self.required

    @property
    def chance(self) -> str:
        """The probability as every page shows it (or "not enough answers yet")."""
        return chance_text(self.probability, self.enough_evidence)


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


# --- Display: one formatter, and rules that compare what is displayed ------------------------------------


def shown_percent(value: float) -> int:
    """The whole percent a page shows for a share (half up, as the templates' percent macro)."""
    return int(value * 100 + 0.5)


def chance_text(value: float | None, enough: bool = True) -> str:
    """A probability for people: never "100%" or "0%", which would claim certainty.

    Pages, certificates, the PDF, the CSV and the API all use this. ``enough`` is False until the learner
    has MIN_EVIDENCE independent answers: then there is no number to show yet.
    """
    if not enough or value is None:
        return "not enough answers yet"
    if value > 0.99:
        return "over 99%"
    if value < 0.01:
        return "under 1%"
    return f"{shown_percent(value)}%"


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def _exam_rule(results: list[bool], required: int, you: bool = True) -> RuleCheck:
    label = "Pass your latest mock exams" if you else "Pass the latest mock exams"
    subject = "You" if you else "This learner"
    if required <= 0:
        return RuleCheck("recent_exams", label, True, "No mock exams are required for this track.")
    exams = "mock exam" if required == 1 else f"{required} mock exams"
    if len(results) < required:
        more = plural(required - len(results), "more mock exam")
        whose = "your" if you else "their"
        detail = f"Take {more}: {whose} last {exams} must be passed." if you else f"{subject} needs {more}."
        return RuleCheck("recent_exams", label, False, detail)
    passed = sum(results)
    verb = "passed"
    if passed == required:
        return RuleCheck("recent_exams", label, True, f"{subject} {verb} {'your' if you else 'their'} last {exams}.")
    detail = f"{subject} {verb} {passed} of {'your' if you else 'their'} last {exams}; all must be passed."
    return RuleCheck("recent_exams", label, False, detail)


def _floor_rule(domains: list[DomainEstimate], floor: float) -> RuleCheck:
    label = f"Reach at least {shown_percent(floor)}% in every domain"
    weak = [d for d in domains if shown_percent(d.mean) < shown_percent(floor)]
    if not weak:
        return RuleCheck(
            "domain_floor", label, True, f"Every domain is estimated at {shown_percent(floor)}% or higher."
        )
    listed = ", ".join(f"{d.name} ({shown_percent(d.mean)}%)" for d in weak)
    return RuleCheck("domain_floor", label, False, f"Practice more in: {listed}.")


def _coverage_rule(value: float, minimum: float, you: bool = True) -> RuleCheck:
    label = f"Answer at least {shown_percent(minimum)}% of the question bank"
    met = shown_percent(value) >= shown_percent(minimum)
    subject = "You have" if you else "This learner has"
    detail = f"{subject} answered {shown_percent(value)}% of the questions" + (
        "." if met else f"; the aim is {shown_percent(minimum)}%."
    )
    return RuleCheck("coverage", label, met, detail)


def _probability_rule(value: float, target: float, estimate: Estimate, you: bool = True) -> RuleCheck:
    label = f"Reach an estimated {shown_percent(target)}% chance of passing"
    if not estimate.enough:
        missing = plural(estimate.required - estimate.evidence, "more first-time answer")
        detail = f"Not enough answers yet: the estimate appears after {missing}."
        return RuleCheck("probability", label, False, detail)
    met = chance_text(value) == "over 99%" or shown_percent(value) >= shown_percent(target)
    whose = "Your" if you else "The"
    detail = f"{whose} estimated chance of passing is {chance_text(value)}" + (
        "." if met else f"; the aim is {shown_percent(target)}%."
    )
    return RuleCheck("probability", label, met, detail)


def rule_checks(
    rules: dict, recent_exams: list[bool], estimate: Estimate, coverage_value: float, *, you: bool = True
) -> list[RuleCheck]:
    """The track's four readiness rules, as pages show them (``you``: worded for the learner themself)."""
    required = int(rules["min_recent_exams"])
    return [
        _exam_rule(recent_exams, required, you),
        _floor_rule(estimate.domains, rules["domain_floor"]),
        _coverage_rule(coverage_value, rules["min_coverage"], you),
        _probability_rule(estimate.probability, rules["target_probability"], estimate, you),
    ]


# --- The estimate (pure: one learner's independent answers and the bank's item parameters) ---------------


@dataclass(frozen=True)
class Estimate:
    probability: float
    domains: list[DomainEstimate]
    evidence: int  # independent answers used
    exam_length: int
    required: int = MIN_EVIDENCE  # independent answers needed before the chance is shown

    @property
    def enough(self) -> bool:
        return self.evidence >= self.required


def required_evidence(usable: int) -> int:
    """MIN_EVIDENCE first-time answers, or 80% of what a small bank's windows can hold."""
    return max(1, min(MIN_EVIDENCE, math.ceil(0.8 * usable)))


def ability_posterior(
    answers: list[evidence.Answer], params: calibration.ItemParameters, domains: list[str]
) -> irt.AbilityPosterior:
    """The learner's ability per domain from these answers, under the bank's item parameters and prior."""
    return irt.ability_posterior(
        [(a.domain, params.difficulty(a.version_id, a.label), a.correct, a.weight) for a in answers],
        domains,
        params.population,
    )


def exam_shape(track: dict) -> tuple[int, float]:
    """(length, cut) of the exam the chance refers to: the track's longest form, the real exam's shape."""
    exam = track["exam"]
    length = max([exam["length"], *(f["length"] for f in exam.get("forms", ()))])
    return length, exam["cut_score"]


def domain_windows(blueprint: dict[str, float], sizes: dict[str, int]) -> dict[str, int]:
    """Answers per domain that feed the estimate: RECENT_ANSWERS, and always below the domain's bank size."""
    return {d: max(min(RECENT_ANSWERS, sizes.get(d, 0) - 1), 1) for d in blueprint}


def estimate(
    answers: list[evidence.Answer],
    params: calibration.ItemParameters,
    exam: irt.ExamModel,
    track: dict,
    domain_names: dict[str, str],
    sizes: dict[str, int],
) -> Estimate:
    """Ability posterior from the learner's recent independent answers, and what it implies."""
    blueprint = track["blueprint"]
    windows = domain_windows(blueprint, sizes)
    used = evidence.recent_by_domain(answers, windows)
    posterior = ability_posterior(used, params, list(blueprint))
    length, cut = exam_shape(track)
    probability = irt.pass_probability(posterior, exam, allocate(length, blueprint), cut)
    domains = [
        _domain_estimate(posterior, exam, domain, domain_names.get(domain, domain), weight, used)
        for domain, weight in blueprint.items()
    ]
    return Estimate(probability, domains, len(used), length, required_evidence(sum(windows.values())))


def _domain_estimate(posterior, exam: irt.ExamModel, domain: str, name: str, weight: float, used) -> DomainEstimate:
    import numpy as np
    from scipy.stats import norm

    theta, sd = posterior.theta(domain), posterior.sd(domain)
    tail = norm.ppf((1.0 - INTERVAL) / 2)
    nodes = theta + sd * norm.ppf((np.arange(40) + 0.5) / 40)
    mine = [a for a in used if a.domain == domain]
    return DomainEstimate(
        domain=domain,
        name=name,
        weight=weight,
        answered=len(mine),
        correct=sum(a.correct for a in mine),
        mean=float(exam.share(domain, nodes).mean()),
        low=float(exam.share(domain, np.array([theta + tail * sd]))[0]),
        high=float(exam.share(domain, np.array([theta - tail * sd]))[0]),
    )


# --- Public API ------------------------------------------------------------------------------------------


def learner_estimate(user: User, release: BankRelease, track: dict, now: datetime | None = None) -> Estimate:
    """One learner's estimate on a track from their independent answers in this bank."""
    params = calibration.parameters(release.bank_id)
    answers = evidence.answers_for([user.id], release.bank_id, now).get(user.id, [])
    return estimate(
        answers, params, params.exam_model(release), track, release.domains, release_counts_by_domain(release)
    )


def abilities_for_selection(user: User, release: BankRelease):
    """({domain: ability estimate}, version -> difficulty) for adaptive practice, from the same model."""
    params = calibration.parameters(release.bank_id)
    answers = evidence.answers_for([user.id], release.bank_id).get(user.id, [])
    domains = list(release.domains)
    posterior = ability_posterior(answers, params, domains)
    abilities = {d: posterior.theta(d) for d in domains}
    return abilities, lambda version: params.difficulty(version.id, version.difficulty)


def domain_estimates(
    user: User, release: BankRelease, blueprint: dict[str, float], now: datetime | None = None
) -> list[DomainEstimate]:
    """An estimate for every blueprint domain, in the blueprint's order."""
    track = {"blueprint": blueprint, "exam": {"length": 40, "cut_score": 0.7}}
    return learner_estimate(user, release, track, now).domains


def evaluate(
    user: User, release: BankRelease, track: dict, now: datetime | None = None, *, you: bool = True
) -> Readiness:
    """Readiness of one learner for one track, using data up to ``now`` (all data when None).

    ``you``: word the rules for the learner (False for an organization's view of a learner).
    """
    rules = {**DEFAULT_RULES, **track.get("readiness", {})}
    result = learner_estimate(user, release, track, now)
    covered = coverage(user, release, now)
    required = int(rules["min_recent_exams"])
    checks = rule_checks(
        rules, recent_exam_results(user, release, track["id"], required, now), result, covered, you=you
    )
    return Readiness(
        track["id"],
        track["title"],
        track["exam"]["cut_score"],
        result.probability,
        covered,
        result.domains,
        checks,
        evidence=result.evidence,
        exam_length=result.exam_length,
        required=result.required,
    )


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
        evidence=result.evidence,
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
