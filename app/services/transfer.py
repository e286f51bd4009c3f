"""Bank transfer on the web: export a release in any registered format and import in two steps.

Formats come from the registry (``quizbank.formats``): its names fill the forms, ``detect`` picks the format of
an upload sent as "Automatic", ``parse`` and ``dump`` do the work. Import keeps the raw upload server-side
between the preview and the confirmation: ``save_upload`` stores the file under a random token with its
uploader, format and a timestamp; ``plan_import`` parses it once and keeps the bank it would import next to it
(a YAML zip, with the release it was merged into); ``confirm_import`` imports that kept bank with
``banks.import_bank`` (all-or-nothing), parsing the upload again only when the kept plan is missing or the bank
has had a new release since the preview. Question formats (GIFT, Moodle XML, Aiken...) merge into a copy of the
target bank's latest release: new question ids are added, existing ids replaced, nothing retired. A YAML zip is
a whole bank: its bank.yaml decides the bank and version.

Categories that name no domain of the bank are listed in the plan (``ImportPlan.unmapped``); ``remember_mapping``
stores where each goes (a domain, or SKIP) per bank, and every later plan for that bank applies the remembered
choices. ``plan_merge_file`` / ``merge_file`` do the same for the CLI, with an explicit map and default domain.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from werkzeug.utils import secure_filename

import quizbank
from app.extensions import db
from app.models import Bank, BankCategoryMap, BankRelease, User
from app.services import ServiceError, banks, permissions
from quizbank import converters, formats
from quizbank.converters.common import SKIP as SKIP  # a mapping target: skip these questions
from quizbank.converters.common import UnmappedCategory, category_key, category_mapping, check_category_map
from quizbank.diff import BankDiff, bank_hashes, diff_hashes
from quizbank.dump import scenario_from_contents, write_bank
from quizbank.semver import bump, parse_version

AUTOMATIC = ""  # the upload form's "Automatic" format: detected from the content, then the file name
DEFAULT_MAX_UPLOAD_BYTES = 5_000_000
MAX_ZIP_FILES = 5_000
MAX_UNZIPPED_BYTES = 50_000_000
UPLOAD_LIFETIME = timedelta(hours=1)
PLAN_SUFFIX = ".plan.zip"  # the bank a preview would import (canonical YAML zip), kept for the confirmation
PLAN_META_SUFFIX = ".plan.json"  # which bank it is and the release it was planned against
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAC_METADATA = "__MACOSX"  # Finder's resource forks: folder __MACOSX/ and files named ._*
MAX_CATEGORY_CHARS = 255  # BankCategoryMap.category and category_key


# Permissions -------------------------------------------------------------------------------------------


def can_manage_bank(user: User, bank: Bank) -> bool:
    """Site admins, or trainers of the organization that owns the bank (an unowned bank: admins only).

    The same rule as every bank page: permissions.can_manage_bank.
    """
    return permissions.can_manage_bank(user, bank)


def importable_banks(user: User) -> list[Bank]:
    """Banks with a release that this user may merge a GIFT or Moodle XML file into, by title."""
    return [b for b in banks.list_banks() if b.releases and can_manage_bank(user, b)]


def _import_refusal(user: User, bank_id: str) -> str | None:
    """Why this user may not import bank ``bank_id`` (None when they may)."""
    row = banks.get_bank(bank_id)
    if row is None:
        return None if user.is_admin else f"bank {bank_id!r} does not exist; only site administrators create banks"
    if can_manage_bank(user, row):
        return None
    return f"bank {bank_id!r} is not owned by your organization; you can import only into your organization's banks"


# Export ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mimetype: str
    data: bytes


def find_release(bank: Bank, version: str | None = None) -> BankRelease | None:
    """A release of the bank by version, or the latest one when no version is given."""
    return next((r for r in reversed(bank.releases) if version in (None, "", r.version)), None)


def export_formats() -> dict[str, str]:
    """{format name: label} of every format a release can be downloaded as."""
    return {f.name: f.label for f in formats.exportable()}


def import_formats() -> dict[str, str]:
    """{format name: label} of every format an upload may be in."""
    return {f.name: f.label for f in formats.importable()}


def format_label(name: str) -> str:
    """A format's label for pages (the name itself if it is no longer registered)."""
    fmt = formats.by_name(name)
    return fmt.label if fmt else name


