"""Item analysis (classical test theory) for trainers: item difficulty, discrimination, distractors, KR-20.

What is counted
- Statistics belong to one QuestionVersion. Versions are immutable, so an edited question (a new
  version) starts with no statistics of its own and never mixes answers given to different wording.
- Item statistics use the answered responses (``chosen_option`` not null) of submitted attempts of
  the bank's releases; an unchanged version shared by several releases pools their responses.
- Mode: by default only mock exams (``mode="exam"``). Discrimination needs a total score that tracks
  ability; practice and review attempts are short, narrowed to one domain or topic, give feedback
  after every answer and may stop early, so their totals say little. Pass ``mode=None`` to pool every
  mode, or ``"practice"`` / ``"review"`` to look at one of them.
- Date range: on ``Attempt.submitted_at`` (UTC dates), both ends inclusive.

The statistics
- n: answered responses; p: share of them answered correctly (flag below 0.30 or above 0.90).
- Corrected point-biserial r_pb: Pearson correlation of the item score x (0/1) with the rest score
  y = correct answers in the attempt minus x (unanswered items score 0). Flag below 0.20, and
  "check key" when negative. Undefined (None) when x or y does not vary.
- Options, by their original index in the version's content: count, share of respondents, and the
  option's point-biserial (chose it or not, against the same rest score). A distractor chosen by
  fewer than 5% of respondents is non-functional.
- Caution when n < 100: the figures are too noisy to act on alone.

Forms (KR-20)
- A form is a group of attempts that shared their questions: the attempts of one QuestionSet, or
  else the mock-exam attempts of one track in one release (random forms drawn to the blueprint).
  The mode filter does not apply to forms (the form says which attempts belong to it); dates do.
- Score = number correct, unanswered items counting as incorrect; sigma^2 is the population variance
  of the scores; KR-20 = k/(k-1) * (1 - sum(pq)/sigma^2); SEM = SD * sqrt(1 - KR-20).
- When attempts saw different items (random forms), p and q of each item come from the attempts that
  saw it, sum(pq) is the mean over attempts of the sum over the items each one saw
  (sum_i n_i/A * p_i * q_i), and k is the mean number of items per attempt. For a fixed form this is
  exactly KR-20; otherwise it is an approximation and is marked ``approximate``.
- Caution below 100 attempts.

Every figure comes from GROUP BY aggregates in the database (counts, sums, sums of products); Python
only combines the aggregated rows, so the number of queries never depends on responses or items.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from app.extensions import db
from app.models import Attempt, Bank, BankRelease, Question, QuestionSet, QuestionVersion, ReleaseItem, Response, User

TOO_HARD = 0.30
TOO_EASY = 0.90
LOW_DISCRIMINATION = 0.20
NON_FUNCTIONAL_SHARE = 0.05
CAUTION_COUNT = 100
# Observed difficulty beside the author's label: shown from this many responses on; bands of p.
EMPIRICAL_MIN_RESPONSES = 30
EMPIRICAL_BANDS = ((0.80, "easy"), (0.50, "medium"), (0.0, "hard"))
MODES = ("exam", "practice", "review")

FLAG_NO_RESPONSES = "no responses"
FLAG_TOO_HARD = "too hard"
FLAG_TOO_EASY = "too easy"
FLAG_LOW_DISCRIMINATION = "low discrimination"
FLAG_CHECK_KEY = "check key"
FLAG_NON_FUNCTIONAL = "non-functional distractor"
FLAG_FEW_RESPONSES = "few responses"

SORT_KEYS = ("question", "version", "domain", "n", "p", "r_pb", "flags")


@dataclass(frozen=True)
class StatsFilter:
    """Which attempts count: one mode (None = every mode) and an inclusive range of submission dates."""

    mode: str | None = "exam"
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class OptionStats:
    """One option of a version, by its original index in the version's content."""

    index: int
    text: str
    correct: bool
    count: int
    share: float | None  # of the item's respondents; None when nobody answered
    r_pb: float | None

    @property
    def letter(self) -> str:
        return letter(self.index)

    @property
    def non_functional(self) -> bool:
        return not self.correct and self.share is not None and self.share < NON_FUNCTIONAL_SHARE


