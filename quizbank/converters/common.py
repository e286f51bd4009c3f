"""What the GIFT and Moodle XML converters share: results, vocabulary matching, text rules, ids, grouping.

Each format module reads its file into ``ParsedQuestion`` values; ``ResultBuilder`` applies the rules that
do not depend on the format (one fully correct answer, 3-4 options, a rationale for every option, a domain
from the category, metadata, ids, scenario grouping) and builds the ``ConversionResult``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

from quizbank.dump import scenario_from_contents
from quizbank.errors import BankError, Problem
from quizbank.loader import SLUG
from quizbank.model import DIFFICULTIES, Scenario

MAX_IMPORT_BYTES = 5_000_000
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
FULL_CREDIT = 100.0
MIN_OPTIONS, MAX_OPTIONS = 3, 4
MULTIPLE_ANSWERS = "multichoice (multiple answers)"


@dataclass(frozen=True)
class Skipped:
    """A question we cannot represent: reported, never silently dropped."""

    line: int
    kind: str
    title: str
    reason: str


@dataclass(frozen=True)
class ConversionResult:
    """Scenarios built from the valid questions, questions skipped by type, and problems to fix."""

    scenarios: tuple[Scenario, ...]
    skipped: tuple[Skipped, ...]
    problems: tuple[Problem, ...]


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


class Vocabulary:
    """The target bank's domains and tags, matched case-insensitively by id or display name."""

    def __init__(self, domains: dict[str, str], tags: dict[str, str]):
        self.domains = domains
        self.tags = tags
        self._domains = _lookup(domains)
        self._tags = _lookup(tags)

    def tag(self, name: str) -> str | None:
        return self._tags.get(name.strip().casefold())

    def category(self, path: str) -> tuple[str | None, list[str]]:
        """(domain, tags) named by a category path: the first domain match, every tag match."""
        domain: str | None = None
        tags: list[str] = []
        for segment in split_category(path):
            key = segment.casefold()
            if key == "top" or key.startswith("$"):
                continue  # Moodle's context markers ($course$, $system$...) and root category
            if key in self._domains:
                domain = domain or self._domains[key]
            elif key in self._tags:
                tags.append(self._tags[key])
        return domain, tags


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


class IdAllocator:
    """Hands out ids unique within one import, adding -2, -3... on collisions."""

    def __init__(self, reserved: set[str] | None = None):
        self.used = set(reserved or ())

    def take(self, wanted: str) -> str:
        ident, counter = wanted, 1
        while ident in self.used:
            counter += 1
            ident = f"{wanted}-{counter}"
        self.used.add(ident)
        return ident


# Building the result -------------------------------------------------------------------------------------


@dataclass
class _Accepted:
    question: ParsedQuestion
    domain: str
    tags: list[str]


