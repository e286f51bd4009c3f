"""Aiken (Moodle's simplest multiple-choice text format) to bank scenarios; import only.

An Aiken file is a list of questions, each written as::

    Which statement best describes a peer specialist's role?
    A. Diagnosing a mental-health condition
    B) Sharing lived experience to support recovery
    C. Prescribing a treatment plan
    ANSWER: B

Import rules
- A question starts with its text (one line, or several lines before the first option, kept as line
  breaks), then the options, each ``X. text`` or ``X) text`` with letters in order from ``A``, then
  ``ANSWER: X`` naming the key. Blank lines between questions are optional. Leading and trailing spaces are
  dropped and runs of spaces inside a line collapse to one.
- The questions go through the same rules as GIFT and Moodle XML (``ResultBuilder``): 3 or 4 options (2 or
  5+ are skipped with their line), a domain, a rationale for every option. Aiken has no feedback, so every
  option is missing its rationale and the question is reported until the rationales are written. It has no
  categories either: a question gets a domain only through the import's category mapping (keyword options
  are passed on to ``ResultBuilder``), otherwise "no domain" is reported like for an uncategorised GIFT question.
- Problems with the file's shape are reported at their line: an option letter out of order, an ``ANSWER``
  naming no option or coming before any question, a question without ``ANSWER`` (reported by the shared
  rule "the answer block has no key"), text after the options that is neither an option nor ``ANSWER``.
- The stem is the whole text (Aiken has no scenario); the difficulty is "medium"; the id is a slug of the
  text, made unique with -2, -3...
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from quizbank.converters.common import (
    FULL_CREDIT,
    ConversionResult,
    ParsedOption,
    ParsedQuestion,
    ResultBuilder,
    check_size,
    excerpt,
)

KEY_HINT = "add an 'ANSWER: X' line after the options, naming the correct one"
_OPTION = re.compile(r"^([A-Z])[.)]\s+(\S.*)$")
_ANSWER = re.compile(r"^ANSWER:\s*(\S*)\s*$", re.I)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SNIFF_LINES = 60


@dataclass
class _Draft:
    """A question being read: the line it starts on, its text lines and its options."""

    line: int
    text: list[str] = field(default_factory=list)
    options: list[ParsedOption] = field(default_factory=list)


def _clean(line: str) -> str:
    return " ".join(line.split())


def _letter(index: int) -> str:
    return chr(ord("A") + index)


def parse_aiken(
    text: str, *, source: str, domains: dict[str, str], tags: dict[str, str], **options
) -> ConversionResult:
    """Convert Aiken text into scenarios for a bank with these vocabularies (options go to ResultBuilder)."""
    check_size(text, source)
    builder = ResultBuilder(source, domains, tags, key_hint=KEY_HINT, **options)
    draft: _Draft | None = None
    after_blank = False
    for number, raw in enumerate(_LINE_BREAK.split(text.removeprefix("\ufeff")), 1):
        line = _clean(raw)
        if not line:
            after_blank = True
            continue
        if after_blank and draft is not None and draft.options and not _continues(line):
            _finish(draft, builder)  # no ANSWER line: the shared rule reports the missing key
            draft = None
        draft = _read_line(draft, number, line, builder)
        after_blank = False
    if draft is not None:
        _finish(draft, builder)
    return builder.result()


def _continues(line: str) -> bool:
    """An option or ANSWER line: it belongs to the question before a blank line."""
    return bool(_OPTION.match(line) or _ANSWER.match(line))


def _read_line(draft: _Draft | None, number: int, line: str, builder: ResultBuilder) -> _Draft | None:
    """Apply one non-blank line to the question being read; returns the question still open (or None)."""
    answer = _ANSWER.match(line)
    if answer:
        if draft is None:
            builder.problem(number, "'ANSWER:' with no question before it")
            return None
        _set_key(draft, number, answer.group(1), builder)
        _finish(draft, builder)
        return None
    option = _OPTION.match(line) if draft is not None else None
    if draft is not None and option:
        _add_option(draft, number, option.group(1), option.group(2), builder)
        return draft
    if draft is not None and draft.options:
        expected = _letter(len(draft.options))
        builder.problem(number, f"expected option {expected} or 'ANSWER: X', found {excerpt(line)!r}")
        return draft
    if draft is None:
        return _Draft(number, [line])
    draft.text.append(line)
    return draft


def _add_option(draft: _Draft, number: int, letter: str, text: str, builder: ResultBuilder) -> None:
    expected = _letter(len(draft.options))
    if letter != expected:
        builder.problem(number, f"option {letter} is out of order: expected {expected}")
    draft.options.append(ParsedOption(text=text, weight=0.0, rationale=None, line=number))


def _set_key(draft: _Draft, number: int, letter: str, builder: ResultBuilder) -> None:
    letters = [_letter(i) for i in range(len(draft.options))]
    if not draft.options:
        builder.problem(number, "'ANSWER:' comes before any option ('A. text')")
    elif letter.upper() not in letters:
        builder.problem(number, f"'ANSWER: {letter}' names no option; use one of {', '.join(letters)}")
    else:
        draft.options[letters.index(letter.upper())].weight = FULL_CREDIT


def _finish(draft: _Draft, builder: ResultBuilder) -> None:
    """Hand a complete question to the shared rules (one without options or a valid key is a problem there)."""
    if not draft.options:
        builder.problem(draft.line, "the question has no options ('A. text' lines) and no 'ANSWER:' line")
        return
    text = "\n".join(draft.text)
    question = ParsedQuestion(
        line=draft.line, title=excerpt(text), preferred_id="", text=text, options=draft.options, category=""
    )
    builder.add(question)


def sniff_aiken(data: bytes) -> bool:
    """Text whose first question has a text line, options A and B, and an 'ANSWER: X' line."""
    head = data[:4096].decode("utf-8", "replace").removeprefix("\ufeff")
    lines = [_clean(line) for line in _LINE_BREAK.split(head)[:_SNIFF_LINES]]
    lines = [line for line in lines if line]
    end = next((i for i, line in enumerate(lines) if _ANSWER.fullmatch(line) and len(line) < 20), None)
    if end is None or end < 3:
        return False
    letters = [m.group(1) for m in map(_OPTION.match, lines[1:end]) if m]
    text_first = not _OPTION.match(lines[0]) and not lines[0].startswith(("::", "//", "$", "<"))
    return text_first and letters[:2] == ["A", "B"] and bool(_ANSWER.match(lines[end]).group(1))
