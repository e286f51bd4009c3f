"""IMS QTI 2.1 and QTI 3.0 item packages to bank scenarios and back.

Import rules (``parse_qti``; both versions, told apart by each item's namespace)
- Input is a content package (a zip holding ``imsmanifest.xml`` and one XML file per ``assessmentItem``, listed
  as resources of type ``imsqti_item_xmlv2p1`` / ``imsqti_item_xmlv3p0``) or one item XML file. Every XML file
  is read only by defusedxml with DTDs, entities and external references forbidden ("unsafe XML" problem).
  Zip entries that point outside the package, links, encrypted entries, more than ``MAX_ZIP_FILES`` entries
  or more than ``MAX_UNZIPPED_BYTES`` unpacked are problems; nothing is ever written to disk.
- QTI 3.0 names (``qti-choice-interaction``, ``response-identifier``) are read as their QTI 2.1 equivalents
  (``choiceInteraction``, ``responseIdentifier``), so one reader serves both versions.
- An item with one ``choiceInteraction`` whose response has ``single`` cardinality becomes a question: the
  ``correctResponse`` value names the key, each ``simpleChoice`` is an option. Multiple cardinality (or
  ``maxChoices`` other than 1) is skipped as "multiple response: not supported yet"; other interactions,
  several interactions and body text after the interaction are skipped with their reason.
- Text: the ``prompt`` is the stem and the item body's paragraphs before the interaction the scenario (without
  a prompt, the last paragraph is the stem). HTML is reduced to plain text as for Moodle XML.
- Rationale of an option: its ``feedbackInline`` (or ``feedbackBlock``), else the ``modalFeedback`` whose
  ``identifier`` is the choice's identifier (``showHide="show"``).
- Metadata comes from the manifest resource's IEEE LOM: ``general/identifier`` (catalog ``quizbank``) is the
  question id (else the item ``identifier``), ``general/keyword`` are tags (matched against the vocabulary as
  Moodle tags are), ``educational/difficulty`` (easy/medium/difficult; "very" forms too) the difficulty,
  ``classification`` with purpose ``discipline`` names the domain (taxon ids or entries matched like a category
  path), purpose ``competency`` the competencies, ``relation`` ``ispartof`` (catalog ``quizbank-scenario``) the
  scenario id, and ``educational/description`` starting "Content note: " the content note.
- Problems name the file inside the package and its line (``bank.zip/items/q1.xml:12: ...``); skipped items
  and notes add the file to the item's title. Notes list what an imported item loses: images, objects, audio,
  video and formulas, modal feedback not tied to one choice (general or correct/incorrect feedback), rubric
  and template blocks.

Export (``to_qti21`` / ``to_qti30``) writes a zip: ``imsmanifest.xml`` with the LOM above per resource and
``items/<question id>.xml``, each item with a ``RESPONSE`` declaration and its ``correctResponse``, ``SCORE`` and
``FEEDBACK`` outcomes, the scenario as ``<p>`` paragraphs and the stem as the ``prompt`` of a ``choiceInteraction``
(``maxChoices="1"``), response processing that scores the key and sets ``FEEDBACK`` to the chosen choice, and one
``modalFeedback`` per choice holding its rationale. Parsing the export gives back every question with the same
content hash (with the Moodle XML caveat: HTML normalises runs of spaces and of blank lines).
"""

from __future__ import annotations

import html
import io
import posixpath
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from quizbank.converters.common import (
    MAX_IMPORT_BYTES,
    ConversionResult,
    Metadata,
    ParsedOption,
    ParsedQuestion,
    ResultBuilder,
    check_size,
    excerpt,
    html_to_text,
    paragraphs,
    read_xml_with_lines,
)
from quizbank.errors import Problem
from quizbank.model import Bank, Question, Scenario

QTI21_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI30_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP11_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_QTI30_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ITEM_TYPES = ("imsqti_item_xmlv2p", "imsqti_item_xmlv3p0")  # resource type prefixes (2.0, 2.1, 2.2; 3.0)
MANIFEST = "imsmanifest.xml"
MAX_ZIP_FILES = 5_000  # the same caps as YAML zips (app/services/transfer.py)
MAX_UNZIPPED_BYTES = 50_000_000
SNIFF_BYTES = 65_536
KEY_HINT = "give the key's choice identifier in <correctResponse><value>"
MULTIPLE = "multiple response: not supported yet"
ID_CATALOG = "quizbank"
SCENARIO_CATALOG = "quizbank-scenario"
CONTENT_NOTE = "Content note: "
LOM_DIFFICULTY = {
    "very easy": "easy",
    "easy": "easy",
    "medium": "medium",
    "difficult": "hard",
    "very difficult": "hard",
}
HIDDEN_IN_TEXT = frozenset({"feedbackInline", "feedbackBlock", "rubricBlock", "templateBlock", "templateInline"})
MEDIA = {"img": "image", "object": "embedded object", "audio": "audio", "video": "video", "math": "formula"}
INTERACTION_MARK = "\ue000"  # stands for the interaction while the item body is turned into text
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


