"""GIFT and Moodle XML converters: hand-written files in tests/data/converters, safety limits, round trips."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

import quizbank
from quizbank import BankError, Option, Question, Scenario
from quizbank.converters import (
    MAX_IMPORT_BYTES,
    ConversionError,
    ConversionResult,
    parse_gift,
    parse_moodle_xml,
    to_gift,
    to_moodle_xml,
)
from quizbank.diff import bank_hashes
from tests.conftest import BUNDLED_BANK, MINI_BANK

DATA = Path(__file__).parent / "data" / "converters"
MINI = quizbank.load_bank(MINI_BANK)
VOCABULARY = {"domains": MINI.domains, "tags": MINI.tags}  # advocacy, ethics; stigma, boundaries, housing


def gift(name: str) -> ConversionResult:
    return parse_gift((DATA / name).read_text(encoding="utf-8"), source=name, **VOCABULARY)


def gift_text(text: str) -> ConversionResult:
    return parse_gift(text, source="inline.gift", **VOCABULARY)


def moodle(name: str) -> ConversionResult:
    return parse_moodle_xml((DATA / name).read_bytes(), source=name, **VOCABULARY)


def line_of(name: str, needle: str, *, whole_line: bool = False) -> int:
    """The 1-based line of the fixture file containing needle (or equal to it); it must be the only one."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    found = [n for n, line in enumerate(lines, 1) if (line.strip() == needle if whole_line else needle in line)]
    assert len(found) == 1, f"{needle!r} should occur on exactly one line of {name}"
    return found[0]


def questions(result: ConversionResult) -> dict[str, tuple[Scenario, Question]]:
    return {q.id: (s, q) for s in result.scenarios for q in s.questions}


def messages(result: ConversionResult) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in result.problems]


# GIFT import -------------------------------------------------------------------------------------------------


def test_gift_multiline_text_splits_into_scenario_and_stem():
    result = gift("features.gift")
    scenario, question = questions(result)["poster-wording"]
    assert result.problems == ()
    assert (
        scenario.text == 'A clinic poster calls people "addicts".\n\nStaff say it is "just a word": nobody complains.'
    )
    assert question.stem == "What is the best first action?"
    assert question.difficulty == "medium"
    assert scenario.id == "poster-wording-scenario"


def test_gift_escapes_are_unescaped():
    scenario, question = questions(gift("features.gift"))["adv-escapes"]
    assert scenario.text == ""
    assert question.stem == "Backslash \\ and tilde ~ and a line\nbreak."
    assert [o.rationale for o in question.options] == ["Yes {really}.", "No.", "Maybe not: think."]
    _, poster = questions(gift("features.gift"))["poster-wording"]
    assert poster.options[0].text == "Suggest person-first wording = respect."
    assert poster.options[0].rationale == "Systems advocacy # with respect."


def test_gift_feedback_is_the_rationale_and_weighted_answers_are_incorrect():
    _, question = questions(gift("features.gift"))["poster-wording"]
    assert [(o.text, o.correct, o.rationale) for o in question.options] == [
        ("Suggest person-first wording = respect.", True, "Systems advocacy # with respect."),
        ("Ignore it.", False, "Leaves stigma in place."),
        ("Tear the poster down.", False, "Acts without dialogue."),
        ("Post about it anonymously.", False, "Avoids a conversation."),
    ]


def test_gift_categories_map_to_domain_and_tags():
    found = questions(gift("features.gift"))
    assert (found["poster-wording"][0].domain, found["poster-wording"][0].tags) == ("advocacy", ("stigma",))
    assert (found["gift-card"][0].domain, found["gift-card"][0].tags) == ("ethics", ("boundaries",))


def test_gift_category_first_domain_wins_and_unknown_segments_are_ignored():
    result = gift_text("$CATEGORY: $course$/top/ethics/Advocacy/Housing/misc\n\n::q::Which?{=A #a ~B #b ~C #c}")
    (scenario, _) = questions(result)["q"]
    assert (scenario.domain, scenario.tags) == ("ethics", ("housing",))


