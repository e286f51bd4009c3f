"""Item analysis for trainers, per exam form: classical test theory (CTT) and Rasch item fit.

Every convention below is also stated on the pages ("How these numbers are computed", rendered from
``RULES`` and the text in ``templates/stats/_method.html``); keep the three in step.

Forms: what is analysed together
- A *form* is a group of attempts whose total scores can be compared: the attempts of one question set,
  or the mock exams of one certification track, **with the same number of questions**. Attempts with a
  different number of questions (a 5-question set and a 40-question mock exam, or the short and the
  full-length mock exam) are different forms: rest scores and totals are never pooled across lengths.
  Releases do not split a form (a track's 40-question mock exams are one form across releases).
- Practice and spaced-review sessions are not forms (each is drawn for one learner, by domain or topic,
  with feedback after every answer); when they are included (scope ``practice``, ``review`` or every
  attempt) they are grouped by mode and length in the same way and labelled "not a fixed form".
- Scope (``StatsFilter.mode``): ``"forms"`` (default) = track mock exams and question sets of either mode;
  ``"exam"`` / ``"practice"`` / ``"review"`` = attempts of that mode; ``None`` = every submitted attempt.
  Dates are on ``Attempt.submitted_at`` (UTC dates), both ends inclusive.
- Attempts per learner (``StatsFilter.attempts``): ``"first"`` (default, as Moodle's statistics report),
  ``"last"`` or ``"all"``, per learner and per form, among the attempts that match the other filters;
  first/last by submission time (then attempt id). With ``"all"`` every attempt is an examinee.
- Statistics belong to one QuestionVersion; an unchanged version shared by several releases pools its
  responses on a form, an edited question (a new version) starts from zero.

Blanks
- A response row is a question shown in an attempt. Unanswered ones are *omitted* when the learner
  answered a later position of the attempt, *not reached* when they come after the learner's last
  answered position (an attempt with no answer at all is wholly not reached).
- Convention: a blank scores 0, as the exam scores it, everywhere an item score is used: p, the total
  and rest scores, r_pb, D, KR-20 (and if deleted), SEM, Rasch. n counts every attempt that showed the
  item; option shares are of n too, so the options and the two blank rows add up to 100%.

Item statistics (on one form)
- p = correct / n. "Too hard" when p < chance + 0.10, chance = 1 / number of options (3 options: 0.43,
  4 options: 0.35); "too easy" when p > 0.90.
- Corrected point-biserial r_pb: Pearson correlation of the item score x with the rest score
  y = total - x. An option's r_pb correlates "chose this option" with the same rest score.
  "Negative discrimination": the key's r_pb < 0. "Low discrimination": 0 <= r_pb < 0.20.
  "Check key": a distractor's r_pb > 0 and greater than the key's (stronger learners prefer it).
  A miskeyed item usually shows both "check key" and "negative discrimination".
- Upper/lower groups: the 27% of the form's attempts with the highest and lowest total scores
  (including the item). Attempts tied at a boundary score are shared proportionally, each counting
  with the same fraction, which equals averaging over every way of breaking the ties. D = p(upper) -
  p(lower); option shares are also given per group (upper, middle, lower).
- Non-functional distractor: chosen by < 5% of n, judged only from MIN_RESPONSES on; each item reports
  how many it has, and the flag "non-functional distractors" is raised when 2 or more are.
- KR-20 if item deleted: KR-20 of the same attempts scored without the item.
- Flags need n >= MIN_RESPONSES (30); below, an item shows "too few responses" (or "no responses") and
  nothing else. From 30 to 99 responses "few responses" is added as a caution.

Rasch (per form, for item review; readiness uses its own calibration)
- ``irt.calibrate`` on the form's responses (one ability per attempt, blanks wrong) with the versions'
  difficulty labels as priors (easy -1, medium 0, hard +1 logits, sd 1) and irt's default ability prior.
  b is in logits on that anchored scale (not centred on the form's items). A form with more than
  RULES.rasch_max_attempts attempts is fitted on every ceil(attempts / max)-th attempt in attempt order
  (at most that many, spread over the whole period): enough for b and the mean-squares, and it keeps
  the page fast on large banks.
- Abilities are then the posterior modes given b; infit MS = sum (x-P)^2 / sum P(1-P) and outfit MS =
  mean of (x-P)^2 / (P(1-P)) over the item's responses, leaving out attempts with a zero or perfect score
  (their residuals carry no information about fit). Expected 1; above 1.3 is noisier than the model
  (the item measures something else or is guessed), below 0.7 more predictable than the model.

Form statistics
- Score = number correct (blanks 0); population variance; KR-20 = k/(k-1) (1 - sum pq / variance);
  SEM = SD sqrt(1 - KR-20). On a form whose attempts saw different questions (mock exams drawn to the
  blueprint) p and q of each item come from the attempts that saw it and sum pq is the mean over attempts
  of the pq of the items each saw; the figure is then marked approximate.
- Cut score C = the least number correct whose share reaches the track's cut (or the set's pass mark).
  SEM at the cut: Lord's binomial error model, sqrt(C (k - C) / (k - 1)), in questions.
- Classification consistency: Subkoviak's single-administration method (binomial model): each attempt's
  true proportion correct by Kelley's regression, r x/k + (1 - r) mean/k with r = KR-20 (clamped to
  [0, 1]); P(pass) from the binomial with k items; consistency = mean of P^2 + (1 - P)^2; kappa against
  the chance agreement of the mean P.
- Caution below 100 attempts.

Queries: every CTT figure comes from one GROUP BY query (responses counted per form x version x option or
blank x total score; score distributions, learners and per-item totals are sums of it), the attempts being
chosen in SQL (window functions pick first/last per learner and form). Rasch needs the individual
responses of the forms it is fitted on and reads them in one more query. The number of queries never
depends on attempts, responses or items.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
from scipy.special import expit
from scipy.stats import binom
from sqlalchemy import Select, String, case, cast, func, literal, literal_column, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Attempt, Bank, BankRelease, Question, QuestionSet, QuestionVersion, ReleaseItem, Response, User
from app.services import irt
from app.services.permissions import can_manage_bank

# --- Conventions (the pages render these numbers) ------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """Every threshold the analysis uses, in one place (the pages print them)."""

    min_responses: int = 30  # below: no flag but "too few responses"
    caution_count: int = 100  # below: "few responses" / "few attempts"
    low_discrimination: float = 0.20
    too_easy: float = 0.90
    chance_margin: float = 0.10  # too hard: p < 1/options + margin
    non_functional_share: float = 0.05
    non_functional_flag_count: int = 2  # flag an item with at least this many non-functional distractors
    group_share: float = 0.27  # upper and lower groups
    rasch_max_attempts: int = 2000  # Rasch is fitted on at most this many attempts per form, evenly spread
    fit_high: float = 1.3
    fit_low: float = 0.7


RULES = Rules()
MIN_RESPONSES = RULES.min_responses
CAUTION_COUNT = RULES.caution_count
LOW_DISCRIMINATION = RULES.low_discrimination
TOO_EASY = RULES.too_easy
NON_FUNCTIONAL_SHARE = RULES.non_functional_share
# Observed difficulty beside the author's label: shown from this many responses on; bands of p.
EMPIRICAL_MIN_RESPONSES = RULES.min_responses
EMPIRICAL_BANDS = ((0.80, "easy"), (0.50, "medium"), (0.0, "hard"))

SCOPES = ("forms", "exam", "practice", "review")  # StatsFilter.mode; None = every attempt
SELECTIONS = ("first", "last", "all")
KIND_ORDER = ("exam", "set", "practice", "review")

OMITTED = -1
NOT_REACHED = -2

FLAG_NO_RESPONSES = "no responses"
FLAG_TOO_FEW = "too few responses"
FLAG_CHECK_KEY = "check key"
FLAG_NEGATIVE = "negative discrimination"
FLAG_LOW_DISCRIMINATION = "low discrimination"
FLAG_TOO_HARD = "too hard"
FLAG_TOO_EASY = "too easy"
FLAG_NON_FUNCTIONAL = "non-functional distractors"
FLAG_FEW_RESPONSES = "few responses"

SORT_KEYS = ("question", "version", "domain", "n", "omitted", "p", "r_pb", "d", "rasch", "infit", "outfit", "flags")


@dataclass(frozen=True)
class StatsFilter:
    """Which attempts count: a scope (see the module docstring), submission dates, which attempt(s) of
    each learner on each form, and optionally one form (its token) to narrow the analysis to."""

    mode: str | None = "forms"
    since: date | None = None
    until: date | None = None
    attempts: str = "first"
    form: str | None = None


@dataclass(frozen=True)
class FormKey:
    """A form: kind ("exam" = a track's mock exam, "set", "practice", "review"), reference (track id or
    question set id; "" for sessions) and length (questions per attempt). ``token`` names it in URLs."""

    kind: str
    ref: str
    length: int

    @property
    def token(self) -> str:
        return f"{self.kind}:{self.ref}:{self.length}"

    @classmethod
    def parse(cls, token: str | None) -> FormKey | None:
        if not token or ":" not in token:
            return None
        kind, rest = token.split(":", 1)
        ref, _, length = rest.rpartition(":")
        if kind not in KIND_ORDER or not length.isdigit():
            return None
        return cls(kind, ref, int(length))


# --- Results -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaschItem:
    """Rasch difficulty (logits) with its standard error, and infit/outfit mean-squares."""

    b: float
    se: float
    infit: float | None
    outfit: float | None
    fit_n: int  # responses the fit statistics use (attempts with a zero or perfect score left out)

    @property
    def misfit(self) -> str | None:
        """Noisy above RULES.fit_high, muted below RULES.fit_low (infit or outfit), else None."""
        values = [v for v in (self.infit, self.outfit) if v is not None]
        if any(v > RULES.fit_high for v in values):
            return "noisy"
        if any(v < RULES.fit_low for v in values):
            return "muted"
        return None


@dataclass(frozen=True)
class OptionStats:
    """One option of a version (by its original index in the content), or a blank row (OMITTED or
    NOT_REACHED): count, share of the learners shown the item, r_pb, and shares within the groups."""

    index: int
    text: str
    correct: bool
    count: int
    share: float | None
    r_pb: float | None
    upper: float | None = None
    middle: float | None = None
    lower: float | None = None
    non_functional: bool = False

    @property
    def is_blank(self) -> bool:
        return self.index < 0

    @property
    def letter(self) -> str:
        return letter(self.index) if self.index >= 0 else ""

    @property
    def label(self) -> str:
        if self.index == OMITTED:
            return "Omitted"
        if self.index == NOT_REACHED:
            return "Not reached"
        return self.letter


@dataclass(frozen=True)
class ItemStats:
    """Classical (and Rasch) statistics of one question version on one form."""

    version_id: int
    stable_id: str
    number: int
    domain: str
    difficulty: str
    stem: str
    n: int  # attempts that showed the item on the form (answered or not)
    correct: int
    r_pb: float | None
    options: list[OptionStats]
    omitted: int = 0
    not_reached: int = 0
    blanks: list[OptionStats] = field(default_factory=list)
    form: str | None = None  # the form's token; None for a version seen on no form
    form_label: str = ""
    d: float | None = None
    p_upper: float | None = None
    p_lower: float | None = None
    kr20_if_deleted: float | None = None
    rasch: RaschItem | None = None

    @property
    def answered(self) -> int:
        return self.n - self.omitted - self.not_reached

    @property
    def p(self) -> float | None:
        return self.correct / self.n if self.n else None

    @property
    def chance(self) -> float:
        return 1 / len(self.options) if self.options else 0.0

    @property
    def too_hard_below(self) -> float:
        return self.chance + RULES.chance_margin

    @property
    def enough(self) -> bool:
        return self.n >= RULES.min_responses

    @property
    def caution(self) -> bool:
        return self.n < RULES.caution_count

    @property
    def key(self) -> str:
        return "".join(option.letter for option in self.options if option.correct)

    @property
    def key_option(self) -> OptionStats | None:
        return next((option for option in self.options if option.correct), None)

    @property
    def non_functional(self) -> list[OptionStats]:
        return [option for option in self.options if option.non_functional]

    @property
    def check_key_options(self) -> list[OptionStats]:
        """Distractors with r_pb > 0 and above the key's: stronger learners prefer them."""
        key_r = self.r_pb
        return [
            o
            for o in self.options
            if not o.correct and o.r_pb is not None and o.r_pb > 0 and (key_r is None or o.r_pb > key_r)
        ]

    @property
    def observed_difficulty(self) -> str | None:
        """easy (p ≥ .80), medium (p ≥ .50) or hard, once there are enough responses; else None."""
        if self.n < EMPIRICAL_MIN_RESPONSES:
            return None
        return next(label for floor, label in EMPIRICAL_BANDS if self.p >= floor)

    @property
    def flags(self) -> list[str]:
        """What a trainer should look at, most serious first; nothing but a count below MIN_RESPONSES."""
        if not self.n:
            return [FLAG_NO_RESPONSES]
        if not self.enough:
            return [FLAG_TOO_FEW]
        flags = []
        if self.check_key_options:
            flags.append(FLAG_CHECK_KEY)
        if self.r_pb is not None and self.r_pb < 0:
            flags.append(FLAG_NEGATIVE)
        elif self.r_pb is not None and self.r_pb < RULES.low_discrimination:
            flags.append(FLAG_LOW_DISCRIMINATION)
        if self.p < self.too_hard_below:
            flags.append(FLAG_TOO_HARD)
        if self.p > RULES.too_easy:
            flags.append(FLAG_TOO_EASY)
        if len(self.non_functional) >= RULES.non_functional_flag_count:
            flags.append(FLAG_NON_FUNCTIONAL)
        if self.caution:
            flags.append(FLAG_FEW_RESPONSES)
        return flags


