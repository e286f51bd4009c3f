"""One home for item rules: the YAML loader, the GIFT and Moodle XML converters and the web editor reject
exactly the same items with the same messages (quizbank.rules), and conversion work is linear and bounded.

Every case below is one item, changed from a valid one, run through all three sources:
- the YAML loader: the item written as a scenario file into a copy of the mini bank;
- the converters: the item exported with ``to_gift`` / ``to_moodle_xml`` (which carry every field, with ids,
  difficulty and content note as metadata) and parsed back;
- the web editor: ``authoring.validate_draft`` on the item as a new question of the mini bank.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field, replace

import pytest
import yaml

import quizbank
from app.services import authoring, banks
from quizbank import BankError, rules
from quizbank.converters import common, parse_gift, parse_moodle_xml, to_gift, to_moodle_xml
from quizbank.converters.common import IdAllocator, ParsedOption, ParsedQuestion, ResultBuilder
from tests.conftest import MINI_BANK

KEY_OPTIONS = (
    ("Ask Dana which outcome she wants from the meeting.", "Keeps Dana in charge of her own goal.", True),
    ("Speak to the landlord for Dana before she knows.", "Acts without her consent.", False),
    ("Tell Dana the decision cannot be appealed.", "A legal opinion outside the peer role.", False),
)


@dataclass(frozen=True)
class Item:
    """One question with its scenario's fields, in the shape every source can express."""

    question_id: str = "adv-rule-q1"
    scenario_id: str = "adv-rule"
    scenario: str = "Dana's housing application was refused after she disclosed her recovery."
    content_note: str = ""
    stem: str = "What is the best first action for the peer specialist?"
    difficulty: str = "medium"
    options: tuple[tuple[str, str, bool], ...] = KEY_OPTIONS


def with_option(index: int, text: str | None = None, rationale: str | None = None, correct: bool | None = None):
    """The valid options with one option changed."""
    options = list(KEY_OPTIONS)
    old = options[index]
    options[index] = (
        old[0] if text is None else text,
        old[1] if rationale is None else rationale,
        old[2] if correct is None else correct,
    )
    return tuple(options)


EXTRA = ("Wait until Dana raises it again.", "Leaves her without support.", False)
LONG_ID = "adv-" + "x" * 117  # 121 characters


@dataclass(frozen=True)
class Case:
    """An item, the messages every source must report for it, and how the converters reject it.

    converters: "problem" (reported as problems), "skip" (listed as skipped with the rule's message),
    "multiple" (skipped as a multiple-answer question: another item type), "accept" (valid), or "id" (the
    converters make question ids themselves, so an unusable id in the file is replaced, not rejected).
    """

    id: str
    item: Item
    messages: tuple[str, ...] = ()
    converters: str = "problem"
    fields: tuple[str, ...] = field(default=())


