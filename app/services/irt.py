"""Item response theory for readiness: Rasch item calibration and hierarchical learner abilities.

Pure numpy/scipy math, no database: ``calibration`` and ``readiness`` feed it rows and store the results.

Model. P(correct) = σ(θ_d − b_i) (Rasch; one ability per learner and domain, one difficulty per item).
- Items: b_i has a Normal prior centred on the author's label (easy −1, medium 0, hard +1 logits, sd 1),
  so an item with few responses keeps its label's difficulty and data move it as they accumulate.
- Learners: θ = μ·1 + g·1 + e, with g ~ N(0, σ_g²) shared by the learner's domains and e_d ~ N(0, τ²)
  per domain, so a domain without answers borrows from the others (one hierarchical model).
  (μ, σ_g, τ) are the population prior, estimated from everyone's first attempts.
- Estimates are posterior modes with a Laplace (Normal) approximation of the posterior.
- The real exam may be harder or easier than this bank: an offset δ ~ N(δ₀, s_δ²) in logits is added
  to every exam item's difficulty. Pass probability integrates over θ's posterior and δ with fixed
  quadrature nodes, so the same data always give the same number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, log_expit
from scipy.stats import norm

LABEL_LOGITS = {"easy": -1.0, "medium": 0.0, "hard": 1.0}
LABEL_SD = 1.0
# Default population prior (logit scale) until enough learners exist to estimate it.
DEFAULT_POPULATION = (0.8, 0.9, 0.45)  # mean ability μ, general sd σ_g, domain sd τ
MIN_LEARNERS_FOR_PRIOR = 30
# Uncertainty about the real exam relative to this bank (this project's assumption, documented).
EXAM_OFFSET_MEAN = 0.25
EXAM_OFFSET_SD = 0.35
QUADRATURE_DRAWS = 512  # a power of two, as Sobol points want


@dataclass(frozen=True)
class Population:
    """The population prior of learner abilities: θ_d = mean + general + domain-specific deviations."""

    mean: float = DEFAULT_POPULATION[0]
    general_sd: float = DEFAULT_POPULATION[1]
    domain_sd: float = DEFAULT_POPULATION[2]
    learners: int = 0  # how many learners it was estimated from (0 = the defaults)

    def covariance(self, domains: int) -> np.ndarray:
        return self.general_sd**2 * np.ones((domains, domains)) + self.domain_sd**2 * np.eye(domains)


@dataclass(frozen=True)
class AbilityPosterior:
    """A learner's ability per domain: posterior mode and covariance (Laplace approximation)."""

    domains: tuple[str, ...]
    mode: np.ndarray
    covariance: np.ndarray
    evidence: dict[str, float] = field(default_factory=dict)  # weighted answers per domain

    def sd(self, domain: str) -> float:
        i = self.domains.index(domain)
        return float(math.sqrt(self.covariance[i, i]))

    def theta(self, domain: str) -> float:
        return float(self.mode[self.domains.index(domain)])


# --- item calibration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """Item difficulties (logits) with standard errors and response counts, keyed by item."""

    difficulty: dict
    se: dict
    count: dict
    population: Population


def label_prior(label: str | None) -> float:
    return LABEL_LOGITS.get(label or "medium", 0.0)


def calibrate(
    responses: Sequence[tuple[object, object, str, bool]],
    labels: Mapping[object, str],
    *,
    iterations: int = 60,
    population: Population | None = None,
) -> Calibration:
    """Fit Rasch difficulties from (learner, item, domain, correct) first-attempt responses.

    Joint posterior-mode estimation: items have Normal priors centred on their authors' labels,
    learner-domain abilities a Normal prior from the population, alternating Newton steps until stable.
    Items in ``labels`` without responses keep their label's difficulty.
    """
    items = list(labels)
    item_index = {item: i for i, item in enumerate(items)}
    prior_mean = np.array([label_prior(labels[item]) for item in items])
    b = prior_mean.copy()
    if not responses:
        return _calibration(items, b, np.full(len(items), LABEL_SD), np.zeros(len(items)), population or Population())
    person_keys: dict[tuple[object, str], int] = {}
    rows_p, rows_i, rows_x = [], [], []
    for learner, item, domain, correct in responses:
        if item not in item_index:
            continue
        rows_p.append(person_keys.setdefault((learner, domain), len(person_keys)))
        rows_i.append(item_index[item])
        rows_x.append(1.0 if correct else 0.0)
    p_idx, i_idx, x = np.array(rows_p), np.array(rows_i), np.array(rows_x)
    pop = population or Population()
    theta_mean, theta_var = pop.mean, pop.general_sd**2 + pop.domain_sd**2
    theta = np.full(len(person_keys), theta_mean)
    for _ in range(iterations):
        prob = expit(theta[p_idx] - b[i_idx])
        info = prob * (1 - prob)
        grad_t = np.bincount(p_idx, x - prob, len(theta)) - (theta - theta_mean) / theta_var
        hess_t = np.bincount(p_idx, info, len(theta)) + 1 / theta_var
        theta = theta + np.clip(grad_t / hess_t, -1.0, 1.0)
        prob = expit(theta[p_idx] - b[i_idx])
        info = prob * (1 - prob)
        grad_b = -np.bincount(i_idx, x - prob, len(b)) - (b - prior_mean) / LABEL_SD**2
        hess_b = np.bincount(i_idx, info, len(b)) + 1 / LABEL_SD**2
        step = np.clip(grad_b / hess_b, -1.0, 1.0)
        b = b + step
        if np.max(np.abs(step)) < 1e-6:
            break
    info_b = np.bincount(i_idx, expit(theta[p_idx] - b[i_idx]) * (1 - expit(theta[p_idx] - b[i_idx])), len(b))
    se = 1 / np.sqrt(info_b + 1 / LABEL_SD**2)
    counts = np.bincount(i_idx, minlength=len(b))
    fitted = estimate_population(theta, [key for key, _ in sorted(person_keys.items(), key=lambda kv: kv[1])], p_idx)
    return _calibration(items, b, se, counts, fitted if fitted is not None else pop)