@dataclass(frozen=True)
class FormStats:
    """Scores and reliability of one form."""

    token: str
    kind: str
    label: str
    attempts: int
    learners: int
    items_per_attempt: int  # k
    distinct_items: int
    mean: float
    sd: float
    kr20: float | None
    sem: float | None
    approximate: bool  # attempts saw different items: KR-20 over random forms
    selection: str = "first"
    cut_share: float | None = None
    cut_score: int | None = None  # least number correct that passes
    pass_rate: float | None = None
    sem_at_cut: float | None = None  # Lord's binomial error model
    consistency: float | None = None  # Subkoviak
    kappa: float | None = None

    @property
    def caution(self) -> bool:
        return self.attempts < RULES.caution_count

    @property
    def is_session(self) -> bool:
        """Practice or review sessions grouped by length: not a fixed form."""
        return self.kind in ("practice", "review")


@dataclass(frozen=True)
class FormReport:
    """A form with the statistics of its items."""

    form: FormStats
    items: list[ItemStats]


@dataclass(frozen=True)
class BankOverview:
    """The bank page: every form, and one form's items (plus the release's versions it has not shown)."""

    forms: list[FormStats]
    selected: FormReport | None
    unseen: list[ItemStats]
    latest_ids: set[int] = field(default_factory=set)  # versions in the bank's latest release