def test_gift_html_marker_strips_tags_and_unescapes_entities():
    scenario, question = questions(gift("features.gift"))["gift-card"]
    assert scenario.text == "A peer offers you a gift card & a note."
    assert question.stem == "What is the best response?"
    assert question.options[0].text == "Thank them warmly and explain the gift policy."
    assert question.options[0].rationale == "Keeps the boundary & the kindness."


def test_gift_text_after_the_answer_block_becomes_a_missing_word_stem():
    found = questions(gift("features.gift"))
    scenario, question = found["the-peer-specialist-should-before-giving-information"]
    assert question.stem == "The peer specialist should _____ before giving information."
    assert [o.text for o in question.options if o.correct] == ["listen"]


def test_gift_ids_come_from_kebab_titles_else_slugs_and_are_unique():
    result = gift("features.gift")
    assert [q.id for s in result.scenarios for q in s.questions] == [
        "poster-wording",
        "adv-escapes",
        "gift-card",
        "adv-escapes-2",
        "the-peer-specialist-should-before-giving-information",
    ]


def test_gift_unsupported_question_types_are_skipped_with_their_lines():
    result = gift("skipped.gift")
    name = "skipped.gift"
    assert [(s.line, s.kind, s.title) for s in result.skipped] == [
        (line_of(name, "::TF question::"), "truefalse", "TF question"),
        (line_of(name, "::Essay question::"), "essay", "Essay question"),
        (line_of(name, "::Matching question::"), "matching", "Matching question"),
        (line_of(name, "::Short answer question::"), "shortanswer", "Short answer question"),
        (line_of(name, "::Numerical question::"), "numerical", "Numerical question"),
        (line_of(name, "::Description only::"), "description", "Description only"),
        (line_of(name, "::Partial credit::"), "multichoice (multiple answers)", "Partial credit"),
        (line_of(name, "::Two keys::"), "multichoice (multiple answers)", "Two keys"),
        (line_of(name, "::Two options::"), "multichoice", "Two options"),
        (line_of(name, "::Five options::"), "multichoice", "Five options"),
    ]
    assert result.skipped[6].reason == "no fully correct answer (only partial credit)"
    assert result.skipped[8].reason == "2 options; a question needs 3 or 4"
    assert result.problems == ()
    assert list(questions(result)) == ["fine-question"]


def test_gift_malformed_questions_are_problems_with_lines():
    result = gift("malformed.gift")
    name = "malformed.gift"
    assert messages(result) == [
        (line_of(name, "::Unclosed::"), "unclosed '{': the answer block has no closing '}'"),
        (line_of(name, "::No key::"), "the answer block has no key: mark the correct answer with '='"),
        (line_of(name, "~B", whole_line=True), "option 2 has no feedback (rationale)"),
        (line_of(name, "::Stray close::"), "'}' without an opening '{' (escape it as \\})"),
        (line_of(name, '"scenario_id": "broken"'), "invalid quizbank metadata (JSON): Expecting ',' delimiter"),
        (
            line_of(name, "::No domain::"),
            "no domain: category '$course$/top/Unknown area' names none of the bank's domains (advocacy, ethics)",
        ),
    ]
    assert result.scenarios == ()


def test_gift_missing_feedback_points_at_the_answer_line():
    text = "$CATEGORY: advocacy\n\n::q::Which one? {\n=A #a\n~B #b\n~C\n}\n"
    assert messages(gift_text(text)) == [(6, "option 3 has no feedback (rationale)")]


def test_gift_problem_lines_are_right_after_escaped_characters():
    text = "$CATEGORY: advocacy\n\n::q::Escapes \\{\\}\\~\\=\\#\\: here {\n=A #a\n~B #b\n~C\n}\n"
    assert messages(gift_text(text)) == [(6, "option 3 has no feedback (rationale)")]


