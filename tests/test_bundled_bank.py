"""Content checks on the bundled peer-specialist bank: size, coverage, item quality, tracks."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import quizbank
from quizbank.audit import audit_bank
from quizbank.semver import parse_version
from tests.conftest import BUNDLED_BANK

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = {"advocacy", "ethics", "mentoring", "recovery"}


@pytest.fixture(scope="module")
def bank() -> quizbank.Bank:
    return quizbank.load_bank(BUNDLED_BANK)


@pytest.fixture(scope="module")
def questions(bank) -> list[tuple[quizbank.Scenario, quizbank.Question]]:
    return list(bank.questions())


def tags_of(scenario: quizbank.Scenario, question: quizbank.Question) -> set[str]:
    return set(scenario.tags) | set(question.tags)


def test_bundled_bank_validates_from_the_command_line():
    result = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-m", "quizbank", "validate", str(BUNDLED_BANK)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("peer-specialist ")
    assert result.stdout.rstrip().endswith("- OK")


def test_bundled_bank_identity(bank):
    assert bank.id == "peer-specialist"
    assert parse_version(bank.version) is not None


def test_bundled_bank_has_at_least_120_questions(bank):
    assert bank.question_count >= 120


def test_question_ids_are_unique(questions):
    ids = [q.id for _, q in questions]
    assert len(ids) == len(set(ids))


def test_the_four_domains_are_defined_and_used(bank, questions):
    assert set(bank.domains) == DOMAINS
    assert {s.domain for s, _ in questions} == DOMAINS


@pytest.mark.parametrize("domain", ["advocacy", "ethics"])
def test_advocacy_and_ethics_have_at_least_25_questions(questions, domain):
    assert sum(s.domain == domain for s, _ in questions) >= 25


@pytest.mark.parametrize("domain", ["mentoring", "recovery"])
def test_every_other_domain_has_a_usable_pool(questions, domain):
    assert sum(s.domain == domain for s, _ in questions) >= 10


def test_at_least_25_questions_are_tagged_stigma(questions):
    assert sum("stigma" in tags_of(s, q) for s, q in questions) >= 25


def test_every_question_has_at_least_one_tag(questions):
    untagged = [q.id for s, q in questions if not tags_of(s, q)]
    assert untagged == []


def test_every_option_has_text_and_a_rationale(questions):
    missing = [(q.id, i) for _, q in questions for i, o in enumerate(q.options) if not (o.text and o.rationale)]
    assert missing == []


def test_every_question_has_three_or_four_options_and_one_key(questions):
    bad = [q.id for _, q in questions if not 3 <= len(q.options) <= 4 or sum(o.correct for o in q.options) != 1]
    assert bad == []


def test_option_texts_within_a_question_are_distinct(questions):
    bad = [q.id for _, q in questions if len({o.text.casefold() for o in q.options}) != len(q.options)]
    assert bad == []


def test_correct_option_position_is_spread_out(questions):
    positions = Counter(q.correct_index for _, q in questions)
    assert len(positions) >= 3, positions
    most_common_share = positions.most_common(1)[0][1] / len(questions)
    assert most_common_share <= 0.5, positions


def test_no_two_questions_share_stem_and_scenario(questions):
    seen: dict[tuple[str, str], str] = {}
    duplicates = []
    for scenario, question in questions:
        key = (" ".join(scenario.text.split()).casefold(), " ".join(question.stem.split()).casefold())
        if key in seen:
            duplicates.append((seen[key], question.id))
        seen.setdefault(key, question.id)
    assert duplicates == []


def test_no_two_scenarios_share_the_same_text(bank):
    texts = Counter(" ".join(s.text.split()).casefold() for s in bank.scenarios if not s.standalone)
    assert [t for t, n in texts.items() if n > 1] == []


def test_every_difficulty_level_is_used(questions):
    assert {q.difficulty for _, q in questions} == {"easy", "medium", "hard"}


@pytest.fixture(scope="module")
def cprs(bank) -> quizbank.Track:
    tracks = {t.id: t for t in bank.tracks}
    assert "cprs" in tracks
    return tracks["cprs"]


def test_cprs_blueprint_covers_every_domain_and_sums_to_one(bank, cprs):
    assert set(cprs.blueprint) == set(bank.domains)
    assert all(weight > 0 for weight in cprs.blueprint.values())
    assert sum(cprs.blueprint.values()) == pytest.approx(1.0)


def test_cprs_exam_settings_are_sensible(cprs):
    assert 0 < cprs.cut_score < 1
    assert cprs.time_limit_minutes > 0
    assert cprs.exam_length > 0


def test_bank_can_fill_a_cprs_exam_by_blueprint(questions, cprs):
    per_domain = Counter(s.domain for s, _ in questions)
    for domain, weight in cprs.blueprint.items():
        assert per_domain[domain] >= round(weight * cprs.exam_length), (domain, per_domain[domain])


# --- bank 2.0: the item audit's gate and the content targets (issue: items that measure knowledge) ------


@pytest.fixture(scope="module")
def audit(bank):
    return audit_bank(bank)


def test_bundled_bank_passes_the_item_audit_gate(audit):
    assert audit.passed, "\n".join(audit.failures)


def test_no_test_wise_strategy_beats_chance_by_more_than_8_points(audit):
    over = {s.name: s.expected_score for s in audit.strategies if s.expected_score > s.chance + 0.08}
    assert over == {}


def test_bank_2_has_at_least_320_questions_spread_over_the_domains(audit):
    counts = audit.counts
    assert counts["questions"] >= 320
    minimums = {"advocacy": 80, "ethics": 95, "mentoring": 70, "recovery": 75}
    assert {d: counts["per_domain"][d] for d in minimums} == {
        d: max(counts["per_domain"][d], m) for d, m in minimums.items()
    }


def test_bank_2_topic_targets(audit):
    counts = audit.counts
    assert counts["boundaries"] >= 50
    assert counts["stigma"] >= 50
    assert counts["per_tag"]["self-advocacy"] >= 25
    assert counts["per_tag"]["systems-advocacy"] >= 25
    small = {tag: n for tag, n in counts["per_tag"].items() if n < 8}
    assert small == {}


def test_at_least_a_quarter_are_standalone_knowledge_items(audit):
    assert audit.counts["standalone_share"] >= 0.25


def test_every_suicide_item_carries_a_content_note(questions):
    missing = [q.id for s, q in questions if "suicide-risk" in tags_of(s, q) and not s.content_note]
    assert missing == []


def test_no_all_or_none_of_the_above(questions):
    banned = ("all of the above", "none of the above", "both a and b")
    found = [q.id for _, q in questions for o in q.options if o.text.casefold().rstrip(".") in banned]
    assert found == []


def test_cprs_offers_a_full_length_form_and_says_where_its_weights_come_from(cprs):
    assert [(f.id, f.length, f.time_limit_minutes) for f in cprs.forms] == [("full", 75, 120)]
    assert "assumption" in cprs.notes and "practice threshold" in cprs.notes


def test_bank_has_a_changelog_for_its_version(bank):
    changelog = (BUNDLED_BANK / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {bank.version}" in changelog


def test_cli_audit_gate_passes_on_the_bundled_bank():
    result = subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-m", "quizbank", "audit", str(BUNDLED_BANK)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Gate: PASSED" in result.stdout