def _calibration(items: list, b: np.ndarray, se: np.ndarray, counts: np.ndarray, pop: Population) -> Calibration:
    return Calibration(
        difficulty={item: float(b[i]) for i, item in enumerate(items)},
        se={item: float(se[i]) for i, item in enumerate(items)},
        count={item: int(counts[i]) for i, item in enumerate(items)},
        population=pop,
    )


def estimate_population(theta: np.ndarray, keys: list[tuple[object, str]], p_idx: np.ndarray) -> Population | None:
    """Method-of-moments population prior from learner-domain estimates with at least 5 answers each.

    Between-learner variance of a learner's mean ability estimates σ_g² (+ part of τ²); the within-learner
    spread across domains estimates τ². Returns None when fewer than MIN_LEARNERS_FOR_PRIOR learners qualify.
    """
    answers = np.bincount(p_idx, minlength=len(theta))
    by_learner: dict[object, list[float]] = {}
    for n, (learner, _domain) in enumerate(keys):
        if answers[n] >= 5:
            by_learner.setdefault(learner, []).append(float(theta[n]))
    if len(by_learner) < MIN_LEARNERS_FOR_PRIOR:
        return None
    means = np.array([np.mean(v) for v in by_learner.values()])
    within = [np.var(v, ddof=1) for v in by_learner.values() if len(v) > 1]
    domain_sd = float(np.sqrt(np.mean(within))) if within else DEFAULT_POPULATION[2]
    # Posterior modes are shrunk toward the prior mean; widen their spread back by a modest factor.
    general_sd = float(max(np.std(means, ddof=1) * 1.15, 0.3))
    return Population(float(np.mean(means)), general_sd, float(max(domain_sd, 0.2)), len(by_learner))


# --- learner ability -----------------------------------------------------------------------------------


def ability_posterior(
    answers: Sequence[tuple[str, float, bool, float]],
    domains: Sequence[str],
    population: Population,
    *,
    iterations: int = 40,
) -> AbilityPosterior:
    """Posterior of a learner's ability per domain from (domain, item difficulty, correct, weight) answers.

    The prior is the population's: domains are correlated through the learner's general ability, so an
    empty domain is estimated from the others.
    """
    domains = tuple(domains)
    index = {d: i for i, d in enumerate(domains)}
    kept = [(index[d], b, x, w) for d, b, x, w in answers if d in index]
    d_idx = np.array([k[0] for k in kept], dtype=int)
    b = np.array([k[1] for k in kept], dtype=float)
    x = np.array([1.0 if k[2] else 0.0 for k in kept])
    w = np.array([k[3] for k in kept], dtype=float)
    mean = np.full(len(domains), population.mean)
    precision = np.linalg.inv(population.covariance(len(domains)))
    theta = mean.copy()
    for _ in range(iterations):
        prob = expit(theta[d_idx] - b) if len(kept) else np.array([])
        grad = np.bincount(d_idx, w * (x - prob), len(domains)) - precision @ (theta - mean)
        hess = np.diag(np.bincount(d_idx, w * prob * (1 - prob), len(domains))) + precision
        step = np.linalg.solve(hess, grad)
        theta = theta + np.clip(step, -1.0, 1.0)
        if np.max(np.abs(step)) < 1e-8:
            break
    prob = expit(theta[d_idx] - b) if len(kept) else np.array([])
    hess = np.diag(np.bincount(d_idx, w * prob * (1 - prob), len(domains))) + precision
    evidence = {d: float(np.sum(w[d_idx == i])) for d, i in index.items()}
    return AbilityPosterior(domains, theta, np.linalg.inv(hess), evidence)