# --- Pure math -----------------------------------------------------------------------------------------


def letter(index: int) -> str:
    """Option letter for an original option index: 0 -> A."""
    return chr(ord("A") + index)


def pearson(n: float, sum_x: float, sum_xx: float, sum_y: float, sum_yy: float, sum_xy: float) -> float | None:
    """Pearson correlation from sums; None when either variable is constant (or n < 2)."""
    spread_x = n * sum_xx - sum_x * sum_x
    spread_y = n * sum_yy - sum_y * sum_y
    if n < 2 or spread_x <= 1e-12 or spread_y <= 1e-12:
        return None
    return (n * sum_xy - sum_x * sum_y) / math.sqrt(spread_x * spread_y)


def kr20(k: float, sum_pq: float, variance: float) -> float | None:
    """KR-20 = k/(k-1) * (1 - sum(pq)/variance); None for fewer than two items or constant scores."""
    if k < 2 or variance <= 1e-12:
        return None
    return k / (k - 1) * (1 - sum_pq / variance)


def sem(sd: float, reliability: float | None) -> float | None:
    """Standard error of measurement SD * sqrt(1 - reliability)."""
    if reliability is None:
        return None
    return sd * math.sqrt(max(0.0, 1 - reliability))


def cut_raw_score(cut_share: float, k: int) -> int:
    """The least number correct out of k whose share reaches the cut (as the exam scores a pass)."""
    return max(0, math.ceil(cut_share * k - 1e-9))


def lord_csem(k: int, score: int) -> float | None:
    """Conditional SEM at a raw score under Lord's binomial error model: sqrt(x (k - x) / (k - 1))."""
    if k < 2 or not 0 <= score <= k:
        return None
    return math.sqrt(score * (k - score) / (k - 1))


def subkoviak(
    distribution: Mapping[int, int], k: int, cut: int, reliability: float | None
) -> tuple[float, float | None] | None:
    """Subkoviak's single-administration agreement (p0) and kappa for a pass/fail cut at ``cut`` of k.

    Each score x's true proportion is Kelley's estimate r x/k + (1 - r) mean/k (r clamped to [0, 1]);
    P(pass) = P(Binomial(k, that) >= cut); p0 = mean of P^2 + (1 - P)^2; kappa = (p0 - pc) / (1 - pc)
    with pc = Pbar^2 + (1 - Pbar)^2 (None when pc = 1).
    """
    attempts = sum(distribution.values())
    if reliability is None or attempts == 0 or k < 1:
        return None
    r = min(1.0, max(0.0, reliability))
    mean = sum(score * count for score, count in distribution.items()) / attempts
    agreement = passing = 0.0
    for score, count in distribution.items():
        true_share = r * score / k + (1 - r) * mean / k
        p_pass = float(binom.sf(cut - 1, k, true_share))
        agreement += count * (p_pass**2 + (1 - p_pass) ** 2)
        passing += count * p_pass
    p0, mean_pass = agreement / attempts, passing / attempts
    chance = mean_pass**2 + (1 - mean_pass) ** 2
    kappa = (p0 - chance) / (1 - chance) if chance < 1 - 1e-12 else None
    return p0, kappa


def group_weights(distribution: Mapping[int, int], share: float = RULES.group_share) -> dict[int, tuple]:
    """{total score: (upper, middle, lower) fraction of its attempts}: the top and bottom ``share`` of
    attempts by total score, attempts tied at a boundary score shared proportionally."""
    size = share * sum(distribution.values())

    def take(scores: Iterable[int]) -> dict[int, float]:
        remaining, fractions = size, {}
        for score in scores:
            count = distribution[score]
            taken = min(count, remaining)
            fractions[score] = taken / count if count else 0.0
            remaining -= taken
        return fractions

    lower = take(sorted(distribution))
    upper = take(sorted(distribution, reverse=True))
    return {s: (upper[s], max(0.0, 1 - upper[s] - lower[s]), lower[s]) for s in distribution}


