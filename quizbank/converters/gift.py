"""GIFT (Moodle's plain-text quiz format) to bank scenarios and back.

Import rules
- Questions are separated by blank lines; full-line ``//`` comments are ignored, except ``// quizbank:``
  metadata and Moodle 4's ``// [id:idnumber] [tag:name]``: the id is used like a title (below), tags that
  name a tag of the bank become tags.
- Only single-answer multiple choice with 3 or 4 options becomes a question. ``=`` (or ``~%100%``) marks the
  one key; other weights (``~%50%``, ``~%-25%``) are kept as incorrect options. Several fully correct answers, or
  partial credit without a fully correct answer, is skipped as "multichoice (multiple answers)"; 2 or 5+
  options are skipped; an answer block with no correct answer at all is a problem.
- ``#feedback`` after an answer is that option's rationale; an answer without one is a problem.
- ``$CATEGORY: a/b/c`` applies to the questions that follow. Each segment is matched case-insensitively
  against the bank's domain ids and names, then tag ids and names: the first domain match is the domain,
  tag matches become tags, other segments are ignored. A question with no domain is a problem.
- ``::title::`` gives the question id when it is lowercase-kebab-case, otherwise a slug of it (or of the
  text) is used; ids are made unique with -2, -3... Escapes: ``\\~ \\= \\# \\{ \\} \\: \\\\`` and ``\\n``
  (a line break). Text after the answer block makes a missing-word question: the blank ``_____`` stands
  where the block stood (``{=Asia ~Europe} is the largest continent.`` gives ``_____ is the largest...``).
- Formats, as in Moodle: the question text may start with ``[html]``, ``[moodle]``, ``[plain]`` or
  ``[markdown]``; without one it is Moodle auto-format (HTML rendered, line breaks kept). Each answer and
  each feedback may start with its own marker, else it has the question's format; the marker is removed.
  HTML and auto-format are reduced to text with whitespace normalised (source indentation dropped),
  Markdown is rendered first, plain text is kept as written (``quizbank.converters.richtext``).
- Nothing is dropped silently: images, audio and video (``<img>``, ``@@PLUGINFILE@@``, links to media),
  ``####`` general feedback, partial credit and negative marks and Moodle tags outside the bank's
  vocabulary are listed per question in ``ConversionResult.notes`` (line, title, message).
- The last paragraph of the text is the stem, earlier paragraphs the scenario; difficulty is "medium".
  Every question gets its own scenario (``<question id>-scenario``) unless metadata names one.
- True/false ``{T}``, essay ``{}``, matching (``->``), numerical ``{#...}``, short answer (only ``=``
  answers) and description (no answer block) questions are skipped with their line.

Export (``to_gift``) writes, per domain, a ``$CATEGORY: <domain id>`` line and then every question as a
``// quizbank: {json}`` comment (scenario id, difficulty, competencies, tags), ``::question-id::``, the
scenario and stem separated by a paragraph break, and ``=``/``~`` answers with ``#rationale``. A question
with any text that auto-format would change (tags, entities, runs of spaces or blank lines) is written as
``[plain]``; a text that starts like a marker gets ``[plain]`` before it. Parsing the export rebuilds the
same scenarios, so every question keeps its content hash.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field

from quizbank.converters.common import (
    FULL_CREDIT,
    ConversionResult,
    Metadata,
    ParsedOption,
    ParsedQuestion,
    ResultBuilder,
    check_size,
    excerpt,
    paragraphs,
)
from quizbank.converters.richtext import (
    BLANK_MARK,
    MOODLE,
    PLAIN,
    Converted,
    Note,
    NoteList,
    convert,
    text_format,
    with_notes,
)
from quizbank.model import Bank, Question, Scenario

METADATA_PREFIX = "quizbank:"
CATEGORY_PREFIX = "$CATEGORY:"
FORMATS = ("html", "moodle", "plain", "markdown")
KEY_HINT = "mark the correct answer with '='"

# Escaped characters are swapped for private-use placeholders while the structure is parsed.
_ESCAPABLE = "~=#{}:\\n"
_PLACEHOLDER = {char: chr(0xE000 + i) for i, char in enumerate(_ESCAPABLE)}
_RESTORE = {ord(p): ("\n" if c == "n" else c) for c, p in _PLACEHOLDER.items()}
_ESCAPE = re.compile(r"\\([~=#{}:\\n])")
_TITLE = re.compile(r"\s*::(.*?)::", re.S)
_FORMAT = re.compile(r"\s*\[(\w+)\]")
_MOODLE_COMMENT = re.compile(r"\[(id|tag):([^\]]*)\]")  # Moodle 4: // [id:idnumber] [tag:name] ...
_WEIGHT = re.compile(r"\s*%(-?\d+(?:\.\d+)?)%")
_TRUE_FALSE = re.compile(r"(T|F|TRUE|FALSE)\s*(#.*)?", re.S | re.I)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _protect(line: str) -> str:
    return _ESCAPE.sub(lambda m: _PLACEHOLDER[m.group(1)], line)


def _restore(text: str) -> str:
    return text.translate(_RESTORE)


@dataclass
class _Block:
    """One question's lines (comments and category lines removed) as protected text with line numbers."""

    text: str
    starts: list[int]  # offset in text where each kept line starts
    numbers: list[int]  # the 1-based file line of each kept line

    @classmethod
    def of(cls, lines: list[tuple[int, str]]) -> _Block:
        protected = [_protect(line) for _, line in lines]
        starts, offset = [], 0
        for line in protected:
            starts.append(offset)
            offset += len(line) + 1
        return cls("\n".join(protected), starts, [n for n, _ in lines])

    def line_at(self, offset: int) -> int:
        return self.numbers[bisect.bisect_right(self.starts, offset) - 1]