def log_likelihood(theta: float, difficulties: np.ndarray, correct: np.ndarray) -> float:
    """Rasch log-likelihood of one learner-domain's answers (used by tests and item fit)."""
    return float(np.sum(np.where(correct, log_expit(theta - difficulties), log_expit(difficulties - theta))))


# --- pass probability ----------------------------------------------------------------------------------


def _nodes(dimensions: int, draws: int = QUADRATURE_DRAWS) -> np.ndarray:
    """Fixed quasi-random standard-normal nodes (scrambled Sobol, fixed seed): the same every call."""
    return _NODES.setdefault((dimensions, draws), _sobol_normal(dimensions, draws))


def _sobol_normal(dimensions: int, draws: int) -> np.ndarray:
    from scipy.stats import qmc

    points = qmc.Sobol(d=dimensions, scramble=True, seed=20261202).random(draws)
    return norm.ppf(np.clip(points, 1e-9, 1 - 1e-9))


_NODES: dict[tuple[int, int], np.ndarray] = {}
GRID = np.linspace(-8.0, 8.0, 1601)


@dataclass(frozen=True)
class ExamModel:
    """Per domain, the expected share correct on the bank's items as a function of ability (a table)."""

    curves: dict[str, np.ndarray]

    @classmethod
    def from_difficulties(cls, difficulties: Mapping[str, Sequence[float]]) -> ExamModel:
        curves = {}
        for domain, values in difficulties.items():
            b = np.asarray(list(values) or [0.0], dtype=float)
            curves[domain] = expit(GRID[:, None] - b[None, :]).mean(axis=1)
        return cls(curves)

    def share(self, domain: str, theta: np.ndarray) -> np.ndarray:
        curve = self.curves.get(domain)
        if curve is None:
            return expit(theta)
        return np.interp(theta, GRID, curve)


def pass_probability(
    posterior: AbilityPosterior,
    exam: ExamModel,
    allocation: Mapping[str, int],
    cut_score: float,
    *,
    offset_mean: float = EXAM_OFFSET_MEAN,
    offset_sd: float = EXAM_OFFSET_SD,
) -> float:
    """P(score ≥ cut) on a fresh exam with ``allocation`` items per domain.

    Each domain's items are like the bank's, shifted by the exam offset δ (σ(θ − b − δ) = σ((θ − δ) − b),
    so one table per domain serves every δ). Given abilities and δ the score is a sum of binomials; its
    upper tail is taken with a continuity-corrected normal approximation, averaged over fixed quadrature
    nodes of θ's posterior and δ.
    """
    domains = [d for d, n in allocation.items() if n > 0]
    length = sum(allocation[d] for d in domains)
    if not length:
        return 0.0
    needed = math.ceil(cut_score * length - 1e-9)
    nodes = _nodes(len(posterior.domains) + 1)
    chol = np.linalg.cholesky(posterior.covariance + 1e-12 * np.eye(len(posterior.domains)))
    thetas = posterior.mode + nodes[:, :-1] @ chol.T  # (draws, domains)
    offsets = offset_mean + offset_sd * nodes[:, -1]
    mean_score = np.zeros(len(nodes))
    variance = np.zeros(len(nodes))
    for d in domains:
        column = thetas[:, posterior.domains.index(d)] if d in posterior.domains else np.zeros(len(nodes))
        p = exam.share(d, column - offsets)
        mean_score += allocation[d] * p
        variance += allocation[d] * p * (1 - p)
    z = (mean_score - (needed - 0.5)) / np.sqrt(np.maximum(variance, 1e-9))
    return float(np.clip(norm.cdf(z).mean(), 0.0, 1.0))


def expected_share(
    posterior: AbilityPosterior, domain: str, difficulties: Sequence[float]
) -> tuple[float, float, float]:
    """Expected share correct on the bank's items of a domain: (mean, 10th, 90th percentile) over the posterior."""
    theta, sd = posterior.theta(domain), posterior.sd(domain)
    diffs = np.asarray(difficulties or [0.0], dtype=float)

    def share(value: float) -> float:
        return float(expit(value - diffs).mean())

    z = norm.ppf(0.9)
    nodes = theta + sd * np.array([-z, 0.0, z])
    grid = theta + sd * norm.ppf((np.arange(40) + 0.5) / 40)
    return float(np.mean([share(v) for v in grid])), share(nodes[0]), share(nodes[2])


# --- adaptive selection --------------------------------------------------------------------------------


def most_informative(theta: float, difficulties: Mapping[object, float]) -> object | None:
    """The item with the most Fisher information at θ (Rasch: the difficulty closest to θ)."""
    if not difficulties:
        return None
    return min(difficulties, key=lambda item: (abs(difficulties[item] - theta), str(item)))


def item_information(theta: float, difficulty: float) -> float:
    p = float(expit(theta - difficulty))
    return p * (1 - p)