# Reading XML ---------------------------------------------------------------------------------------------


@dataclass
class _Xml:
    """A parsed file: its root with QTI names normalised, element lines, and the root's namespace."""

    root: Element
    lines: dict[Element, int]
    namespace: str

    def line(self, element: Element | None) -> int:
        return self.lines.get(element, 1) if element is not None else 1


def _read_xml(data: bytes, path: str) -> _Xml | Problem:
    """The parsed file, or the Problem that stopped the defused parser (unsafe or broken XML)."""
    parsed = read_xml_with_lines(data, path)
    if isinstance(parsed, Problem):
        return parsed
    root, lines = parsed
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    for element in root.iter():
        _normalise(element)
    return _Xml(root, lines, namespace)


def _camel(name: str) -> str:
    """'choice-interaction' -> 'choiceInteraction'."""
    head, *rest = name.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _normalise(element: Element) -> None:
    """Drop namespaces and read QTI 3.0 names (qti-simple-choice, show-hide) as QTI 2.1 ones."""
    tag = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
    element.tag = _camel(tag.removeprefix("qti-")) if tag.startswith("qti-") else tag
    element.attrib = {(k if k.startswith("{") else _camel(k)): v for k, v in element.attrib.items()}


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if child.tag == name]


def _child(element: Element | None, *names: str) -> Element | None:
    """The first descendant along a path of child names (namespaces already dropped)."""
    for name in names:
        if element is None:
            return None
        element = next((c for c in element if c.tag == name), None)
    return element


def _value(element: Element | None, *names: str) -> str:
    found = _child(element, *names)
    return "".join(found.itertext()).strip() if found is not None else ""


# Item bodies as text --------------------------------------------------------------------------------------


def _markup(element: Element, replace: Element | None = None) -> str:
    """The content of element as HTML (local names), feedback left out, ``replace`` as INTERACTION_MARK."""
    parts = [html.escape(element.text or "", quote=False)]
    for child in element:
        if child is replace:
            parts.append(f"<div>{INTERACTION_MARK}</div>")
        elif child.tag not in HIDDEN_IN_TEXT:
            inner = _markup(child, replace)
            parts.append(f"<{child.tag}>{inner}</{child.tag}>" if child.tag != "br" else "<br>")
        parts.append(html.escape(child.tail or "", quote=False))
    return "".join(parts)


def _text(element: Element | None) -> str:
    """Plain text of an element's content: paragraphs blank-line separated, as for Moodle XML."""
    return html_to_text(_markup(element)) if element is not None else ""


def _body_around(body: Element, interaction: Element) -> tuple[str, str]:
    """(text before the interaction, text after it) in the item body, the prompt and choices left out."""
    text = html_to_text(_markup(body, replace=interaction))
    before, _, after = text.partition(INTERACTION_MARK)
    return before.strip(), after.strip()


# Packages ---------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    """One item file to read: its path for problems, its bytes, its name in the package, its manifest LOM."""

    path: str
    data: bytes
    member: str = ""  # the file's name inside the package ("" for a lone item file)
    lom: Element | None = None


