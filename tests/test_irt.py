"""IRT: Rasch calibration and hierarchical abilities recover known parameters; independent evidence rules.

Documented tolerances (simulated data, fixed seeds):
- item difficulties from 400 learners x 40 of 60 items: correlation with the truth ≥ 0.95, mean absolute
  error ≤ 0.30 logits;
- a learner's domain ability from 150 answers: within 0.45 logits of the truth;
- the population mean from 400 learners: within 0.25 logits; the general spread within 0.35.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.special import expit

from app.services import evidence, irt

DOMAINS = ("advocacy", "ethics", "mentoring", "recovery")


def labels_for(b: np.ndarray) -> dict[int, str]:
    cuts = np.quantile(b, [1 / 3, 2 / 3])
    return {i: "easy" if v < cuts[0] else "medium" if v < cuts[1] else "hard" for i, v in enumerate(b)}


def simulate(seed: int = 3, learners: int = 400, items: int = 60, per_learner: int = 40):
    rng = np.random.default_rng(seed)
    b = rng.normal(0.0, 1.0, items)
    domain_of = {i: DOMAINS[i % 4] for i in range(items)}
    general = rng.normal(0.8, 0.9, learners)
    theta = {(p, d): general[p] + rng.normal(0.0, 0.45) for p in range(learners) for d in DOMAINS}
    responses = []
    for p in range(learners):
        for i in rng.choice(items, per_learner, replace=False):
            d = domain_of[int(i)]
            responses.append((p, int(i), d, bool(rng.random() < expit(theta[(p, d)] - b[i]))))
    return b, general, responses


def test_calibration_recovers_known_difficulties():
    b, _, responses = simulate()
    fitted = irt.calibrate(responses, labels_for(b))
    estimate = np.array([fitted.difficulty[i] for i in range(len(b))])
    shift = np.mean(estimate - b)  # the Rasch scale's origin is arbitrary; compare shapes and spread
    assert np.corrcoef(estimate, b)[0, 1] >= 0.95
    assert np.mean(np.abs(estimate - shift - b)) <= 0.30
    assert all(fitted.count[i] > 0 for i in range(len(b)))
    assert all(0 < fitted.se[i] < 1 for i in range(len(b)))


def test_population_prior_is_estimated_from_the_learners():
    b, general, responses = simulate()
    fitted = irt.calibrate(responses, labels_for(b))
    pop = fitted.population
    assert pop.learners == 400
    shift = np.mean([fitted.difficulty[i] for i in range(len(b))]) - np.mean(b)
    assert abs(pop.mean - shift - np.mean(general)) <= 0.25
    assert abs(pop.general_sd - np.std(general)) <= 0.35


def test_items_without_answers_keep_their_label_and_few_answers_stay_near_it():
    labels = {"a": "easy", "b": "hard", "c": "medium"}
    fitted = irt.calibrate([(1, "c", "advocacy", True), (2, "c", "advocacy", False)], labels)
    assert fitted.difficulty["a"] == -1.0 and fitted.difficulty["b"] == 1.0
    assert abs(fitted.difficulty["c"]) < 0.3 and fitted.count["c"] == 2
    assert fitted.population.learners == 0  # too few learners: the defaults stand
    empty = irt.calibrate([], labels)
    assert empty.difficulty == {"a": -1.0, "b": 1.0, "c": 0.0}


def test_ability_posterior_recovers_a_learners_ability():
    rng = np.random.default_rng(11)
    truth = {"advocacy": 1.6, "ethics": 0.2, "mentoring": 1.0, "recovery": -0.4}
    answers = []
    for d, theta in truth.items():
        for item_b in rng.normal(0, 1, 150):
            answers.append((d, float(item_b), bool(rng.random() < expit(theta - item_b)), 1.0))
    post = irt.ability_posterior(answers, DOMAINS, irt.Population())
    for d, theta in truth.items():
        assert post.theta(d) == pytest.approx(theta, abs=0.45)
        assert post.sd(d) < 0.25
    assert post.evidence == {d: 150.0 for d in DOMAINS}


def test_an_empty_domain_borrows_from_the_others():
    pop = irt.Population(mean=0.0, general_sd=1.0, domain_sd=0.4)
    strong = [(d, 0.0, True, 1.0) for d in ("advocacy", "ethics", "mentoring") for _ in range(30)]
    post = irt.ability_posterior(strong, DOMAINS, pop)
    prior_only = irt.ability_posterior([], DOMAINS, pop)
    assert post.theta("recovery") > prior_only.theta("recovery") + 0.5
    assert post.theta("recovery") < post.theta("advocacy")  # but less than the answered ones
    assert post.sd("recovery") > post.sd("advocacy")


def test_weights_make_exam_answers_count_more():
    pop = irt.Population()
    light = irt.ability_posterior([("ethics", 0.0, True, 0.5)] * 6, DOMAINS, pop)
    heavy = irt.ability_posterior([("ethics", 0.0, True, 1.0)] * 6, DOMAINS, pop)
    assert heavy.theta("ethics") > light.theta("ethics")


def test_pass_probability_is_deterministic_monotone_and_matches_monte_carlo():
    exam = irt.ExamModel.from_difficulties({d: [-0.5, 0.0, 0.5, 1.0] for d in DOMAINS})
    allocation = {"advocacy": 10, "ethics": 12, "mentoring": 8, "recovery": 10}

    def posterior(theta: float, sd: float) -> irt.AbilityPosterior:
        return irt.AbilityPosterior(DOMAINS, np.full(4, theta), np.eye(4) * sd**2)

    values = [irt.pass_probability(posterior(t, 0.3), exam, allocation, 0.7) for t in (0.0, 1.0, 2.0, 3.0)]
    assert values == sorted(values) and values[0] < 0.2 and values[-1] > 0.9
    assert irt.pass_probability(posterior(1.5, 0.3), exam, allocation, 0.7) == irt.pass_probability(
        posterior(1.5, 0.3), exam, allocation, 0.7
    )
    rng = np.random.default_rng(5)
    draws, passed = 20000, 0
    thetas = 1.5 + 0.3 * rng.standard_normal((draws, 4))
    offsets = irt.EXAM_OFFSET_MEAN + irt.EXAM_OFFSET_SD * rng.standard_normal(draws)
    scores = np.zeros(draws)
    for k, n in enumerate(allocation.values()):
        p = expit(thetas[:, k : k + 1] - offsets[:, None] - np.array([[-0.5, 0.0, 0.5, 1.0]])).mean(axis=1)
        scores += rng.binomial(n, p)
    passed = np.mean(scores >= 28)
    assert irt.pass_probability(posterior(1.5, 0.3), exam, allocation, 0.7) == pytest.approx(passed, abs=0.03)


def test_most_informative_item_is_nearest_in_difficulty():
    assert irt.most_informative(0.4, {"a": -1.0, "b": 0.5, "c": 2.0}) == "b"
    assert irt.most_informative(0.0, {}) is None
    assert irt.item_information(0.0, 0.0) == pytest.approx(0.25)


# --- independent evidence -----------------------------------------------------------------------------

T0 = datetime(2026, 1, 5, 9, 0)


def answer(question: int, family: str, minutes: int, exam: bool = False, correct: bool = True) -> evidence.Answer:
    return evidence.Answer(
        1, question, question, "ethics", family, "medium", correct, exam, T0 + timedelta(minutes=minutes)
    )


def test_only_answers_before_feedback_on_their_family_count_and_only_once():
    practice_first = answer(1, "fam-a", 0)
    sibling_after_feedback = answer(2, "fam-a", 1)
    repeat = answer(1, "fam-a", 2)
    other_family = answer(3, "fam-b", 3)
    first_feedback = {
        "fam-a": T0 + evidence.FEEDBACK_DELAY,
        "fam-b": T0 + timedelta(minutes=3) + evidence.FEEDBACK_DELAY,
    }
    kept = evidence.independent([practice_first, sibling_after_feedback, repeat, other_family], first_feedback)
    assert kept == [practice_first, other_family]


def test_exam_siblings_count_until_the_exam_is_submitted():
    a, b = answer(1, "fam", 0, exam=True), answer(2, "fam", 5, exam=True)
    later_practice = answer(2, "fam", 60)
    submitted = {"fam": T0 + timedelta(minutes=30)}
    assert evidence.independent([a, b, later_practice], submitted) == [a, b]
    assert a.weight == evidence.EXAM_WEIGHT > later_practice.weight == evidence.PRACTICE_WEIGHT


def test_recent_window_keeps_each_domains_latest_answers():
    answers = [answer(n, f"f{n}", n) for n in range(10)]
    assert [a.question_id for a in evidence.recent_by_domain(answers, {"ethics": 3})] == [7, 8, 9]