def export_format(name: str | None) -> formats.Format | None:
    """The registered format a release can be exported as, by name (or an older short name such as 'xml')."""
    fmt = formats.by_name(name)
    return fmt if fmt is not None and fmt.can_export else None


def export_release(release: BankRelease, fmt: str) -> ExportFile:
    """The release as a downloadable file in a registered format ('yaml-zip', 'gift', 'moodle-xml'...)."""
    found = export_format(fmt)
    if found is None:
        raise ServiceError(f"unknown export format {fmt!r}", field="format")
    bank = banks.release_to_bank(release)
    stem = secure_filename(f"{bank.id}-{bank.version}") or "bank"
    return ExportFile(found.filename(stem), found.media_type, found.dump(bank))


# Uploads kept between preview and confirmation ---------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file waiting for its preview and confirmation."""

    token: str
    user_id: int
    created_at: datetime
    fmt: str
    filename: str
    bank_slug: str
    version: str
    path: Path
    detected: bool = False  # the format was detected, not chosen

    @property
    def format(self) -> formats.Format | None:
        return formats.by_name(self.fmt)

    def read(self) -> bytes:
        return self.path.read_bytes()


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def save_upload(
    folder: Path,
    user: User,
    *,
    data: bytes,
    filename: str,
    fmt: str = AUTOMATIC,
    bank_slug: str = "",
    version: str = "",
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    now: datetime | None = None,
) -> str:
    """Check an uploaded file (size, format, zip safety, target bank) and keep it; return its token.

    ``fmt`` is a registered format name, or AUTOMATIC to detect it from the content and the file name.
    """
    chosen = _upload_format(fmt, filename, data, max_bytes)
    _check_upload(user, data, chosen, bank_slug, version)
    folder.mkdir(parents=True, exist_ok=True)
    purge_expired(folder, now)
    token = secrets.token_urlsafe(32)
    merge = chosen.can_import
    meta = {
        "user_id": user.id,
        "created_at": _now(now).isoformat(),
        "format": chosen.name,
        "detected": fmt == AUTOMATIC,
        "filename": secure_filename(filename) or "upload",
        "bank": bank_slug if merge else "",
        "version": version.strip() if merge else "",
    }
    (folder / f"{token}.data").write_bytes(data)
    partial = folder / f"{token}.json.partial"  # renamed once complete: readers never see half a file
    partial.write_text(json.dumps(meta), encoding="utf-8")
    partial.replace(folder / f"{token}.json")
    return token


def _upload_format(name: str, filename: str, data: bytes, max_bytes: int) -> formats.Format:
    """The chosen format, or the detected one for AUTOMATIC; ServiceError when none fits or the size is wrong."""
    chosen = formats.by_name(name) if name != AUTOMATIC else None
    if name != AUTOMATIC and chosen is None:
        raise ServiceError("Choose one of the listed formats.", field="format")
    if len(data) > max_bytes:
        raise ServiceError(too_large_message(max_bytes), field="file")
    if not data:
        raise ServiceError("The file is empty.", field="file")
    chosen = chosen or formats.detect(filename, data)
    if chosen is None:
        known = ", ".join(f.label for f in formats.importable())
        raise ServiceError(
            f"The file's format could not be recognised from its content or name; choose it from the list ({known}).",
            field="format",
        )
    return chosen


def _check_upload(user: User, data: bytes, fmt: formats.Format, bank_slug: str, version: str) -> None:
    if not fmt.can_import:
        _check_zip(_open_zip(data))
        return
    bank = banks.get_bank(bank_slug) if bank_slug else None
    if bank is None or not bank.releases or not can_manage_bank(user, bank):
        raise ServiceError("Choose the bank to merge the questions into.", field="bank")
    if version.strip() and parse_version(version) is None:
        raise ServiceError("Give the version as X.Y.Z, for example 1.2.0, or leave it empty.", field="version")