def rasch_fit(
    responses: Sequence[tuple[object, object, int]],
    labels: Mapping[object, str],
    population: irt.Population | None = None,
) -> dict[object, RaschItem]:
    """Rasch difficulties (irt.calibrate, label priors) and infit/outfit mean-squares per item from
    (person, item, score 0/1) responses; one ability per person. See the module docstring."""
    if not responses:
        return {}
    population = population or irt.Population()
    calibration = irt.calibrate([(p, i, "", bool(x)) for p, i, x in responses], labels, population=population)
    items = list(labels)
    item_index = {item: n for n, item in enumerate(items)}
    person_index: dict[object, int] = {}
    rows = [
        (person_index.setdefault(p, len(person_index)), item_index[i], x) for p, i, x in responses if i in item_index
    ]
    if not rows:
        return {}
    p_idx, i_idx, x = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    p_idx, i_idx = p_idx.astype(int), i_idx.astype(int)
    b = np.array([calibration.difficulty[item] for item in items])
    theta = _abilities(p_idx, i_idx, x, b, len(person_index), population)
    prob = expit(theta[p_idx] - b[i_idx])
    info = prob * (1 - prob)
    raw = np.bincount(p_idx, x, len(person_index))
    shown = np.bincount(p_idx, minlength=len(person_index))
    keep = ((raw > 0) & (raw < shown))[p_idx]
    squared = (x - prob) ** 2
    n_fit = np.bincount(i_idx[keep], minlength=len(items))
    infit_num = np.bincount(i_idx[keep], squared[keep], len(items))
    infit_den = np.bincount(i_idx[keep], info[keep], len(items))
    outfit_sum = np.bincount(i_idx[keep], squared[keep] / info[keep], len(items))
    counts = np.bincount(i_idx, minlength=len(items))
    result = {}
    for n, item in enumerate(items):
        if not counts[n]:
            continue
        has_fit = n_fit[n] > 0 and infit_den[n] > 0
        result[item] = RaschItem(
            b=float(b[n]),
            se=float(calibration.se[item]),
            infit=float(infit_num[n] / infit_den[n]) if has_fit else None,
            outfit=float(outfit_sum[n] / n_fit[n]) if has_fit else None,
            fit_n=int(n_fit[n]),
        )
    return result


def _abilities(
    p_idx: np.ndarray, i_idx: np.ndarray, x: np.ndarray, b: np.ndarray, persons: int, population: irt.Population
) -> np.ndarray:
    """Posterior-mode ability per person given the difficulties, with the same prior calibrate uses."""
    mean, variance = population.mean, population.general_sd**2 + population.domain_sd**2
    theta = np.full(persons, mean)
    for _ in range(100):
        prob = expit(theta[p_idx] - b[i_idx])
        grad = np.bincount(p_idx, x - prob, persons) - (theta - mean) / variance
        hess = np.bincount(p_idx, prob * (1 - prob), persons) + 1 / variance
        step = np.clip(grad / hess, -1.0, 1.0)
        theta = theta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return theta


# --- Access --------------------------------------------------------------------------------------------


def can_view(user: User, bank: Bank) -> bool:
    """Site admins, and trainers of the organization that owns the bank, may see its statistics."""
    return can_manage_bank(user, bank)


def get_version(version_id: int) -> QuestionVersion | None:
    """A question version with its question and bank loaded (for the access check and the heading)."""
    return db.session.get(
        QuestionVersion, version_id, options=[joinedload(QuestionVersion.question).joinedload(Question.bank)]
    )


# --- Queries -------------------------------------------------------------------------------------------


def _score():
    """1 for a correct response, else 0 (wrong and unanswered alike)."""
    return case((Response.correct.is_(True), 1), else_=0)


def _attempt_conditions(bank_id: int, filters: StatsFilter) -> list:
    """Submitted attempts on a release of this bank, in scope, narrowed by submission date."""
    conditions = [
        Attempt.submitted_at.is_not(None),
        Attempt.release_id.in_(select(BankRelease.id).where(BankRelease.bank_id == bank_id)),
    ]
    if filters.mode == "forms":
        conditions.append(
            or_(Attempt.question_set_id.is_not(None), (Attempt.mode == "exam") & Attempt.track.is_not(None))
        )
    elif filters.mode is not None:
        conditions.append(Attempt.mode == filters.mode)
    if filters.since is not None:
        conditions.append(Attempt.submitted_at >= datetime.combine(filters.since, time.min))
    if filters.until is not None:
        conditions.append(Attempt.submitted_at < datetime.combine(filters.until + timedelta(days=1), time.min))
    return conditions


def _chosen_attempts(bank_id: int, filters: StatsFilter):
    """Subquery of the attempts that count, one row each: attempt id, form token, k, score, last answered
    position, and whether it is its learner's first on the form (to count learners)."""
    if filters.attempts not in SELECTIONS:
        raise ValueError(f"attempts must be one of {SELECTIONS}")
    is_set = Attempt.question_set_id.is_not(None)
    kind = case((is_set, literal("set")), else_=Attempt.mode)
    ref = case((is_set, cast(Attempt.question_set_id, String)), else_=func.coalesce(Attempt.track, ""))
    length = func.count(Response.id)
    token = kind.concat(":").concat(ref).concat(":").concat(cast(length, String))
    answered_position = case((Response.chosen_option.is_not(None), Response.position))
    per_attempt = (
        select(
            Attempt.id.label("attempt_id"),
            Attempt.user_id.label("user_id"),
            Attempt.submitted_at.label("submitted_at"),
            token.label("form"),
            func.sum(_score()).label("score"),
            func.max(answered_position).label("last_answered"),
        )
        .join(Response, Response.attempt_id == Attempt.id)
        .where(*_attempt_conditions(bank_id, filters))
        .group_by(Attempt.id)
        .subquery("per_attempt")
    )
    partition = (per_attempt.c.user_id, per_attempt.c.form)
    first = func.row_number().over(
        partition_by=partition, order_by=(per_attempt.c.submitted_at, per_attempt.c.attempt_id)
    )
    last = func.row_number().over(
        partition_by=partition, order_by=(per_attempt.c.submitted_at.desc(), per_attempt.c.attempt_id.desc())
    )
    ranked = select(per_attempt, first.label("first_rank"), last.label("last_rank")).subquery("ranked")
    marker = ranked.c.last_rank if filters.attempts == "last" else ranked.c.first_rank
    conditions = []
    if filters.attempts == "first":
        conditions.append(ranked.c.first_rank == 1)
    elif filters.attempts == "last":
        conditions.append(ranked.c.last_rank == 1)
    if filters.form is not None:
        conditions.append(ranked.c.form == filters.form)
    return (
        select(
            ranked.c.attempt_id,
            ranked.c.form,
            ranked.c.score,
            ranked.c.last_answered,
            # One row per learner and form is marked, to count learners when every attempt counts.
            case((marker == 1, 1), else_=0).label("is_first"),
        )
        .where(*conditions)
        .subquery("chosen")
    )


