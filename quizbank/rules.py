"""The item rules, written once: the YAML loader, every converter and the web editor call them.

Each check returns ``ItemProblem(field, message)`` values; the caller maps the field to its own place (a
``file:line`` in a bank file or a converted file, a form field on the web) and reports the message as it is,
so the three report the same problems with the same words.

Fields: ``question_id``, ``scenario_id``, ``scenario``, ``content_note``, ``stem``, ``difficulty``,
``options`` (count and distinct texts), ``key`` (exactly one correct option) and ``options.<i>.text`` /
``options.<i>.rationale`` for the i-th option (0-based, in the order given).

The length limits match the web editor's form fields and the database columns (ids are ``String(120)``
columns; texts live in the JSON content, capped here so every source accepts the same items).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from quizbank.model import DIFFICULTIES

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

MIN_OPTIONS, MAX_OPTIONS = 3, 4
MAX_ID = 120  # Question.stable_id and the review card family are String(120)
MAX_SCENARIO = 10_000
MAX_STEM = 2_000
MAX_OPTION_TEXT = 2_000
MAX_RATIONALE = 2_000
MAX_CONTENT_NOTE = 120
OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

KEY = "key"
OPTIONS = "options"


class ItemProblem(NamedTuple):
    """One broken rule: the field it is about and the message to show."""

    field: str
    message: str


class OptionLike(Protocol):
    """Anything with an option's three fields (quizbank.Option, the web editor's OptionDraft, OptionFields)."""

    text: str
    rationale: str
    correct: bool


class OptionFields(NamedTuple):
    """An option as the rules see it, for sources that hold options in another shape."""

    text: str
    rationale: str
    correct: bool


def option_field(index: int, part: str) -> str:
    """The field name of an option's part: ``options.<index>.text`` or ``options.<index>.rationale``."""
    return f"{OPTIONS}.{index}.{part}"


def parse_option_field(name: str) -> tuple[int, str] | None:
    """(index, part) of an option field name, or None for any other field."""
    parts = name.split(".")
    if len(parts) != 3 or parts[0] != OPTIONS or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2]


def option_letter(index: int) -> str:
    """A, B, C... for option 0, 1, 2... (numbers past Z)."""
    return OPTION_LETTERS[index] if index < len(OPTION_LETTERS) else str(index + 1)


# The checks ---------------------------------------------------------------------------------------------


def check_id(value: str, field: str) -> list[ItemProblem]:
    """An id is required, lowercase-kebab-case and at most MAX_ID characters."""
    what = field.replace("_", " ")
    if not value:
        return [ItemProblem(field, f"Enter the {what}.")]
    if not SLUG.match(value):
        return [
            ItemProblem(
                field, f"Use lowercase-kebab-case for the {what} (letters, digits and single hyphens), got {value!r}."
            )
        ]
    if len(value) > MAX_ID:
        return [ItemProblem(field, f"Keep the {what} to {MAX_ID} characters (found {len(value)}).")]
    return []


def check_length(value: str, limit: int, field: str, what: str) -> list[ItemProblem]:
    """A text of at most ``limit`` characters."""
    if len(value) > limit:
        return [ItemProblem(field, f"Keep {what} to {limit} characters (found {len(value)}).")]
    return []


def check_scenario(text: str, content_note: str = "", scenario_id: str | None = None) -> list[ItemProblem]:
    """The scenario's own fields: optional text (empty = a stand-alone item), content note, id when given."""
    problems = [] if scenario_id is None else check_id(scenario_id, "scenario_id")
    problems += check_length(text, MAX_SCENARIO, "scenario", "the scenario text")
    problems += check_length(content_note, MAX_CONTENT_NOTE, "content_note", "the content note")
    return problems


def option_count_problem(count: int) -> ItemProblem | None:
    """The problem with a question of ``count`` options, if any (3 or 4 are allowed)."""
    if MIN_OPTIONS <= count <= MAX_OPTIONS:
        return None
    return ItemProblem(OPTIONS, f"A question needs {MIN_OPTIONS} or {MAX_OPTIONS} options, found {count}.")


def key_problem(options: Sequence[OptionLike]) -> ItemProblem | None:
    """The problem with the options' key, if any: exactly one option is correct."""
    correct = sum(bool(o.correct) for o in options)
    if correct == 1:
        return None
    return ItemProblem(KEY, f"Mark exactly one option as the correct answer (found {correct}).")


def check_option(index: int, option: OptionLike) -> list[ItemProblem]:
    """An option has a text and a rationale, each within its length limit."""
    letter = option_letter(index)
    problems = []
    for part, value, limit in (("text", option.text, MAX_OPTION_TEXT), ("rationale", option.rationale, MAX_RATIONALE)):
        name = option_field(index, part)
        if not value:
            problems.append(ItemProblem(name, f"Option {letter} needs a {part}."))
        else:
            problems += check_length(value, limit, name, f"option {letter}'s {part}")
    return problems


def check_options(options: Sequence[OptionLike]) -> list[ItemProblem]:
    """3 or 4 options, each complete, exactly one correct, no two with the same text (ignoring case)."""
    problems = []
    count = option_count_problem(len(options))
    if count is not None:
        problems.append(count)
    for index, option in enumerate(options):
        problems += check_option(index, option)
    key = key_problem(options) if options else None
    if key is not None:
        problems.append(key)
    texts = [o.text.casefold() for o in options if o.text]
    if len(set(texts)) != len(texts):
        problems.append(ItemProblem(OPTIONS, "Two options have the same text."))
    return problems


def check_question(
    stem: str, difficulty: str, options: Sequence[OptionLike], question_id: str | None = None
) -> list[ItemProblem]:
    """The question's own fields: id when given, a non-empty stem, a known difficulty, the options."""
    problems = [] if question_id is None else check_id(question_id, "question_id")
    if not stem:
        problems.append(ItemProblem("stem", "The question must not be empty."))
    else:
        problems += check_length(stem, MAX_STEM, "stem", "the question")
    if difficulty not in DIFFICULTIES:
        allowed = ", ".join(DIFFICULTIES)
        problems.append(ItemProblem("difficulty", f"Difficulty must be one of {allowed}, got {difficulty!r}."))
    return problems + check_options(options)


def check_item(
    *,
    stem: str,
    difficulty: str,
    options: Sequence[OptionLike],
    scenario: str = "",
    content_note: str = "",
    question_id: str | None = None,
    scenario_id: str | None = None,
) -> list[ItemProblem]:
    """Every rule one item (a question with its scenario's fields) breaks; empty when it is valid.

    Texts are checked as given: callers strip surrounding whitespace first. Ids are checked only when given.
    """
    return check_scenario(scenario, content_note, scenario_id) + check_question(stem, difficulty, options, question_id)