def megabytes(size: int) -> str:
    """A byte count as megabytes for messages: 5000000 -> '5 MB'."""
    return f"{size / 1_000_000:g} MB"


def too_large_message(max_bytes: int) -> str:
    return f"The file is larger than the {megabytes(max_bytes)} limit; nothing was uploaded."


def find_upload(folder: Path, token: str, user: User, now: datetime | None = None) -> Upload | None:
    """The user's pending upload. None if it belongs to someone else; ServiceError if gone or expired."""
    gone = ServiceError("This upload is no longer available (uploads are kept for an hour). Upload the file again.")
    if not TOKEN_PATTERN.match(token or ""):
        raise gone
    upload = _read_upload(folder, token)
    if upload is None:
        raise gone
    if upload.user_id != user.id:
        return None
    if _now(now) - upload.created_at > UPLOAD_LIFETIME:
        discard_upload(folder, token)
        raise gone
    return upload


def _read_upload(folder: Path, token: str) -> Upload | None:
    meta_path, data_path = folder / f"{token}.json", folder / f"{token}.data"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        created_at = datetime.fromisoformat(meta["created_at"])
    except (OSError, ValueError, KeyError):
        return None
    if not data_path.is_file():
        return None
    return Upload(
        token=token,
        user_id=int(meta["user_id"]),
        created_at=created_at,
        fmt=meta["format"],
        filename=meta["filename"],
        bank_slug=meta.get("bank", ""),
        version=meta.get("version", ""),
        path=data_path,
        detected=bool(meta.get("detected", False)),
    )


def discard_upload(folder: Path, token: str) -> None:
    """Delete a pending upload (after its import, or when it expired)."""
    if TOKEN_PATTERN.match(token or ""):
        for suffix in (".json", ".data", PLAN_SUFFIX, PLAN_META_SUFFIX):
            (folder / f"{token}{suffix}").unlink(missing_ok=True)


def purge_expired(folder: Path, now: datetime | None = None) -> int:
    """Delete every upload older than an hour; return how many were deleted."""
    deleted = 0
    for meta_path in folder.glob("*.json"):
        if not TOKEN_PATTERN.match(meta_path.stem):
            continue  # a kept plan's .plan.json: deleted with its upload
        upload = _read_upload(folder, meta_path.stem)
        if upload is None or _now(now) - upload.created_at > UPLOAD_LIFETIME:
            discard_upload(folder, meta_path.stem)
            deleted += 1
    return deleted


# Zip safety --------------------------------------------------------------------------------------------


def _open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ServiceError("The file is not a valid .zip archive.", field="file") from exc


