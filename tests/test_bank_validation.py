"""Malformed bank files: every problem is reported as ``file:line: message`` and nothing is imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

import quizbank
from app.extensions import db
from app.models import Bank, BankRelease, Question, QuestionVersion
from quizbank import BankError, Problem
from tests.conftest import MINI_BANK

ROOT = Path(__file__).resolve().parents[1]

# A valid scenario file (identical to tests/banks/mini/scenarios/adv-two.yaml), so every line number
# asserted below can be read off here.
SCENARIO = """\
id: adv-two
domain: advocacy
tags: [stigma]
scenario: A clinic poster calls people "addicts".
questions:
  - id: adv-two-q1
    stem: What is the most appropriate response?
    difficulty: hard
    options:
      - text: Ignore it.
        rationale: Leaves stigma in place.
      - text: Raise it with the clinic and suggest person-first wording.
        correct: true
        rationale: Systems advocacy with respect.
      - text: Tear the poster down.
        rationale: Acts without consent or dialogue.
"""
#   line 1  id            line 6  question id     line 10 option 1 text
#   line 2  domain        line 7  stem            line 11 option 1 rationale
#   line 3  tags          line 8  difficulty      line 12-14 option 2 (correct)
#   line 4  scenario      line 9  options         line 15-16 option 3

TRACK = (MINI_BANK / "tracks" / "basic.yaml").read_text(encoding="utf-8")
MANIFEST = (MINI_BANK / "bank.yaml").read_text(encoding="utf-8")


def edited(text: str, old: str, new: str) -> str:
    """text with old replaced by new exactly once (fails loudly if the fixture text drifted)."""
    assert text.count(old) == 1, f"{old!r} should occur once"
    return text.replace(old, new)


def write(bank: Path, relative: str, content: str | bytes) -> Path:
    path = bank / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def write_scenario(bank: Path, content: str, name: str = "adv-two") -> Path:
    return write(bank, f"scenarios/{name}.yaml", content)


def problems_of(bank: Path) -> list[Problem]:
    with pytest.raises(BankError) as excinfo:
        quizbank.load_bank(bank)
    return excinfo.value.problems


def only_problem(bank: Path) -> Problem:
    problems = problems_of(bank)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def assert_problem(problem: Problem, file_name: str, line: int, message: str) -> None:
    assert Path(problem.path).name == file_name, str(problem)
    assert problem.line == line, str(problem)
    assert message in problem.message, str(problem)


def scenario_problem(bank: Path, content: str) -> Problem:
    write_scenario(bank, content)
    return only_problem(bank)


# --- sanity ------------------------------------------------------------------------------------------


def test_reference_scenario_text_is_valid(bank_copy):
    write_scenario(bank_copy, SCENARIO)
    bank = quizbank.load_bank(bank_copy)
    assert bank.question_count == 5


def test_problem_prints_as_file_line_message():
    assert str(Problem("bank/scenarios/x.yaml", 7, "boom")) == "bank/scenarios/x.yaml:7: boom"


# --- YAML syntax and structure -----------------------------------------------------------------------


def test_invalid_yaml_syntax_reports_the_line_of_the_error(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "domain: advocacy", "domain: [advocacy"))
    assert_problem(problem, "adv-two.yaml", 3, "invalid YAML")


def test_bad_indentation_reports_the_misindented_line(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "    stem: What", "   stem: What"))
    assert_problem(problem, "adv-two.yaml", 7, "invalid YAML")


def test_duplicate_key_is_an_error_at_the_second_occurrence(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "domain: advocacy\n", "domain: advocacy\ndomain: ethics\n"))
    assert_problem(problem, "adv-two.yaml", 3, "duplicate key 'domain'")


def test_duplicate_key_inside_an_option_is_an_error(bank_copy):
    content = edited(SCENARIO, "rationale: Leaves stigma in place.\n", "rationale: A.\n        rationale: B.\n")
    problem = scenario_problem(bank_copy, content)
    assert_problem(problem, "adv-two.yaml", 12, "duplicate key 'rationale'")


def test_list_as_mapping_key_is_reported_not_crashing(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "domain: advocacy\n", "? [a, b]\n: advocacy\n"))
    assert_problem(problem, "adv-two.yaml", 2, "invalid YAML: a mapping key must be a plain value")


@pytest.mark.parametrize("content", ["just some text\n", "- a\n- b\n", ""], ids=["scalar", "list", "empty"])
def test_top_level_must_be_a_mapping(bank_copy, content):
    problem = scenario_problem(bank_copy, content)
    assert_problem(problem, "adv-two.yaml", 1, "expected a mapping at the top of the file")


def test_non_utf8_file_is_reported(bank_copy):
    content = SCENARIO.replace("Ignore it.", "Ignoré it.").encode("latin-1")
    problem = scenario_problem(bank_copy, content)
    assert_problem(problem, "adv-two.yaml", 1, "not UTF-8")


def test_missing_bank_yaml_is_reported(bank_copy):
    (bank_copy / "bank.yaml").unlink()
    problem = only_problem(bank_copy)
    assert problem.path == str(bank_copy / "bank.yaml")
    assert problem.message == "bank.yaml not found"


def test_folder_without_scenarios_is_reported(bank_copy):
    for path in (bank_copy / "scenarios").iterdir():
        path.unlink()
    problem = only_problem(bank_copy)
    assert_problem(problem, "scenarios", 0, "no scenario files found")


# --- keys --------------------------------------------------------------------------------------------


def test_misspelt_key_is_unknown_and_the_real_key_missing(bank_copy):
    write_scenario(bank_copy, edited(SCENARIO, "rationale: Leaves", "rationle: Leaves"))
    missing, unknown = problems_of(bank_copy)
    assert_problem(missing, "adv-two.yaml", 10, "option is missing required key 'rationale'")
    assert_problem(unknown, "adv-two.yaml", 11, "unknown key 'rationle' in option")


def test_unknown_scenario_key_points_at_its_line(bank_copy):
    write_scenario(bank_copy, edited(SCENARIO, "tags: [stigma]\n", "tags: [stigma]\nnotes: draft\n"))
    assert_problem(only_problem(bank_copy), "adv-two.yaml", 4, "unknown key 'notes' in scenario")


def test_missing_required_question_key_points_at_the_question(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "    difficulty: hard\n", ""))
    assert_problem(problem, "adv-two.yaml", 6, "question is missing required key 'difficulty'")


def test_a_file_without_scenario_text_is_a_standalone_item(bank_copy):
    write_scenario(bank_copy, edited(SCENARIO, 'scenario: A clinic poster calls people "addicts".\n', ""))
    scenario = next(s for s in quizbank.load_bank(bank_copy).scenarios if s.id == "adv-two")
    assert scenario.standalone and scenario.text == ""
    assert [q.id for q in scenario.questions] == ["adv-two-q1"]


def test_a_standalone_item_file_holds_exactly_one_question(bank_copy):
    content = edited(SCENARIO, 'scenario: A clinic poster calls people "addicts".\n', "")
    second = content.split("questions:\n", 1)[1].replace("adv-two-q1", "adv-two-q2")
    problem = scenario_problem(bank_copy, content + second)
    assert_problem(
        problem, "adv-two.yaml", 4, "a stand-alone item file (no 'scenario' text) holds exactly one question"
    )


def test_empty_scenario_text_is_reported(bank_copy):
    problem = scenario_problem(
        bank_copy, edited(SCENARIO, 'scenario: A clinic poster calls people "addicts".', "scenario:")
    )
    assert_problem(problem, "adv-two.yaml", 4, "'scenario' must not be empty")


def test_content_note_is_kept_and_capped(bank_copy):
    noted = edited(SCENARIO, "tags: [stigma]\n", "tags: [stigma]\ncontent_note: violence\n")
    write_scenario(bank_copy, noted)
    bank = quizbank.load_bank(bank_copy)
    scenario, question = next((s, q) for s, q in bank.questions() if s.id == "adv-two")
    assert scenario.content_note == "violence"
    assert quizbank.question_content(scenario, question)["content_note"] == "violence"
    problem = scenario_problem(
        bank_copy, edited(SCENARIO, "tags: [stigma]\n", f"tags: [stigma]\ncontent_note: {'x' * 121}\n")
    )
    assert_problem(problem, "adv-two.yaml", 4, "Keep the content note to 120 characters (found 121).")


def test_a_question_without_a_content_note_keeps_its_hash(bank_copy):
    scenario, question = next((s, q) for s, q in quizbank.load_bank(bank_copy).questions() if s.id == "adv-two")
    assert "content_note" not in quizbank.question_content(scenario, question)


# --- options -----------------------------------------------------------------------------------------


def test_two_options_are_too_few(bank_copy):
    last_option = "      - text: Tear the poster down.\n        rationale: Acts without consent or dialogue.\n"
    content = edited(SCENARIO, last_option, "")
    problem = scenario_problem(bank_copy, content)
    assert_problem(problem, "adv-two.yaml", 9, "A question needs 3 or 4 options, found 2.")


def test_five_options_are_too_many(bank_copy):
    extra = "".join(f"      - text: Extra option {n}.\n        rationale: Extra rationale {n}.\n" for n in (4, 5))
    problem = scenario_problem(bank_copy, SCENARIO + extra)
    assert_problem(problem, "adv-two.yaml", 9, "A question needs 3 or 4 options, found 5.")


def test_four_options_are_accepted(bank_copy):
    write_scenario(bank_copy, SCENARIO + "      - text: Extra option.\n        rationale: Extra rationale.\n")
    assert quizbank.load_bank(bank_copy).question_count == 5


def test_no_correct_option_is_an_error(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "        correct: true\n", ""))
    assert_problem(problem, "adv-two.yaml", 9, "Mark exactly one option as the correct answer (found 0).")


def test_two_correct_options_is_an_error(bank_copy):
    content = edited(SCENARIO, "      - text: Ignore it.\n", "      - text: Ignore it.\n        correct: true\n")
    problem = scenario_problem(bank_copy, content)
    assert_problem(problem, "adv-two.yaml", 9, "Mark exactly one option as the correct answer (found 2).")


def test_correct_must_be_a_boolean(bank_copy):
    write_scenario(bank_copy, edited(SCENARIO, "correct: true", "correct: maybe"))
    no_key, not_boolean = problems_of(bank_copy)
    assert_problem(no_key, "adv-two.yaml", 9, "Mark exactly one option as the correct answer (found 0).")
    assert_problem(not_boolean, "adv-two.yaml", 13, "'correct' must be true or false")


@pytest.mark.parametrize("value", ['""', "", "'   '"], ids=["empty-string", "null", "blank"])
def test_empty_rationale_is_an_error(bank_copy, value):
    content = edited(SCENARIO, "rationale: Leaves stigma in place.", f"rationale: {value}")
    problem = scenario_problem(bank_copy, content)
    assert_problem(problem, "adv-two.yaml", 11, "Option A needs a rationale.")


@pytest.mark.parametrize(("value", "kind"), [("yes", "true/false"), ("no", "true/false"), ("42", "int")])
def test_non_string_option_text_asks_for_quotes(bank_copy, value, kind):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "text: Ignore it.", f"text: {value}"))
    assert_problem(problem, "adv-two.yaml", 10, f"'text' must be text, got {kind} (quote it)")


def test_quoted_yes_is_valid_option_text(bank_copy):
    write_scenario(bank_copy, edited(SCENARIO, "text: Ignore it.", 'text: "yes"'))
    bank = quizbank.load_bank(bank_copy)
    question = next(q for _, q in bank.questions() if q.id == "adv-two-q1")
    assert question.options[0].text == "yes"


def test_duplicate_option_texts_are_an_error(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "text: Ignore it.", "text: Tear the poster down."))
    assert_problem(problem, "adv-two.yaml", 9, "Two options have the same text.")


def test_option_texts_differing_only_in_case_are_duplicates(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "text: Ignore it.", "text: TEAR THE POSTER DOWN."))
    assert_problem(problem, "adv-two.yaml", 9, "Two options have the same text.")


# --- vocabularies ------------------------------------------------------------------------------------


def test_unknown_domain_lists_the_known_ones(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "domain: advocacy", "domain: advocasy"))
    assert_problem(problem, "adv-two.yaml", 2, "unknown domain 'advocasy' (bank.yaml defines: advocacy, ethics)")


def test_unknown_scenario_tag(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "tags: [stigma]", "tags: [stigma, sigma]"))
    assert_problem(problem, "adv-two.yaml", 3, "unknown tag 'sigma' (not in bank.yaml)")


def test_unknown_question_tag_points_at_the_list_item(bank_copy):
    tags = "    tags:\n      - housing\n      - hosing\n"
    content = edited(SCENARIO, "    difficulty: hard\n", "    difficulty: hard\n" + tags)
    problem = scenario_problem(bank_copy, content)
    assert_problem(problem, "adv-two.yaml", 11, "unknown tag 'hosing'")


@pytest.mark.parametrize("value", ["tricky", "Hard", "3"])
def test_bad_difficulty(bank_copy, value):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "difficulty: hard", f"difficulty: {value}"))
    assert_problem(problem, "adv-two.yaml", 8, "Difficulty must be one of easy, medium, hard")


# --- ids ---------------------------------------------------------------------------------------------


def test_duplicate_question_id_across_files_names_the_first_place(bank_copy):
    content = edited(edited(SCENARIO, "id: adv-two\n", "id: adv-three\n"), "id: adv-two-q1", "id: adv-one-q1")
    write_scenario(bank_copy, content, name="adv-three")
    problem = only_problem(bank_copy)
    first_place = f"{bank_copy / 'scenarios' / 'adv-one.yaml'}:8"
    assert_problem(problem, "adv-three.yaml", 6, f"id 'adv-one-q1' is already used at {first_place}")


def test_question_id_may_not_reuse_a_scenario_id(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "id: adv-two-q1", "id: adv-one"))
    assert_problem(problem, "adv-two.yaml", 6, "id 'adv-one' is already used at")
    assert problem.message.endswith("adv-one.yaml:1")


def test_file_name_must_match_scenario_id(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "id: adv-two\n", "id: adv-three\n"))
    assert_problem(problem, "adv-two.yaml", 1, "file name must match the scenario id (adv-three.yaml)")


def test_ids_must_be_lowercase_kebab(bank_copy):
    problem = scenario_problem(bank_copy, edited(SCENARIO, "id: adv-two-q1", "id: Adv_Two_Q1"))
    assert_problem(
        problem,
        "adv-two.yaml",
        6,
        "Use lowercase-kebab-case for the question id (letters, digits and single hyphens), got 'Adv_Two_Q1'.",
    )


# --- bank.yaml and tracks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"), [("1.0", "1.0"), ("'1.0'", "'1.0'"), ("1.0.0.1", "'1.0.0.1'"), ("v1.0.0", "'v1.0.0'")]
)
def test_version_must_be_semver_text(bank_copy, value, shown):
    write(bank_copy, "bank.yaml", edited(MANIFEST, "version: 1.0.0", f"version: {value}"))
    problem = only_problem(bank_copy)
    assert_problem(problem, "bank.yaml", 3, f"version must be semver text like '1.2.0' (quote it), got {shown}")


def test_bank_yaml_syntax_error_stops_before_scenarios(bank_copy):
    write(bank_copy, "bank.yaml", "id: [mini\n")
    write_scenario(bank_copy, edited(SCENARIO, "domain: advocacy", "domain: nowhere"))
    problem = only_problem(bank_copy)
    assert Path(problem.path).name == "bank.yaml"
    assert "invalid YAML" in problem.message


def test_blueprint_must_sum_to_one(bank_copy):
    write(bank_copy, "tracks/basic.yaml", edited(TRACK, "ethics: 0.5", "ethics: 0.4"))
    problem = only_problem(bank_copy)
    assert_problem(problem, "basic.yaml", 7, "blueprint weights must sum to 1.0, got 0.900")


def test_blueprint_naming_unknown_domain(bank_copy):
    write(bank_copy, "tracks/basic.yaml", edited(TRACK, "  ethics: 0.5\n", "  ethics: 0.25\n  mentoring: 0.25\n"))
    problem = only_problem(bank_copy)
    assert_problem(problem, "basic.yaml", 10, "blueprint names unknown domain 'mentoring'")


def test_blueprint_weight_must_be_a_number(bank_copy):
    write(bank_copy, "tracks/basic.yaml", edited(TRACK, "ethics: 0.5", "ethics: half"))
    problems = problems_of(bank_copy)
    assert any(p.line == 9 and p.message == "'ethics' must be a number" for p in problems), problems


def test_track_exam_key_typo(bank_copy):
    write(bank_copy, "tracks/basic.yaml", edited(TRACK, "cut_score: 0.75", "cutscore: 0.75"))
    problems = [(p.line, p.message) for p in problems_of(bank_copy)]
    assert (4, "exam is missing required key 'cut_score'") in problems
    assert (6, "unknown key 'cutscore' in exam") in problems


# --- many problems at once ---------------------------------------------------------------------------


def test_every_problem_in_the_bank_is_reported_at_once_and_sorted(bank_copy):
    write(bank_copy, "bank.yaml", edited(MANIFEST, "version: 1.0.0", "version: 1.0"))
    write_scenario(bank_copy, edited(SCENARIO, "difficulty: hard", "difficulty: tricky"))
    eth_one = (bank_copy / "scenarios" / "eth-one.yaml").read_text(encoding="utf-8")
    write(bank_copy, "scenarios/eth-one.yaml", edited(eth_one, "domain: ethics", "domain: ethic"))
    write_scenario(bank_copy, edited(SCENARIO, "domain: advocacy", "domain: [advocacy"), name="adv-broken")
    write(bank_copy, "tracks/basic.yaml", edited(TRACK, "ethics: 0.5", "ethics: 0.4"))

    with pytest.raises(BankError) as excinfo:
        quizbank.load_bank(bank_copy)

    problems = excinfo.value.problems
    located = [(Path(p.path).relative_to(bank_copy).as_posix(), p.line) for p in problems]
    assert located == [
        ("bank.yaml", 3),
        ("scenarios/adv-broken.yaml", 3),
        ("scenarios/adv-two.yaml", 8),
        ("scenarios/eth-one.yaml", 2),
        ("tracks/basic.yaml", 7),
    ]
    assert problems == sorted(problems)
    assert str(excinfo.value).splitlines() == [str(p) for p in problems]


def test_problems_in_one_file_are_sorted_by_line(bank_copy):
    content = edited(SCENARIO, "difficulty: hard", "difficulty: tricky")
    content = edited(content, "domain: advocacy", "domain: advocasy")
    content = edited(content, "rationale: Acts without consent or dialogue.", "rationale: ''")
    write_scenario(bank_copy, content)
    assert [p.line for p in problems_of(bank_copy)] == [2, 8, 16]


# --- python -m quizbank validate ---------------------------------------------------------------------


def run_quizbank(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-m", "quizbank", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_module_validate_accepts_a_good_bank():
    result = run_quizbank("validate", str(MINI_BANK))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "mini 1.0.0: 4 scenarios, 5 questions, 1 track(s) - OK"
    assert result.stderr == ""


def test_module_validate_reports_problems_on_stderr_and_exits_1(bank_copy):
    write_scenario(bank_copy, edited(SCENARIO, "domain: advocacy", "domain: advocasy"))
    write(bank_copy, "tracks/basic.yaml", edited(TRACK, "ethics: 0.5", "ethics: 0.4"))
    result = run_quizbank("validate", str(bank_copy))
    assert result.returncode == 1
    assert result.stdout == ""
    scenario_file = bank_copy / "scenarios" / "adv-two.yaml"
    assert result.stderr.splitlines() == [
        f"{scenario_file}:2: unknown domain 'advocasy' (bank.yaml defines: advocacy, ethics)",
        f"{bank_copy / 'tracks' / 'basic.yaml'}:7: blueprint weights must sum to 1.0, got 0.900",
        "2 problem(s) found",
    ]


def test_module_validate_missing_folder_exits_1(tmp_path):
    result = run_quizbank("validate", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "bank.yaml not found" in result.stderr


def test_module_without_command_is_a_usage_error():
    result = run_quizbank()
    assert result.returncode == 2
    assert "usage:" in result.stderr


# --- flask bank validate / import --------------------------------------------------------------------


MODELS = (Bank, BankRelease, Question, QuestionVersion)


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS}


@pytest.fixture
def broken_bank(bank_copy):
    """The mini bank with one option text that YAML reads as true."""
    write_scenario(bank_copy, edited(SCENARIO, "text: Ignore it.", "text: yes"))
    return bank_copy


def test_flask_bank_validate_ok(app):
    result = app.test_cli_runner().invoke(args=["bank", "validate", str(MINI_BANK)])
    assert result.exit_code == 0, result.output
    assert "mini 1.0.0: 4 scenarios, 5 questions, 1 track(s) - OK" in result.output


def test_flask_bank_validate_prints_the_item_audit_as_warnings(app):
    """The mini bank's keys are the longest options: valid (exit 0), but the audit warns about it."""
    result = app.test_cli_runner().invoke(args=["bank", "validate", str(MINI_BANK)])
    assert result.exit_code == 0
    assert "warning: strategy 'longest' scores" in result.stderr
    assert "item-audit warning(s); `python -m quizbank audit" in result.stderr


