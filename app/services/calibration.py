"""Rasch calibration of a bank's items from everyone's independent (first-exposure) answers.

``calibrate_bank`` fits item difficulties and the population prior (``irt.calibrate``) and stores them as a
``BankCalibration``; ``flask stats calibrate`` runs it and every import runs it too. ``parameters`` gives
readiness what it needs: a difficulty for every question version (the calibrated one, or the author's
label while a version has no calibration yet), the population prior, and per release an exam model.
Calibrations are immutable rows, so the in-process cache is keyed by their ids and never goes stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select

from app.extensions import db
from app.models import Attempt, Bank, BankCalibration, BankRelease, QuestionVersion, ReleaseItem
from app.models.base import utcnow
from app.services import evidence, irt

# Below this many independent answers an item keeps (mostly) its label's prior; documented on the admin page.
MIN_RESPONSES_FOR_DATA = 30


@dataclass(frozen=True)
class ItemParameters:
    """Difficulties by question version id, and the population prior, of one calibration (or of labels only)."""

    calibration_id: int | None
    difficulties: dict[int, float]
    population: irt.Population
    created_at: datetime | None = None
    exam_models: dict = field(default_factory=dict, compare=False)

    def difficulty(self, version_id: int, label: str | None) -> float:
        return self.difficulties.get(version_id, irt.label_prior(label))

    def exam_model(self, release: BankRelease) -> irt.ExamModel:
        """Per domain, the share-correct curve of the release's items (cached per release)."""
        key = (release.id, release.created_at)  # ids alone can be reused after deletions
        if key not in self.exam_models:
            rows = db.session.execute(
                select(QuestionVersion.id, QuestionVersion.domain, QuestionVersion.difficulty)
                .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
                .where(ReleaseItem.release_id == release.id)
            )
            by_domain: dict[str, list[float]] = {}
            for version_id, domain, label in rows:
                by_domain.setdefault(domain, []).append(self.difficulty(version_id, label))
            self.exam_models[key] = irt.ExamModel.from_difficulties(by_domain)
        return self.exam_models[key]


def latest(bank_id: int) -> BankCalibration | None:
    return db.session.scalars(
        select(BankCalibration)
        .where(BankCalibration.bank_id == bank_id)
        .order_by(BankCalibration.created_at.desc(), BankCalibration.id.desc())
        .limit(1)
    ).first()


def latest_per_bank() -> list[tuple[Bank, BankCalibration | None]]:
    """Every bank with its newest calibration (None when never calibrated)."""
    return [(bank, latest(bank.id)) for bank in db.session.scalars(select(Bank).order_by(Bank.slug))]


