"""The format registry: every bank file format the importer and exporter know, in one table.

A ``Format`` declares its ``name`` (stable, used in forms and URLs), a ``label`` for people, the file name
``extensions`` it answers to (lowercase, with the dot; the first one names exported files), ``sniff`` (does
this content look like the format? cheap, never raises), ``parse`` (bytes to a ``ConversionResult`` for a
target bank: ``parse(data, *, source, domains, tags, **options)``; ``None`` for a format that carries a
whole bank rather than questions to merge, the YAML zip), ``dump`` (a whole ``Bank`` to bytes; ``None``
for import-only formats) and the ``media_type`` of a download.

``detect(filename, data)`` sniffs the content first (in registration order), then falls back to the
longest matching file extension. ``by_name`` also accepts the short names older links used (``yaml``,
``xml``).

Adding a format touches one module: write its converter and call ``register(Format(...))`` once, here
with the built-in ones or at the end of the converter module (then import that module in
``quizbank/converters/__init__.py``, which this module imports).
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from quizbank.errors import Problem
from quizbank.model import Bank

if TYPE_CHECKING:  # the converters import lazily: a converter module may import this one to register itself
    from quizbank.converters.common import ConversionResult

SNIFF_BYTES = 4096  # how much of the start of a file the text sniffers look at


@dataclass(frozen=True)
class Format:
    """One file format: how to recognise it, read it and write it."""

    name: str
    label: str
    extensions: tuple[str, ...]
    sniff: Callable[[bytes], bool]
    parse: Callable[..., ConversionResult] | None  # (bytes, *, source, domains, tags, **options)
    dump: Callable[[Bank], bytes] | None
    media_type: str

    @property
    def can_import(self) -> bool:
        """Questions from this format can be merged into a bank (the YAML zip is a whole bank instead)."""
        return self.parse is not None

    @property
    def can_export(self) -> bool:
        return self.dump is not None

    def filename(self, stem: str) -> str:
        """The download name for an export: stem plus the format's first extension."""
        return f"{stem}{self.extensions[0]}" if self.extensions else stem


FORMATS: dict[str, Format] = {}
ALIASES = {"yaml": "yaml-zip", "zip": "yaml-zip", "xml": "moodle-xml", "moodle": "moodle-xml"}


def register(fmt: Format) -> Format:
    """Add a format (or replace the one with the same name); returns it."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", fmt.name):
        raise ValueError(f"format name must be lowercase-kebab-case, got {fmt.name!r}")
    if any(not ext.startswith(".") or ext != ext.lower() for ext in fmt.extensions):
        raise ValueError(f"format {fmt.name}: extensions must be lowercase and start with '.'")
    FORMATS[fmt.name] = fmt
    return fmt


def by_name(name: str | None) -> Format | None:
    """The registered format called name (or one of its older short names), None if unknown."""
    if not name:
        return None
    return FORMATS.get(name) or FORMATS.get(ALIASES.get(name, ""))


def importable() -> list[Format]:
    """Formats an upload may be in, in registration order."""
    return list(FORMATS.values())


def exportable() -> list[Format]:
    """Formats a release can be downloaded as, in registration order."""
    return [f for f in FORMATS.values() if f.can_export]


def detect(filename: str, data: bytes) -> Format | None:
    """The format of a file: the first format whose sniff accepts the content, else the longest extension match."""
    for fmt in FORMATS.values():
        if _sniffs(fmt, data):
            return fmt
    return by_extension(filename)


def by_extension(filename: str) -> Format | None:
    """The format whose extension is the longest ending of filename (case-insensitive); None if none."""
    name = (filename or "").lower()
    best: tuple[int, Format] | None = None
    for fmt in FORMATS.values():
        for ext in fmt.extensions:
            if name.endswith(ext) and (best is None or len(ext) > best[0]):
                best = (len(ext), fmt)
    return best[1] if best else None


def _sniffs(fmt: Format, data: bytes) -> bool:
    try:
        return bool(data) and fmt.sniff(data)
    except Exception:  # noqa: BLE001 - a sniffer must never break detection
        return False


# Helpers for text formats --------------------------------------------------------------------------------


def decode_text(data: bytes, source: str, label: str) -> str | Problem:
    """UTF-8 text (a byte-order mark dropped), or the Problem naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return Problem(source, line, f"the {label} file is not UTF-8 text (byte {exc.start + 1})")


def head_text(data: bytes) -> str:
    """The start of data as text for sniffing (undecodable bytes replaced, BOM and leading space dropped)."""
    return data[:SNIFF_BYTES].decode("utf-8", "replace").removeprefix("\ufeff").lstrip()