def _unsafe_name(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name) is not None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_zip(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's entries, after refusing traversal, symlinks, too many files and too much data."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_FILES:
        raise ServiceError(f"The zip holds {len(entries)} entries; the limit is {MAX_ZIP_FILES}.", field="file")
    for info in entries:
        if _unsafe_name(info.filename):
            raise ServiceError(f"The zip entry {info.filename!r} points outside the bank folder.", field="file")
        if _is_symlink(info):
            raise ServiceError(f"The zip entry {info.filename!r} is a symbolic link; links are refused.", field="file")
    total = sum(info.file_size for info in entries)
    if total > MAX_UNZIPPED_BYTES:
        raise ServiceError(
            f"The zip unpacks to {megabytes(total)}; the limit is {megabytes(MAX_UNZIPPED_BYTES)}.", field="file"
        )
    return entries


def _is_mac_metadata(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return MAC_METADATA in parts or (bool(parts) and parts[-1].startswith("._"))


def _extract(archive: zipfile.ZipFile, target: Path) -> None:
    """Write the checked entries under target, never more than MAX_UNZIPPED_BYTES in all."""
    budget = MAX_UNZIPPED_BYTES
    for info in _check_zip(archive):
        if info.is_dir() or _is_mac_metadata(info.filename):
            continue
        destination = target.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
        if not destination.resolve().is_relative_to(target.resolve()):
            raise ServiceError(f"The zip entry {info.filename!r} points outside the bank folder.", field="file")
        try:
            budget = _extract_entry(archive, info, destination, budget)
        except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
            raise ServiceError(f"The zip entry {info.filename!r} could not be unpacked ({exc}).", field="file") from exc


def _extract_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, destination: Path, budget: int) -> int:
    """Copy one entry in chunks; return the bytes still allowed after it."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(info) as source, destination.open("wb") as sink:
        while chunk := source.read(65536):
            budget -= len(chunk)
            if budget < 0:
                raise ServiceError(f"The zip unpacks to more than {megabytes(MAX_UNZIPPED_BYTES)}.", field="file")
            sink.write(chunk)
    return budget


def _bank_root(target: Path) -> Path:
    """The folder holding bank.yaml: the top of the zip or its single top-level folder."""
    if (target / "bank.yaml").is_file():
        return target
    candidates = [p.parent for p in target.glob("*/bank.yaml") if p.is_file()]
    if len(candidates) != 1:
        where = "several folders" if candidates else "neither at the top nor in a top-level folder"
        raise ServiceError(f"The zip must hold one bank folder with a bank.yaml; found bank.yaml in {where}.")
    return candidates[0]


# Preview and import ------------------------------------------------------------------------------------


class MergeConflict(Exception):
    """Converted questions that cannot be merged into the bank; ``messages`` says why."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass
class ImportPlan:
    """What importing an upload would do; ``errors`` non-empty means it cannot be imported."""

    upload: Upload | None  # None for a file merged from the CLI
    bank: quizbank.Bank | None = None
    errors: list[str] = field(default_factory=list)
    skipped: list[converters.Skipped] = field(default_factory=list)
    notes: list[tuple[int, str, str]] = field(default_factory=list)  # (line, question, what is not kept)
    unmapped: list[UnmappedCategory] = field(default_factory=list)  # categories naming no domain, not mapped
    domains: dict[str, str] = field(default_factory=dict)  # the target bank's domains, for the mapping step
    mapping: dict[str, str] = field(default_factory=dict)  # the category map applied (remembered, then explicit)
    diff: BankDiff | None = None
    latest_version: str | None = None
    settings_changed: bool = False

    @property
    def has_changes(self) -> bool:
        return self.diff is not None and (self.diff.has_changes or self.settings_changed)

    @property
    def can_import(self) -> bool:
        return self.bank is not None and not self.errors and self.has_changes


def plan_import(upload: Upload, user: User) -> ImportPlan:
    """Parse a pending upload once and compare it with the bank's latest release.

    Nothing is written to the database; an importable plan's bank is kept beside the upload for confirm_import.
    """
    plan = ImportPlan(upload)
    try:
        fmt = upload.format
        if fmt is None:
            raise ServiceError(f"The format {upload.fmt!r} is no longer supported. Upload the file again.")
        if fmt.can_import:
            _plan_merge(plan, user, fmt)
        else:
            _plan_yaml(plan, user)
    except ServiceError as exc:
        plan.errors.append(str(exc))
    except quizbank.BankError as exc:
        plan.errors.extend(str(p) for p in exc.problems)
    except MergeConflict as exc:
        plan.errors.extend(exc.messages)
    if plan.bank is not None and not plan.errors:
        _compare(plan)
    if plan.can_import:
        _keep_plan(plan)
    return plan


def confirm_import(upload: Upload, user: User) -> banks.ImportReport:
    """Import the previewed bank as a new release, all-or-nothing (the caller commits).

    The bank kept by the preview is used when the target bank has had no release since; otherwise (or when
    nothing was kept) the upload is planned again.
    """
    kept = _kept_plan(upload)
    plan = _recheck(upload, user, kept) if kept is not None else plan_import(upload, user)
    if plan.errors or plan.bank is None:
        raise ServiceError("The upload has problems; nothing was imported. " + " ".join(plan.errors[:3]))
    return banks.import_bank(plan.bank)


def _recheck(upload: Upload, user: User, bank: quizbank.Bank) -> ImportPlan:
    """The plan for a kept bank: permission and version checked again against the database."""
    plan = ImportPlan(upload, bank=bank)
    refusal = _import_refusal(user, bank.id)
    if refusal:
        plan.errors.append(refusal)
    else:
        _compare(plan)
    return plan


def _plan_paths(upload: Upload) -> tuple[Path, Path]:
    folder = upload.path.parent
    return folder / f"{upload.token}{PLAN_SUFFIX}", folder / f"{upload.token}{PLAN_META_SUFFIX}"


def _keep_plan(plan: ImportPlan) -> None:
    """Write the planned bank (canonical YAML zip) and the release it was planned against beside the upload."""
    bank_path, meta_path = _plan_paths(plan.upload)
    bank_path.write_bytes(formats.dump_bank_zip(plan.bank))
    partial = meta_path.with_name(meta_path.name + ".partial")
    partial.write_text(json.dumps({"bank": plan.bank.id, "base": plan.latest_version}), encoding="utf-8")
    partial.replace(meta_path)


def _kept_plan(upload: Upload) -> quizbank.Bank | None:
    """The bank kept by the preview, if the target bank's latest release is still the one it was planned on."""
    bank_path, meta_path = _plan_paths(upload)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = bank_path.read_bytes()
    except (OSError, ValueError):
        return None
    latest = banks.latest_release(str(meta.get("bank", "")))
    if (latest.version if latest else None) != meta.get("base"):
        return None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _extract(_open_zip(data), Path(tmp))
            return quizbank.load_bank(_bank_root(Path(tmp)))
    except (ServiceError, quizbank.BankError):
        return None  # damaged: plan again from the upload


def _plan_yaml(plan: ImportPlan, user: User) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp)
        _extract(_open_zip(plan.upload.read()), target)
        plan.bank = _load_relative(_bank_root(target), display_root=target)
    refusal = _import_refusal(user, plan.bank.id)
    if refusal:
        plan.errors.append(refusal)


