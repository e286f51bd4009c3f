"""Moodle XML question files to bank scenarios and back.

Import rules
- The file is parsed only by defusedxml (its ElementTree parser with ``forbid_dtd=True``, entities and
  external references forbidden), so a DTD, entity declaration or external reference (XXE, billion laughs)
  is reported as an "unsafe XML" problem: never expanded, never fetched. Broken XML is an "invalid XML"
  problem at the parser's line.
- ``<question type="category">`` sets the category of the questions that follow
  (``$course$/top/Advocacy/stigma``): each segment is matched case-insensitively against the bank's domain
  ids and names, then tag ids and names; the first domain match is the domain, tag matches become tags,
  ``$...$``, ``top`` and unmatched segments are ignored. A question without a domain is a problem.
  ``<tags><tag><text>`` are matched against the tag vocabulary too (unmatched ones are listed as notes).
- Only ``multichoice`` with ``<single>true</single>`` and 3 or 4 answers becomes a question. The answer
  with ``fraction="100"`` is the key; other fractions are incorrect options. Several answers at 100, or
  partial credit only, is skipped as "multichoice (multiple answers)", as is ``<single>false</single>``;
  no answer with a positive fraction is a problem. ``<shuffleanswers>`` is accepted (the trainer always
  shuffles options). Each answer's ``<feedback>`` is its rationale; a missing one is a problem.
- Texts are read in their ``format``: ``html`` is reduced to plain text (tags stripped, entities unescaped,
  one paragraph per block element, ``<br>`` a line break), ``moodle_auto_format`` likewise after Moodle's
  line-break rule, ``markdown`` is rendered first, ``plain_text`` is kept as written. An ``<answer>`` or
  ``<feedback>`` without a ``format`` attribute uses the question text's format, as Moodle does. The last
  paragraph is the stem, earlier ones the scenario.
- Nothing is dropped silently: images (``<img>``, ``@@PLUGINFILE@@``, ``<file>`` base64), audio and video,
  ``<generalfeedback>``, combined feedback other than Moodle's defaults, hints, partial credit and negative
  marks (kept as incorrect options) and ``<tags>`` outside the bank's vocabulary are listed per question in
  ``ConversionResult.notes``. ``<idnumber>`` is the question id when it is
  lowercase-kebab-case, otherwise a slug of ``<name>``; ids are made unique with -2, -3...
- Other types (truefalse, essay, matching, shortanswer, numerical, ddwtos, multianswer/cloze, description...)
  are skipped with the line of their ``<question>`` element.

Export (``to_moodle_xml``) writes one category per domain (``$course$/top/<domain name>``) followed by its
questions: ``<name>`` and ``<idnumber>`` = question id, ``<questiontext format="html">`` with one ``<p>`` per
paragraph (scenario, then stem), answers with fraction 100 or 0 and ``<feedback>``, ``<tags>`` for the tags
plus ``quizbank-scenario:``, ``quizbank-difficulty:`` and ``quizbank-competency:`` metadata tags, which the
import reads and strips. Parsing the export gives back every question with the same content hash, as long
as the bank's texts have no spaces at line ends, runs of spaces or runs of blank lines (HTML normalises them).
"""

from __future__ import annotations

import html
from xml.etree.ElementTree import Element

from quizbank.converters.common import (
    ConversionResult,
    Metadata,
    ParsedOption,
    ParsedQuestion,
    ResultBuilder,
    check_size,
    excerpt,
    paragraphs,
    read_xml_with_lines,
)
from quizbank.converters.richtext import (
    HTML,
    MOODLE_DEFAULT_FEEDBACK,
    Converted,
    Note,
    NoteList,
    convert,
    text_format,
    with_notes,
)
from quizbank.errors import Problem
from quizbank.model import Bank, Question, Scenario

KEY_HINT = 'give the correct answer fraction="100"'
META_SCENARIO = "quizbank-scenario:"
META_DIFFICULTY = "quizbank-difficulty:"
META_COMPETENCY = "quizbank-competency:"
META_STEM_PARAGRAPHS = "quizbank-stem-paragraphs:"
META_CONTENT_NOTE = "quizbank-content-note:"
COMBINED_FEEDBACK = {
    "correctfeedback": "feedback for a correct answer",
    "partiallycorrectfeedback": "feedback for a partially correct answer",
    "incorrectfeedback": "feedback for an incorrect answer",
}
NOT_SUPPORTED = "{kind} questions are not supported (only single-answer multiple choice)"


def _read_xml(data: bytes, source: str) -> tuple[Element, dict[Element, int]] | Problem:
    """(root, element lines), or the Problem that stopped the defused parser (unsafe or broken XML)."""
    parsed = read_xml_with_lines(data, source)
    if isinstance(parsed, Problem):
        return parsed
    root, lines = parsed
    if root.tag != "quiz":
        return Problem(source, lines.get(root, 1), f"expected a Moodle XML <quiz> document, found <{root.tag}>")
    return root, lines