def parse_gift(text: str, *, source: str, domains: dict[str, str], tags: dict[str, str]) -> ConversionResult:
    """Convert GIFT text into scenarios for a bank with these domain and tag vocabularies."""
    check_size(text, source)
    builder = ResultBuilder(source, domains, tags, key_hint=KEY_HINT)
    notes: list[Note] = []
    category = ""
    for lines in _blocks(text.removeprefix("\ufeff")):
        category = _read_block(lines, category, builder, notes)
        if builder.over_limit:
            break
    return with_notes(builder.result(), notes)


def _blocks(text: str) -> list[list[tuple[int, str]]]:
    """Blank-line separated groups of (line number, line)."""
    blocks: list[list[tuple[int, str]]] = [[]]
    for number, line in enumerate(_LINE_BREAK.split(text), 1):
        if line.strip():
            blocks[-1].append((number, line))
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


@dataclass
class _Comments:
    """What the comment lines of a question say: quizbank metadata, Moodle 4 ``[id:...]`` and ``[tag:...]``."""

    metadata: Metadata = field(default_factory=Metadata)
    idnumber: str = ""
    tags: list[str] = field(default_factory=list)

    def read(self, comment: str, line: int, builder: ResultBuilder) -> None:
        if comment.startswith(METADATA_PREFIX):
            self.metadata = _read_metadata(comment[len(METADATA_PREFIX) :], line, builder)
            return
        for kind, value in _MOODLE_COMMENT.findall(comment):
            if kind == "id":
                self.idnumber = value.strip()
            elif value.strip():
                self.tags.append(value.strip())


def _read_block(lines: list[tuple[int, str]], category: str, builder: ResultBuilder, notes: list[Note]) -> str:
    """Read one block: comments, metadata and $CATEGORY lines, then its question if any; returns the category."""
    comments = _Comments()
    question_lines: list[tuple[int, str]] = []
    for number, line in lines:
        stripped = line.strip()
        if stripped.startswith("//"):
            comments.read(stripped[2:].strip(), number, builder)
        elif stripped.startswith(CATEGORY_PREFIX):
            category = stripped[len(CATEGORY_PREFIX) :].strip()
        else:
            question_lines.append((number, line))
    if question_lines:
        _read_question(_Block.of(question_lines), category, comments, builder, notes)
    return category


def _read_metadata(raw: str, line: int, builder: ResultBuilder) -> Metadata:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        builder.problem(line, f"invalid quizbank metadata (JSON): {exc.msg}")
        return Metadata(invalid=True)
    if not isinstance(data, dict):
        builder.problem(line, "quizbank metadata must be a JSON object")
        return Metadata(invalid=True)
    lists = {key: data.get(key) or [] for key in ("competencies", "tags")}
    paragraphs_count = data.get("stem_paragraphs", 1)
    if not all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in lists.values()) or not (
        isinstance(paragraphs_count, int) and paragraphs_count >= 1
    ):
        builder.problem(line, "quizbank metadata: competencies and tags must be lists of text, stem_paragraphs >= 1")
        return Metadata(invalid=True)
    scenario_id, difficulty = data.get("scenario_id"), data.get("difficulty")
    content_note = data.get("content_note", "")
    if not isinstance(content_note, str):
        builder.problem(line, "quizbank metadata: content_note must be text")
        return Metadata(invalid=True)
    return Metadata(
        content_note=content_note,
        scenario_id=str(scenario_id) if scenario_id is not None else None,
        difficulty=str(difficulty) if difficulty is not None else None,
        competencies=tuple(lists["competencies"]),
        tags=tuple(lists["tags"]),
        stem_paragraphs=paragraphs_count,
    )