CASES = [
    Case("valid", Item(), converters="accept"),
    Case("standalone", Item(scenario=""), converters="accept"),
    Case(
        "at-the-limits",
        Item(
            scenario="s" * rules.MAX_SCENARIO,
            stem="q" * rules.MAX_STEM,
            content_note="n" * rules.MAX_CONTENT_NOTE,
            options=with_option(2, text="t" * rules.MAX_OPTION_TEXT, rationale="r" * rules.MAX_RATIONALE),
        ),
        converters="accept",
    ),
    Case("empty-stem", Item(scenario="", stem=""), ("The question must not be empty.",), fields=("stem",)),
    Case(
        "long-stem",
        Item(stem="q" * (rules.MAX_STEM + 1)),
        ("Keep the question to 2000 characters (found 2001).",),
        fields=("stem",),
    ),
    Case(
        "long-scenario",
        Item(scenario="s" * (rules.MAX_SCENARIO + 1)),
        ("Keep the scenario text to 10000 characters (found 10001).",),
        fields=("scenario",),
    ),
    Case(
        "long-content-note",
        Item(content_note="n" * (rules.MAX_CONTENT_NOTE + 1)),
        ("Keep the content note to 120 characters (found 121).",),
        fields=("content_note",),
    ),
    Case(
        "no-option-text", Item(options=with_option(1, text="")), ("Option B needs a text.",), fields=("options.1.text",)
    ),
    Case(
        "no-rationale",
        Item(options=with_option(1, rationale="")),
        ("Option B needs a rationale.",),
        fields=("options.1.rationale",),
    ),
    Case(
        "long-option-text",
        Item(options=with_option(2, text="t" * (rules.MAX_OPTION_TEXT + 1))),
        ("Keep option C's text to 2000 characters (found 2001).",),
        fields=("options.2.text",),
    ),
    Case(
        "long-rationale",
        Item(options=with_option(0, rationale="r" * (rules.MAX_RATIONALE + 1))),
        ("Keep option A's rationale to 2000 characters (found 2001).",),
        fields=("options.0.rationale",),
    ),
    Case(
        "two-options",
        Item(options=KEY_OPTIONS[:2]),
        ("A question needs 3 or 4 options, found 2.",),
        "skip",
        fields=("options",),
    ),
    Case("four-options", Item(options=(*KEY_OPTIONS, EXTRA)), converters="accept"),
    Case(
        "five-options",
        Item(options=(*KEY_OPTIONS, EXTRA, ("Phone her family.", "Breaks confidentiality.", False))),
        ("A question needs 3 or 4 options, found 5.",),
        "skip",
        fields=("options",),
    ),
    Case(
        "no-key",
        Item(options=with_option(0, correct=False)),
        ("Mark exactly one option as the correct answer (found 0).",),
        fields=("key",),
    ),
    Case(
        "two-keys",
        Item(options=with_option(1, correct=True)),
        ("Mark exactly one option as the correct answer (found 2).",),
        "multiple",
        fields=("key",),
    ),
    Case(
        "same-texts",
        Item(options=with_option(1, text=KEY_OPTIONS[2][0].upper())),
        ("Two options have the same text.",),
        fields=("options",),
    ),
    Case(
        "bad-difficulty",
        Item(difficulty="tricky"),
        ("Difficulty must be one of easy, medium, hard, got 'tricky'.",),
        fields=("difficulty",),
    ),
    Case(
        "scenario-id-not-kebab",
        Item(scenario_id="Adv_Rule"),
        ("Use lowercase-kebab-case for the scenario id (letters, digits and single hyphens), got 'Adv_Rule'.",),
        fields=("scenario_id",),
    ),
    Case(
        "scenario-id-too-long",
        Item(scenario_id=LONG_ID),
        ("Keep the scenario id to 120 characters (found 121).",),
        fields=("scenario_id",),
    ),
    Case(
        "question-id-not-kebab",
        Item(question_id="Adv_Rule_Q1"),
        ("Use lowercase-kebab-case for the question id (letters, digits and single hyphens), got 'Adv_Rule_Q1'.",),
        "id",
        fields=("question_id",),
    ),
    Case(
        "question-id-too-long",
        Item(question_id=LONG_ID),
        ("Keep the question id to 120 characters (found 121).",),
        "id",
        fields=("question_id",),
    ),
    Case(
        "several-at-once",
        Item(difficulty="brutal", content_note="n" * 130, options=with_option(2, rationale="")),
        (
            "Keep the content note to 120 characters (found 130).",
            "Difficulty must be one of easy, medium, hard, got 'brutal'.",
            "Option C needs a rationale.",
        ),
        fields=("content_note", "difficulty", "options.2.rationale"),
    ),
]


# The three sources -----------------------------------------------------------------------------------------


def scenario_file(item: Item) -> dict:
    """The item as a scenario file of the YAML format (keys left out when empty, as an author would)."""
    question = {"id": item.question_id, "stem": item.stem, "difficulty": item.difficulty, "options": []}
    for text, rationale, correct in item.options:
        option = {"text": text, "rationale": rationale}
        if correct:
            option["correct"] = True
        question["options"].append(option)
    data: dict = {"id": item.scenario_id, "domain": "advocacy"}
    if item.content_note:
        data["content_note"] = item.content_note
    if item.scenario:
        data["scenario"] = item.scenario
    data["questions"] = [question]
    return data