def parse_moodle_xml(data: bytes, *, source: str, domains: dict[str, str], tags: dict[str, str]) -> ConversionResult:
    """Convert a Moodle XML question file into scenarios for a bank with these domain and tag vocabularies."""
    check_size(data, source)
    parsed = _read_xml(data, source)
    if isinstance(parsed, Problem):
        return ConversionResult(scenarios=(), skipped=(), problems=(parsed,))
    root, lines = parsed
    builder = ResultBuilder(source, domains, tags, key_hint=KEY_HINT)
    notes: list[Note] = []
    category = ""
    for position, element in enumerate(root.findall("question"), 1):
        line = lines.get(element, position)
        kind = element.get("type") or "untyped"
        if kind == "category":
            category = _text(element, "category/text")
        elif kind == "multichoice":
            _read_multichoice(element, line, lines, category, builder, notes)
        else:
            builder.skip(line, kind, _title(element), NOT_SUPPORTED.format(kind=kind))
        if builder.over_limit:
            break
    return with_notes(builder.result(), notes)


def _text(element: Element, path: str) -> str:
    return (element.findtext(path) or "").strip()


def _title(element: Element) -> str:
    """The question's name, else its idnumber, else the start of its text."""
    name = _text(element, "name/text") or _text(element, "idnumber")
    return name or excerpt(_formatted(element.find("questiontext"), HTML).text)


def _question_format(element: Element) -> str:
    """The question text's format (Moodle's default: html); answers and feedback without one use it."""
    questiontext = element.find("questiontext")
    return text_format(questiontext.get("format") if questiontext is not None else None, HTML)


def _formatted(element: Element | None, default_format: str) -> Converted:
    """The plain text of an element with a format attribute and a <text> child, with the media it refers to."""
    if element is None:
        return Converted("")
    return convert(element.findtext("text") or "", text_format(element.get("format"), default_format))


def _read_multichoice(
    element: Element,
    line: int,
    lines: dict[Element, int],
    category: str,
    builder: ResultBuilder,
    notes: list[Note],
) -> None:
    """Hand a single-answer multichoice question to the builder (with its notes), or skip it."""
    title = _title(element)
    if _text(element, "single").lower() in ("false", "0"):
        builder.skip(line, "multichoice (multiple answers)", title, "<single> is false: several answers may be chosen")
        return
    fmt, found = _question_format(element), NoteList()
    text = found.media(_formatted(element.find("questiontext"), fmt), "the question text")
    answers = element.findall("answer")
    options = [
        _option(answer, number, lines.get(answer, line), fmt, builder, found)
        for number, answer in enumerate(answers, 1)
    ]
    if any(option is None for option in options):
        return
    tags = [_text(tag, "text") for tag in element.findall("tags/tag")]
    free_tags = tuple(t for t in tags if t and not t.startswith("quizbank-"))
    general_feedback = found.media(_formatted(element.find("generalfeedback"), fmt), "the general feedback")
    _note_the_rest(element, fmt, options, found)
    found.general_feedback(general_feedback)
    found.tags(free_tags, builder.vocabulary.tag)
    notes.extend(found.as_notes(line, title))
    question = ParsedQuestion(
        line=line,
        title=title,
        preferred_id=_text(element, "idnumber"),
        text=text,
        options=options,
        category=category,
        free_tags=free_tags,
        metadata=_metadata(tags, line, builder),
        general_feedback=general_feedback,
    )
    builder.add(question)


def _option(
    answer: Element, number: int, line: int, fmt: str, builder: ResultBuilder, found: NoteList
) -> ParsedOption | None:
    """One <answer>: its fraction, text and feedback (each in its own format, else the question's)."""
    fraction = answer.get("fraction", "0")
    try:
        weight = float(fraction)
    except ValueError:
        builder.problem(line, f"answer fraction must be a number, got {fraction!r}")
        return None
    text = found.media(_formatted(answer, fmt), f"option {number}")
    feedback = answer.find("feedback")
    rationale = None
    if feedback is not None:
        rationale = found.media(_formatted(feedback, fmt), f"the feedback of option {number}")
    return ParsedOption(text, weight, rationale, line)


def _note_the_rest(element: Element, fmt: str, options: list[ParsedOption], found: NoteList) -> None:
    """Note what the bank has no place for: combined feedback, hints, weights and unreferenced embedded files."""
    for tag, label in COMBINED_FEEDBACK.items():
        feedback = found.media(_formatted(element.find(tag), fmt), f"the {label}")
        if feedback.casefold() not in MOODLE_DEFAULT_FEEDBACK:
            found.text(f"the {label}", feedback)
    for number, hint in enumerate(element.findall("hint"), 1):
        found.text(f"hint {number}", found.media(_formatted(hint, fmt), f"hint {number}"))
    found.weights(options)
    found.files([file.get("name") or "(unnamed)" for file in element.iter("file")])