def _read_question(
    block: _Block, category: str, comments: _Comments, builder: ResultBuilder, notes: list[Note]
) -> None:
    """Read one question's title, format, text and answer block; hand it to the builder or skip it."""
    text, line = block.text, block.numbers[0]
    position, title = 0, ""
    title_match = _TITLE.match(text)
    if title_match:
        title, position = _restore(title_match.group(1)).strip(), title_match.end()
    fmt, position = _marker(text, position, MOODLE)
    opening = text.find("{", position)
    closing = text.find("}", opening + 1) if opening >= 0 else -1
    if not _answer_block_is_balanced(block, position, opening, closing, builder):
        return
    if opening < 0:
        shown = title or excerpt(_convert(text[position:], fmt).text)
        builder.skip(line, "description", shown, "no answer block: a description, not a question")
        return
    found = NoteList()
    question_text = found.media(_question_text(text[position:opening], text[closing + 1 :], fmt), "the question text")
    title = title or excerpt(question_text)
    answers, _, general = text[opening + 1 : closing].partition("####")  # '####' starts general feedback
    kind = _kind(answers)
    if kind:
        builder.skip(line, kind, title, f"{kind} questions are not supported (only single-answer multiple choice)")
        return
    options = _options(block, answers, opening + 1, fmt, builder, found)
    if options is None:
        return
    general_feedback = found.media(_convert(*_split_marker(general, fmt)), "the general feedback")
    found.general_feedback(general_feedback)
    found.weights(options)
    found.tags(comments.tags, builder.vocabulary.tag)
    notes.extend(found.as_notes(line, title))
    question = ParsedQuestion(
        line, title, comments.idnumber or title, question_text, options, category, tuple(comments.tags)
    )
    question.metadata, question.general_feedback = comments.metadata, general_feedback
    builder.add(question)


def _marker(text: str, position: int, default: str) -> tuple[str, int]:
    """(format, position after it) of a ``[html]``/``[moodle]``/``[plain]``/``[markdown]`` marker at position."""
    match = _FORMAT.match(text, position)
    if match and match.group(1).lower() in FORMATS:
        return text_format(match.group(1)), match.end()
    return default, position


def _split_marker(protected: str, default: str) -> tuple[str, str]:
    """(text after its format marker, format): a text's own marker wins over the question's format."""
    fmt, position = _marker(protected, 0, default)
    return protected[position:], fmt


def _answer_block_is_balanced(block: _Block, start: int, opening: int, closing: int, builder: ResultBuilder) -> bool:
    text = block.text
    stray_close = text.find("}", start, opening if opening >= 0 else len(text))
    if stray_close >= 0:
        builder.problem(block.line_at(stray_close), "'}' without an opening '{' (escape it as \\})")
        return False
    if opening < 0:
        return True
    second_open = text.find("{", opening + 1)
    if closing < 0 or 0 <= second_open < closing:
        builder.problem(block.line_at(opening), "unclosed '{': the answer block has no closing '}'")
        return False
    extra = re.search(r"[{}]", text[closing + 1 :])
    if extra:
        builder.problem(block.line_at(closing + 1 + extra.start()), "only one answer block per question is supported")
        return False
    return True


def _convert(protected: str, fmt: str) -> Converted:
    """A protected GIFT text (escapes restored) converted from its format to the bank's plain text."""
    return convert(_restore(protected), fmt)


def _question_text(before: str, after: str, fmt: str) -> Converted:
    """The question text; with text after the answer block, the blank stands where the block stood."""
    if after.strip():
        return _convert(before + BLANK_MARK + after, fmt)  # a missing-word question
    return _convert(before, fmt)


def _kind(answers: str) -> str | None:
    """The GIFT question type of an answer block when it is not multiple choice."""
    stripped = answers.strip()
    markers = re.findall(r"[=~]", stripped)
    if not stripped:
        return "essay"
    if stripped.startswith("#"):
        return "numerical"
    if _TRUE_FALSE.fullmatch(stripped):
        return "truefalse"
    if markers and "~" not in markers:
        segments = [s for s in re.split(r"=", stripped) if s.strip()]
        return "matching" if all("->" in s for s in segments) else "shortanswer"
    return None