@dataclass
class _FormData:
    """What one grouped query tells about a form: {version: {(total score, category): [count, correct,
    learners' marked rows]}}; category = chosen option, OMITTED or NOT_REACHED."""

    length: int
    cells: dict[int, dict[tuple[int, int], list[int]]] = field(default_factory=lambda: defaultdict(dict))

    def distribution(self) -> dict[int, int]:
        """{total score: attempts}: every attempt on the form has ``length`` response rows."""
        rows: dict[int, int] = defaultdict(int)
        for by_cell in self.cells.values():
            for (score, _category), (count, _correct, _first) in by_cell.items():
                rows[score] += count
        return {score: count // self.length for score, count in rows.items()}

    def learners(self) -> int:
        return sum(first for by_cell in self.cells.values() for _, _, first in by_cell.values()) // self.length

    def item_totals(self) -> dict[int, tuple[int, int]]:
        """{version: (shown, correct)}."""
        return {
            version: (sum(c[0] for c in by_cell.values()), sum(c[1] for c in by_cell.values()))
            for version, by_cell in self.cells.items()
        }


def _form_data(chosen) -> dict[str, _FormData]:
    """Every count the CTT figures need, per form, in one grouped query: rows are bounded by
    forms x items x (options + 2) x possible scores, whatever the number of attempts."""
    category = case(
        (Response.chosen_option.is_not(None), Response.chosen_option),
        (Response.position < chosen.c.last_answered, literal_column(str(OMITTED))),
        else_=literal_column(str(NOT_REACHED)),
    )
    rows = db.session.execute(
        select(
            chosen.c.form,
            chosen.c.score,
            Response.question_version_id,
            category,
            func.count(),
            func.sum(_score()),
            func.sum(chosen.c.is_first),
        )
        .join(chosen, chosen.c.attempt_id == Response.attempt_id)
        .group_by(chosen.c.form, chosen.c.score, Response.question_version_id, category)
    )
    data: dict[str, _FormData] = {}
    for form, score, version, chosen_category, count, correct, first in rows:
        key = FormKey.parse(form)
        if key is None or key.length < 1:
            continue
        entry = data.setdefault(form, _FormData(key.length))
        entry.cells[version][(int(score), int(chosen_category))] = [int(count), int(correct), int(first)]
    return data


def _responses(chosen, strides: Mapping[str, int]) -> dict[str, list[tuple[int, int, int]]]:
    """{form: [(attempt id, version id, score)]} for Rasch: the responses of every ``stride``-th attempt
    (in attempt order) of each form in ``strides``, in one query."""
    if not strides:
        return {}
    numbered = (
        select(
            chosen.c.attempt_id,
            chosen.c.form,
            func.row_number().over(partition_by=chosen.c.form, order_by=chosen.c.attempt_id).label("number"),
        )
        .where(chosen.c.form.in_(list(strides)))
        .subquery("numbered")
    )
    stride = case(dict(strides), value=numbered.c.form, else_=1)
    query = (
        select(numbered.c.form, numbered.c.attempt_id, Response.question_version_id, _score())
        .join(numbered, numbered.c.attempt_id == Response.attempt_id)
        .where((numbered.c.number - 1) % stride == 0)
    )
    responses: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for form, attempt_id, version_id, score in db.session.execute(query):
        responses[form].append((attempt_id, version_id, int(score)))
    return responses


@dataclass(frozen=True)
class _Version:
    """What the statistics need of a question version."""

    id: int
    stable_id: str
    number: int
    domain: str
    difficulty: str
    stem: str
    options: list[dict]


def _versions(ids: Iterable[int] | Select) -> dict[int, _Version]:
    """The versions with these ids (a list or a subquery), by id, in one query."""
    ids = ids if isinstance(ids, Select) else sorted(set(ids))
    rows = db.session.execute(
        select(QuestionVersion, Question.stable_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.id.in_(ids))
    )
    return {
        version.id: _Version(
            version.id,
            stable_id,
            version.number,
            version.domain,
            version.difficulty,
            version.content.get("stem", ""),
            version.options,
        )
        for version, stable_id in rows
    }


# --- Forms ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FormInfo:
    label: str
    cut_share: float | None


def _form_infos(bank: Bank) -> tuple[dict[str, dict], dict[int, tuple[str, float | None, str]]]:
    """(tracks by id, newest release's definition winning; {set id: (title, pass mark, mode)})."""
    tracks: dict[str, dict] = {}
    for release in bank.releases:
        for track in release.tracks:
            tracks[track["id"]] = track
    rows = db.session.execute(
        select(QuestionSet.id, QuestionSet.title, QuestionSet.pass_mark, QuestionSet.mode).where(
            QuestionSet.bank_id == bank.id
        )
    )
    return tracks, {set_id: (title, pass_mark, mode) for set_id, title, pass_mark, mode in rows}


def _form_info(key: FormKey, tracks: dict[str, dict], sets: dict[int, tuple]) -> _FormInfo:
    k = key.length
    questions = f"{k} question{'s' if k != 1 else ''}"
    if key.kind == "set":
        title, pass_mark, mode = sets.get(int(key.ref), (f"#{key.ref}", None, "practice"))
        kind = "exam" if mode == "exam" else "practice"
        return _FormInfo(f"Question set: {title} ({kind}), {questions}", pass_mark)
    if key.kind == "exam":
        track = tracks.get(key.ref)
        if track is None:
            return _FormInfo(f"Mock exams ({key.ref or 'no track'}), {questions}", None)
        exam = track["exam"]
        named = [f["title"] for f in exam.get("forms", ()) if f.get("length") == k]
        suffix = f" ({named[0]})" if named and exam.get("length") != k else ""
        return _FormInfo(f"{track['title']}: mock exam, {questions}{suffix}", exam.get("cut_score"))
    what = "Spaced review sessions" if key.kind == "review" else "Practice sessions"
    return _FormInfo(f"{what}, {questions} (not a fixed form)", None)


def _build_form(key: FormKey, info: _FormInfo, data: _FormData, selection: str) -> tuple[FormStats, float]:
    """The form's statistics and its sum pq (needed again for KR-20 if deleted)."""
    distribution, items = data.distribution(), data.item_totals()
    attempts = sum(distribution.values())
    k = key.length
    total = sum(score * count for score, count in distribution.items())
    total_sq = sum(score * score * count for score, count in distribution.items())
    mean = total / attempts
    variance = max(0.0, total_sq / attempts - mean * mean)
    # Mean over attempts of the sum of pq over the items each attempt saw (exact for a fixed form).
    sum_pq = sum(shown / attempts * (correct / shown) * (1 - correct / shown) for shown, correct in items.values())
    reliability = kr20(k, sum_pq, variance)
    sd = math.sqrt(variance)
    cut = cut_raw_score(info.cut_share, k) if info.cut_share is not None else None
    agreement = subkoviak(distribution, k, cut, reliability) if cut is not None else None
    stats = FormStats(
        token=key.token,
        kind=key.kind,
        label=info.label,
        attempts=attempts,
        learners=data.learners(),
        items_per_attempt=k,
        distinct_items=len(items),
        mean=mean,
        sd=sd,
        kr20=reliability,
        sem=sem(sd, reliability),
        approximate=len(items) != k,
        selection=selection,
        cut_share=info.cut_share,
        cut_score=cut,
        pass_rate=sum(c for s, c in distribution.items() if s >= cut) / attempts if cut is not None else None,
        sem_at_cut=lord_csem(k, cut) if cut is not None else None,
        consistency=agreement[0] if agreement else None,
        kappa=agreement[1] if agreement else None,
    )
    return stats, sum_pq


# --- Items ---------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Sums over the learners shown an item on a form (x = item score, y = rest score)."""

    n: int = 0
    x: int = 0
    y: int = 0
    yy: int = 0
    xy: int = 0
    tt: int = 0  # sum of squared totals (for KR-20 if deleted)
    by_category: dict[int, list] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # [count, sum y]
    group_n: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # upper, middle, lower
    group_x: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    group_category: dict[int, list] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0.0, 0.0]))


