"""GIFT and Moodle XML converters: hand-written files in tests/data/converters, safety limits, round trips."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from hypothesis import given, settings
from hypothesis import strategies as st

import quizbank
from quizbank import BankError, Option, Question, Scenario
from quizbank.converters import (
    MAX_IMPORT_BYTES,
    ConversionError,
    ConversionResult,
    parse_gift,
    parse_moodle_xml,
    richtext,
    to_gift,
    to_moodle_xml,
)
from quizbank.converters.common import html_to_text
from quizbank.converters.richtext import auto_format_to_html, convert
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
    assert result.skipped[8].reason == "A question needs 3 or 4 options, found 2."
    assert result.problems == ()
    assert list(questions(result)) == ["fine-question"]


def test_gift_malformed_questions_are_problems_with_lines():
    result = gift("malformed.gift")
    name = "malformed.gift"
    assert messages(result) == [
        (line_of(name, "::Unclosed::"), "unclosed '{': the answer block has no closing '}'"),
        (
            line_of(name, "::No key::"),
            "Mark exactly one option as the correct answer (found 0). Hint: mark the correct answer with '='.",
        ),
        (line_of(name, "~B", whole_line=True), "Option B needs a rationale."),
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
    assert messages(gift_text(text)) == [(6, "Option C needs a rationale.")]


def test_gift_problem_lines_are_right_after_escaped_characters():
    text = "$CATEGORY: advocacy\n\n::q::Escapes \\{\\}\\~\\=\\#\\: here {\n=A #a\n~B #b\n~C\n}\n"
    assert messages(gift_text(text)) == [(6, "Option C needs a rationale.")]


def test_gift_question_without_a_category_has_no_domain():
    result = gift_text("::q::Which one? {=A #a ~B #b ~C #c}")
    assert messages(result) == [
        (1, "no domain: the question is in no category naming a bank domain (advocacy, ethics)")
    ]


def test_gift_metadata_is_validated_against_the_vocabulary():
    meta = {"scenario_id": "Not Kebab", "difficulty": "brutal", "tags": ["stigma", "made-up"]}
    result = gift_text(f"$CATEGORY: advocacy\n\n// quizbank: {json.dumps(meta)}\n::q::Which? {{=A #a ~B #b ~C #c}}")
    assert messages(result) == [
        (4, "Difficulty must be one of easy, medium, hard, got 'brutal'."),
        (4, "Use lowercase-kebab-case for the scenario id (letters, digits and single hyphens), got 'Not Kebab'."),
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
        (line_of(name, "<text>B</text></answer>"), "Option B needs a rationale."),
        (
            line_of(name, "<text>No key</text>") - 1,
            'Mark exactly one option as the correct answer (found 0). Hint: give the correct answer fraction="100".',
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


# Lossless import: formats, blanks, whitespace and notes on what is not kept (issue 11, item 3) ---------------

BUNDLED = quizbank.load_bank(BUNDLED_BANK)
BUNDLED_VOCABULARY = {"domains": BUNDLED.domains, "tags": BUNDLED.tags}


def xml_text(questions_xml: str, category: str = "Advocacy") -> ConversionResult:
    """Parse Moodle XML questions written inline, after a category question naming a bank domain."""
    data = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n  <question type="category">'
        f"<category><text>$course$/top/{category}</text></category></question>\n{questions_xml}\n</quiz>\n"
    )
    return parse_moodle_xml(data.encode("utf-8"), source="inline.xml", **VOCABULARY)


def options_of(result: ConversionResult, qid: str) -> list[tuple[str, bool, str]]:
    return [(o.text, o.correct, o.rationale) for o in questions(result)[qid][1].options]


def notes_of(result: ConversionResult) -> list[tuple[str, str]]:
    return [(title, message) for _, title, message in result.notes]


def test_gift_per_answer_format_markers_are_honored_and_stripped():
    result = gift_text(
        "$CATEGORY: advocacy\n\n"
        "::Colors::What is between orange and green in the spectrum? {\n"
        "  =yellow # right; good!\n"
        "  ~[plain]blue # wrong, it's yellow\n"
        "  ~red #[html]<b>wrong</b>, it&#39;s yellow\n"
        "  ~[moodle]<i>green</i> #[plain]<i>wrong</i>\n"
        "}"
    )
    assert result.problems == ()
    assert options_of(result, "colors") == [
        ("yellow", True, "right; good!"),
        ("blue", False, "wrong, it's yellow"),
        ("red", False, "wrong, it's yellow"),
        ("green", False, "<i>wrong</i>"),  # [plain] shows text literally, as Moodle does
    ]


def test_gift_question_format_is_the_default_for_its_answers_and_an_answer_marker_wins():
    result = gift_text(
        "$CATEGORY: advocacy\n\n::q::[html]<p>Which <b>one</b>?</p>{\n"
        "=<b>A</b> #<i>a</i>\n~[plain]<b>B</b> #&lt;b&gt;\n~C #[markdown]**c**\n}"
    )
    assert questions(result)["q"][1].stem == "Which one?"
    assert options_of(result, "q") == [("A", True, "a"), ("<b>B</b>", False, "<b>"), ("C", False, "c")]


def test_gift_markdown_is_converted_to_plain_text():
    result = gift_text(
        "$CATEGORY: advocacy\n\n::md::[markdown]Dana says **nobody** will hire her.\\n\\n"
        "Which response supports *self-advocacy*? {\n"
        "=Help her [practice](https\\://example.org) what she wants to say. #Builds her **own** voice.\n"
        "~Write her `cover letter`. #Does the work *for* her.\n~Say nothing. #Leaves her alone.\n}"
    )
    scenario, question = questions(result)["md"]
    assert (scenario.text, question.stem) == (
        "Dana says nobody will hire her.",
        "Which response supports self-advocacy?",
    )
    assert options_of(result, "md")[:2] == [
        ("Help her practice what she wants to say.", True, "Builds her own voice."),
        ("Write her cover letter.", False, "Does the work for her."),
    ]


def test_gift_text_without_a_marker_is_moodle_auto_format():
    result = gift_text(
        "$CATEGORY: advocacy\n\n::auto::Sam is <b>nervous</b> &amp; quiet.<br>He wants to speak.\n"
        "What do you do first? {\n=Help him <em>rehearse</em>. #Builds confidence.\n~Speak for him. #No.\n"
        "~Wait. #No.\n}"
    )
    _, question = questions(result)["auto"]
    assert question.stem == "Sam is nervous & quiet.\nHe wants to speak.\nWhat do you do first?"
    assert options_of(result, "auto")[0] == ("Help him rehearse.", True, "Builds confidence.")


@pytest.mark.parametrize(
    "text, stem",
    [
        ("{=Asia #a ~Europe #e ~Africa #f} is the largest continent.", "_____ is the largest continent."),
        (
            "The largest continent is {=Asia #a ~Europe #e ~Africa #f}, by far.",
            "The largest continent is _____, by far.",
        ),
        ("Which is the largest continent? {=Asia #a ~Europe #e ~Africa #f}", "Which is the largest continent?"),
        ("[html]<p>{=Asia #a ~Europe #e ~Africa #f} is <b>largest</b>.</p>", "_____ is largest."),
    ],
    ids=["block-first", "block-inside", "block-last", "html"],
)
def test_gift_blank_is_placed_where_the_answer_block_stood(text, stem):
    result = gift_text(f"$CATEGORY: advocacy\n\n::continent::{text}")
    assert result.problems == ()
    assert questions(result)["continent"][1].stem == stem


def test_gift_multiline_feedback_keeps_no_source_indentation():
    result = gift_text(
        "$CATEGORY: ethics\n\n::gift::A peer offers you a gift card. What is best? {\n"
        "\t=Explain the gift policy.\n\t\t# Keeps the boundary and\n\t\t  honors   the kindness.\n"
        "\t~Accept it. # Breaks the policy\n\t  and blurs roles.\n\t~Refuse it. # Harsh.\n}"
    )
    assert [o.rationale for o in questions(result)["gift"][1].options] == [
        "Keeps the boundary and\nhonors the kindness.",
        "Breaks the policy\nand blurs roles.",
        "Harsh.",
    ]


def test_gift_moodle_4_id_and_tag_comments_are_kept_or_noted():
    result = gift_text(
        "$CATEGORY: advocacy\n\n// question: 12  name: Poster\n// [id:adv-poster] [tag:Stigma] [tag:Week 1]\n"
        "::Poster::Which first step? {=Talk to the manager. #a ~Ignore it. #b ~Tear it down. #c}"
    )
    scenario, question = questions(result)["adv-poster"]
    assert (question.id, scenario.tags) == ("adv-poster", ("stigma",))
    assert notes_of(result) == [("Poster", "Moodle tag 'Week 1' is not in the bank's tag vocabulary: not kept")]


def test_gift_general_feedback_partial_credit_and_media_are_listed_as_not_kept():
    result = gift_text(
        '$CATEGORY: ethics\n\n::Bus money::[html]<p><img src\\="@@PLUGINFILE@@/bus%20pass.png"></p>'
        "<p>A peer asks to borrow money. What is best?</p>{\n"
        "=Help find transit assistance. #Meets the need.\n"
        "~%50%Give an agency bus pass. #Skips procedure.\n"
        "~%-25%Lend a little. #Blurs roles.\n"
        '~Say no. #[html]<a href\\="https\\://example.org/why.mp3">Listen</a>\n'
        "#### Check the agency's policy.\n}"
    )
    assert result.problems == ()
    assert [o.correct for o in questions(result)["bus-money"][1].options] == [True, False, False, False]
    assert notes_of(result) == [
        ("Bus money", "image 'bus pass.png' in the question text is not kept (media are not stored yet)"),
        (
            "Bus money",
            "audio link 'https://example.org/why.mp3' in the feedback of option 4 is not kept "
            "(media are not stored yet)",
        ),
        (
            "Bus money",
            'general feedback is not kept (the bank has no item explanation yet): "Check the agency\'s policy."',
        ),
        (
            "Bus money",
            "option 2 ('Give an agency bus pass.') gives 50% partial credit in Moodle; it is kept as an incorrect "
            "option (one key scores, the others score nothing)",
        ),
        (
            "Bus money",
            "option 3 ('Lend a little.') takes off 25% in Moodle; it is kept as an incorrect option "
            "(no negative marks)",
        ),
    ]
    assert all(line == 3 for line, _, _ in result.notes)


def test_gift_notes_are_not_given_for_skipped_questions():
    result = gift_text("$CATEGORY: advocacy\n\n::All::Which apply? {~%50%A #a ~%50%B #b ~C #c ####general}")
    assert [s.kind for s in result.skipped] == ["multichoice (multiple answers)"]
    assert result.notes == ()


def test_gift_export_marks_texts_that_auto_format_would_change_as_plain():
    literal = dataclasses.replace(
        NO_SCENARIO,
        questions=(
            Question(
                "bare-q1",
                "Is <b>this</b> bold &amp; kept?",
                "medium",
                (Option("[html]A", True, "[plain]a"), Option("B", False, "b"), Option("C", False, "c")),
            ),
        ),
    )
    bank = dataclasses.replace(MINI, scenarios=(literal, MINI.scenarios[0]))
    text = to_gift(bank)
    assert "::bare-q1:: [plain]Is <b>this</b> bold &amp; kept? {" in text
    assert "\t=[plain][html]A #[plain][plain]a" in text
    assert "::adv-one-q1:: Dana" in text  # ordinary text needs no marker
    rebuilt, result = round_trip(bank, "gift")
    assert result.problems == ()
    assert bank_hashes(rebuilt) == bank_hashes(bank)


def test_xml_answer_without_a_format_uses_the_question_format():
    result = xml_text(
        """<question type="multichoice">
    <name><text>No answer format</text></name>
    <questiontext format="html"><text><![CDATA[<p>Which is <em>best</em>?</p>]]></text></questiontext>
    <answer fraction="100"><text>&lt;p&gt;Ask &lt;b&gt;her&lt;/b&gt;.&lt;/p&gt;</text>
      <feedback><text>&lt;p&gt;Her &lt;i&gt;choice&lt;/i&gt; &amp;amp; voice.&lt;/p&gt;</text></feedback></answer>
    <answer fraction="0"><text><![CDATA[<p>Tell her.</p>]]></text><feedback><text>No.</text></feedback></answer>
    <answer fraction="0"><text><![CDATA[<p>Wait.</p>]]></text><feedback><text>No.</text></feedback></answer>
  </question>"""
    )
    assert result.problems == ()
    assert options_of(result, "no-answer-format") == [
        ("Ask her.", True, "Her choice & voice."),
        ("Tell her.", False, "No."),
        ("Wait.", False, "No."),
    ]


@pytest.mark.parametrize(
    "fmt, text, stem",
    [
        ("moodle_auto_format", "Sam is &lt;b&gt;nervous&lt;/b&gt;.\n   What first?", "Sam is nervous.\nWhat first?"),
        ("markdown", "Sam is **nervous**.\n\nWhat *first*?", "What first?"),
        ("plain_text", "Sam is &lt;b&gt;nervous&lt;/b&gt;.", "Sam is <b>nervous</b>."),
        ("html", "&lt;p&gt;Sam is &lt;b&gt;nervous&lt;/b&gt;.&lt;/p&gt;", "Sam is nervous."),
    ],
)
def test_xml_text_formats_are_converted_as_moodle_shows_them(fmt, text, stem):
    result = xml_text(
        f"""<question type="multichoice"><name><text>Sam</text></name>
    <questiontext format="{fmt}"><text>{text}</text></questiontext>
    <answer fraction="100"><text>Help **him** rehearse.</text><feedback><text>Builds
        confidence.</text></feedback></answer>
    <answer fraction="0"><text>Speak for him.</text><feedback><text>No.</text></feedback></answer>
    <answer fraction="0"><text>Wait.</text><feedback><text>No.</text></feedback></answer>
  </question>"""
    )
    assert result.problems == ()
    assert questions(result)["sam"][1].stem == stem
    key = "Help him rehearse." if fmt == "markdown" else "Help **him** rehearse."  # only Markdown renders **
    feedback = {
        "plain_text": "Builds\n        confidence.",  # plain text is shown as written (Moodle keeps its spaces)
        "moodle_auto_format": "Builds\nconfidence.",  # the line break is kept, the indentation is not
    }.get(fmt, "Builds confidence.")
    assert options_of(result, "sam")[0] == (key, True, feedback)


def test_xml_images_files_audio_feedback_hints_and_tags_are_listed_as_not_kept():
    result = xml_text(
        """<question type="multichoice">
    <name><text>Wheel</text></name>
    <questiontext format="html">
      <text><![CDATA[<p><img src="@@PLUGINFILE@@/wheel.png" alt="Wheel"></p><p>Which is social?</p>]]></text>
      <file name="wheel.png" path="/" encoding="base64">iVBORw0KGgo=</file>
      <file name="notes.pdf" path="/" encoding="base64">JVBERi0=</file>
    </questiontext>
    <generalfeedback format="html"><text><![CDATA[<p>See the <b>handout</b>.</p>]]></text></generalfeedback>
    <correctfeedback format="html"><text>Your answer is correct.</text></correctfeedback>
    <incorrectfeedback format="html"><text>Review the wheel again.</text></incorrectfeedback>
    <hint format="html"><text>Think of friends.</text></hint>
    <answer fraction="100"><text>Friends</text><feedback><text>Yes.</text></feedback></answer>
    <answer fraction="33.33333"><text>Family</text><feedback><text><![CDATA[<p>Close.</p>
      <audio controls><source src="@@PLUGINFILE@@/why.ogg"></audio>]]></text></feedback></answer>
    <answer fraction="0"><text>Money</text><feedback><text>No.</text></feedback></answer>
    <tags><tag><text>Housing</text></tag><tag><text>Week 2</text></tag></tags>
  </question>"""
    )
    assert result.problems == ()
    assert questions(result)["wheel"][0].tags == ("housing",)
    assert notes_of(result) == [
        ("Wheel", "image 'wheel.png' in the question text is not kept (media are not stored yet)"),
        ("Wheel", "audio 'why.ogg' in the feedback of option 2 is not kept (media are not stored yet)"),
        ("Wheel", "the feedback for an incorrect answer is not kept: 'Review the wheel again.'"),
        ("Wheel", "hint 1 is not kept: 'Think of friends.'"),
        (
            "Wheel",
            "option 2 ('Family') gives 33.33% partial credit in Moodle; it is kept as an incorrect option "
            "(one key scores, the others score nothing)",
        ),
        ("Wheel", "embedded file 'notes.pdf' is not kept"),
        ("Wheel", "general feedback is not kept (the bank has no item explanation yet): 'See the handout.'"),
        ("Wheel", "Moodle tag 'Week 2' is not in the bank's tag vocabulary: not kept"),
    ]
    assert {line for line, _, _ in result.notes} == {4}  # the <question> line (after the category question)


def test_our_own_exports_have_no_notes():
    for fmt in FORMATS:
        _, result = round_trip(MINI, fmt)
        assert result.notes == ()


# The measure: mixed real-world style files (issue 11, "Done when") -------------------------------------------

# Every single-answer multiple-choice question of the mixed files: question id -> (domain, key text).
MIXED_GIFT = {
    "adv-poster-wording": ("advocacy", "Suggest person-first wording to the clinic manager."),
    "person-first": ("advocacy", "a person in recovery"),
    "missing-word-blank-first": ("advocacy", "Stigma"),
    "missing-word-blank-inside": ("advocacy", "for themselves"),
    "html-question": ("advocacy", "Ask Jordan what outcome he wants."),
    "markdown-question": ("advocacy", "Ask what she wants to say to employers and help her practice it."),
    "moodle-auto-format": ("advocacy", "Help Sam plan and rehearse what he wants to say."),
    "unmarked-html": ("advocacy", "Help her write down her questions for the next visit."),
    "gift-card": ("ethics", "Thank them warmly and explain the agency's gift policy."),
    "facebook-request": ("ethics", "Decline and explain your social media boundaries at your next meeting."),
    "partial-credit": ("ethics", "Explain you cannot lend money and help find transit assistance."),
    "confidentiality-in-public": ("ethics", "Let the peer decide whether to greet you and follow her lead."),
    "self-disclosure": ("ethics", "When it serves the peer's goals and you keep it brief."),
    "escapes": ("ethics", "Record only what the peer agreed to share = consent."),
    "scope": ("ethics", "Encourage them to talk with their prescriber and offer to help prepare."),
    "image-question": ("mentoring", "Social"),
    "audio-question": ("mentoring", "Reflective listening"),
    "open-questions": ("mentoring", "What would make this week go well for you?"),
    "teaching-skills": ("mentoring", "Ride the route together once, then let the peer lead the next trip."),
    "group-facilitation": ("mentoring", "Thank the member and invite others to share."),
    "five-options": ("mentoring", "Walk for 20 minutes three times this week."),
    "hope": ("recovery", "Share a brief, relevant part of your own recovery."),
    "multiple-pathways": ("recovery", "People recover in different ways, with or without medication."),
    "recurrence": ("recovery", "Ask how they are and what support they want now."),
    "wellness-plan": ("recovery", "Support the peer to write the plan in their own words."),
    "no-feedback-on-one-answer": ("recovery", "A friend from church"),
    "harm-reduction": ("recovery", "Offering naloxone training to a peer who uses opioids."),
}
MIXED_XML = {
    "adv-lease-refusal": ("advocacy", "Ask Jordan what outcome he wants."),
    "answers-without-a-format": ("advocacy", "Ask how she felt and whether she wants to raise it with the clinic."),
    "auto-format-text": ("advocacy", "Help Sam plan and rehearse what he wants to say."),
    "markdown-text": ("advocacy", "Ask what she wants to say to employers and help her practice it."),
    "plain-text": ("advocacy", "Suggest person-first wording to the flyer's author."),
    "doctor-visit": ("advocacy", "Help her write down her questions for the next visit."),
    "benefits-letter": ("advocacy", "Read the letter together and ask what they want to do."),
    "gift-card": ("ethics", "Thank them warmly and explain the agency's gift policy."),
    "partial-credit": ("ethics", "Explain you cannot lend money and help find transit assistance."),
    "grocery-store": ("ethics", "Let the peer decide whether to greet you and follow her lead."),
    "self-disclosure": ("ethics", "When it serves the peer's goals and you keep it brief."),
    "medication-question": ("ethics", "Encourage them to talk with their prescriber and offer to help prepare."),
    "combined-feedback-and-hints": ("ethics", "Decline and explain your social media boundaries at your next meeting."),
    "mandated-report": (
        "ethics",
        "Follow your agency's mandated reporting procedure and tell the peer what you will do.",
    ),
    "wellness-wheel-image": ("mentoring", "Social"),
    "role-play-audio": ("mentoring", "Reflective listening"),
    "open-questions": ("mentoring", "What would make this week go well for you?"),
    "bus-route": ("mentoring", "Ride the route together once, then let the peer lead the next trip."),
    "group-member": ("mentoring", "Thank the member and invite others to share."),
    "smart-goal": ("mentoring", "Walk for 20 minutes three times this week."),
    "never-better": ("recovery", "Share a brief, relevant part of your own recovery."),
    "pathways": ("recovery", "People recover in different ways, with or without medication."),
    "return-to-use": ("recovery", "Ask how they are and what support they want now."),
    "wellness-plan": ("recovery", "Support the peer to write the plan in their own words."),
    "natural-support": ("recovery", "A friend from church"),
    "naloxone": ("recovery", "Offering naloxone training to a peer who uses opioids."),
}
# Texts written as [plain] / plain_text on purpose: their tags are text, not markup.
LITERAL_MARKUP = {"<probably>", "<b>", "</b>"}
MARKUP_LEFT = re.compile(r"</?[a-z][^>]*>|\[(?:html|plain|markdown|moodle)\]|\*\*|&[a-z]+;|^[ \t]", re.M | re.I)


def question_line(name: str, needle: str) -> int:
    """The line where the question holding needle starts (the needle's line in GIFT, its <question> in XML)."""
    line = line_of(name, needle)
    if name.endswith(".xml"):
        lines = (DATA / name).read_text(encoding="utf-8").splitlines()
        line = max(n for n in range(1, line + 1) if "<question " in lines[n - 1])
    return line


def mixed(name: str) -> ConversionResult:
    data = (DATA / name).read_bytes()
    if name.endswith(".gift"):
        return parse_gift(data.decode("utf-8"), source=name, **BUNDLED_VOCABULARY)
    return parse_moodle_xml(data, source=name, **BUNDLED_VOCABULARY)


def leftover_markup(scenario: Scenario, question: Question) -> list[str]:
    texts = [scenario.text, question.stem] + [t for o in question.options for t in (o.text, o.rationale)]
    return [m.group() for t in texts for m in MARKUP_LEFT.finditer(t) if m.group() not in LITERAL_MARKUP]


def imported_correctly(result: ConversionResult, qid: str, domain: str, key: str) -> bool:
    found = questions(result).get(qid)
    if found is None:
        return False
    scenario, question = found
    keys = [o.text for o in question.options if o.correct]
    return scenario.domain == domain and keys == [key] and question.stem and not leftover_markup(scenario, question)


@pytest.mark.parametrize(
    "name, expected, unsupported",
    [
        (
            "mixed.gift",
            MIXED_GIFT,
            [
                ("::TF::", "truefalse"),
                ("::TF with feedback::", "truefalse"),
                ("::Select all::", "multichoice (multiple answers)"),
                ("::Essay::", "essay"),
                ("::Matching::", "matching"),
                ("::Short answer::", "shortanswer"),
                ("::Numerical::", "numerical"),
                ("::Description::", "description"),
            ],
        ),
        (
            "mixed.xml",
            MIXED_XML,
            [
                ('<question type="truefalse">', "truefalse"),
                ("<text>Peer values</text>", "multichoice (multiple answers)"),
                ('<question type="essay">', "essay"),
                ('<question type="matching">', "matching"),
                ('<question type="shortanswer">', "shortanswer"),
                ('<question type="numerical">', "numerical"),
                ('<question type="description">', "description"),
                ('<question type="ddwtos">', "ddwtos"),
                ('<question type="multianswer">', "multianswer"),
            ],
        ),
    ],
)
def test_mixed_files_import_at_least_90_percent_and_list_every_unsupported_question(name, expected, unsupported):
    result = mixed(name)
    correct = [qid for qid, (domain, key) in expected.items() if imported_correctly(result, qid, domain, key)]
    share = len(correct) / len(expected)
    print(f"{name}: {len(correct)} of {len(expected)} single-answer questions imported correctly ({share:.1%})")
    assert share >= 0.9
    assert len(expected) + len(unsupported) >= 30
    # Every unsupported question is listed with its line, kind and a reason.
    listed = [(s.line, s.kind) for s in result.skipped if s.kind != "multichoice"]
    lines = [question_line(name, needle) for needle, _ in unsupported]
    assert listed == [(line, kind) for line, (_, kind) in zip(lines, unsupported, strict=True)]
    assert all(s.reason for s in result.skipped)


def test_mixed_files_report_why_the_two_supported_failures_did_not_import():
    gift_result, xml_result = mixed("mixed.gift"), mixed("mixed.xml")
    for result, name, five in (
        (gift_result, "mixed.gift", "::Five options::"),
        (xml_result, "mixed.xml", "<text>SMART goal</text>"),
    ):
        five_options = [(s.line, s.reason) for s in result.skipped if s.kind == "multichoice"]
        assert five_options == [(question_line(name, five), "A question needs 3 or 4 options, found 5.")]
    assert [p.line for p in gift_result.problems] == [line_of("mixed.gift", "~A crisis line", whole_line=True)]
    assert [p.line for p in xml_result.problems] == [line_of("mixed.xml", "<text>A crisis line</text>") - 1]


def test_mixed_files_list_what_they_could_not_keep_per_question():
    gift_titles = {title for _, title, _ in mixed("mixed.gift").notes}
    xml_titles = {title for _, title, _ in mixed("mixed.xml").notes}
    assert gift_titles == {"Poster wording", "Facebook request", "Partial credit", "Image question", "Audio question"}
    assert xml_titles == {"Doctor visit", "Partial credit", "Combined feedback and hints", "Wellness wheel image"} | {
        "Role play audio"
    }
    gift_result = mixed("mixed.gift")
    assert questions(gift_result)["facebook-request"][0].tags == ("boundaries", "dual-relationships")
    assert questions(gift_result)["missing-word-blank-first"][1].stem == "_____ keeps many people from asking for help."


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab .\n\t \u00a0\x0c\u2028")), max_size=40),
    st.sampled_from(["moodle", "html"]),
)
def test_markup_free_text_is_read_fast_but_exactly_as_through_the_html_parser(text, fmt):
    slow = html_to_text(auto_format_to_html(text) if fmt == "moodle" else text)
    assert convert(text, fmt).text == slow


def test_markdown_without_markdown_it_is_still_read_as_text():
    html = richtext._markdown_fallback("# Title\n\nSay **no** to *shame*, see [this](https://example.org).\n- `one`")
    assert html_to_text(html) == "Title\n\nSay no to shame, see this.\none"
    assert richtext.find_media(richtext._markdown_fallback("![wheel](@@PLUGINFILE@@/wheel.png)")) == [
        richtext.Media("image", "wheel.png")
    ]
