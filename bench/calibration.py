"""Calibration of the stated pass probability: simulated learners with known ability.

`python -m bench.calibration` (also part of `make bench`). Learners with known per-domain ability practise
the way the app serves items (unseen first, then least seen; feedback after every practice answer, so a
repeat benefits from memory), some take mock exams (no feedback until submit), and then sit a fresh
"real" exam of 75 items drawn to the blueprint, possibly harder than the bank. Each model states a pass
probability from what the app would store; we compare it with the outcome:

- before: Beta(1, 1) posteriors over each domain's latest 50 answers, repeats included (readiness 1.x);
- after: first-exposure answers only, Rasch difficulties calibrated on everyone's first attempts (seeded
  by the authors' labels), hierarchical abilities with a population prior, exam offset uncertainty.

Reports Brier score, expected calibration error (10 equal-width bins), the base-rate predictor's Brier,
the knowing-the-true-chance (oracle) Brier, a reliability table, and how often "stated ≥ 0.80" passes.
Prints figures; asserts nothing. BENCH_SCALE multiplies the number of learners (default 4,000).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from app.services import irt
from app.services.readiness import pass_probability as beta_pass_probability
from app.services.readiness import posterior as beta_posterior
from quizbank.blueprint import allocate

BLUEPRINT = {"advocacy": 0.25, "ethics": 0.30, "mentoring": 0.20, "recovery": 0.25}
BANK_SIZES = {"advocacy": 85, "ethics": 100, "mentoring": 75, "recovery": 80}
CUT = 0.70
MOCK_LENGTH = 40
REAL_LENGTH = 75
PRACTICE_LEVELS = (0, 10, 25, 50, 100, 150, 250, 400)
SESSION = 10
RECENT = 50


@dataclass(frozen=True)
class Scenario:
    name: str
    memory: float  # share of the remaining error removed on a repeat after feedback (0 = no memory)
    offset: float  # real exam difficulty minus bank difficulty (logits)


SCENARIOS = (
    Scenario("model's own assumptions (no memory, same difficulty)", 0.0, 0.0),
    Scenario("repeats and feedback", 0.6, 0.0),
    Scenario("repeats and feedback, real exam 0.5 logit harder", 0.6, 0.5),
)


@dataclass
class Bank:
    difficulty: dict[str, np.ndarray]
    labels: dict[str, list[str]]


def make_bank(rng: np.random.Generator) -> Bank:
    difficulty, labels = {}, {}
    for domain, size in BANK_SIZES.items():
        b = rng.normal(0.0, 1.0, size)
        noisy = b + rng.normal(0.0, 0.7, size)
        cuts = np.quantile(noisy, [1 / 3, 2 / 3])
        difficulty[domain] = b
        labels[domain] = ["easy" if v < cuts[0] else "medium" if v < cuts[1] else "hard" for v in noisy]
    return Bank(difficulty, labels)


def simulate_learner(rng, bank: Bank, theta: dict[str, float], practice: int, memory: float):
    """Every answer the app would store: (domain, item, correct, mode, first_exposure)."""
    seen: dict[tuple[str, int], int] = {}
    taught: set[tuple[str, int]] = set()
    answers = []
    domains = list(BLUEPRINT)
    weights = np.array([BLUEPRINT[d] for d in domains])

    def answer(domain, item, mode):
        key = (domain, item)
        p = float(expit(theta[domain] - bank.difficulty[domain][item]))
        if key in taught:
            p = 1 - (1 - p) * (1 - memory)
        correct = rng.random() < p
        answers.append((domain, item, correct, mode, key not in taught))
        seen[key] = seen.get(key, 0) + 1
        return key

    def least_seen(domain, count):
        size = BANK_SIZES[domain]
        order = sorted(range(size), key=lambda i: (seen.get((domain, i), 0), rng.random()))
        return order[:count]

    done = 0
    while done < practice:
        domain = domains[rng.choice(len(domains), p=weights)]
        for item in least_seen(domain, SESSION):
            taught.add(answer(domain, item, "practice"))
        done += SESSION
    if practice >= 100:
        for _ in range(2):
            exam_keys = []
            for domain, n in allocate(MOCK_LENGTH, BLUEPRINT).items():
                exam_keys += [answer(domain, item, "exam") for item in least_seen(domain, n)]
            taught.update(exam_keys)  # feedback after submit
    return answers


def true_pass_chance(rng, theta: dict[str, float], offset: float) -> tuple[float, bool]:
    """Chance of passing a fresh real exam, and one sampled outcome."""
    allocation = allocate(REAL_LENGTH, BLUEPRINT)
    needed = math.ceil(CUT * REAL_LENGTH - 1e-9)
    probs = np.concatenate([expit(theta[d] - rng.normal(offset, 1.0, n)) for d, n in allocation.items()])
    draws = rng.random((2000, len(probs))) < probs
    chance = float((draws.sum(axis=1) >= needed).mean())
    outcome = bool((rng.random(len(probs)) < probs).sum() >= needed)
    return chance, outcome


def before_model(answers) -> float:
    """Readiness 1.x: Beta posteriors over each domain's latest 50 answers (repeats count)."""
    posteriors = {}
    for domain in BLUEPRINT:
        recent = [c for d, _, c, _, _ in answers if d == domain][-RECENT:]
        posteriors[domain] = beta_posterior(sum(recent), len(recent))
    return beta_pass_probability(posteriors, allocate(MOCK_LENGTH, BLUEPRINT), CUT)