@dataclass(frozen=True)
class ItemStats:
    """Classical item statistics of one question version."""

    version_id: int
    stable_id: str
    number: int
    domain: str
    difficulty: str
    stem: str
    n: int
    correct: int
    r_pb: float | None
    options: list[OptionStats]

    @property
    def p(self) -> float | None:
        return self.correct / self.n if self.n else None

    @property
    def caution(self) -> bool:
        return self.n < CAUTION_COUNT

    @property
    def key(self) -> str:
        return "".join(option.letter for option in self.options if option.correct)

    @property
    def non_functional(self) -> list[OptionStats]:
        return [option for option in self.options if option.non_functional]

    @property
    def observed_difficulty(self) -> str | None:
        """easy (p ≥ .80), medium (p ≥ .50) or hard, once there are enough responses; else None."""
        if self.n < EMPIRICAL_MIN_RESPONSES:
            return None
        return next(label for floor, label in EMPIRICAL_BANDS if self.p >= floor)

    @property
    def flags(self) -> list[str]:
        """Everything a trainer should look at, most serious first."""
        if not self.n:
            return [FLAG_NO_RESPONSES]
        flags = []
        if self.r_pb is not None and self.r_pb < 0:
            flags.append(FLAG_CHECK_KEY)
        if self.r_pb is not None and self.r_pb < LOW_DISCRIMINATION:
            flags.append(FLAG_LOW_DISCRIMINATION)
        if self.p < TOO_HARD:
            flags.append(FLAG_TOO_HARD)
        if self.p > TOO_EASY:
            flags.append(FLAG_TOO_EASY)
        if self.non_functional:
            flags.append(FLAG_NON_FUNCTIONAL)
        if self.caution:
            flags.append(FLAG_FEW_RESPONSES)
        return flags


@dataclass(frozen=True)
class FormStats:
    """Reliability of one form: a question set, or a track's mock exams in one release."""

    label: str
    attempts: int
    items_per_attempt: float  # k (a mean when attempts saw different numbers of items)
    distinct_items: int
    mean: float
    sd: float
    kr20: float | None
    sem: float | None
    approximate: bool  # attempts saw different items: KR-20 over random forms

    @property
    def caution(self) -> bool:
        return self.attempts < CAUTION_COUNT


# --- Pure math -------------------------------------------------------------------------------------------


def letter(index: int) -> str:
    """Option letter for an original option index: 0 -> A."""
    return chr(ord("A") + index)


def pearson(n: int, sum_x: int, sum_xx: int, sum_y: int, sum_yy: int, sum_xy: int) -> float | None:
    """Pearson correlation from sums; None when either variable is constant (or n < 2)."""
    spread_x = n * sum_xx - sum_x * sum_x
    spread_y = n * sum_yy - sum_y * sum_y
    if n < 2 or spread_x <= 0 or spread_y <= 0:
        return None
    return (n * sum_xy - sum_x * sum_y) / math.sqrt(spread_x * spread_y)


def kr20(k: float, sum_pq: float, variance: float) -> float | None:
    """KR-20 = k/(k-1) * (1 - sum(pq)/variance); None for fewer than two items or constant scores."""
    if k < 2 or variance <= 0:
        return None
    return k / (k - 1) * (1 - sum_pq / variance)


def sem(sd: float, reliability: float | None) -> float | None:
    """Standard error of measurement SD * sqrt(1 - reliability)."""
    if reliability is None:
        return None
    return sd * math.sqrt(max(0.0, 1 - reliability))


# --- Access ----------------------------------------------------------------------------------------------


def can_view(user: User, bank: Bank) -> bool:
    """Site admins, and trainers of the organization that owns the bank, may see its statistics."""
    if user.is_admin:
        return True
    if bank.organization_id is None:
        return False
    return any(m.role == "trainer" and m.organization_id == bank.organization_id for m in user.memberships)


def get_version(version_id: int) -> QuestionVersion | None:
    """A question version with its question and bank loaded (for the access check and the heading)."""
    return db.session.get(
        QuestionVersion, version_id, options=[joinedload(QuestionVersion.question).joinedload(Question.bank)]
    )


# --- Item statistics -------------------------------------------------------------------------------------


def _score():
    """1 for a correct response, else 0 (unanswered responses have correct = NULL)."""
    return case((Response.correct.is_(True), 1), else_=0)


def _attempt_conditions(bank_id: int, filters: StatsFilter) -> list:
    """Submitted attempts on a release of this bank, narrowed by submission date."""
    conditions = [
        Attempt.submitted_at.is_not(None),
        Attempt.release_id.in_(select(BankRelease.id).where(BankRelease.bank_id == bank_id)),
    ]
    if filters.since is not None:
        conditions.append(Attempt.submitted_at >= datetime.combine(filters.since, time.min))
    if filters.until is not None:
        conditions.append(Attempt.submitted_at < datetime.combine(filters.until + timedelta(days=1), time.min))
    return conditions