def loader_problems(bank_dir, item: Item) -> list[quizbank.Problem]:
    """The problems load_bank reports for the mini bank with this item's scenario file added."""
    path = bank_dir / "scenarios" / f"{item.scenario_id}.yaml"
    path.write_text(yaml.safe_dump(scenario_file(item), sort_keys=False, allow_unicode=True, width=10**6), "utf-8")
    try:
        quizbank.load_bank(bank_dir)
    except BankError as error:
        return list(error.problems)
    return []


def bank_with(item: Item) -> quizbank.Bank:
    """The mini bank's vocabulary with this one item (built directly, without the loader's checks)."""
    options = tuple(quizbank.Option(text, correct, rationale) for text, rationale, correct in item.options)
    question = quizbank.Question(item.question_id, item.stem, item.difficulty, options)
    scenario = quizbank.Scenario(
        item.scenario_id, "advocacy", item.scenario, (question,), content_note=item.content_note
    )
    return replace(quizbank.load_bank(MINI_BANK), scenarios=(scenario,))


def converted(item: Item, fmt: str) -> common.ConversionResult:
    """The item exported in a format and parsed back."""
    bank = bank_with(item)
    if fmt == "gift":
        return parse_gift(to_gift(bank), source="rules.gift", domains=bank.domains, tags=bank.tags)
    return parse_moodle_xml(to_moodle_xml(bank), source="rules.xml", domains=bank.domains, tags=bank.tags)


def draft_of(item: Item) -> authoring.QuestionDraft:
    return authoring.QuestionDraft(
        question_id=item.question_id,
        scenario_id=item.scenario_id,
        domain="advocacy",
        scenario=item.scenario,
        content_note=item.content_note,
        stem=item.stem,
        difficulty=item.difficulty,
        options=tuple(authoring.OptionDraft(text, rationale, correct) for text, rationale, correct in item.options),
    )


def without_hint(message: str) -> str:
    """A converter's message without the format's hint (how to mark the key in that format)."""
    return message.split(" Hint: ", 1)[0]


# One parametrised test: every rule through all three sources ---------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_loader_converters_and_web_editor_reject_the_same_items(case, bank_copy, db_ctx, mini_release):
    item = case.item
    expected = sorted(case.messages)

    # the rules themselves
    problems = rules.check_item(
        stem=item.stem,
        difficulty=item.difficulty,
        options=[rules.OptionFields(*o) for o in item.options],
        scenario=item.scenario,
        content_note=item.content_note,
        question_id=item.question_id,
        scenario_id=item.scenario_id,
    )
    assert sorted(p.message for p in problems) == expected
    assert sorted(p.field for p in problems) == sorted(case.fields)

    # the YAML loader: the same messages, each at a line of the item's file
    found = loader_problems(bank_copy, item)
    assert sorted(p.message for p in found) == expected, [str(p) for p in found]
    assert all(p.path.endswith(f"{item.scenario_id}.yaml") and p.line > 0 for p in found)

    # the web editor: the same messages, on form fields
    errors = authoring.validate_draft(banks.get_bank("mini"), draft_of(item), is_new=True)
    assert sorted(m for messages in errors.values() for m in messages) == expected, errors

    # the converters
    for fmt in ("gift", "moodle-xml"):
        result = converted(item, fmt)
        questions = [q for s in result.scenarios for q in s.questions]
        if case.converters in ("accept", "id"):
            assert result.problems == () and result.skipped == (), (fmt, result)
            assert len(questions) == 1 and not rules.check_id(questions[0].id, "question_id"), (fmt, questions)
            continue
        assert not questions, (fmt, case.id)
        if case.converters == "problem":
            assert sorted(without_hint(p.message) for p in result.problems) == expected, (fmt, result.problems)
        elif case.converters == "skip":
            assert [s.reason for s in result.skipped] == expected and result.problems == (), (fmt, result)
        else:
            assert [s.kind for s in result.skipped] == [common.MULTIPLE_ANSWERS], (fmt, result)