def test_flask_bank_validate_broken_bank_exits_1_with_file_line(app, broken_bank):
    result = app.test_cli_runner().invoke(args=["bank", "validate", str(broken_bank)])
    assert result.exit_code == 1
    expected = f"{broken_bank / 'scenarios' / 'adv-two.yaml'}:10: 'text' must be text, got true/false (quote it)"
    assert expected in result.stderr.splitlines()
    assert "1 problem(s) found" in result.stderr


def test_flask_bank_import_broken_bank_imports_nothing(app, broken_bank):
    result = app.test_cli_runner().invoke(args=["bank", "import", str(broken_bank)])
    assert result.exit_code == 1
    assert f"{broken_bank / 'scenarios' / 'adv-two.yaml'}:10:" in result.stderr
    assert "nothing imported" in result.stderr
    assert row_counts(app) == {"Bank": 0, "BankRelease": 0, "Question": 0, "QuestionVersion": 0}


def test_flask_bank_import_broken_update_leaves_existing_release_alone(app, mini_release, broken_bank):
    before = row_counts(app)
    write(broken_bank, "bank.yaml", edited(MANIFEST, "version: 1.0.0", "version: 1.1.0"))
    result = app.test_cli_runner().invoke(args=["bank", "import", str(broken_bank)])
    assert result.exit_code == 1
    assert row_counts(app) == before == {"Bank": 1, "BankRelease": 1, "Question": 5, "QuestionVersion": 5}


def test_flask_bank_import_good_bank_then_counts(app):
    result = app.test_cli_runner().invoke(args=["bank", "import", str(MINI_BANK)])
    assert result.exit_code == 0, result.output
    assert "mini 1.0.0: release created (5 new, 0 changed, 0 unchanged, 0 retired)" in result.output
    assert row_counts(app) == {"Bank": 1, "BankRelease": 1, "Question": 5, "QuestionVersion": 5}