def _attempt_totals(bank_id: int, filters: StatsFilter, only_with: Select | None):
    """Subquery (attempt_id, total correct) over the attempts that count; ``only_with`` narrows to
    attempts containing those version ids (for a single version's page)."""
    conditions = _attempt_conditions(bank_id, filters)
    if filters.mode is not None:
        conditions.append(Attempt.mode == filters.mode)
    if only_with is not None:
        seen = aliased(Response)
        conditions.append(
            Response.attempt_id.in_(select(seen.attempt_id).where(seen.question_version_id.in_(only_with)))
        )
    return (
        select(Response.attempt_id.label("attempt_id"), func.sum(_score()).label("total"))
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(*conditions)
        .group_by(Response.attempt_id)
        .subquery()
    )


@dataclass
class _Sums:
    """Sums over respondents: x = item score (or chose the option), y = rest score."""

    n: int = 0
    x: int = 0
    y: int = 0
    xy: int = 0
    yy: int = 0

    def add(self, other: _Sums) -> None:
        self.n += other.n
        self.x += other.x
        self.y += other.y
        self.xy += other.xy
        self.yy += other.yy


def _option_sums(bank_id: int, version_ids: Select, filters: StatsFilter, narrow: bool) -> dict[int, dict[int, _Sums]]:
    """{version id: {chosen option: sums}} in one grouped query."""
    totals = _attempt_totals(bank_id, filters, version_ids if narrow else None)
    x = _score()
    rest = totals.c.total - x
    rows = db.session.execute(
        select(
            Response.question_version_id,
            Response.chosen_option,
            func.count(),
            func.sum(x),
            func.sum(rest),
            func.sum(x * rest),
            func.sum(rest * rest),
        )
        .join(totals, totals.c.attempt_id == Response.attempt_id)
        .where(Response.chosen_option.is_not(None), Response.question_version_id.in_(version_ids))
        .group_by(Response.question_version_id, Response.chosen_option)
    )
    sums: dict[int, dict[int, _Sums]] = defaultdict(dict)
    for version_id, option, n, x_sum, y_sum, xy_sum, yy_sum in rows:
        sums[version_id][option] = _Sums(int(n), int(x_sum), int(y_sum), int(xy_sum), int(yy_sum))
    return sums


def _option_stats(options: list[dict], by_option: dict[int, _Sums], item: _Sums) -> list[OptionStats]:
    result = []
    for index, option in enumerate(options):
        chose = by_option.get(index, _Sums())
        # x = chose this option (0/1): sum(x) = sum(x^2) = count; sum(xy) = rest scores of those who chose it.
        r_pb = pearson(item.n, chose.n, chose.n, item.y, item.yy, chose.y)
        share = chose.n / item.n if item.n else None
        result.append(OptionStats(index, option["text"], bool(option.get("correct")), chose.n, share, r_pb))
    return result


def _item_stats(version: QuestionVersion, stable_id: str, by_option: dict[int, _Sums]) -> ItemStats:
    item = _Sums()
    for sums in by_option.values():
        item.add(sums)
    return ItemStats(
        version_id=version.id,
        stable_id=stable_id,
        number=version.number,
        domain=version.domain,
        difficulty=version.difficulty,
        stem=version.content.get("stem", ""),
        n=item.n,
        correct=item.x,
        r_pb=pearson(item.n, item.x, item.x, item.y, item.yy, item.xy),  # x is 0/1, so sum(x^2) = sum(x)
        options=_option_stats(version.options, by_option, item),
    )


def _stats_for(bank_id: int, version_ids: Select, filters: StatsFilter, narrow: bool = False) -> list[ItemStats]:
    """Item statistics of the versions selected by ``version_ids``, by domain then stable id: two queries."""
    versions = db.session.execute(
        select(QuestionVersion, Question.stable_id)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.id.in_(version_ids))
        .order_by(QuestionVersion.domain, Question.stable_id, QuestionVersion.number)
    ).all()
    sums = _option_sums(bank_id, version_ids, filters, narrow)
    return [_item_stats(version, stable_id, sums.get(version.id, {})) for version, stable_id in versions]


def release_item_stats(release: BankRelease, filters: StatsFilter | None = None) -> list[ItemStats]:
    """Statistics of every question version in a release (answers from any release of its bank count)."""
    version_ids = select(ReleaseItem.question_version_id).where(ReleaseItem.release_id == release.id)
    return _stats_for(release.bank_id, version_ids, filters or StatsFilter())


