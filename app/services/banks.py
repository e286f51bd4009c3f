"""Bank releases: import a loaded quizbank.Bank, diff against the database, export a release."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

import quizbank
from app.extensions import db
from app.models import Bank, BankRelease, Question, QuestionVersion, QuestionVersionTag, ReleaseItem
from app.services import ServiceError, calibration
from quizbank.diff import BankDiff, bank_hashes, diff_hashes
from quizbank.dump import scenario_from_contents
from quizbank.model import Track
from quizbank.semver import bump, parse_version


@dataclass
class ImportReport:
    """What an import did: the release (None for a no-op) and the per-question diff."""

    bank_slug: str
    version: str
    diff: BankDiff
    release: BankRelease | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def created_release(self) -> bool:
        return self.release is not None

    def summary(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.diff.counts().items())
        if self.release is None:
            return f"{self.bank_slug} {self.version}: unchanged, nothing imported ({counts})"
        return f"{self.bank_slug} {self.version}: release created ({counts})"


def latest_release(bank_slug: str) -> BankRelease | None:
    """The newest release of a bank, or None if it was never imported."""
    return db.session.scalars(
        select(BankRelease).join(Bank).where(Bank.slug == bank_slug).order_by(BankRelease.id.desc()).limit(1)
    ).first()


def release_hashes(release: BankRelease | None) -> dict[str, str]:
    """{stable question id: content hash} of every question version in a release."""
    if release is None:
        return {}
    rows = db.session.execute(
        select(Question.stable_id, QuestionVersion.content_hash)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release.id)
    )
    return dict(rows.all())


def diff_bank(bank: quizbank.Bank) -> BankDiff:
    """What importing this bank would do, compared with its latest release in the database."""
    return diff_hashes(release_hashes(latest_release(bank.id)), bank_hashes(bank))


def _check_version(bank: quizbank.Bank, latest: BankRelease | None, diff: BankDiff, manifest_changed: bool) -> None:
    if latest is None or not (diff.has_changes or manifest_changed):
        return
    if parse_version(bank.version) <= parse_version(latest.version):
        raise ServiceError(
            f"bank {bank.id} has changed since release {latest.version} but its version is {bank.version}: "
            f"bump the version in bank.yaml (for example to {_next_minor(latest.version)})"
        )


def _next_minor(version: str) -> str:
    return bump(version, "minor")


def _new_version(question: Question, content: dict, digest: str, number: int) -> QuestionVersion:
    version = QuestionVersion(
        question=question,
        number=number,
        content=content,
        content_hash=digest,
        status="published",
        domain=content["domain"],
        difficulty=content["difficulty"],
    )
    version.tag_rows = [QuestionVersionTag(tag=tag) for tag in content["tags"]]
    return version


def import_bank(bank: quizbank.Bank) -> ImportReport:
    """Import a validated bank as a new release, all-or-nothing; an unchanged bank is a no-op.

    New questions get version 1, changed ones a new version, unchanged ones keep their version,
    and questions missing from the bank are retired (left out of the new release).
    """
    latest = latest_release(bank.id)
    old_hashes = release_hashes(latest)
    diff = diff_hashes(old_hashes, bank_hashes(bank))
    manifest = bank.manifest()
    manifest_changed = latest is not None and latest.manifest != manifest
    report = ImportReport(bank.id, bank.version, diff)
    if latest is not None and not diff.has_changes and not manifest_changed:
        return report
    _check_version(bank, latest, diff, manifest_changed)
    bank_row = _get_or_create_bank(bank)
    questions = {q.stable_id: q for q in db.session.scalars(select(Question).where(Question.bank_id == bank_row.id))}
    release = BankRelease(bank=bank_row, version=bank.version, manifest=manifest, counts=diff.counts())
    db.session.add(release)
    versions = [_version_for(bank_row, questions, s, q) for s, q in bank.questions()]
    _retire(questions, diff.retired)
    db.session.flush()
    db.session.add_all(ReleaseItem(release_id=release.id, question_version_id=v.id) for v in versions)
    db.session.flush()
    calibration.calibrate_bank(bank_row)  # new versions start from their labels; old ones keep their data
    report.release = release
    return report


def _get_or_create_bank(bank: quizbank.Bank) -> Bank:
    row = db.session.scalar(select(Bank).where(Bank.slug == bank.id))
    if row is None:
        row = Bank(slug=bank.id, title=bank.title)
        db.session.add(row)
    row.title = bank.title
    return row


def _version_for(bank_row: Bank, questions: dict[str, Question], scenario, question) -> QuestionVersion:
    content = quizbank.question_content(scenario, question)
    digest = quizbank.content_hash(content)
    existing = questions.get(question.id)
    if existing is None:
        existing = Question(bank=bank_row, stable_id=question.id)
        db.session.add(existing)
        questions[question.id] = existing
    if existing.versions and existing.latest.content_hash == digest:
        existing.latest.status = "published"
        return existing.latest
    version = _new_version(existing, content, digest, len(existing.versions) + 1)
    db.session.add(version)
    return version


def _retire(questions: dict[str, Question], retired_ids: list[str]) -> None:
    for stable_id in retired_ids:
        questions[stable_id].latest.status = "retired"


def release_to_bank(release: BankRelease) -> quizbank.Bank:
    """Rebuild a quizbank.Bank from a release (for export): same content, same hashes."""
    rows = db.session.execute(
        select(Question.stable_id, QuestionVersion.content)
        .join(QuestionVersion, QuestionVersion.question_id == Question.id)
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release.id)
        .order_by(Question.stable_id)
    )
    by_scenario: dict[str, list[tuple[str, dict]]] = {}
    for stable_id, content in rows:
        by_scenario.setdefault(content["scenario_id"], []).append((stable_id, content))
    manifest = release.manifest
    return quizbank.Bank(
        id=manifest["id"],
        title=manifest["title"],
        version=manifest["version"],
        domains=manifest["domains"],
        tags=manifest["tags"],
        competencies=manifest.get("competencies", {}),
        scenarios=tuple(scenario_from_contents(pairs) for _, pairs in sorted(by_scenario.items())),
        tracks=tuple(Track.from_dict(t) for t in manifest.get("tracks", [])),
    )


def release_counts_by_domain(release: BankRelease) -> dict[str, int]:
    """Number of questions per domain in a release."""
    rows = db.session.execute(
        select(QuestionVersion.domain, func.count())
        .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
        .where(ReleaseItem.release_id == release.id)
        .group_by(QuestionVersion.domain)
    )
    return dict(rows.all())


def list_banks() -> list[Bank]:
    """Every bank, by title."""
    return list(db.session.scalars(select(Bank).order_by(Bank.title)))


def get_bank(slug: str) -> Bank | None:
    return db.session.scalar(select(Bank).where(Bank.slug == slug))


def all_banks() -> list[Bank]:
    return list(db.session.scalars(select(Bank).order_by(Bank.slug)))


def release_versions(release: BankRelease) -> list[QuestionVersion]:
    """The question versions of a release, by domain then stable id."""
    return list(
        db.session.scalars(
            select(QuestionVersion)
            .join(ReleaseItem, ReleaseItem.question_version_id == QuestionVersion.id)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(ReleaseItem.release_id == release.id)
            .order_by(QuestionVersion.domain, Question.stable_id)
        )
    )


def get_question(bank: Bank, stable_id: str) -> Question | None:
    return db.session.scalar(select(Question).where(Question.bank_id == bank.id, Question.stable_id == stable_id))


def get_track(release: BankRelease, track_id: str | None = None) -> dict | None:
    """A certification track of a release (the first one when no id is given), as stored in its manifest."""
    tracks = release.tracks
    if track_id is None:
        return tracks[0] if tracks else None
    return next((t for t in tracks if t["id"] == track_id), None)