def _options(
    block: _Block, answers: str, offset: int, fmt: str, builder: ResultBuilder, found: NoteList
) -> list[ParsedOption] | None:
    """The answers of a multiple-choice block; each text and feedback may carry its own format marker."""
    markers = list(re.finditer(r"[=~]", answers))
    if not markers:
        builder.problem(block.line_at(offset), "the answer block has no answers (start each with '=' or '~')")
        return None
    if answers[: markers[0].start()].strip():
        builder.problem(block.line_at(offset), "text before the first answer ('=' or '~') in the answer block")
        return None
    options = []
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(answers)
        body = answers[marker.end() : end]
        weight = FULL_CREDIT if marker.group() == "=" else 0.0
        weight_match = _WEIGHT.match(body)
        if weight_match:
            weight, body = float(weight_match.group(1)), body[weight_match.end() :]
        text, hash_sign, feedback = body.partition("#")
        option_text = found.media(_convert(*_split_marker(text, fmt)), f"option {index + 1}")
        rationale = None
        if hash_sign:
            rationale = found.media(_convert(*_split_marker(feedback, fmt)), f"the feedback of option {index + 1}")
        options.append(ParsedOption(option_text, weight, rationale, block.line_at(offset + marker.start())))
    return options


# Export --------------------------------------------------------------------------------------------------


def to_gift(bank: Bank) -> str:
    """The whole bank as GIFT, with metadata comments so that parse_gift restores every content hash."""
    out = [
        f"// {_comment(bank.title)} ({bank.id} {bank.version}), exported from quizbank.",
        "// '// quizbank:' comments carry ids and metadata; keep them to re-import without changes.",
        "",
    ]
    for domain, pairs in _by_domain(bank):
        out += [f"{CATEGORY_PREFIX} {domain}", ""]
        for scenario, question in pairs:
            out += _question_lines(scenario, question) + [""]
    return "\n".join(out)


def _by_domain(bank: Bank) -> list[tuple[str, list[tuple[Scenario, Question]]]]:
    groups: dict[str, list[tuple[Scenario, Question]]] = {d: [] for d in bank.domains}
    for scenario, question in bank.questions():
        groups.setdefault(scenario.domain, []).append((scenario, question))
    return [(domain, pairs) for domain, pairs in groups.items() if pairs]


def _comment(text: str) -> str:
    return " ".join(text.split())


def _question_lines(scenario: Scenario, question: Question) -> list[str]:
    metadata = {
        "scenario_id": scenario.id,
        "difficulty": question.difficulty,
        "competencies": sorted(scenario.competencies),
        "tags": sorted(set(scenario.tags) | set(question.tags)),
    }
    stem_paragraphs = len(paragraphs(question.stem))
    if stem_paragraphs > 1:
        metadata["stem_paragraphs"] = stem_paragraphs
    if scenario.content_note:
        metadata["content_note"] = scenario.content_note
    text = f"{scenario.text}\n\n{question.stem}" if scenario.text else question.stem
    texts = [text] + [t for option in question.options for t in (option.text, option.rationale)]
    marker = "" if all(convert(t, MOODLE).text == t for t in texts) else f"[{PLAIN}]"
    lines = [
        f"// {METADATA_PREFIX} {json.dumps(metadata, ensure_ascii=False)}",
        f"::{escape(question.id)}:: {marker or _guard(text)}{escape(text, raw_newlines=True)} {{",
    ]
    for option in question.options:
        sign = "=" if option.correct else "~"
        lines.append(
            f"\t{sign}{_guard(option.text)}{escape(option.text)} #{_guard(option.rationale)}{escape(option.rationale)}"
        )
    lines.append("}")
    return lines


def _guard(text: str) -> str:
    """'[plain]' before a text that starts like a format marker, so that the marker-like start stays text."""
    match = _FORMAT.match(text)
    return f"[{PLAIN}]" if match and match.group(1).lower() in FORMATS else ""


def escape(text: str, *, raw_newlines: bool = False) -> str:
    """GIFT-escape text. Line breaks become '\\n', or real line breaks where that cannot end the question."""
    escaped = re.sub(r"([\\~=#{}:])", r"\\\1", text)
    first, *rest = escaped.split("\n")
    out = [first]
    for line in rest:
        raw = raw_newlines and line.strip() and not line.lstrip().startswith("//")
        out.append(("\n" if raw else "\\n") + line)
    return "".join(out)