def test_gift_question_without_a_category_has_no_domain():
    result = gift_text("::q::Which one? {=A #a ~B #b ~C #c}")
    assert messages(result) == [
        (1, "no domain: the question is in no category naming a bank domain (advocacy, ethics)")
    ]


def test_gift_metadata_is_validated_against_the_vocabulary():
    meta = {"scenario_id": "Not Kebab", "difficulty": "brutal", "tags": ["stigma", "made-up"]}
    result = gift_text(f"$CATEGORY: advocacy\n\n// quizbank: {json.dumps(meta)}\n::q::Which? {{=A #a ~B #b ~C #c}}")
    assert messages(result) == [
        (4, "difficulty must be one of easy, medium, hard, got 'brutal'"),
        (4, "scenario id must be lowercase-kebab-case, got 'Not Kebab'"),
        (4, "unknown tag 'made-up' (not in bank.yaml)"),
    ]
    assert result.scenarios == ()


def test_gift_empty_input_gives_an_empty_result():
    assert gift_text("// only a comment\n\n\n") == ConversionResult(scenarios=(), skipped=(), problems=())


# Moodle XML import -------------------------------------------------------------------------------------------


def test_xml_html_text_becomes_paragraphs():
    scenario, question = questions(moodle("questions.xml"))["adv-lease-q1"]
    assert scenario.text == (
        "Dana is refused a lease after mentioning a past hospital stay \u2014 again.\n\n"
        "She asks for help.\nShe is upset."
    )
    assert question.stem == "What is the best first action?"


def test_xml_plain_text_question_and_slugged_id():
    scenario, question = questions(moodle("questions.xml"))["plain-text-gift-card"]
    assert (scenario.text, question.stem) == ("A peer offers you a gift card & a note.", "What is the best response?")
    assert scenario.domain == "ethics"


def test_xml_fractions_feedback_categories_and_tags():
    result = moodle("questions.xml")
    scenario, question = questions(result)["adv-lease-q1"]
    assert result.problems == ()
    assert [(o.text, o.correct, o.rationale) for o in question.options] == [
        ("Ask Dana what outcome she wants.", True, "Supports self-advocacy & choice."),
        ("Phone the landlord.", False, "Doing it for her."),
        ("Tell Dana the refusal is legal.", False, "Legal advice is outside scope."),
    ]
    assert (scenario.domain, scenario.tags) == ("advocacy", ("housing", "stigma"))
    _, four = questions(result)["plain-text-gift-card"]
    assert [o.correct for o in four.options] == [False, True, False, False]


def test_xml_unsupported_types_are_skipped_with_element_lines():
    result = moodle("questions.xml")
    name = "questions.xml"
    expected = [
        ("truefalse", "TF question"),
        ("essay", "Essay question"),
        ("matching", "Matching question"),
        ("shortanswer", "Short answer question"),
        ("numerical", "Numerical question"),
        ("ddwtos", "Drag and drop question"),
        ("multianswer", "Cloze question"),
        ("description", "Description"),
        ("multichoice (multiple answers)", "Multiple answers"),
        ("multichoice", "Two options"),
    ]
    assert [(s.kind, s.title) for s in result.skipped] == expected
    assert [s.line for s in result.skipped[:8]] == [
        line_of(name, f'<question type="{kind}">') for kind, _ in expected[:8]
    ]
    assert result.skipped[8].line == line_of(name, "<text>Multiple answers</text>") - 1
    assert result.skipped[8].reason == "<single> is false: several answers may be chosen"


def test_xml_problems_point_at_answer_and_question_lines():
    result = moodle("problems.xml")
    name = "problems.xml"
    assert messages(result) == [
        (line_of(name, "<text>B</text></answer>"), "option 2 has no feedback (rationale)"),
        (
            line_of(name, "<text>No key</text>") - 1,
            'the answer block has no key: give the correct answer fraction="100"',
        ),
        (line_of(name, 'fraction="all"'), "answer fraction must be a number, got 'all'"),
        (
            line_of(name, "<text>No domain</text>") - 1,
            "no domain: category '$course$/top/Somewhere else' names none of the bank's domains (advocacy, ethics)",
        ),
    ]
    assert result.scenarios == ()