def _load_relative(root: Path, display_root: Path) -> quizbank.Bank:
    """load_bank with problem paths shown relative to display_root (never the server's temp folder)."""
    try:
        return quizbank.load_bank(root)
    except quizbank.BankError as exc:
        prefix = str(display_root) + "/"
        raise quizbank.BankError(
            [quizbank.Problem(p.path.removeprefix(prefix), p.line, p.message) for p in exc.problems]
        ) from None


def _plan_merge(plan: ImportPlan, user: User, fmt: formats.Format) -> None:
    upload = plan.upload
    bank_row = banks.get_bank(upload.bank_slug)
    if bank_row is None or not can_manage_bank(user, bank_row):
        raise ServiceError(f"bank {upload.bank_slug!r} is not one you can import into")
    _merge_into(plan, bank_row, fmt, upload.read(), source=upload.filename, version=upload.version)


def _merge_into(
    plan: ImportPlan,
    bank_row: Bank,
    fmt: formats.Format,
    data: bytes,
    *,
    source: str,
    version: str,
    category_map: dict[str, str] | None = None,
    default_domain: str | None = None,
) -> None:
    """Parse data once with the bank's remembered category map (then ``category_map``) and merge it into a copy
    of the bank's latest release: plan.bank, or plan.errors and plan.unmapped saying why not."""
    latest = find_release(bank_row)
    if latest is None:
        raise ServiceError(f"bank {bank_row.slug!r} has no release to merge into; import it as a YAML zip first")
    base = banks.release_to_bank(latest)
    plan.domains = dict(base.domains)
    plan.mapping = {**remembered_mapping(bank_row), **(category_map or {})}
    with category_mapping(plan.mapping, default_domain):
        result = fmt.parse(data, source=source, domains=base.domains, tags=base.tags)
    plan.skipped = list(result.skipped)
    plan.notes = list(getattr(result, "notes", ()))
    plan.unmapped = list(getattr(result, "unmapped", ()))
    plan.errors.extend(str(p) for p in result.problems)
    if plan.errors:
        return
    merged = _validated(_merge(base, result.scenarios))
    plan.bank = replace(merged, version=_merge_version(version, latest, merged))