def _tally(cells: dict[tuple[int, int], list[int]], weights: dict[int, tuple]) -> _Tally:
    tally = _Tally()
    for (total, category), (count, correct, _first) in cells.items():
        x = 1 if correct else 0  # every response in a cell chose the same option
        y = total - x
        tally.n += count
        tally.x += count * x
        tally.y += count * y
        tally.yy += count * y * y
        tally.xy += count * x * y
        tally.tt += count * total * total
        tally.by_category[category][0] += count
        tally.by_category[category][1] += count * y
        for group, weight in enumerate(weights.get(total, (0.0, 0.0, 0.0))):
            tally.group_n[group] += count * weight
            tally.group_x[group] += count * weight * x
            tally.group_category[category][group] += count * weight
    return tally


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole > 1e-12 else None


def _option_row(tally: _Tally, index: int, text: str, correct: bool, enough: bool) -> OptionStats:
    count, sum_y = tally.by_category.get(index, (0, 0))
    groups = tally.group_category.get(index, (0.0, 0.0, 0.0))
    share = _share(count, tally.n)
    return OptionStats(
        index=index,
        text=text,
        correct=correct,
        count=count,
        share=share,
        # x = chose this option (0/1): sum(x) = sum(x^2) = count; sum(xy) = rest scores of those who chose it.
        r_pb=pearson(tally.n, count, count, tally.y, tally.yy, sum_y),
        upper=_share(groups[0], tally.group_n[0]),
        middle=_share(groups[1], tally.group_n[1]),
        lower=_share(groups[2], tally.group_n[2]),
        non_functional=enough and index >= 0 and not correct and share < RULES.non_functional_share,
    )


def _kr20_if_deleted(tally: _Tally, form: FormStats, distribution: dict[int, int], sum_pq: float) -> float | None:
    """KR-20 of the form's attempts scored without this item (only the attempts that saw it change)."""
    attempts = form.attempts
    total = sum(score * count for score, count in distribution.items())
    total_sq = sum(score * score * count for score, count in distribution.items())
    mean = (total - tally.x) / attempts
    sum_sq = total_sq - tally.tt + tally.yy  # unseen attempts keep t^2, the others become (t - x)^2
    variance = max(0.0, sum_sq / attempts - mean * mean)
    p = tally.x / tally.n
    weight = tally.n / attempts
    return kr20(form.items_per_attempt - weight, sum_pq - weight * p * (1 - p), variance)


def _empty_item(version: _Version, form: str | None = None, form_label: str = "") -> ItemStats:
    options = [OptionStats(i, o["text"], bool(o.get("correct")), 0, None, None) for i, o in enumerate(version.options)]
    return ItemStats(
        version_id=version.id,
        stable_id=version.stable_id,
        number=version.number,
        domain=version.domain,
        difficulty=version.difficulty,
        stem=version.stem,
        n=0,
        correct=0,
        r_pb=None,
        options=options,
        form=form,
        form_label=form_label,
    )


@dataclass(frozen=True)
class _ItemContext:
    """The form an item is analysed on: its statistics, score distribution, groups and sum pq."""

    form: FormStats
    distribution: dict[int, int]
    sum_pq: float
    weights: dict[int, tuple] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", group_weights(self.distribution))


def _build_item(
    version: _Version, cells: dict[tuple[int, int], list[int]], context: _ItemContext, rasch: RaschItem | None
) -> ItemStats:
    form = context.form
    tally = _tally(cells, context.weights)
    if not tally.n:
        return _empty_item(version, form.token, form.label)
    enough = tally.n >= RULES.min_responses
    options = [_option_row(tally, i, o["text"], bool(o.get("correct")), enough) for i, o in enumerate(version.options)]
    blanks = [_option_row(tally, OMITTED, "", False, enough), _option_row(tally, NOT_REACHED, "", False, enough)]
    p_upper = _share(tally.group_x[0], tally.group_n[0])
    p_lower = _share(tally.group_x[2], tally.group_n[2])
    return ItemStats(
        version_id=version.id,
        stable_id=version.stable_id,
        number=version.number,
        domain=version.domain,
        difficulty=version.difficulty,
        stem=version.stem,
        n=tally.n,
        correct=tally.x,
        r_pb=pearson(tally.n, tally.x, tally.x, tally.y, tally.yy, tally.xy),  # x is 0/1: sum(x^2) = sum(x)
        options=options,
        omitted=blanks[0].count,
        not_reached=blanks[1].count,
        blanks=blanks,
        form=form.token,
        form_label=form.label,
        d=p_upper - p_lower if p_upper is not None and p_lower is not None else None,
        p_upper=p_upper,
        p_lower=p_lower,
        kr20_if_deleted=_kr20_if_deleted(tally, form, context.distribution, context.sum_pq),
        rasch=rasch,
    )


def _item_order(item: ItemStats) -> tuple:
    return (item.domain, item.stable_id, item.number)