def bank_item_stats(bank: Bank, filters: StatsFilter | None = None) -> list[ItemStats]:
    """Statistics of every version of every question of a bank, old versions included."""
    version_ids = select(QuestionVersion.id).join(Question).where(Question.bank_id == bank.id)
    return _stats_for(bank.id, version_ids, filters or StatsFilter())


def version_item_stats(version: QuestionVersion, filters: StatsFilter | None = None) -> ItemStats:
    """Statistics of one question version, with its options."""
    version_ids = select(QuestionVersion.id).where(QuestionVersion.id == version.id)
    (stats,) = _stats_for(version.question.bank_id, version_ids, filters or StatsFilter(), narrow=True)
    return stats


def sort_items(items: list[ItemStats], key: str | None, descending: bool = False) -> list[ItemStats]:
    """Items sorted by one of SORT_KEYS (unknown keys keep the given order); missing values go last."""
    getters = {
        "question": lambda i: (i.stable_id, i.number),
        "version": lambda i: (i.number, i.stable_id),
        "domain": lambda i: (i.domain, i.stable_id),
        "n": lambda i: i.n,
        "p": lambda i: i.p,
        "r_pb": lambda i: i.r_pb,
        "flags": lambda i: len(i.flags),
    }
    getter = getters.get(key or "")
    if getter is None:
        return list(items)
    present = [item for item in items if getter(item) is not None]
    missing = [item for item in items if getter(item) is None]
    return sorted(present, key=getter, reverse=descending) + missing


# --- Forms: KR-20 and SEM --------------------------------------------------------------------------------


@dataclass
class _FormSums:
    attempts: int = 0
    total: int = 0
    total_sq: int = 0
    items: int = 0
    min_items: int | None = None
    max_items: int | None = None
    per_item: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # [seen, correct]

    def add_attempts(self, count: int, total: int, total_sq: int, items: int, least: int, most: int) -> None:
        self.attempts += count
        self.total += total
        self.total_sq += total_sq
        self.items += items
        self.min_items = least if self.min_items is None else min(self.min_items, least)
        self.max_items = most if self.max_items is None else max(self.max_items, most)


def _form_conditions(bank_id: int, filters: StatsFilter) -> list:
    is_form = or_(Attempt.question_set_id.is_not(None), and_(Attempt.mode == "exam", Attempt.track.is_not(None)))
    return [*_attempt_conditions(bank_id, filters), is_form]


def _form_key(set_id: int | None, release_id: int, track: str | None) -> tuple:
    return ("set", set_id) if set_id is not None else ("exam", release_id, track)


def _form_attempt_rows(bank_id: int, filters: StatsFilter):
    """Per (set, release, track): attempts, sum and sum of squares of scores, items seen."""
    per_attempt = (
        select(
            Attempt.question_set_id.label("set_id"),
            Attempt.release_id.label("release_id"),
            Attempt.track.label("track"),
            func.sum(_score()).label("score"),
            func.count().label("item_count"),
        )
        .join(Response, Response.attempt_id == Attempt.id)
        .where(*_form_conditions(bank_id, filters))
        .group_by(Attempt.id)
        .subquery()
    )
    keys = (per_attempt.c.set_id, per_attempt.c.release_id, per_attempt.c.track)
    return db.session.execute(
        select(
            *keys,
            func.count(),
            func.sum(per_attempt.c.score),
            func.sum(per_attempt.c.score * per_attempt.c.score),
            func.sum(per_attempt.c.item_count),
            func.min(per_attempt.c.item_count),
            func.max(per_attempt.c.item_count),
        ).group_by(*keys)
    )


def _form_item_rows(bank_id: int, filters: StatsFilter):
    """Per (set, release, track, version): attempts that saw the item and how many got it right."""
    keys = (Attempt.question_set_id, Attempt.release_id, Attempt.track)
    return db.session.execute(
        select(*keys, Response.question_version_id, func.count(), func.sum(_score()))
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(*_form_conditions(bank_id, filters))
        .group_by(*keys, Response.question_version_id)
    )


def _collect_forms(bank_id: int, filters: StatsFilter) -> dict[tuple, _FormSums]:
    forms: dict[tuple, _FormSums] = defaultdict(_FormSums)
    for set_id, release_id, track, count, total, total_sq, items, least, most in _form_attempt_rows(bank_id, filters):
        forms[_form_key(set_id, release_id, track)].add_attempts(
            int(count), int(total), int(total_sq), int(items), int(least), int(most)
        )
    for set_id, release_id, track, version_id, seen, correct in _form_item_rows(bank_id, filters):
        tally = forms[_form_key(set_id, release_id, track)].per_item[version_id]
        tally[0] += int(seen)
        tally[1] += int(correct)
    return forms