def text_parser(parse_text: Callable[..., ConversionResult], label: str) -> Callable[..., ConversionResult]:
    """A bytes parser around a text parser: undecodable input becomes a problem in the result."""

    def parse(
        data: bytes, *, source: str, domains: dict[str, str], tags: dict[str, str], **options
    ) -> ConversionResult:
        from quizbank.converters.common import ConversionResult

        text = decode_text(data, source, label)
        if isinstance(text, Problem):
            return ConversionResult(scenarios=(), skipped=(), problems=(text,))
        return parse_text(text, source=source, domains=domains, tags=tags, **options)

    parse.__doc__ = f"Parse a {label} file given as bytes (UTF-8)."
    return parse


# YAML zip ------------------------------------------------------------------------------------------------


def _zip_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def sniff_bank_zip(data: bytes) -> bool:
    """A zip archive with bank.yaml at its top or in one top-level folder."""
    if not data.startswith(b"PK"):
        return False
    try:
        names = _zip_names(data)
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return any(name.replace("\\", "/").split("/")[-1] == "bank.yaml" and name.count("/") <= 1 for name in names)


def dump_bank_zip(bank: Bank) -> bytes:
    """The bank as a zip of its YAML folder, named <bank id>-<version>/ inside the archive."""
    from quizbank.dump import write_bank

    folder = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{bank.id}-{bank.version}").strip(".-") or "bank"
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        root = write_bank(bank, tmp)
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            archive.write(path, f"{folder}/{path.relative_to(root).as_posix()}")
    return buffer.getvalue()


# GIFT and Moodle XML -------------------------------------------------------------------------------------

_GIFT_SHAPE = re.compile(r"(^|\n)\s*(::.*?::|\$CATEGORY:)|\{[^{}]*[=~][^{}]*\}", re.S)
_XML_QUIZ = re.compile(r"^(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*<quiz[\s>]", re.S)


def sniff_moodle_xml(data: bytes) -> bool:
    """An XML document whose root element is <quiz> (comments and an XML declaration may come first)."""
    return bool(_XML_QUIZ.match(head_text(data)))


def sniff_gift(data: bytes) -> bool:
    """Text with a GIFT title (::name::), a $CATEGORY: line or an answer block with '=' or '~' answers."""
    text = head_text(data)
    if text.startswith("<") or "\x00" in text:
        return False
    return bool(_GIFT_SHAPE.search(text))


# Built-in formats ----------------------------------------------------------------------------------------


def _register_builtin() -> None:
    """Register YAML zip, Moodle XML, QTI 2.1 and 3.0, Aiken and GIFT: sniffed in this order, most specific first."""
    from quizbank.converters import aiken, gift, moodle_xml, qti

    register(
        Format(
            name="yaml-zip",
            label="YAML bank folder (.zip)",
            extensions=(".zip",),
            sniff=sniff_bank_zip,
            parse=None,
            dump=dump_bank_zip,
            media_type="application/zip",
        )
    )
    register(
        Format(
            name="moodle-xml",
            label="Moodle XML (.xml)",
            extensions=(".moodle.xml", ".xml"),
            sniff=sniff_moodle_xml,
            parse=moodle_xml.parse_moodle_xml,
            dump=moodle_xml.to_moodle_xml,
            media_type="application/xml",
        )
    )
    for name, version, dump in (("qti21", "2.1", qti.to_qti21), ("qti30", "3.0", qti.to_qti30)):
        register(
            Format(
                name=name,
                label=f"IMS QTI {version} package (.zip)",
                extensions=(f".{name}.zip", ".qti.zip"),
                sniff=qti.sniff_qti21 if name == "qti21" else qti.sniff_qti30,
                parse=qti.parse_qti,
                dump=dump,
                media_type="application/zip",
            )
        )
    register(
        Format(
            name="aiken",
            label="Aiken (.txt, import only)",
            extensions=(".aiken.txt", ".aiken"),
            sniff=aiken.sniff_aiken,
            parse=text_parser(aiken.parse_aiken, "Aiken"),
            dump=None,
            media_type="text/plain; charset=utf-8",
        )
    )
    register(
        Format(
            name="gift",
            label="GIFT (.txt)",
            extensions=(".gift.txt", ".gift", ".txt"),
            sniff=sniff_gift,
            parse=text_parser(gift.parse_gift, "GIFT"),
            dump=lambda bank: gift.to_gift(bank).encode("utf-8"),
            media_type="text/plain; charset=utf-8",
        )
    )


_register_builtin()