def _form_order(form: FormStats) -> tuple:
    key = FormKey.parse(form.token)
    return (KIND_ORDER.index(form.kind), form.label.split(",")[0], -(key.length if key else 0), form.token)


# --- The analysis --------------------------------------------------------------------------------------


@dataclass
class _Analysis:
    forms: dict[str, FormStats]
    reports: dict[str, list[ItemStats]]
    selected: str | None = None


def _analyse(
    bank: Bank,
    filters: StatsFilter,
    *,
    detail: str,
    version_id: int | None = None,
    form: str | None = None,
    rasch: bool = True,
) -> _Analysis:
    """Form statistics for every form in scope, and item statistics as ``detail`` asks: "none", "all"
    (every form's items), "form" (the items of ``form``, else of the form with most attempts) or
    "version" (``version_id`` on every form that showed it). A constant number of queries."""
    chosen = _chosen_attempts(bank.id, filters)
    data = _form_data(chosen)
    tracks, sets = _form_infos(bank)
    forms: dict[str, FormStats] = {}
    sums_pq: dict[str, float] = {}
    for token, entry in data.items():
        key = FormKey.parse(token)
        forms[token], sums_pq[token] = _build_form(key, _form_info(key, tracks, sets), entry, filters.attempts)
    selected = None
    if detail == "form":
        selected = form if form in forms else getattr(_default_form(list(forms.values())), "token", None)
    detailed = {
        "all": list(forms),
        "form": [selected] if selected else [],
        "version": [token for token in forms if version_id in data[token].cells],
    }.get(detail, [])
    if not detailed:
        return _Analysis(forms, {}, selected)
    strides = {token: math.ceil(forms[token].attempts / RULES.rasch_max_attempts) for token in detailed}
    responses = _responses(chosen, strides) if rasch else {}
    wanted = {v for token in detailed for v in data[token].cells}  # all of them: Rasch priors
    versions = _versions(wanted if rasch or detail != "version" else {version_id})
    reports: dict[str, list[ItemStats]] = {}
    for token in detailed:
        cells = data[token].cells
        context = _ItemContext(forms[token], data[token].distribution(), sums_pq[token])
        fit = {}
        if responses.get(token):
            fit = rasch_fit(responses[token], {v: versions[v].difficulty if v in versions else "medium" for v in cells})
        shown = [version_id] if detail == "version" else list(cells)
        items = [_build_item(versions[v], cells[v], context, fit.get(v)) for v in shown if v in versions]
        reports[token] = sorted(items, key=_item_order)
    return _Analysis(forms, reports, selected)


def _sorted_forms(forms: dict[str, FormStats]) -> list[FormStats]:
    return sorted(forms.values(), key=_form_order)


def _default_form(forms: list[FormStats]) -> FormStats | None:
    """The form with the most attempts (mock exams first on a tie)."""
    if not forms:
        return None
    return max(forms, key=lambda f: (f.attempts, -KIND_ORDER.index(f.kind), f.token))


def _without_form(filters: StatsFilter) -> StatsFilter:
    return StatsFilter(filters.mode, filters.since, filters.until, filters.attempts)


def bank_overview(bank: Bank, filters: StatsFilter | None = None) -> BankOverview:
    """Every form in scope, and the items of one form (``filters.form``, else the form with most
    attempts) with Rasch; for a track's mock exam also the latest release's versions it never showed."""
    filters = filters or StatsFilter()
    analysis = _analyse(bank, _without_form(filters), detail="form", form=filters.form)
    forms = _sorted_forms(analysis.forms)
    latest_ids = _latest_ids(bank)
    if analysis.selected is None:
        return BankOverview(forms, None, [], latest_ids)
    selected = analysis.forms[analysis.selected]
    items = analysis.reports.get(selected.token, [])
    unseen: list[ItemStats] = []
    if selected.kind == "exam":
        seen = {item.version_id for item in items}
        pool = _versions(latest_ids - seen)
        unseen = sorted((_empty_item(v, selected.token, selected.label) for v in pool.values()), key=_item_order)
    return BankOverview(forms, FormReport(selected, items), unseen, latest_ids)


def _latest_ids(bank: Bank) -> set[int]:
    """Ids of the versions in the bank's latest release (one query; none without a release)."""
    latest = bank.releases[-1] if bank.releases else None
    if latest is None:
        return set()
    return set(db.session.scalars(select(ReleaseItem.question_version_id).where(ReleaseItem.release_id == latest.id)))


def form_stats(bank: Bank, filters: StatsFilter | None = None) -> list[FormStats]:
    """Scores, KR-20, SEM, SEM at the cut and classification consistency per form in scope."""
    return _sorted_forms(_analyse(bank, filters or StatsFilter(), detail="none").forms)


def form_reports(bank: Bank, filters: StatsFilter | None = None, *, rasch: bool = True) -> list[FormReport]:
    """Every form in scope with the statistics of all its items."""
    analysis = _analyse(bank, filters or StatsFilter(), detail="all", rasch=rasch)
    return [FormReport(form, analysis.reports.get(form.token, [])) for form in _sorted_forms(analysis.forms)]


def _items_with_unseen(reports: list[FormReport], versions: dict[int, _Version], wanted: set[int]) -> list[ItemStats]:
    items = [item for report in reports for item in report.items if item.version_id in wanted]
    seen = {item.version_id for item in items}
    unseen = [_empty_item(v) for v in versions.values() if v.id not in seen]
    return items + sorted(unseen, key=_item_order)


def release_item_stats(
    release: BankRelease, filters: StatsFilter | None = None, *, rasch: bool = True
) -> list[ItemStats]:
    """Statistics of the release's versions: one entry per form a version appeared on (forms in order),
    then the release's versions seen on no form (``form`` None, no responses)."""
    reports = form_reports(release.bank, filters, rasch=rasch)
    versions = _versions(select(ReleaseItem.question_version_id).where(ReleaseItem.release_id == release.id))
    return _items_with_unseen(reports, versions, set(versions))


def bank_item_stats(bank: Bank, filters: StatsFilter | None = None, *, rasch: bool = True) -> list[ItemStats]:
    """Like ``release_item_stats`` for every version of every question of the bank, old versions included."""
    reports = form_reports(bank, filters, rasch=rasch)
    versions = _versions(select(QuestionVersion.id).join(Question).where(Question.bank_id == bank.id))
    return _items_with_unseen(reports, versions, set(versions))