def _metadata(tags: list[str], line: int, builder: ResultBuilder) -> Metadata:
    meta = Metadata()
    for tag in tags:
        if tag.startswith(META_SCENARIO):
            meta.scenario_id = tag.removeprefix(META_SCENARIO)
        elif tag.startswith(META_DIFFICULTY):
            meta.difficulty = tag.removeprefix(META_DIFFICULTY)
        elif tag.startswith(META_COMPETENCY):
            meta.competencies += (tag.removeprefix(META_COMPETENCY),)
        elif tag.startswith(META_CONTENT_NOTE):
            meta.content_note = tag.removeprefix(META_CONTENT_NOTE)
        elif tag.startswith(META_STEM_PARAGRAPHS):
            count = tag.removeprefix(META_STEM_PARAGRAPHS)
            if count.isdigit() and int(count) >= 1:
                meta.stem_paragraphs = int(count)
            else:
                builder.problem(line, f"{META_STEM_PARAGRAPHS} needs a whole number of at least 1, got {count!r}")
                meta.invalid = True
    return meta


# Export --------------------------------------------------------------------------------------------------


def to_moodle_xml(bank: Bank) -> bytes:
    """The whole bank as Moodle XML, with metadata tags so that parse_moodle_xml restores every content hash."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- {_comment(bank.title)} ({bank.id} {bank.version}), exported from quizbank. "
        "quizbank-* tags carry ids and metadata; keep them to re-import without changes. -->",
        "<quiz>",
    ]
    groups: dict[str, list[tuple[Scenario, Question]]] = {d: [] for d in bank.domains}
    for scenario, question in bank.questions():
        groups.setdefault(scenario.domain, []).append((scenario, question))
    for domain, pairs in groups.items():
        if pairs:
            out += _category(bank.domains.get(domain, domain))
            for scenario, question in pairs:
                out += _question(scenario, question)
    out.append("</quiz>")
    return ("\n".join(out) + "\n").encode("utf-8")


def _comment(text: str) -> str:
    return " ".join(text.split()).replace("--", "- -")


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _inline_html(text: str) -> str:
    """Text as inline HTML: escaped, with <br> for line breaks."""
    return _escape(text).replace("\n", "<br>\n")


def _html(text: str) -> str:
    """Text as HTML: one <p> per paragraph, <br> for line breaks inside one."""
    return "\n".join(f"<p>{_inline_html(p)}</p>" for p in paragraphs(text))


def _category(name: str) -> list[str]:
    path = "$course$/top/" + name.replace("/", "//")
    return [
        '  <question type="category">',
        f"    <category><text>{_escape(path)}</text></category>",
        "  </question>",
    ]


def _question(scenario: Scenario, question: Question) -> list[str]:
    text = "\n\n".join(part for part in (scenario.text, question.stem) if part)
    lines = [
        '  <question type="multichoice">',
        f"    <name><text>{_escape(question.id)}</text></name>",
        f'    <questiontext format="html"><text>{_cdata(_html(text))}</text></questiontext>',
        '    <generalfeedback format="html"><text></text></generalfeedback>',
        "    <defaultgrade>1</defaultgrade>",
        "    <penalty>0</penalty>",
        "    <hidden>0</hidden>",
        f"    <idnumber>{_escape(question.id)}</idnumber>",
        "    <single>true</single>",
        "    <shuffleanswers>true</shuffleanswers>",
        "    <answernumbering>abc</answernumbering>",
    ]
    for option in question.options:
        lines += [
            f'    <answer fraction="{100 if option.correct else 0}" format="html">',
            f"      <text>{_cdata(_inline_html(option.text))}</text>",
            f'      <feedback format="html"><text>{_cdata(_inline_html(option.rationale))}</text></feedback>',
            "    </answer>",
        ]
    lines += ["    <tags>"] + [f"      <tag><text>{_escape(t)}</text></tag>" for t in _tags(scenario, question)]
    return lines + ["    </tags>", "  </question>"]


def _tags(scenario: Scenario, question: Question) -> list[str]:
    tags = sorted(set(scenario.tags) | set(question.tags))
    tags += [META_SCENARIO + scenario.id, META_DIFFICULTY + question.difficulty]
    tags += [META_COMPETENCY + c for c in sorted(scenario.competencies)]
    stem_paragraphs = len(paragraphs(question.stem))
    if stem_paragraphs > 1:
        tags.append(f"{META_STEM_PARAGRAPHS}{stem_paragraphs}")
    if scenario.content_note:
        tags.append(META_CONTENT_NOTE + scenario.content_note)
    return tags