@dataclass
class _Package:
    entries: list[_Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # every entry name in the zip


def _unsafe_name(name: str) -> bool:
    """A zip entry name that is absolute, climbs out of the package or uses backslashes or drive letters."""
    climbs = ".." in name.split("/")
    return name.startswith("/") or "\\" in name or climbs or (len(name) > 1 and name[1] == ":")


def _check_zip(archive: zipfile.ZipFile, source: str) -> list[Problem]:
    """Traversal, links, encryption and size caps, as for YAML zips."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_FILES:
        return [Problem(source, 1, f"the zip holds {len(entries)} entries; the limit is {MAX_ZIP_FILES}")]
    problems = []
    for info in entries:
        if _unsafe_name(info.filename):
            problems.append(Problem(source, 1, f"zip entry {info.filename!r} points outside the package"))
        elif stat.S_ISLNK(info.external_attr >> 16):
            problems.append(Problem(source, 1, f"zip entry {info.filename!r} is a symbolic link; links are refused"))
        elif info.flag_bits & 0x1:
            problems.append(Problem(source, 1, f"zip entry {info.filename!r} is encrypted"))
    total = sum(info.file_size for info in entries)
    if total > MAX_UNZIPPED_BYTES:
        problems.append(Problem(source, 1, f"the zip unpacks to {total} bytes; the limit is {MAX_UNZIPPED_BYTES}"))
    return problems


def _read_entry(archive: zipfile.ZipFile, name: str, source: str) -> bytes | Problem:
    """The bytes of one entry, read no further than MAX_IMPORT_BYTES whatever its header claims."""
    where = f"{source}/{name}"
    try:
        with archive.open(name) as handle:
            data = handle.read(MAX_IMPORT_BYTES + 1)
    except KeyError:
        return Problem(where, 1, "the file is not in the package")
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error) as exc:
        return Problem(where, 1, f"the file could not be unpacked ({exc})")
    if len(data) > MAX_IMPORT_BYTES:
        return Problem(where, 1, f"file is larger than {MAX_IMPORT_BYTES} bytes")
    return data


def _manifest_name(names: list[str]) -> str | None:
    """imsmanifest.xml at the top of the zip, else in its single top-level folder."""
    if MANIFEST in names:
        return MANIFEST
    nested = [n for n in names if n.endswith("/" + MANIFEST) and n.count("/") == 1]
    return nested[0] if len(nested) == 1 else None


def _read_package(data: bytes, source: str) -> _Package:
    """The item files a content package lists, with their LOM, or the problems that stop reading it."""
    package = _Package()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        package.problems.append(Problem(source, 1, f"invalid zip: {exc}"))
        return package
    with archive:
        package.problems = _check_zip(archive, source)
        if package.problems:
            return package
        package.names = set(archive.namelist())
        name = _manifest_name(sorted(package.names))
        if name is None:
            package.problems.append(Problem(source, 1, f"no {MANIFEST}: a QTI package lists its items there"))
            return package
        _read_manifest(archive, name, source, package)
    return package


def _read_manifest(archive: zipfile.ZipFile, name: str, source: str, package: _Package) -> None:
    """Add every item resource of the manifest to the package (or the problems found)."""
    path = f"{source}/{name}"
    raw = _read_entry(archive, name, source)
    parsed = raw if isinstance(raw, Problem) else _read_xml(raw, path)
    if isinstance(parsed, Problem):
        package.problems.append(parsed)
        return
    if parsed.root.tag != "manifest":
        package.problems.append(
            Problem(path, 1, f"expected an IMS content package <manifest>, found <{parsed.root.tag}>")
        )
        return
    base = posixpath.dirname(name)
    resources = [r for r in parsed.root.iter("resource") if r.get("type", "").startswith(ITEM_TYPES)]
    if not resources:
        types = " or ".join(f"{t}..." for t in ITEM_TYPES)
        package.problems.append(Problem(path, 1, f"the manifest lists no QTI items (resources of type {types})"))
    for resource in resources:
        _add_resource(archive, resource, base, (path, parsed.line(resource)), source, package)


def _add_resource(
    archive: zipfile.ZipFile, resource: Element, base: str, where: tuple[str, int], source: str, package: _Package
) -> None:
    href = resource.get("href") or next((f.get("href", "") for f in _children(resource, "file")), "")
    target = posixpath.normpath(posixpath.join(base, unquote(href))) if href else ""  # hrefs are URIs
    if not href or _unsafe_name(target) or target.startswith("../"):
        message = f"resource {resource.get('identifier', '?')!r}: href {href!r} does not name a file in the package"
        package.problems.append(Problem(*where, message))
        return
    if target not in package.names:
        message = f"resource {resource.get('identifier', '?')!r}: {target} is not in the package"
        package.problems.append(Problem(*where, message))
        return
    data = _read_entry(archive, target, source)
    if isinstance(data, Problem):
        package.problems.append(data)
        return
    package.entries.append(_Entry(f"{source}/{target}", data, target, _child(resource, "metadata", "lom")))


# Import ---------------------------------------------------------------------------------------------------


class _PackageBuilder(ResultBuilder):
    """A ResultBuilder whose problems name the item file they come from, and skipped items and notes too."""

    def __init__(self, source: str, domains: dict[str, str], tags: dict[str, str]):
        super().__init__(source, domains, tags, key_hint=KEY_HINT)
        self.member = ""
        self.accepted_sources: list[str] = []
        self.sources_by_id: dict[str, str] = {}

    def at(self, entry: _Entry) -> None:
        """Report what follows against this item file."""
        self.source, self.member = entry.path, entry.member

    def _located(self, title: str) -> str:
        return f"{title} ({self.member})" if self.member else title

    def _skip(self, line: int, kind: str, title: str, reason: str) -> None:
        super()._skip(line, kind, self._located(title), reason)

    def note(self, line: int, title: str, message: str) -> None:
        super().note(line, self._located(title), message)

    def add(self, question: ParsedQuestion) -> None:
        count = len(self.accepted)
        super().add(question)
        if len(self.accepted) > count:
            self.accepted_sources.append(self.source)

    def _contents(self):
        contents = super()._contents()
        self.sources_by_id = {qid: src for (_, qid, _), src in zip(contents, self.accepted_sources, strict=False)}
        return contents

    def _groups(self, contents):
        """Report a question that disagrees with its scenario at its own file."""

        def located():
            for line, qid, content in contents:
                self.source = self.sources_by_id.get(qid, self.source)
                yield line, qid, content

        return super()._groups(located())


def parse_qti(data: bytes, *, source: str, domains: dict[str, str], tags: dict[str, str]) -> ConversionResult:
    """Convert a QTI 2.1 or 3.0 package (zip) or item file into scenarios for a bank with these vocabularies."""
    check_size(data, source)
    if zipfile.is_zipfile(io.BytesIO(data)):
        package = _read_package(data, source)
    else:
        package = _Package(entries=[_Entry(source, data)])
    builder = _PackageBuilder(source, domains, tags)
    for entry in package.entries:
        if builder.over_limit:
            break
        builder.at(entry)
        _read_item(entry, builder)
    builder.problems.extend(package.problems)
    return builder.result()


parse_qti21 = parse_qti  # one reader for both versions: each item's namespace says which it is
parse_qti30 = parse_qti


def _read_item(entry: _Entry, builder: ResultBuilder) -> None:
    parsed = _read_xml(entry.data, entry.path)
    if isinstance(parsed, Problem):
        builder.problems.append(parsed)
        return
    root = parsed.root
    if root.tag != "assessmentItem":
        builder.problem(parsed.line(root), f"expected a QTI assessmentItem, found <{root.tag}>")
        return
    if not parsed.namespace.startswith(("http://www.imsglobal.org/xsd/imsqti_v2p", QTI30_NS)):
        builder.problem(1, f"unknown namespace {parsed.namespace!r}: expected QTI 2.1 ({QTI21_NS}) or 3.0 ({QTI30_NS})")
        return
    interaction = _interaction(root, parsed, builder)
    if interaction is not None:
        _read_choice(root, interaction, parsed, entry.lom, builder)


def _title(root: Element) -> str:
    return root.get("title") or root.get("identifier") or "untitled item"


def _interaction(root: Element, parsed: _Xml, builder: ResultBuilder) -> Element | None:
    """The item's one choiceInteraction, or None when the item is skipped (other or several interactions)."""
    line, title = parsed.line(root), _title(root)
    body = _child(root, "itemBody")
    found = [e for e in body.iter() if e.tag.endswith("Interaction")] if body is not None else []
    if not found:
        builder.skip(line, "no interaction", title, "the item body has no interaction to answer")
        return None
    if len(found) > 1:
        kinds = ", ".join(sorted({e.tag for e in found}))
        builder.skip(line, "composite", title, f"{len(found)} interactions ({kinds}); only one choiceInteraction")
        return None
    if found[0].tag != "choiceInteraction":
        kind = found[0].tag
        builder.skip(line, kind, title, f"{kind} is not supported (only choiceInteraction)")
        return None
    return found[0]


def _read_choice(
    root: Element, interaction: Element, parsed: _Xml, lom: Element | None, builder: ResultBuilder
) -> None:
    line, title = parsed.line(root), _title(root)
    response_id = interaction.get("responseIdentifier", "")
    declaration = next((d for d in _children(root, "responseDeclaration") if d.get("identifier") == response_id), None)
    if declaration is None:
        builder.problem(parsed.line(interaction), f"no responseDeclaration for response {response_id!r}")
        return
    if declaration.get("cardinality") != "single" or interaction.get("maxChoices", "1") != "1":
        builder.skip(line, "choiceInteraction (multiple response)", title, MULTIPLE)
        return
    body = _child(root, "itemBody")
    before, after = _body_around(body, interaction)
    if after:
        builder.skip(line, "choiceInteraction", title, "text after the interaction cannot be kept")
        return
    correct = _child(declaration, "correctResponse")
    keys = [v.text.strip() for v in _children(correct, "value") if v.text] if correct is not None else []
    options = _options(root, interaction, keys, parsed, builder)
    if options is None:
        return
    prompt = _text(_child(interaction, "prompt"))
    metadata = _metadata(lom)
    metadata.stem_paragraphs = max(1, len(paragraphs(prompt)))
    _note_lost(root, {c.get("identifier") for c in _children(interaction, "simpleChoice")}, parsed, builder)
    builder.add(
        ParsedQuestion(
            line=line,
            title=title,
            preferred_id=_lom_identifier(lom) or root.get("identifier", ""),
            text="\n\n".join(part for part in (before, prompt) if part),
            options=options,
            category=_category(lom),
            free_tags=_keywords(lom),
            metadata=metadata,
        )
    )


def _options(
    root: Element, interaction: Element, keys: list[str], parsed: _Xml, builder: ResultBuilder
) -> list[ParsedOption] | None:
    """The choices as options (weight 100 for the key), or None when the key is not one of them."""
    choices = _children(interaction, "simpleChoice")
    identifiers = [c.get("identifier", "") for c in choices]
    unknown = [k for k in keys if k not in identifiers]
    if len(keys) > 1:
        builder.problem(parsed.line(interaction), f"correctResponse of a single response holds {len(keys)} values")
        return None
    if unknown:
        builder.problem(parsed.line(interaction), f"correctResponse names {unknown[0]!r}, which is not a choice")
        return None
    modal = {
        m.get("identifier"): m
        for m in _children(root, "modalFeedback")
        if m.get("showHide", "show") == "show" and m.get("identifier")
    }
    return [
        ParsedOption(_text(c), 100.0 if c.get("identifier") in keys else 0.0, _rationale(c, modal), parsed.line(c))
        for c in choices
    ]


def _rationale(choice: Element, modal: dict[str | None, Element]) -> str | None:
    """The choice's inline feedback, else the modal feedback shown for it; None when it has none."""
    inline = next((c for c in choice.iter() if c.tag in ("feedbackInline", "feedbackBlock")), None)
    if inline is not None and inline.get("showHide", "show") == "show":
        return _text(inline) or None
    feedback = modal.get(choice.get("identifier"))
    return (_text(feedback) or None) if feedback is not None else None


def _note_lost(root: Element, choices: set[str | None], parsed: _Xml, builder: ResultBuilder) -> None:
    """Note what the bank cannot keep: media, feedback not tied to one choice, rubrics and templates."""
    title = _title(root)
    in_choices = {e for choice in root.iter("simpleChoice") for e in choice.iter()}
    for element in root.iter():
        line = parsed.line(element)
        if element.tag in MEDIA:
            source = element.get("src") or element.get("data") or ""
            builder.note(line, title, f"{MEDIA[element.tag]} {source!r} is not kept".replace(" ''", ""))
        elif element.tag == "modalFeedback" and (
            element.get("identifier") not in choices or element.get("showHide", "show") != "show"
        ):
            detail = f"modal feedback {element.get('identifier')!r}"
            builder.note(line, title, f"{detail} is not tied to one choice: not kept")
        elif element.tag in HIDDEN_IN_TEXT and element not in in_choices:
            builder.note(line, title, f"{element.tag} is not kept")


# Manifest metadata (IEEE LOM) -------------------------------------------------------------------------------


def _lom_identifier(lom: Element | None) -> str:
    for identifier in _lom_all(lom, "general", "identifier"):
        if _value(identifier, "catalog") == ID_CATALOG:
            return _value(identifier, "entry")
    return ""


def _lom_all(lom: Element | None, section: str, name: str) -> list[Element]:
    return [e for s in _children(lom, section) for e in _children(s, name)] if lom is not None else []


def _keywords(lom: Element | None) -> tuple[str, ...]:
    return tuple(_value(k, "string") for k in _lom_all(lom, "general", "keyword") if _value(k, "string"))


def _classified(lom: Element | None, purpose: str) -> list[Element]:
    """The taxons of every classification with this purpose."""
    found = []
    for classification in _children(lom, "classification") if lom is not None else []:
        if _value(classification, "purpose", "value").casefold() == purpose:
            found += [t for path in _children(classification, "taxonPath") for t in _children(path, "taxon")]
    return found


def _category(lom: Element | None) -> str:
    """The discipline taxons as a category path (ids, else entries), matched like a Moodle category."""
    names = [_value(t, "id") or _value(t, "entry", "string") for t in _classified(lom, "discipline")]
    return "/".join(n.replace("/", "//") for n in names if n)


def _metadata(lom: Element | None) -> Metadata:
    meta = Metadata()
    if lom is None:
        return meta
    difficulty = _value(_child(lom, "educational"), "difficulty", "value")
    if difficulty:
        meta.difficulty = LOM_DIFFICULTY.get(difficulty.casefold(), difficulty)
    meta.competencies = tuple(_value(t, "id") for t in _classified(lom, "competency") if _value(t, "id"))
    for relation in _children(lom, "relation"):
        identifier = _child(relation, "resource", "identifier")
        if _value(relation, "kind", "value") == "ispartof" and _value(identifier, "catalog") == SCENARIO_CATALOG:
            meta.scenario_id = _value(identifier, "entry")
    for description in _lom_all(lom, "educational", "description"):
        text = _value(description, "string")
        if text.startswith(CONTENT_NOTE):
            meta.content_note = text.removeprefix(CONTENT_NOTE)
    return meta


# Sniffing ---------------------------------------------------------------------------------------------------


def sniff_qti(data: bytes) -> str | None:
    """'qti21' or 'qti30' when data looks like a QTI package or item file of that version, else None."""
    head = data[:SNIFF_BYTES]
    if zipfile.is_zipfile(io.BytesIO(data)):
        head = _manifest_head(data)
    if b"imsqti_item_xmlv3p0" in head or QTI30_NS.encode() in head:
        return "qti30"
    if b"imsqti_item_xmlv2p" in head or b"http://www.imsglobal.org/xsd/imsqti_v2p" in head:
        return "qti21"
    return None


def sniff_qti21(data: bytes) -> bool:
    return sniff_qti(data) == "qti21"


def sniff_qti30(data: bytes) -> bool:
    return sniff_qti(data) == "qti30"


def _manifest_head(data: bytes) -> bytes:
    """The first SNIFF_BYTES of the package's manifest (empty when there is none or the zip is unreadable)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            name = _manifest_name(archive.namelist())
            if name is None:
                return b""
            with archive.open(name) as handle:
                return handle.read(SNIFF_BYTES)
    except (OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error):
        return b""


# Export -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dialect:
    """What differs between the QTI versions this module writes."""

    version: str
    namespace: str
    schema_location: str
    resource_type: str
    manifest_namespace: str
    schema: str
    schema_version: str

    def tag(self, name: str) -> str:
        """A QTI 2.1 element name in this version ('choiceInteraction' -> 'qti-choice-interaction' in 3.0)."""
        if self.version == "2.1" or name in ("p", "br"):
            return name
        return "qti-" + _kebab(name)

    def attr(self, name: str) -> str:
        return name if self.version == "2.1" else _kebab(name)


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", lambda m: "-" + m.group(1).lower(), name)


QTI21 = _Dialect(
    "2.1",
    QTI21_NS,
    "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd",
    "imsqti_item_xmlv2p1",
    CP11_NS,
    "QTIv2.1 Package",
    "1.0.0",
)
QTI30 = _Dialect(
    "3.0",
    QTI30_NS,
    "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0p1_v1p0.xsd",
    "imsqti_item_xmlv3p0",
    CP_QTI30_NS,
    "QTI Package",
    "3.0.0",
)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same bank always gives the same bytes


def to_qti21(bank: Bank) -> bytes:
    """The whole bank as a QTI 2.1 content package (zip bytes) that parse_qti reads back hash for hash."""
    return _package(bank, QTI21)


def to_qti30(bank: Bank) -> bytes:
    """The whole bank as a QTI 3.0 content package (zip bytes) that parse_qti reads back hash for hash."""
    return _package(bank, QTI30)


def item_identifier(question_id: str) -> str:
    """The QTI identifier of a question: its id when a valid identifier (an NCName), else 'q-' + id."""
    return question_id if NCNAME.match(question_id) else f"q-{question_id}"


def _package(bank: Bank, dialect: _Dialect) -> bytes:
    buffer = io.BytesIO()
    pairs = list(bank.questions())
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        _write(archive, MANIFEST, _manifest(bank, pairs, dialect))
        for scenario, question in pairs:
            _write(archive, _item_path(question), _item(scenario, question, dialect))
    return buffer.getvalue()


def _write(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text.encode("utf-8"))


def _item_path(question: Question) -> str:
    return f"items/{question.id}.xml"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _inline(text: str) -> str:
    """Text as inline XHTML: escaped, with <br/> for line breaks."""
    return html.escape(text, quote=False).replace("\n", "<br/>")


def _choice_id(index: int) -> str:
    return f"Choice{chr(ord('A') + index)}" if index < 26 else f"Choice{index + 1}"


def _item(scenario: Scenario, question: Question, d: _Dialect) -> str:
    """One assessmentItem: declarations, body (scenario paragraphs, prompt, choices), processing, feedback."""
    t, a = d.tag, d.attr
    key = _choice_id(question.correct_index)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<{t("assessmentItem")} xmlns="{d.namespace}" xmlns:xsi="{XSI_NS}"',
        f'    xsi:schemaLocation="{d.namespace} {d.schema_location}"',
        f'    identifier="{_esc(item_identifier(question.id))}" title="{_esc(excerpt(question.stem, 120))}"',
        f'    adaptive="false" {a("timeDependent")}="false">',
        f'  <{t("responseDeclaration")} identifier="RESPONSE" cardinality="single" {a("baseType")}="identifier">',
        f"    <{t('correctResponse')}><{t('value')}>{key}</{t('value')}></{t('correctResponse')}>",
        f"  </{t('responseDeclaration')}>",
        f'  <{t("outcomeDeclaration")} identifier="SCORE" cardinality="single" {a("baseType")}="float">',
        f"    <{t('defaultValue')}><{t('value')}>0</{t('value')}></{t('defaultValue')}>",
        f"  </{t('outcomeDeclaration')}>",
        f'  <{t("outcomeDeclaration")} identifier="FEEDBACK" cardinality="single" {a("baseType")}="identifier"/>',
        f"  <{t('itemBody')}>",
    ]
    lines += [f"    <p>{_inline(p)}</p>" for p in paragraphs(scenario.text)]
    lines += [
        f'    <{t("choiceInteraction")} {a("responseIdentifier")}="RESPONSE" shuffle="true" {a("maxChoices")}="1">',
        f"      <{t('prompt')}>{_inline(question.stem.strip())}</{t('prompt')}>",
    ]
    for index, option in enumerate(question.options):
        choice = t("simpleChoice")
        lines.append(f'      <{choice} identifier="{_choice_id(index)}">{_inline(option.text)}</{choice}>')
    lines += [f"    </{t('choiceInteraction')}>", f"  </{t('itemBody')}>"]
    lines += _processing(d)
    for index, option in enumerate(question.options):
        lines.append(_modal_feedback(_choice_id(index), option.rationale, d))
    lines.append(f"</{t('assessmentItem')}>")
    return "\n".join(lines) + "\n"


def _processing(d: _Dialect) -> list[str]:
    """Score 1 for the key, 0 otherwise; FEEDBACK = the chosen choice, so its modal feedback is shown."""
    t, a = d.tag, d.attr

    def score(value: str) -> str:
        base = f'<{t("baseValue")} {a("baseType")}="float">{value}</{t("baseValue")}>'
        return f'<{t("setOutcomeValue")} identifier="SCORE">{base}</{t("setOutcomeValue")}>'

    match = (
        f'<{t("match")}><{t("variable")} identifier="RESPONSE"/><{t("correct")} identifier="RESPONSE"/></{t("match")}>'
    )
    feedback = f'<{t("variable")} identifier="RESPONSE"/>'
    return [
        f"  <{t('responseProcessing')}>",
        f"    <{t('responseCondition')}>",
        f"      <{t('responseIf')}>{match}{score('1')}</{t('responseIf')}>",
        f"      <{t('responseElse')}>{score('0')}</{t('responseElse')}>",
        f"    </{t('responseCondition')}>",
        f'    <{t("setOutcomeValue")} identifier="FEEDBACK">{feedback}</{t("setOutcomeValue")}>',
        f"  </{t('responseProcessing')}>",
    ]


def _modal_feedback(choice: str, rationale: str, d: _Dialect) -> str:
    t, a = d.tag, d.attr
    content = _inline(rationale)
    if d.version != "2.1":  # QTI 3.0 wraps modal feedback content in qti-content-body
        content = f"<{t('contentBody')}>{content}</{t('contentBody')}>"
    attrs = f'{a("outcomeIdentifier")}="FEEDBACK" identifier="{choice}" {a("showHide")}="show"'
    return f"  <{t('modalFeedback')} {attrs}>{content}</{t('modalFeedback')}>"


def _manifest(bank: Bank, pairs: list[tuple[Scenario, Question]], d: _Dialect) -> str:
    comment = " ".join(f"{bank.title} ({bank.id} {bank.version}), exported from quizbank.".split()).replace("--", "- -")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- {comment} The LOM metadata carries ids, domain, tags, competencies and difficulty. -->",
        f'<manifest xmlns="{d.manifest_namespace}" xmlns:imsmd="{LOM_NS}"'
        f' identifier="{_esc(item_identifier("MANIFEST-" + bank.id))}">',
        f"  <metadata><schema>{d.schema}</schema><schemaversion>{d.schema_version}</schemaversion></metadata>",
        "  <organizations/>",
        "  <resources>",
    ]
    for scenario, question in pairs:
        path = _esc(_item_path(question))
        lines += [
            f'    <resource identifier="{_esc("RES-" + question.id)}" type="{d.resource_type}" href="{path}">',
            "      <metadata>",
            *(f"        {line}" for line in _lom(bank, scenario, question)),
            "      </metadata>",
            f'      <file href="{path}"/>',
            "    </resource>",
        ]
    lines += ["  </resources>", "</manifest>"]
    return "\n".join(lines) + "\n"


def _string(text: str) -> str:
    return f"<imsmd:string>{html.escape(text, quote=False)}</imsmd:string>"


def _vocabulary(name: str, value: str) -> str:
    return f"<imsmd:{name}><imsmd:source>LOMv1.0</imsmd:source><imsmd:value>{value}</imsmd:value></imsmd:{name}>"


def _identifier(catalog: str, entry: str) -> str:
    parts = f"<imsmd:catalog>{catalog}</imsmd:catalog><imsmd:entry>{_esc(entry)}</imsmd:entry>"
    return f"<imsmd:identifier>{parts}</imsmd:identifier>"


def _classification(purpose: str, source: str, taxons: list[tuple[str, str]]) -> list[str]:
    entries = "".join(
        f"<imsmd:taxon><imsmd:id>{_esc(ident)}</imsmd:id><imsmd:entry>{_string(name)}</imsmd:entry></imsmd:taxon>"
        for ident, name in taxons
    )
    path = f"<imsmd:taxonPath><imsmd:source>{_string(source)}</imsmd:source>{entries}</imsmd:taxonPath>"
    return [f"<imsmd:classification>{_vocabulary('purpose', purpose)}{path}</imsmd:classification>"]


def _lom(bank: Bank, scenario: Scenario, question: Question) -> list[str]:
    """IEEE LOM for one item, in the binding's element order (general, educational, relation, classification)."""
    tags = sorted(set(scenario.tags) | set(question.tags))
    difficulty = {"hard": "difficult"}.get(question.difficulty, question.difficulty)
    lines = [
        "<imsmd:lom>",
        "  <imsmd:general>",
        f"    {_identifier(ID_CATALOG, question.id)}",
        f"    <imsmd:title>{_string(excerpt(question.stem, 120))}</imsmd:title>",
        *(f"    <imsmd:keyword>{_string(tag)}</imsmd:keyword>" for tag in tags),
        "  </imsmd:general>",
        "  <imsmd:educational>",
        f"    {_vocabulary('difficulty', difficulty)}",
    ]
    if scenario.content_note:
        lines.append(f"    <imsmd:description>{_string(CONTENT_NOTE + scenario.content_note)}</imsmd:description>")
    relation = f"<imsmd:resource>{_identifier(SCENARIO_CATALOG, scenario.id)}</imsmd:resource>"
    lines += [
        "  </imsmd:educational>",
        f"  <imsmd:relation>{_vocabulary('kind', 'ispartof')}{relation}</imsmd:relation>",
    ]
    domain = [(scenario.domain, bank.domains.get(scenario.domain, scenario.domain))]
    lines += [f"  {x}" for x in _classification("discipline", "quizbank domains", domain)]
    if scenario.competencies:
        taxons = [(c, bank.competencies.get(c, c)) for c in sorted(scenario.competencies)]
        lines += [f"  {x}" for x in _classification("competency", "quizbank competencies", taxons)]
    return lines + ["</imsmd:lom>"]