def after_model(answers, calibration: irt.Calibration, exam: irt.ExamModel) -> float:
    evidence = [(d, calibration.difficulty[(d, i)], c, 1.0) for d, i, c, _mode, first in answers if first]
    posterior = irt.ability_posterior(evidence, list(BLUEPRINT), calibration.population)
    return irt.pass_probability(posterior, exam, allocate(REAL_LENGTH, BLUEPRINT), CUT)


def metrics(stated: np.ndarray, outcome: np.ndarray) -> dict:
    brier = float(np.mean((stated - outcome) ** 2))
    base = float(outcome.mean())
    bins = np.minimum((stated * 10).astype(int), 9)
    ece = sum(
        abs(stated[bins == k].mean() - outcome[bins == k].mean()) * (bins == k).mean()
        for k in range(10)
        if (bins == k).any()
    )
    high = stated >= 0.80
    return {
        "brier": brier,
        "base_brier": float(np.mean((base - outcome) ** 2)),
        "ece": float(ece),
        "high_share": float(high.mean()),
        "high_observed": float(outcome[high].mean()) if high.any() else float("nan"),
        "bins": [
            (k / 10, int((bins == k).sum()), float(stated[bins == k].mean()), float(outcome[bins == k].mean()))
            for k in range(10)
            if (bins == k).any()
        ],
    }


def run(scenario: Scenario, learners: int, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    bank = make_bank(rng)
    mean_ability = 1.05 + scenario.offset  # about half truly pass
    people = []
    for _ in range(learners):
        general = rng.normal(0.0, 0.9)
        theta = {d: mean_ability + general + rng.normal(0.0, 0.45) for d in BLUEPRINT}
        practice = int(rng.choice(PRACTICE_LEVELS))
        answers = simulate_learner(rng, bank, theta, practice, scenario.memory)
        chance, outcome = true_pass_chance(rng, theta, scenario.offset)
        people.append((answers, chance, outcome))
    labels = {(d, i): bank.labels[d][i] for d in BLUEPRINT for i in range(BANK_SIZES[d])}
    first = [(n, (d, i), d, c) for n, (answers, _, _) in enumerate(people) for d, i, c, _m, f in answers if f]
    start = time.perf_counter()
    calibration = irt.calibrate(first, labels)
    calibrate_s = time.perf_counter() - start
    true_b = np.array([bank.difficulty[d][i] for d, i in labels])
    fitted_b = np.array([calibration.difficulty[key] for key in labels])
    outcome = np.array([o for _, _, o in people], dtype=float)
    chance = np.array([c for _, c, _ in people])
    before = np.array([before_model(a) for a, _, _ in people])
    start = time.perf_counter()
    exam = irt.ExamModel.from_difficulties(
        {d: [calibration.difficulty[(d, i)] for i in range(BANK_SIZES[d])] for d in BLUEPRINT}
    )
    after = np.array([after_model(a, calibration, exam) for a, _, _ in people])
    per_learner_ms = (time.perf_counter() - start) / learners * 1000
    return {
        "scenario": scenario.name,
        "pass_rate": float(outcome.mean()),
        "before": metrics(before, outcome),
        "after": metrics(after, outcome),
        "oracle_brier": float(np.mean((chance - outcome) ** 2)),
        "calibration_r": float(np.corrcoef(true_b, fitted_b)[0, 1]),
        "population": calibration.population,
        "calibrate_s": calibrate_s,
        "per_learner_ms": per_learner_ms,
    }


def report(result: dict) -> str:
    b, a = result["before"], result["after"]
    lines = [
        f"## {result['scenario']}  (pass rate {result['pass_rate']:.2f}; "
        f"item calibration r = {result['calibration_r']:.3f} in {result['calibrate_s']:.2f} s; "
        f"{result['per_learner_ms']:.2f} ms per learner)",
        "| | before | after | target |",
        "|---|---|---|---|",
        f"| Brier | {b['brier']:.3f} | {a['brier']:.3f} | ≤ 0.19 (base rate {a['base_brier']:.3f}, "
        f"oracle {result['oracle_brier']:.3f}) |",
        f"| ECE (10 bins) | {b['ece']:.3f} | {a['ece']:.3f} | ≤ 0.05 |",
        f"| stated ≥ 0.80 → passed | {b['high_observed']:.2f} ({b['high_share']:.0%} of learners) | "
        f"{a['high_observed']:.2f} ({a['high_share']:.0%}) | ≥ 0.75 |",
        "",
        "Reliability (after): bin, learners, mean stated, observed pass rate",
    ]
    lines += [f"  {lo:.1f}-{lo + 0.1:.1f}  {n:5d}  {s:.3f}  {o:.3f}" for lo, n, s, o in a["bins"]]
    lines.append("Reliability (before): " + ", ".join(f"{s:.2f}→{o:.2f} (n={n})" for _, n, s, o in b["bins"]))
    return "\n".join(lines)


def main() -> None:
    learners = int(4000 * float(os.environ.get("BENCH_SCALE", "1")))
    print(f"# Calibration of the stated pass probability ({learners} simulated learners per scenario)")
    for scenario in SCENARIOS:
        print(report(run(scenario, learners)))
        print()


if __name__ == "__main__":
    main()