def version_item_stats(version: QuestionVersion, filters: StatsFilter | None = None) -> list[FormReport]:
    """One version's statistics on every form it appeared on (each report holds that one item)."""
    filters = filters or StatsFilter()
    analysis = _analyse(version.question.bank, filters, detail="version", version_id=version.id)
    reports = []
    for form in _sorted_forms(analysis.forms):
        items = [item for item in analysis.reports.get(form.token, []) if item.version_id == version.id]
        if items:
            reports.append(FormReport(form, items))
    return reports


def sort_items(items: list[ItemStats], key: str | None, descending: bool = False) -> list[ItemStats]:
    """Items sorted by one of SORT_KEYS (unknown keys keep the given order); missing values go last."""
    getters = {
        "question": lambda i: (i.stable_id, i.number),
        "version": lambda i: (i.number, i.stable_id),
        "domain": lambda i: (i.domain, i.stable_id),
        "n": lambda i: i.n,
        "omitted": lambda i: i.omitted + i.not_reached if i.n else None,
        "p": lambda i: i.p,
        "r_pb": lambda i: i.r_pb,
        "d": lambda i: i.d,
        "rasch": lambda i: i.rasch.b if i.rasch else None,
        "infit": lambda i: i.rasch.infit if i.rasch else None,
        "outfit": lambda i: i.rasch.outfit if i.rasch else None,
        "flags": lambda i: len(i.flags),
    }
    getter = getters.get(key or "")
    if getter is None:
        return list(items)
    present = [item for item in items if getter(item) is not None]
    missing = [item for item in items if getter(item) is None]
    return sorted(present, key=getter, reverse=descending) + missing


# --- CSV -----------------------------------------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Column meanings (also listed on the pages, under "How these numbers are computed").
CSV_COLUMNS = {
    "form": "the form's name (empty: a version no form in scope has shown)",
    "form_id": "the form's token: kind:reference:length",
    "form_attempts": "attempts analysed on the form (one per learner unless every attempt is chosen)",
    "attempts_per_learner": "first, last or all",
    "question_id": "stable question id",
    "version": "version number",
    "version_id": "database id of the version",
    "in_latest_release": "yes/no",
    "domain": "domain name",
    "difficulty": "the author's label",
    "n_responses": "attempts that showed the item on the form (answered or blank)",
    "n_answered": "of them, answered",
    "omitted": "blank, with a later question answered",
    "not_reached": "blank, after the last answered question",
    "p_value": "correct / n_responses (blanks wrong)",
    "r_pb_corrected": "item score vs rest score",
    "d_index": "p(upper 27%) - p(lower 27%)",
    "p_upper": "p in the upper 27% group",
    "p_lower": "p in the lower 27% group",
    "kr20_if_deleted": "the form's KR-20 without this item",
    "rasch_b": "Rasch difficulty (logits, label priors)",
    "rasch_se": "its standard error",
    "infit_ms": "Rasch infit mean-square",
    "outfit_ms": "Rasch outfit mean-square",
    "key": "the key's letter",
    "share_<letter>": "share of n_responses choosing the option",
    "r_pb_<letter>": "the option's corrected point-biserial",
    "share_omitted": "share of n_responses omitting",
    "share_not_reached": "share of n_responses not reaching",
    "nonfunctional_distractors": "letters of distractors chosen by < 5% (from 30 responses)",
    "nonfunctional_count": "how many",
    "check_key_options": "distractors with r_pb > 0 and above the key's",
    "flags": "flags, most serious first",
    "stem": "the question's stem",
}


def csv_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _number(value: float | None) -> float | str:
    """A figure rounded to 4 decimals, written as a number (never through the formula guard); "" if missing."""
    return "" if value is None else round(value, 4)


def csv_header(max_options: int) -> list[str]:
    """Column names: one row per question version per form, options by original letter."""
    shares = [f"share_{letter(i)}" for i in range(max_options)]
    option_r = [f"r_pb_{letter(i)}" for i in range(max_options)]
    fixed = list(CSV_COLUMNS)
    start = fixed.index("share_<letter>")
    return [*fixed[:start], *shares, *option_r, *fixed[start + 2 :]]


def _csv_row(item: ItemStats, context: dict, max_options: int) -> list:
    pad = [""] * (max_options - len(item.options))
    shares = [_number(o.share) for o in item.options] + pad
    option_r = [_number(o.r_pb) for o in item.options] + pad
    form = context["forms"].get(item.form)
    blanks = {b.index: b for b in item.blanks}
    rasch = item.rasch
    return [
        item.form_label,
        item.form or "",
        form.attempts if form else "",
        context["selection"],
        item.stable_id,
        item.number,
        item.version_id,
        "yes" if item.version_id in context["latest"] else "no",
        context["domains"].get(item.domain, item.domain),
        item.difficulty,
        item.n,
        item.answered,
        item.omitted,
        item.not_reached,
        _number(item.p),
        _number(item.r_pb),
        _number(item.d),
        _number(item.p_upper),
        _number(item.p_lower),
        _number(item.kr20_if_deleted),
        _number(rasch.b if rasch else None),
        _number(rasch.se if rasch else None),
        _number(rasch.infit if rasch else None),
        _number(rasch.outfit if rasch else None),
        item.key,
        *shares,
        *option_r,
        _number(blanks[OMITTED].share) if OMITTED in blanks else "",
        _number(blanks[NOT_REACHED].share) if NOT_REACHED in blanks else "",
        " ".join(o.letter for o in item.non_functional),
        len(item.non_functional) if item.enough else "",
        " ".join(o.letter for o in item.check_key_options) if item.enough else "",
        "; ".join(item.flags),
        item.stem,
    ]


def items_csv(items: Iterable[ItemStats], context: dict) -> str:
    """CSV text: a header row naming the columns, then one row per item and form, guarded against formulas."""
    items = list(items)
    max_options = max((len(item.options) for item in items), default=0)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_header(max_options))
    for item in items:
        writer.writerow([csv_safe(cell) for cell in _csv_row(item, context, max_options)])
    return out.getvalue()


def bank_csv(bank: Bank, filters: StatsFilter | None = None) -> str:
    """The bank's item statistics (every version, on every form in scope) as CSV text."""
    filters = filters or StatsFilter()
    latest = bank.releases[-1] if bank.releases else None
    latest_ids = _latest_ids(bank)
    reports = form_reports(bank, filters)
    versions = _versions(select(QuestionVersion.id).join(Question).where(Question.bank_id == bank.id))
    context = {
        "forms": {report.form.token: report.form for report in reports},
        "selection": filters.attempts,
        "latest": latest_ids,
        "domains": latest.domains if latest is not None else {},
    }
    return items_csv(_items_with_unseen(reports, versions, set(versions)), context)