def _form_stats(label: str, sums: _FormSums) -> FormStats:
    attempts = sums.attempts
    mean = sums.total / attempts
    variance = max(0.0, (attempts * sums.total_sq - sums.total * sums.total) / attempts**2)
    # Mean over attempts of the sum of pq over the items each attempt saw (exact for a fixed form).
    sum_pq = sum(seen / attempts * (correct / seen) * (1 - correct / seen) for seen, correct in sums.per_item.values())
    k = sums.items / attempts
    reliability = kr20(k, sum_pq, variance)
    sd = math.sqrt(variance)
    return FormStats(
        label=label,
        attempts=attempts,
        items_per_attempt=k,
        distinct_items=len(sums.per_item),
        mean=mean,
        sd=sd,
        kr20=reliability,
        sem=sem(sd, reliability),
        approximate=len(sums.per_item) != sums.max_items or sums.min_items != sums.max_items,
    )


def _form_labels(bank: Bank) -> dict[tuple, str]:
    labels: dict[tuple, str] = {}
    for release in bank.releases:
        for track in release.tracks:
            labels[("exam", release.id, track["id"])] = f"{track['title']}: mock exams, release {release.version}"
    sets = db.session.execute(select(QuestionSet.id, QuestionSet.title).where(QuestionSet.bank_id == bank.id))
    labels.update({("set", set_id): f"Question set: {title}" for set_id, title in sets})
    return labels


def form_stats(bank: Bank, filters: StatsFilter | None = None) -> list[FormStats]:
    """KR-20, SEM, mean and SD of scores per form of a bank (mock-exam tracks per release, question sets)."""
    forms = _collect_forms(bank.id, filters or StatsFilter())
    labels = _form_labels(bank)
    stats = [_form_stats(labels.get(key, _fallback_label(key)), sums) for key, sums in forms.items() if sums.attempts]
    return sorted(stats, key=lambda form: form.label)


def _fallback_label(key: tuple) -> str:
    return f"Question set #{key[1]}" if key[0] == "set" else f"Mock exams on track {key[2]} (release #{key[1]})"


# --- CSV -------------------------------------------------------------------------------------------------

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _number(value: float | None) -> float | str:
    """A figure rounded to 4 decimals, written as a number (never through the formula guard); "" if missing."""
    return "" if value is None else round(value, 4)


def csv_header(max_options: int) -> list[str]:
    """Column names: one row per question version, options by original letter."""
    shares = [f"share_{letter(i)}" for i in range(max_options)]
    return [
        "question_id",
        "version",
        "version_id",
        "in_latest_release",
        "domain",
        "difficulty",
        "n_responses",
        "p_value",
        "r_pb_corrected",
        "key",
        *shares,
        "nonfunctional_distractors",
        "flags",
        "stem",
    ]


def _csv_row(item: ItemStats, domains: dict[str, str], latest: set[int], max_options: int) -> list:
    shares = [_number(o.share) for o in item.options] + [""] * (max_options - len(item.options))
    return [
        item.stable_id,
        item.number,
        item.version_id,
        "yes" if item.version_id in latest else "no",
        domains.get(item.domain, item.domain),
        item.difficulty,
        item.n,
        _number(item.p),
        _number(item.r_pb),
        item.key,
        *shares,
        " ".join(o.letter for o in item.non_functional),
        "; ".join(item.flags),
        item.stem,
    ]


def items_csv(items: Iterable[ItemStats], domains: dict[str, str], latest_version_ids: set[int]) -> str:
    """CSV text: a header row naming the columns, then one row per version, guarded against formulas."""
    items = list(items)
    max_options = max((len(item.options) for item in items), default=0)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_header(max_options))
    for item in items:
        writer.writerow([csv_safe(cell) for cell in _csv_row(item, domains, latest_version_ids, max_options)])
    return out.getvalue()


def bank_csv(bank: Bank, filters: StatsFilter | None = None) -> str:
    """The bank's item statistics (every version) as CSV text."""
    latest = bank.releases[-1] if bank.releases else None
    latest_ids = set()
    if latest is not None:
        latest_ids = set(
            db.session.scalars(select(ReleaseItem.question_version_id).where(ReleaseItem.release_id == latest.id))
        )
    domains = latest.domains if latest is not None else {}
    return items_csv(bank_item_stats(bank, filters), domains, latest_ids)
