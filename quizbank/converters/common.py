"""What the GIFT and Moodle XML converters share: results, vocabulary matching, text rules, ids, grouping.

Each format module reads its file into ``ParsedQuestion`` values; ``ResultBuilder`` applies the rules that
do not depend on the format (the item rules of ``quizbank.rules``, shared with the YAML loader and the web
editor; a domain from the category, metadata, ids, scenario grouping) and builds the ``ConversionResult``.

Work is bounded: at most MAX_ITEMS_PER_FILE questions per file (one problem past it, the rest ignored) and
MAX_ANSWERS_PER_QUESTION answers per question (skipped past it); ids are allocated in linear time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from html.parser import HTMLParser
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from quizbank import rules
from quizbank.dump import scenario_from_contents
from quizbank.errors import BankError, Problem
from quizbank.model import Scenario

MAX_IMPORT_BYTES = 5_000_000
MAX_ITEMS_PER_FILE = 20_000  # questions (imported or skipped) read from one file
MAX_ANSWERS_PER_QUESTION = 100  # answers read for one question; more is skipped with its reason
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
FULL_CREDIT = 100.0
MIN_OPTIONS, MAX_OPTIONS = rules.MIN_OPTIONS, rules.MAX_OPTIONS
SLUG = rules.SLUG
MULTIPLE_ANSWERS = "multichoice (multiple answers)"
SKIP = "-"  # a category mapped to SKIP: its questions are skipped with a reason, not imported


@dataclass(frozen=True)
class Skipped:
    """A question we cannot represent: reported, never silently dropped."""

    line: int
    kind: str
    title: str
    reason: str


@dataclass(frozen=True)
class UnmappedCategory:
    """A category naming no bank domain, with no mapping and no default: a UI can ask where it goes."""

    category: str  # the path as the file gives it ('' for questions in no category)
    count: int  # questions in it that failed for want of a domain
    line: int  # the first such question's line


@dataclass(frozen=True)
class ConversionResult:
    """Scenarios built from the valid questions, questions skipped by type, and problems to fix."""

    scenarios: tuple[Scenario, ...]
    skipped: tuple[Skipped, ...]
    problems: tuple[Problem, ...]
    notes: tuple[tuple[int, str, str], ...] = ()  # (line, question title, message): content not kept
    unmapped: tuple[UnmappedCategory, ...] = ()  # categories that need a mapping (each also a problem per question)


class ConversionError(BankError):
    """The input cannot be converted at all (too large); ``problems`` holds the single reason."""


def check_size(data: str | bytes, source: str) -> None:
    """Raise ConversionError when data is larger than MAX_IMPORT_BYTES (text counted as UTF-8)."""
    size = len(data)
    if isinstance(data, str) and size <= MAX_IMPORT_BYTES:
        size = len(data.encode("utf-8"))
    if size > MAX_IMPORT_BYTES:
        raise ConversionError([Problem(source, 1, f"file is larger than {MAX_IMPORT_BYTES} bytes")])


# Parsed values handed over by the format modules ---------------------------------------------------------


@dataclass
class ParsedOption:
    text: str
    weight: float  # percent of full credit: 100 is the key
    rationale: str | None  # None when the answer has no feedback at all
    line: int


@dataclass
class Metadata:
    """What an export writes so that a re-import gives the same content hashes."""

    scenario_id: str | None = None
    difficulty: str | None = None
    competencies: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    stem_paragraphs: int = 1
    content_note: str = ""
    invalid: bool = False  # the metadata could not be read (already reported as a problem)


@dataclass
class ParsedQuestion:
    line: int
    title: str
    preferred_id: str  # an id the file gives explicitly (GIFT title, Moodle idnumber); used when kebab-case
    text: str  # plain text: paragraphs separated by blank lines
    options: list[ParsedOption]
    category: str
    free_tags: tuple[str, ...] = ()  # Moodle <tags>: matched against the vocabulary, the rest ignored
    metadata: Metadata = field(default_factory=Metadata)
    general_feedback: str = ""  # GIFT '####', Moodle <generalfeedback> (plain text; not kept in the bank yet)


# Text rules ----------------------------------------------------------------------------------------------


def split_text(text: str, stem_paragraphs: int = 1) -> tuple[str, str]:
    """(scenario, stem): the last ``stem_paragraphs`` paragraphs are the stem, earlier ones the scenario."""
    text = text.strip()
    breaks = list(PARAGRAPH_BREAK.finditer(text))
    if len(breaks) < stem_paragraphs:
        return "", text
    cut = breaks[-stem_paragraphs]
    return text[: cut.start()].strip(), text[cut.end() :].strip()


def paragraphs(text: str) -> list[str]:
    """The non-empty paragraphs of text (blank-line separated)."""
    return [p for p in PARAGRAPH_BREAK.split(text.strip()) if p]


def excerpt(text: str, limit: int = 60) -> str:
    """A one-line title for a question without a name."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