@pytest.mark.parametrize("case", [c for c in CASES if c.converters == "accept"], ids=lambda c: c.id)
def test_an_accepted_item_has_the_same_content_from_every_source(case, bank_copy):
    item = case.item
    assert loader_problems(bank_copy, item) == []
    loaded = quizbank.load_bank(bank_copy)
    scenario, question = next((s, q) for s, q in loaded.questions() if q.id == item.question_id)
    expected = quizbank.content_hash(quizbank.question_content(scenario, question))
    for fmt in ("gift", "moodle-xml"):
        result = converted(item, fmt)
        pairs = [(s, q) for s in result.scenarios for q in s.questions]
        assert [quizbank.content_hash(quizbank.question_content(s, q)) for s, q in pairs] == [expected], fmt


def test_loader_reports_option_problems_at_the_option_line(bank_copy):
    item = Item(options=with_option(1, rationale=""), difficulty="tricky")
    lines = yaml.safe_dump(scenario_file(item), sort_keys=False, width=10**6).splitlines()
    problems = {p.message: p.line for p in loader_problems(bank_copy, item)}
    rationale_line = next(n for n, text in enumerate(lines, 1) if "rationale: ''" in text)
    difficulty_line = next(n for n, text in enumerate(lines, 1) if "difficulty:" in text)
    assert problems == {
        "Option B needs a rationale.": rationale_line,
        "Difficulty must be one of easy, medium, hard, got 'tricky'.": difficulty_line,
    }


def test_web_editor_maps_option_problems_to_their_form_rows(db_ctx, mini_release):
    """A blank row is ignored, so the third filled option may sit in the fourth row."""
    draft = draft_of(Item(options=with_option(2, rationale="")))
    blank = authoring.OptionDraft()
    draft = replace(draft, options=(draft.options[0], draft.options[1], blank, draft.options[2]))
    errors = authoring.validate_draft(banks.get_bank("mini"), draft, is_new=True)
    assert errors == {"options-3-rationale": ["Option C needs a rationale."]}


def test_converters_report_option_problems_at_the_answer_line():
    text = "$CATEGORY: advocacy\n\n::q::Which one? {\n=Ask first #Consent.\n~Decide #\n~Wait #Too slow.\n}\n"
    result = parse_gift(text, source="a.gift", domains={"advocacy": "Advocacy"}, tags={})
    assert [(p.line, p.message) for p in result.problems] == [(5, "Option B needs a rationale.")]


# Linear time and bounded work ----------------------------------------------------------------------------


def test_id_allocation_is_linear_in_repeated_ids():
    ids = IdAllocator()
    started = time.perf_counter()
    taken = [ids.take("q") for _ in range(16_000)]
    elapsed = time.perf_counter() - started
    assert taken[:3] == ["q", "q-2", "q-3"] and taken[-1] == "q-16000"
    assert len(set(taken)) == 16_000
    assert elapsed < 0.5  # about 0.02 s; the old allocator was quadratic (137 s for a whole file)


class CountingSet(set):
    """A set that counts membership tests: the allocator's work, independent of the machine's speed."""

    probes = 0

    def __contains__(self, item) -> bool:
        CountingSet.probes += 1
        return super().__contains__(item)


def test_id_allocation_probes_each_candidate_once():
    ids = IdAllocator()
    ids.used = CountingSet()
    CountingSet.probes = 0
    for _ in range(16_000):
        ids.take("q")
    assert CountingSet.probes < 2 * 16_000  # linear; the old allocator made 16,000 * 16,001 / 2 probes