def _merge(base: quizbank.Bank, scenarios) -> quizbank.Bank:
    """The base bank with the converted questions added (new ids) or replacing (same ids)."""
    contents = {q.id: quizbank.question_content(s, q) for s, q in base.questions()}
    imported = {q.id: quizbank.question_content(s, q) for s in scenarios for q in s.questions}
    problems: list[str] = []
    contents.update(imported)
    groups: dict[str, list[tuple[str, dict]]] = {}
    for qid, content in contents.items():
        groups.setdefault(content["scenario_id"], []).append((qid, content))
    problems += _scenario_group_problems(groups)
    if problems:
        raise MergeConflict(problems)
    return replace(base, scenarios=tuple(scenario_from_contents(pairs) for _, pairs in sorted(groups.items())))


SCENARIO_FIELDS = ("scenario", "content_note", "domain", "competencies")


def _scenario_group_problems(groups: dict[str, list[tuple[str, dict]]]) -> list[str]:
    """Questions of one scenario must agree on its text, domain and competencies."""
    problems = []
    for scenario_id, pairs in groups.items():
        first_id, first = pairs[0]
        for qid, content in pairs[1:]:
            differing = [f for f in SCENARIO_FIELDS if content.get(f, "") != first.get(f, "")]
            if differing:
                problems.append(
                    f"question {qid!r} has a different scenario {' and '.join(differing)} than {first_id!r}, "
                    f"another question of scenario {scenario_id!r}: import every question of that scenario "
                    "together, or give the scenario a new id"
                )
    return problems


def _merge_version(version: str, latest: BankRelease, merged: quizbank.Bank) -> str:
    """Unchanged content keeps the latest version (a no-op); otherwise the chosen one or the next minor."""
    if not diff_hashes(banks.release_hashes(latest), bank_hashes(merged)).has_changes:
        return latest.version
    return version or bump(latest.version, "minor")


def _validated(bank: quizbank.Bank) -> quizbank.Bank:
    """Write the merged bank as YAML and load it back: the same rules as a YAML import, canonical text."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_bank(bank, root)
        try:
            return quizbank.load_bank(root)
        except quizbank.BankError as exc:
            raise quizbank.BankError(
                [
                    quizbank.Problem(f"merged bank: {p.path.removeprefix(str(root) + '/')}", p.line, p.message)
                    for p in exc.problems
                ]
            ) from None


def _compare(plan: ImportPlan) -> None:
    latest = banks.latest_release(plan.bank.id)
    plan.latest_version = latest.version if latest else None
    plan.diff = banks.diff_bank(plan.bank)
    plan.settings_changed = latest is None or latest.manifest != plan.bank.manifest()
    if latest is not None and plan.has_changes and _not_newer(plan.bank.version, latest.version):
        plan.errors.append(
            f"bank {plan.bank.id} has changed since release {latest.version} but its version is "
            f"{plan.bank.version}: use a greater version (for example {bump(latest.version, 'minor')})"
        )


def _not_newer(version: str, latest: str) -> bool:
    new, old = parse_version(version), parse_version(latest)
    return new is None or old is None or new <= old


# Category mapping --------------------------------------------------------------------------------------


def remembered_mapping(bank: Bank) -> dict[str, str]:
    """{category path: domain id or SKIP} chosen for this bank's earlier uploads."""
    rows = db.session.scalars(select(BankCategoryMap).where(BankCategoryMap.bank_id == bank.id))
    return {row.category: row.domain for row in rows}