_BLOCK_TAGS = frozenset(
    {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr"}
    | {"section", "article", "header", "footer", "dl", "dt", "dd", "hr"}
)
_HIDDEN_TAGS = frozenset({"script", "style"})


class _TextExtractor(HTMLParser):
    """HTML to plain text: block elements become paragraphs, <br> a line break, other tags vanish."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.current: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag == "br":
            self.current.append("\n")
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag == "br":
            self.current.append("\n")
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.current.append(re.sub(r"\s+", " ", data))

    def flush(self) -> None:
        lines = [line.strip() for line in "".join(self.current).split("\n")]
        paragraph = "\n".join(lines).strip()
        if paragraph:
            self.paragraphs.append(paragraph)
        self.current = []


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags stripped, entities unescaped, paragraphs blank-line separated."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    extractor.flush()
    return "\n\n".join(extractor.paragraphs)


# Vocabulary matching -------------------------------------------------------------------------------------


def _lookup(vocabulary: dict[str, str]) -> dict[str, str]:
    """{casefolded id or display name: id}; ids win over display names."""
    found: dict[str, str] = {}
    for ident in vocabulary:
        found.setdefault(ident.casefold(), ident)
    for ident, name in vocabulary.items():
        found.setdefault(name.strip().casefold(), ident)
    return found


def split_category(path: str) -> list[str]:
    """Segments of a Moodle/GIFT category path; '//' is an escaped '/' inside a name."""
    return [s.replace("//", "/").strip() for s in re.split(r"(?<!/)/(?!/)", path) if s.strip()]


def _is_marker(segment: str) -> bool:
    """Moodle's root category and context markers ($course$, $system$...), which name nothing."""
    key = segment.casefold()
    return key == "top" or key.startswith("$")


def category_key(path: str) -> str:
    """How a category is matched in a category map: its named segments casefolded, joined by '/'.

    '$course$/top/Legal issues', 'top/legal issues' and 'Legal issues' all give 'legal issues'.
    """
    return "/".join(s.casefold() for s in split_category(path) if not _is_marker(s))


class Vocabulary:
    """The target bank's domains and tags, matched case-insensitively by id or display name.

    A category names a domain when one of its segments is a domain's id or display name. A ``category_map``
    ({category path or one segment: domain id, or SKIP}) places the other categories: the whole path first
    (it wins over the segments' own names), then the segments' own names, then each segment from the deepest
    up; ``default_domain`` takes what is still unplaced.
    """

    def __init__(
        self,
        domains: dict[str, str],
        tags: dict[str, str],
        category_map: Mapping[str, str] | None = None,
        default_domain: str | None = None,
    ):
        self.domains = domains
        self.tags = tags
        self._domains = _lookup(domains)
        self._tags = _lookup(tags)
        self.category_map = {category_key(k): v.strip() for k, v in (category_map or {}).items()}
        self.default_domain = (default_domain or "").strip() or None
        self._categories: dict[str, tuple[str | None, tuple[str, ...]]] = {}  # a file repeats few paths

    def tag(self, name: str) -> str | None:
        return self._tags.get(name.strip().casefold())

    def domain(self, name: str) -> str | None:
        """The domain id named by an id or display name (any case), None if none."""
        return self._domains.get(name.strip().casefold())

    def category(self, path: str) -> tuple[str | None, list[str]]:
        """(domain, tags) of a category path: the domain as placed by the map (or SKIP, or an unknown name
        given in the map, which ``target_problem`` reports), every tag match."""
        if path not in self._categories:
            domain, tags = self._match_category(path)
            self._categories[path] = (domain, tuple(tags))
        domain, tags = self._categories[path]
        return domain, list(tags)

    def _match_category(self, path: str) -> tuple[str | None, list[str]]:
        segments = [s for s in split_category(path) if not _is_marker(s)]
        domain: str | None = self.category_map.get("/".join(s.casefold() for s in segments))
        tags: list[str] = []
        for segment in segments:
            key = segment.casefold()
            if key in self._domains:
                domain = domain or self._domains[key]
            elif key in self._tags:
                tags.append(self._tags[key])
        for segment in reversed(segments):
            domain = domain or self.category_map.get(segment.casefold())
        return domain or self.default_domain, tags

    def target_problem(self, path: str, target: str) -> str | None:
        """Why a mapped or default target is not usable (None when it is a domain id or SKIP)."""
        if target == SKIP or target in self.domains:
            return None
        known = ", ".join(self.domains) or "none"
        if target == self.default_domain and not self._mapped(path):
            return f"the default domain {target!r} is not one of the bank's domains ({known})"
        return f"category {path!r} is mapped to {target!r}, which is not one of the bank's domains ({known})"

    def _mapped(self, path: str) -> bool:
        keys = {category_key(path), *(s.casefold() for s in split_category(path))}
        return any(key in self.category_map for key in keys)


def check_category_map(
    category_map: Mapping[str, str] | None, default_domain: str | None, domains: dict[str, str]
) -> list[str]:
    """Messages for map entries and a default that name no domain of ``domains`` (SKIP is allowed)."""
    known = ", ".join(domains) or "none"
    messages = [
        f"category {category!r} is mapped to {target!r}, which is not one of the bank's domains ({known})"
        for category, target in (category_map or {}).items()
        if target.strip() != SKIP and target.strip() not in domains
    ]
    if default_domain and default_domain.strip() not in domains:
        messages.append(f"the default domain {default_domain!r} is not one of the bank's domains ({known})")
    return messages


# Category mapping passed to every converter -------------------------------------------------------------

_MAPPING: ContextVar[tuple[Mapping[str, str], str | None] | None] = ContextVar("category_mapping", default=None)


@contextmanager
def category_mapping(category_map: Mapping[str, str] | None, default_domain: str | None = None) -> Iterator[None]:
    """Within this block every converter places categories with this map and default (see ``Vocabulary``).

    The format modules' ``parse`` functions take only the vocabularies; the mapping reaches their
    ``ResultBuilder`` this way (a builder given ``category_map``/``default_domain`` explicitly uses those).
    """
    token = _MAPPING.set((dict(category_map or {}), default_domain))
    try:
        yield
    finally:
        _MAPPING.reset(token)


# Ids -----------------------------------------------------------------------------------------------------


def slugify(text: str, limit: int = 60) -> str:
    """A lowercase-kebab id made from free text ('question' when nothing usable is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0] if "-" in slug[:limit] else slug[:limit]
    return slug or "question"


def is_kebab(text: str) -> bool:
    return bool(SLUG.match(text))


def _fit(ident: str, limit: int) -> str:
    """ident cut to at most limit characters, without a trailing hyphen."""
    return ident[:limit].rstrip("-") or "question"


class IdAllocator:
    """Hands out ids unique within one import, adding -2, -3... on collisions, in linear time overall.

    Each wanted id remembers the last suffix it handed out, so n questions wanting the same id cost O(n) in all
    (not O(n^2)). Ids are cut to ``limit`` characters, suffix included (the database column's length).
    """

    def __init__(self, reserved: set[str] | None = None, limit: int = rules.MAX_ID):
        self.used = set(reserved or ())
        self.limit = limit
        self.counters: dict[str, int] = {}

    def take(self, wanted: str) -> str:
        base = _fit(wanted, self.limit)
        counter = self.counters.get(base, 1)
        ident = base if counter == 1 else self._suffixed(base, counter)
        while ident in self.used:
            counter += 1
            ident = self._suffixed(base, counter)
        self.counters[base] = counter
        self.used.add(ident)
        return ident

    def _suffixed(self, base: str, counter: int) -> str:
        suffix = f"-{counter}"
        return _fit(base, self.limit - len(suffix)) + suffix


# Building the result -------------------------------------------------------------------------------------


@dataclass
class _Accepted:
    question: ParsedQuestion
    domain: str
    tags: list[str]
    scenario: str  # the question's text split into scenario and stem
    stem: str


class ResultBuilder:
    """Collects parsed questions, applies the shared rules and builds the ConversionResult."""

    def __init__(
        self,
        source: str,
        domains: dict[str, str],
        tags: dict[str, str],
        *,
        key_hint: str,
        category_map: Mapping[str, str] | None = None,
        default_domain: str | None = None,
    ):
        self.source = source
        if category_map is None and default_domain is None:
            category_map, default_domain = _MAPPING.get() or (None, None)
        self.vocabulary = Vocabulary(domains, tags, category_map, default_domain)
        self.unmapped: dict[str, list[int]] = {}  # category -> [question count, first line]
        self.key_hint = key_hint
        self.problems: list[Problem] = []
        self.skipped: list[Skipped] = []
        self.notes: list[tuple[int, str, str]] = []
        self.accepted: list[_Accepted] = []
        self.items = 0  # questions seen (accepted, invalid or skipped)

    @property
    def over_limit(self) -> bool:
        """True once the file has more than MAX_ITEMS_PER_FILE questions: parsers may stop reading."""
        return self.items > MAX_ITEMS_PER_FILE

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.source, line, message))

    def note(self, line: int, title: str, message: str) -> None:
        """Something of a question that is not kept (listed with the result, never dropped silently)."""
        self.notes.append((line, title, message))

    def skip(self, line: int, kind: str, title: str, reason: str) -> None:
        """A question of a kind that cannot be represented (it counts toward MAX_ITEMS_PER_FILE)."""
        if self._admit(line):
            self._skip(line, kind, title, reason)

    def _skip(self, line: int, kind: str, title: str, reason: str) -> None:
        self.skipped.append(Skipped(line, kind, title, reason))

    def _admit(self, line: int) -> bool:
        """Count one more question; False (and one problem, at the first) past MAX_ITEMS_PER_FILE."""
        self.items += 1
        if self.items == MAX_ITEMS_PER_FILE + 1:
            self.problem(
                line,
                f"the file holds more than {MAX_ITEMS_PER_FILE} questions: split it into files of at most "
                f"{MAX_ITEMS_PER_FILE} (nothing from this one is imported)",
            )
        return self.items <= MAX_ITEMS_PER_FILE

    def add(self, question: ParsedQuestion) -> None:
        """Accept a single-answer multiple-choice question, or record why it is skipped or invalid."""
        if not self._admit(question.line) or self._skipped_by_map(question) or not self._has_few_answers(question):
            return
        if not self._has_one_key(question) or not self._has_option_count(question):
            return
        before = len(self.problems)
        scenario, stem = split_text(question.text, question.metadata.stem_paragraphs)
        self._check_item_rules(question, scenario, stem)
        domain = self._domain(question)
        tags = self._tags(question)
        if domain and len(self.problems) == before and not question.metadata.invalid:
            self.accepted.append(_Accepted(question, domain, tags, scenario, stem))

    def _has_few_answers(self, q: ParsedQuestion) -> bool:
        count = len(q.options)
        if count > MAX_ANSWERS_PER_QUESTION:
            self._skip(q.line, "multichoice", q.title, f"{count} answers; at most {MAX_ANSWERS_PER_QUESTION} are read")
            return False
        return True

    def _has_one_key(self, q: ParsedQuestion) -> bool:
        full = sum(_is_key(o) for o in q.options)
        partial = sum(0 < o.weight < FULL_CREDIT for o in q.options)
        if full > 1:
            self._skip(q.line, MULTIPLE_ANSWERS, q.title, f"{full} answers are fully correct; only one may be")
        elif full == 0 and partial:
            self._skip(q.line, MULTIPLE_ANSWERS, q.title, "no fully correct answer (only partial credit)")
        elif full == 0:
            message = rules.key_problem(_rule_options(q)).message
            self.problem(q.line, f"{message} Hint: {self.key_hint}.")
        return full == 1

    def _has_option_count(self, q: ParsedQuestion) -> bool:
        problem = rules.option_count_problem(len(q.options))
        if problem is not None:
            self._skip(q.line, "multichoice", q.title, problem.message)
            return False
        return True

    def _check_item_rules(self, q: ParsedQuestion, scenario: str, stem: str) -> None:
        """quizbank.rules on the question as it would be imported; option problems at the option's line."""
        meta = q.metadata
        problems = rules.check_item(
            stem=stem,
            difficulty="medium" if meta.difficulty is None else meta.difficulty,
            options=_rule_options(q),
            scenario=scenario,
            content_note=meta.content_note,
            scenario_id=meta.scenario_id,
        )
        for problem in problems:
            option = rules.parse_option_field(problem.field)
            self.problem(q.options[option[0]].line if option else q.line, problem.message)

    def _skipped_by_map(self, q: ParsedQuestion) -> bool:
        """True (and the question skipped with its reason) when the category map says to skip its category."""
        domain, _ = self.vocabulary.category(q.category)
        if domain != SKIP:
            return False
        where = f"category {q.category!r}" if q.category else "questions in no category"
        self._skip(q.line, "multichoice", q.title, f"{where} is mapped to 'skip these questions'")
        return True

    def _domain(self, q: ParsedQuestion) -> str | None:
        """The question's domain id; None after reporting why (no domain, or a mapping naming no domain)."""
        domain, _ = self.vocabulary.category(q.category)
        if domain is not None:
            problem = self.vocabulary.target_problem(q.category, domain)
            if problem:
                self.problem(q.line, problem)
                return None
            return domain
        known = ", ".join(self.vocabulary.domains) or "none"
        if q.category:
            self.problem(q.line, f"no domain: category {q.category!r} names none of the bank's domains ({known})")
        else:
            self.problem(q.line, f"no domain: the question is in no category naming a bank domain ({known})")
        found = self.unmapped.setdefault(q.category, [0, q.line])
        found[0] += 1
        return None

    def _tags(self, q: ParsedQuestion) -> list[str]:
        _, tags = self.vocabulary.category(q.category)
        tags += [t for t in (self.vocabulary.tag(name) for name in q.free_tags) if t]
        for name in q.metadata.tags:
            if name in self.vocabulary.tags:
                tags.append(name)
            else:
                self.problem(q.line, f"unknown tag {name!r} (not in bank.yaml)")
        return sorted(set(tags))

    def result(self) -> ConversionResult:
        """The ConversionResult: ids assigned, questions grouped into scenarios."""
        groups = self._groups(self._contents())
        return ConversionResult(
            scenarios=tuple(scenario_from_contents(pairs) for pairs in groups.values()),
            skipped=tuple(self.skipped),
            problems=tuple(sorted(self.problems)),
            notes=tuple(self.notes),
            unmapped=tuple(UnmappedCategory(c, n, line) for c, (n, line) in self.unmapped.items()),
        )

    def _contents(self) -> list[tuple[int, str, dict]]:
        """(line, question id, canonical content) for every accepted question."""
        ids = IdAllocator({a.question.metadata.scenario_id for a in self.accepted} - {None})
        questions = [(a, ids.take(_wanted_id(a.question))) for a in self.accepted]
        return [(a.question.line, qid, self._content(a, qid, ids)) for a, qid in questions]

    @staticmethod
    def _content(accepted: _Accepted, qid: str, ids: IdAllocator) -> dict:
        q, meta = accepted.question, accepted.question.metadata
        content = {
            "scenario_id": meta.scenario_id or ids.take(f"{qid}-scenario"),
            "scenario": accepted.scenario,
            "domain": accepted.domain,
            "competencies": sorted(set(meta.competencies)),
            "tags": accepted.tags,
            "stem": accepted.stem,
            "difficulty": meta.difficulty or "medium",
            "options": [{"text": o.text, "correct": _is_key(o), "rationale": o.rationale or ""} for o in q.options],
        }
        if meta.content_note:
            content["content_note"] = meta.content_note
        return content

    def _groups(self, contents: list[tuple[int, str, dict]]) -> dict[str, list[tuple[str, dict]]]:
        """Questions sharing a scenario id, in file order; a question that disagrees on the scenario is a problem."""
        groups: dict[str, list[tuple[str, dict]]] = {}
        for line, qid, content in contents:
            pairs = groups.setdefault(content["scenario_id"], [])
            differing = [
                f
                for f in ("scenario", "content_note", "domain", "competencies")
                if pairs and content.get(f, "") != pairs[0][1].get(f, "")
            ]
            if differing:
                self.problem(
                    line,
                    f"question {qid!r} belongs to scenario {content['scenario_id']!r} but has a different "
                    f"{' and '.join(differing)} than question {pairs[0][0]!r} of that scenario",
                )
            else:
                pairs.append((qid, content))
        return groups


def _wanted_id(question: ParsedQuestion) -> str:
    if is_kebab(question.preferred_id):
        return question.preferred_id
    return slugify(question.title or question.preferred_id or question.text)


def _is_key(option: ParsedOption) -> bool:
    """An answer worth full credit."""
    return abs(option.weight - FULL_CREDIT) < 1e-6


def _rule_options(question: ParsedQuestion) -> list[rules.OptionFields]:
    """The question's answers as quizbank.rules sees options (no feedback = an empty rationale)."""
    return [rules.OptionFields(o.text, o.rationale or "", _is_key(o)) for o in question.options]


# Defused XML with source lines (Moodle XML and QTI) --------------------------------------------------------


class _LineTreeBuilder(TreeBuilder):
    """An ElementTree builder that remembers the source line of every element's start tag."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Element, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag, attrs):
        element = super().start(tag, attrs)
        if self.parser is not None:
            self.lines[element] = self.parser.parser.CurrentLineNumber
        return element


def read_xml_with_lines(data: bytes, source: str) -> tuple[Element, dict[Element, int]] | Problem:
    """(root, element lines) parsed by defusedxml with DTDs, entities and external references forbidden,
    or the Problem that stopped it ("unsafe XML" or "invalid XML", with its line)."""
    builder = _LineTreeBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        reason = "document type declarations (DTD), entity declarations and external references are not allowed"
        return Problem(source, parser.parser.CurrentLineNumber, f"unsafe XML: {type(exc).__name__}: {reason}")
    except ParseError as exc:
        return Problem(source, exc.position[0], f"invalid XML: {exc}")
    return root, builder.lines