def test_broken_xml_is_a_problem_with_its_line():
    result = moodle("broken.xml")
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert (problem.path, problem.line) == ("broken.xml", 5)
    assert problem.message.startswith("invalid XML: mismatched tag")


@pytest.mark.parametrize("name", ["xxe.xml", "billion_laughs.xml", "dtd.xml"])
def test_dtds_and_entities_are_refused_as_unsafe_xml(name):
    result = moodle(name)
    assert (result.scenarios, result.skipped) == ((), ())
    assert [(p.line, p.message.split(":")[0]) for p in result.problems] == [(2, "unsafe XML")]
    assert "root:" not in repr(result)  # /etc/passwd was never read


def test_xml_without_a_quiz_root_is_a_problem():
    result = parse_moodle_xml(b"<html>\n<body/></html>", source="page.xml", **VOCABULARY)
    assert messages(result) == [(1, "expected a Moodle XML <quiz> document, found <html>")]


# Size limit --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parse, data",
    [
        (parse_gift, "x" * (MAX_IMPORT_BYTES + 1)),
        (parse_gift, "\u00e9" * (MAX_IMPORT_BYTES // 2 + 1)),  # few characters, but over the limit in UTF-8
        (parse_moodle_xml, b" " * (MAX_IMPORT_BYTES + 1)),
    ],
)
def test_inputs_over_the_size_limit_raise_a_conversion_error(parse, data):
    with pytest.raises(ConversionError) as caught:
        parse(data, source="big", **VOCABULARY)
    assert isinstance(caught.value, BankError)
    assert [(p.path, p.line, p.message) for p in caught.value.problems] == [
        ("big", 1, f"file is larger than {MAX_IMPORT_BYTES} bytes")
    ]


def test_input_at_the_size_limit_is_parsed():
    result = parse_gift("//" + " " * (MAX_IMPORT_BYTES - 2), source="edge", **VOCABULARY)
    assert result == ConversionResult(scenarios=(), skipped=(), problems=())


# Export and round trip ---------------------------------------------------------------------------------------

FORMATS = {"gift": (to_gift, parse_gift), "xml": (to_moodle_xml, parse_moodle_xml)}


def round_trip(bank: quizbank.Bank, fmt: str) -> tuple[quizbank.Bank, ConversionResult]:
    export, parse = FORMATS[fmt]
    result = parse(export(bank), source=f"export.{fmt}", domains=bank.domains, tags=bank.tags)
    return dataclasses.replace(bank, scenarios=result.scenarios), result


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", [MINI_BANK, BUNDLED_BANK], ids=["mini", "bundled"])
def test_round_trip_keeps_every_content_hash(path, fmt):
    bank = quizbank.load_bank(path)
    rebuilt, result = round_trip(bank, fmt)
    assert (result.problems, result.skipped) == ((), ())
    assert bank_hashes(rebuilt) == bank_hashes(bank)
    assert sorted(s.id for s in rebuilt.scenarios) == sorted(s.id for s in bank.scenarios)


TRICKY = Scenario(
    id="tricky",
    domain="ethics",
    text='First: {braces} ~tilde~ =equals= #hash \\ backslash "quotes" <b>not bold</b> &amp; ]]> end.\n'
    "// not a comment\n$CATEGORY: not a category\n\nA second paragraph.\n\nA third paragraph.",
    questions=(
        Question(
            id="tricky-q1",
            stem="First stem paragraph.\n\nWhat now?",
            difficulty="hard",
            options=(
                Option("Option with\na line break", True, "Because: {yes} & <yes>."),
                Option("~Starts with tilde", False, "=Starts with equals"),
                Option("#Starts with hash", False, "Ends with backslash \\"),
            ),
            tags=("housing",),
        ),
        Question(
            id="tricky-q2",
            stem="Second question?",
            difficulty="easy",
            options=(Option("A", False, "a"), Option("B", True, "b"), Option("C", False, "c"), Option("D", False, "d")),
        ),
    ),
    tags=("boundaries", "stigma"),
    competencies=("c01",),
)
NO_SCENARIO = Scenario(
    id="bare",
    domain="advocacy",
    text="",
    questions=(
        Question(
            "bare-q1",
            "Only a stem?",
            "medium",
            (Option("A", True, "a"), Option("B", False, "b"), Option("C", False, "c")),
        ),
    ),
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_of_special_characters_paragraphs_and_an_empty_scenario(fmt):
    bank = dataclasses.replace(MINI, scenarios=(TRICKY, NO_SCENARIO))
    rebuilt, result = round_trip(bank, fmt)
    assert result.problems == ()
    assert bank_hashes(rebuilt) == bank_hashes(bank)
    assert sorted((s.id, len(s.questions)) for s in rebuilt.scenarios) == [("bare", 1), ("tricky", 2)]


def test_gift_round_trip_keeps_whitespace_that_html_would_normalise():
    text = "Two blank lines follow.\n\n\n  An indented line,   with spaces.\n\t\nA tab-only line above."
    bank = dataclasses.replace(MINI, scenarios=(dataclasses.replace(TRICKY, text=text),))
    rebuilt, result = round_trip(bank, "gift")
    assert result.problems == ()
    assert rebuilt.scenarios[0].text == text
    assert bank_hashes(rebuilt) == bank_hashes(bank)


def test_gift_export_writes_categories_metadata_and_titles():
    text = to_gift(MINI)
    assert text.count("$CATEGORY: ") == 2
    assert "$CATEGORY: advocacy\n" in text and "$CATEGORY: ethics\n" in text
    metadata = [
        json.loads(line.split("quizbank:", 1)[1]) for line in text.splitlines() if line.startswith("// quizbank: ")
    ]
    assert metadata[0] == {
        "scenario_id": "adv-one",
        "difficulty": "easy",
        "competencies": ["c01"],
        "tags": ["housing", "stigma"],
    }
    assert len(metadata) == MINI.question_count
    assert (
        "::adv-one-q1:: Dana is refused a lease after mentioning a past hospital stay.\\n\n"
        "What is the best first action? {" in text
    )


def test_xml_export_is_moodle_xml_with_one_category_per_domain():
    root = fromstring(to_moodle_xml(MINI), forbid_dtd=True)
    categories = [q.findtext("category/text") for q in root.findall("question[@type='category']")]
    assert categories == ["$course$/top/Advocacy", "$course$/top/Ethical Responsibility"]
    first = root.find("question[@type='multichoice']")
    assert (first.findtext("name/text"), first.findtext("idnumber"), first.findtext("single")) == (
        "adv-one-q1",
        "adv-one-q1",
        "true",
    )
    assert [t.text for t in first.findall("tags/tag/text")] == [
        "housing",
        "stigma",
        "quizbank-scenario:adv-one",
        "quizbank-difficulty:easy",
        "quizbank-competency:c01",
    ]
    assert [a.get("fraction") for a in first.findall("answer")] == ["100", "0", "0"]


def test_questions_of_one_scenario_must_agree_on_its_text():
    text = to_gift(MINI)
    q2 = text.index("::adv-one-q2::")
    edited = text[:q2] + text[q2:].replace("past hospital stay", "past stay", 1)
    result = parse_gift(edited, source="edited.gift", **VOCABULARY)
    assert [p.message for p in result.problems] == [
        "question 'adv-one-q2' belongs to scenario 'adv-one' but has a different scenario than question "
        "'adv-one-q1' of that scenario"
    ]
    assert result.problems[0].line == edited[: edited.index("::adv-one-q2::")].count("\n") + 1