class ResultBuilder:
    """Collects parsed questions, applies the shared rules and builds the ConversionResult."""

    def __init__(self, source: str, domains: dict[str, str], tags: dict[str, str], *, key_hint: str):
        self.source = source
        self.vocabulary = Vocabulary(domains, tags)
        self.key_hint = key_hint
        self.problems: list[Problem] = []
        self.skipped: list[Skipped] = []
        self.accepted: list[_Accepted] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.source, line, message))

    def skip(self, line: int, kind: str, title: str, reason: str) -> None:
        self.skipped.append(Skipped(line, kind, title, reason))

    def add(self, question: ParsedQuestion) -> None:
        """Accept a single-answer multiple-choice question, or record why it is skipped or invalid."""
        if not self._has_one_key(question) or not self._has_option_count(question):
            return
        before = len(self.problems)
        self._check_text_and_options(question)
        domain = self._domain(question)
        tags = self._tags(question)
        self._check_metadata(question)
        if domain and len(self.problems) == before and not question.metadata.invalid:
            self.accepted.append(_Accepted(question, domain, tags))

    def _has_one_key(self, q: ParsedQuestion) -> bool:
        full = sum(abs(o.weight - FULL_CREDIT) < 1e-6 for o in q.options)
        partial = sum(0 < o.weight < FULL_CREDIT for o in q.options)
        if full > 1:
            self.skip(q.line, MULTIPLE_ANSWERS, q.title, f"{full} answers are fully correct; only one may be")
        elif full == 0 and partial:
            self.skip(q.line, MULTIPLE_ANSWERS, q.title, "no fully correct answer (only partial credit)")
        elif full == 0:
            self.problem(q.line, f"the answer block has no key: {self.key_hint}")
        return full == 1

    def _has_option_count(self, q: ParsedQuestion) -> bool:
        count = len(q.options)
        if not MIN_OPTIONS <= count <= MAX_OPTIONS:
            self.skip(q.line, "multichoice", q.title, f"{count} options; a question needs 3 or 4")
            return False
        return True

    def _check_text_and_options(self, q: ParsedQuestion) -> None:
        if not q.text.strip():
            self.problem(q.line, "the question has no text")
        for number, option in enumerate(q.options, 1):
            if not option.text:
                self.problem(option.line, f"option {number} has no text")
            if not option.rationale:
                self.problem(option.line, f"option {number} has no feedback (rationale)")
        texts = [o.text.casefold() for o in q.options if o.text]
        if len(set(texts)) != len(texts):
            self.problem(q.line, "two options have the same text")

    def _domain(self, q: ParsedQuestion) -> str | None:
        domain, _ = self.vocabulary.category(q.category)
        if domain is None:
            known = ", ".join(self.vocabulary.domains) or "none"
            if q.category:
                self.problem(q.line, f"no domain: category {q.category!r} names none of the bank's domains ({known})")
            else:
                self.problem(q.line, f"no domain: the question is in no category naming a bank domain ({known})")
        return domain

    def _tags(self, q: ParsedQuestion) -> list[str]:
        _, tags = self.vocabulary.category(q.category)
        tags += [t for t in (self.vocabulary.tag(name) for name in q.free_tags) if t]
        for name in q.metadata.tags:
            if name in self.vocabulary.tags:
                tags.append(name)
            else:
                self.problem(q.line, f"unknown tag {name!r} (not in bank.yaml)")
        return sorted(set(tags))

    def _check_metadata(self, q: ParsedQuestion) -> None:
        meta = q.metadata
        if meta.scenario_id is not None and not is_kebab(meta.scenario_id):
            self.problem(q.line, f"scenario id must be lowercase-kebab-case, got {meta.scenario_id!r}")
        if meta.difficulty is not None and meta.difficulty not in DIFFICULTIES:
            self.problem(q.line, f"difficulty must be one of {', '.join(DIFFICULTIES)}, got {meta.difficulty!r}")

    def result(self) -> ConversionResult:
        """The ConversionResult: ids assigned, questions grouped into scenarios."""
        groups = self._groups(self._contents())
        return ConversionResult(
            scenarios=tuple(scenario_from_contents(pairs) for pairs in groups.values()),
            skipped=tuple(self.skipped),
            problems=tuple(sorted(self.problems)),
        )

    def _contents(self) -> list[tuple[int, str, dict]]:
        """(line, question id, canonical content) for every accepted question."""
        ids = IdAllocator({a.question.metadata.scenario_id for a in self.accepted} - {None})
        questions = [(a, ids.take(_wanted_id(a.question))) for a in self.accepted]
        return [(a.question.line, qid, self._content(a, qid, ids)) for a, qid in questions]

    @staticmethod
    def _content(accepted: _Accepted, qid: str, ids: IdAllocator) -> dict:
        q, meta = accepted.question, accepted.question.metadata
        scenario, stem = split_text(q.text, meta.stem_paragraphs)
        content = {
            "scenario_id": meta.scenario_id or ids.take(f"{qid}-scenario"),
            "scenario": scenario,
            "domain": accepted.domain,
            "competencies": sorted(set(meta.competencies)),
            "tags": accepted.tags,
            "stem": stem,
            "difficulty": meta.difficulty or "medium",
            "options": [
                {"text": o.text, "correct": abs(o.weight - FULL_CREDIT) < 1e-6, "rationale": o.rationale or ""}
                for o in q.options
            ],
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