def test_id_allocation_skips_reserved_ids_and_fits_the_column():
    ids = IdAllocator({"q-2", "q-3"})
    assert [ids.take("q") for _ in range(3)] == ["q", "q-4", "q-5"]
    long = "a" * 130
    first, second = ids.take(long), ids.take(long)
    assert first == "a" * rules.MAX_ID and second == "a" * (rules.MAX_ID - 2) + "-2"
    assert ids.take("ab-" + "c" * 117) == "ab-" + "c" * 117  # exactly 120 characters: kept
    assert ids.take("x" * 119 + "-y") == "x" * 119  # cut without a trailing hyphen


def build_time(count: int) -> float:
    """Seconds for ResultBuilder to check, name and group ``count`` questions that all want the id 'q'."""
    options = [ParsedOption("Ask first", 100, "Consent.", 1), ParsedOption("Decide", 0, "No.", 1)]
    options.append(ParsedOption("Wait", 0, "Too slow.", 1))
    questions = [ParsedQuestion(3 * n + 1, "q", "q", "Which one?", options, "advocacy") for n in range(count)]
    builder = ResultBuilder("big.gift", {"advocacy": "Advocacy"}, {}, key_hint="mark the key")
    gc.collect()
    started = time.perf_counter()
    for question in questions:
        builder.add(question)
    result = builder.result()
    elapsed = time.perf_counter() - started
    ids = [q.id for s in result.scenarios for q in s.questions]
    assert len(ids) == len(set(ids)) == count and ids[-1] == f"q-{count}"
    return elapsed


def test_sixteen_thousand_questions_with_one_title_are_built_quickly():
    """The rules, ids and grouping (the format parsing aside): about 0.5 s for 16,000 on a laptop."""
    assert build_time(16_000) < 5  # generous for loaded CI machines; the quadratic allocator alone took minutes


def gift_of_repeated_titles(count: int) -> str:
    return (
        "$CATEGORY: advocacy\n\n" + "::q::Which one? {=Ask first #Consent. ~Decide #No. ~Wait #Too slow.}\n\n" * count
    )


def best_time(text: str, runs: int = 1) -> float:
    times = []
    gc.collect()
    for _ in range(runs):
        started = time.perf_counter()
        result = parse_gift(text, source="big.gift", domains={"advocacy": "Advocacy"}, tags={})
        times.append(time.perf_counter() - started)
    assert result.problems == ()
    return min(times)


def test_parsing_sixteen_thousand_questions_titled_q_takes_seconds_not_minutes():
    """16,000 '::q::' questions (about 0.6 MB) end to end; the quadratic allocator took 137 s."""
    assert best_time(gift_of_repeated_titles(16_000)) < 10


def test_a_question_with_too_many_answers_is_skipped_with_the_cap():
    answers = " ".join(f"~Answer {n} #Feedback {n}." for n in range(common.MAX_ANSWERS_PER_QUESTION))
    text = f"$CATEGORY: advocacy\n\n::Many::Which one? {{=Key #Yes. {answers}}}\n"
    result = parse_gift(text, source="many.gift", domains={"advocacy": "Advocacy"}, tags={})
    assert result.scenarios == () and result.problems == ()
    count = common.MAX_ANSWERS_PER_QUESTION + 1
    assert [(s.line, s.title, s.reason) for s in result.skipped] == [
        (3, "Many", f"{count} answers; at most {common.MAX_ANSWERS_PER_QUESTION} are read")
    ]


def test_a_file_with_too_many_questions_is_one_clear_problem(monkeypatch):
    monkeypatch.setattr(common, "MAX_ITEMS_PER_FILE", 5)
    text = "$CATEGORY: advocacy\n\n" + "".join(
        f"::q{n}::Which one? {{=Ask #Consent. ~Decide #No. ~Wait #Slow.}}\n\n" for n in range(7)
    )
    text += "::tf::Is it true? {T}\n"  # skipped questions count too
    result = parse_gift(text, source="big.gift", domains={"advocacy": "Advocacy"}, tags={})
    assert [(p.line, p.message) for p in result.problems] == [
        (
            13,
            "the file holds more than 5 questions: split it into files of at most 5 "
            "(nothing from this one is imported)",
        )
    ]
    assert result.skipped == ()