def mapping_bank(upload: Upload, user: User) -> Bank:
    """The bank an upload merges into, when this user may map its categories (ServiceError otherwise)."""
    bank = banks.get_bank(upload.bank_slug) if upload.bank_slug else None
    if bank is None or not can_manage_bank(user, bank):
        raise ServiceError("This upload is not merged into a bank you can import into.")
    return bank


def remember_mapping(bank: Bank, user: User | None, choices: dict[str, str]) -> int:
    """Store where categories go in this bank ({category path: domain id or SKIP}); return how many were stored.

    Empty choices are ignored; a choice naming no domain of the bank's latest release is refused (ServiceError).
    Later plans for this bank apply the stored choices. The caller commits.
    """
    latest = find_release(bank)
    domains = dict(latest.domains) if latest else {}
    chosen = {category: target.strip() for category, target in choices.items() if target and target.strip()}
    problems = check_category_map(chosen, None, domains)
    too_long = [c for c in chosen if max(len(c), len(category_key(c))) > MAX_CATEGORY_CHARS]
    problems += [f"category {c[:60]!r}… is longer than {MAX_CATEGORY_CHARS} characters" for c in too_long]
    if problems:
        raise ServiceError("; ".join(problems), field="mappings")
    rows = {
        row.category_key: row
        for row in db.session.scalars(select(BankCategoryMap).where(BankCategoryMap.bank_id == bank.id))
    }
    for category, target in chosen.items():
        key = category_key(category)
        row = rows.get(key)
        if row is None:
            row = rows[key] = BankCategoryMap(bank_id=bank.id, category_key=key)
            db.session.add(row)
        row.category, row.domain = category, target
        row.updated_by_id = user.id if user else None
    db.session.flush()
    return len(chosen)


def plan_merge_file(
    data: bytes,
    *,
    filename: str,
    bank_slug: str,
    fmt: str = AUTOMATIC,
    version: str = "",
    category_map: dict[str, str] | None = None,
    default_domain: str | None = None,
) -> ImportPlan:
    """The plan for merging a question file into a bank from the command line (no user: the operator is trusted).

    The bank's remembered category map applies, then ``category_map``; ``default_domain`` takes the rest.
    """
    plan = ImportPlan(None)
    try:
        chosen = _upload_format(fmt, filename, data, converters.MAX_IMPORT_BYTES)
        if not chosen.can_import:
            raise ServiceError(f"{chosen.label} is a whole bank: use `flask bank import` on its folder", field="format")
        bank_row = banks.get_bank(bank_slug)
        if bank_row is None:
            raise ServiceError(f"no bank {bank_slug!r}", field="bank")
        if version.strip() and parse_version(version) is None:
            raise ServiceError("give the version as X.Y.Z, for example 1.2.0", field="version")
        latest = find_release(bank_row)
        problems = check_category_map(category_map, default_domain, dict(latest.domains) if latest else {})
        if problems:
            raise ServiceError("; ".join(problems), field="mappings")
        source = secure_filename(Path(filename).name) or "upload"
        _merge_into(
            plan,
            bank_row,
            chosen,
            data,
            source=source,
            version=version.strip(),
            category_map=category_map,
            default_domain=default_domain,
        )
    except ServiceError as exc:
        plan.errors.append(str(exc))
    except quizbank.BankError as exc:
        plan.errors.extend(str(p) for p in exc.problems)
    except MergeConflict as exc:
        plan.errors.extend(exc.messages)
    if plan.bank is not None and not plan.errors:
        _compare(plan)
    return plan


def merge_file(plan: ImportPlan, bank_slug: str, category_map: dict[str, str] | None) -> banks.ImportReport:
    """Import a planned CLI merge and remember its category map for the bank (the caller commits)."""
    if plan.errors or plan.bank is None:
        raise ServiceError("the file has problems; nothing was imported")
    report = banks.import_bank(plan.bank)
    if category_map:
        remember_mapping(banks.get_bank(bank_slug), None, category_map)
    return report