def parameters(bank_id: int) -> ItemParameters:
    """The newest calibration of a bank as item parameters (labels and default prior when there is none)."""
    row = db.session.execute(
        select(BankCalibration.id, BankCalibration.created_at)
        .where(BankCalibration.bank_id == bank_id)
        .order_by(BankCalibration.created_at.desc(), BankCalibration.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return ItemParameters(None, {}, irt.Population())
    return _cached_parameters(row.id, row.created_at)


@lru_cache(maxsize=16)
def _cached_parameters(calibration_id: int, created_at: datetime) -> ItemParameters:
    """Keyed by id and time: a calibration never changes, and ids alone can be reused after deletions."""
    row = db.session.get(BankCalibration, calibration_id)
    population = irt.Population(**row.population)
    difficulties = {int(version_id): float(values[0]) for version_id, values in row.items.items()}
    return ItemParameters(row.id, difficulties, population, row.created_at)


def calibrate_bank(bank: Bank, now: datetime | None = None) -> BankCalibration:
    """Fit and store a new calibration from every learner's independent answers in this bank (flushes)."""
    answers = evidence.answers_for(select(Attempt.user_id).distinct(), bank.id, now)
    labels = dict(
        db.session.execute(
            select(QuestionVersion.id, QuestionVersion.difficulty)
            .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
            .join(BankRelease, BankRelease.id == ReleaseItem.release_id)
            .where(BankRelease.bank_id == bank.id)
            .distinct()
        ).all()
    )
    responses = [
        (answer.user_id, answer.version_id, answer.domain, answer.correct)
        for learner_answers in answers.values()
        for answer in learner_answers
    ]
    for answer in (a for learner_answers in answers.values() for a in learner_answers):
        labels.setdefault(answer.version_id, answer.label)
    fitted = irt.calibrate(responses, labels)
    pop = fitted.population
    row = BankCalibration(
        bank_id=bank.id,
        created_at=now or utcnow(),
        responses=len(responses),
        learners=len(answers),
        population={
            "mean": pop.mean,
            "general_sd": pop.general_sd,
            "domain_sd": pop.domain_sd,
            "learners": pop.learners,
        },
        items={
            str(version_id): [
                round(fitted.difficulty[version_id], 4),
                round(fitted.se[version_id], 4),
                fitted.count[version_id],
            ]
            for version_id in labels
        },
    )
    db.session.add(row)
    db.session.flush()
    return row


# --- Live check: stated probabilities against later mock-exam outcomes ---------------------------------------


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    count: int
    stated: float  # mean stated probability in the bin
    observed: float  # share of those exams passed


@dataclass(frozen=True)
class LiveCalibration:
    """Stated chance (the learner's latest snapshot before an exam started) vs that exam's result."""

    pairs: int
    brier: float | None
    base_rate_brier: float | None
    ece: float | None
    bins: list[ReliabilityBin]
    caution: bool  # too few pairs to read much into


def live_calibration(track_id: str | None = None, bins: int = 10) -> LiveCalibration:
    """Pairs every submitted mock exam with the chance its learner was shown just before starting it.

    Only snapshots with enough evidence count (a page showed a number, not "not enough answers yet").
    The stated chance refers to the track's longest form, the mock exams are often the short form, and
    mock exams are the bank's own items: a gap here can be real miscalibration or that difference.
    """
    from app.models import ReadinessSnapshot  # the page's only other model

    stated_before = (
        select(ReadinessSnapshot.probability)
        .where(
            ReadinessSnapshot.user_id == Attempt.user_id,
            ReadinessSnapshot.track == Attempt.track,
            ReadinessSnapshot.taken_at <= Attempt.started_at,
            ReadinessSnapshot.evidence >= MIN_STATED_EVIDENCE,
        )
        .order_by(ReadinessSnapshot.taken_at.desc(), ReadinessSnapshot.id.desc())
        .limit(1)
        .correlate(Attempt)
        .scalar_subquery()
    )
    query = select(stated_before, Attempt.passed).where(
        Attempt.mode == "exam", Attempt.submitted_at.is_not(None), Attempt.question_set_id.is_(None)
    )
    if track_id is not None:
        query = query.where(Attempt.track == track_id)
    rows = [(float(p), bool(passed)) for p, passed in db.session.execute(query) if p is not None]
    return summarize(rows, bins)


MIN_STATED_EVIDENCE = evidence.MIN_EVIDENCE
LIVE_CAUTION_PAIRS = 100


def summarize(pairs: list[tuple[float, bool]], bins: int = 10) -> LiveCalibration:
    """Brier score, base-rate Brier, expected calibration error and a reliability table of (stated, outcome)."""
    if not pairs:
        return LiveCalibration(0, None, None, None, [], True)
    n = len(pairs)
    base = sum(o for _, o in pairs) / n
    brier = sum((p - o) ** 2 for p, o in pairs) / n
    base_brier = sum((base - o) ** 2 for _, o in pairs) / n
    table: list[ReliabilityBin] = []
    ece = 0.0
    for k in range(bins):
        members = [(p, o) for p, o in pairs if min(int(p * bins), bins - 1) == k]
        if members:
            stated = sum(p for p, _ in members) / len(members)
            observed = sum(o for _, o in members) / len(members)
            ece += abs(stated - observed) * len(members) / n
            table.append(ReliabilityBin(k / bins, len(members), stated, observed))
    return LiveCalibration(n, brier, base_brier, ece, table, n < LIVE_CAUTION_PAIRS)
