"""The item audit on small hand-made banks whose expected figures are known."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from quizbank.audit import (
    AuditGate,
    AuditItem,
    _not_top,
    _reversed,
    audit_items,
    clause_count,
    content_counts,
    key_length_ratio,
    near_duplicates,
    pick_probability,
    spelling_mix,
    unemphasised_negatives,
)

ROOT = Path(__file__).resolve().parents[1]


def approx(value: float):
    """Report figures are rounded to 4 decimals."""
    return pytest.approx(value, abs=1e-4)


FILLER = "word"


def item(n: int, options: list[str], key: int, *, scenario: str = "", stem: str = "What now?", **kw) -> AuditItem:
    return AuditItem(
        id=f"q{n}",
        scenario_id=kw.pop("scenario_id", f"s{n}"),
        domain=kw.pop("domain", "advocacy"),
        tags=kw.pop("tags", ("stigma",)),
        scenario=scenario or " ".join(f"topic{spelled(n)}{letter}" for letter in "abcdef"),
        stem=stem,
        options=tuple(options),
        key=key,
        **kw,
    )


def spelled(n: int) -> str:
    """A number as letters (the audit's words are letters only)."""
    return "".join("abcdefghij"[int(d)] for d in str(n))


def lengths_item(n: int, lengths: list[int], key: int) -> AuditItem:
    """Options made of the same filler word, so only their lengths differ."""
    return item(n, [" ".join([FILLER] * k) + f" v{spelled(n)}o{spelled(i)}" for i, k in enumerate(lengths)], key)


def strategy(report, name: str) -> float:
    return next(s.expected_score for s in report.strategies if s.name == name)


# --- exact tie handling -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "key", "top", "expected"),
    [
        ([4, 3, 2, 1], 0, 1, 1.0),
        ([4, 3, 2, 1], 1, 1, 0.0),
        ([4, 4, 2, 1], 0, 1, 0.5),  # tie for the top: a coin flip
        ([4, 3, 2, 1], 1, 2, 0.5),  # among the two highest, then one of two
        ([4, 3, 3, 1], 1, 2, 0.25),  # two tie for the second slot: 1/2 to get in, 1/2 to be picked
        ([1, 1, 1, 1], 2, 1, 0.25),  # all equal: chance
        ([1, 1, 1, 1], 2, 2, 0.25),
    ],
)
def test_pick_probability_is_exact_with_ties(scores, key, top, expected):
    assert pick_probability(scores, key, top) == approx(expected)


# --- the gate ------------------------------------------------------------------------------------------


def test_a_bank_whose_keys_are_always_longest_fails_the_gate():
    items = [lengths_item(n, [3, 5, 7, 12], 3) for n in range(12)]
    report = audit_items(items)
    assert strategy(report, "longest") == approx(1.0)
    assert strategy(report, "two-longest") == approx(0.5)
    assert strategy(report, "not-shortest") == approx(1 / 3)
    assert strategy(report, "same-position") == approx(1.0)
    assert report.chance == approx(0.25)
    assert report.key_rank_shares == {"longest": 1.0, "middle": 0.0, "shortest": 0.0}
    assert not report.passed
    assert any("'longest' scores 100.0%" in f for f in report.failures)
    assert any("outside ±25%" in f for f in report.failures)


def test_keys_rotated_over_every_length_rank_score_chance():
    # Four similar lengths; the key takes each length rank and each position equally often.
    items = [lengths_item(n, [10, 11, 12, 13], n % 4) for n in range(16)]
    report = audit_items(items)
    for name in ("longest", "two-longest", "not-shortest", "same-position", "most-clauses", "opening-word"):
        assert strategy(report, name) == approx(0.25), name
    assert report.key_positions == {"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}
    assert report.length_outliers == []
    assert report.passed, report.failures


def test_chance_mixes_three_and_four_option_items():
    items = [lengths_item(0, [5, 5, 5], 0), lengths_item(1, [5, 5, 5, 5], 0)]
    assert audit_items(items).chance == approx((1 / 3 + 1 / 4) / 2)


def test_most_clauses_strategy_counts_commas_and_joining_words():
    assert clause_count("Ask her.") == 1
    assert clause_count("Ask her, then listen and reflect.") == 3
    items = [item(n, ["Ask her, then listen, and reflect.", "Call.", "Wait.", "Leave."], 0) for n in range(4)]
    assert strategy(audit_items(items), "most-clauses") == approx(1.0)


def test_opening_word_is_learned_from_the_rest_of_the_bank_only():
    items = [item(n, [f"Acknowledge a{n}.", f"Tell b{n}.", f"Tell c{n}.", f"Tell d{n}."], 0) for n in range(10)]
    report = audit_items(items)
    assert strategy(report, "opening-word") == approx(1.0)
    table = {row["word"]: row for row in report.opening_words}
    assert table["acknowledge"]["key_share"] == 1.0 and table["tell"]["key_share"] == 0.0
    # One item alone teaches nothing: leave-one-out leaves no evidence, so it is chance.
    assert strategy(audit_items(items[:1]), "opening-word") == approx(0.25)


def test_absolute_words_in_distractors_are_a_cue():
    items = [
        item(n, [f"Offer help {n}.", f"Always refuse {n}.", f"Never call {n}.", f"Only wait {n}."], 0) for n in range(4)
    ]
    report = audit_items(items)
    assert strategy(report, "fewest-absolutes") == approx(1.0)
    assert report.absolute_hedge["absolute_in_keys"] == 0.0
    assert report.absolute_hedge["absolute_in_distractors"] == 1.0


def test_word_cues_catch_a_vocabulary_only_keys_use():
    keyed = ["collaborate", "together", "choice", "explore"]
    items = [
        item(n, [f"{keyed[n % 4]} step{n}", f"handle task{n}", f"manage job{n}", f"arrange thing{n}"], 0)
        for n in range(16)
    ]
    assert strategy(audit_items(items), "word-cues") == approx(1.0)


# --- lengths --------------------------------------------------------------------------------------------


def test_key_length_ratio_and_outliers():
    doubled = item(1, ["x" * 20, "x" * 10, "y" * 10, "z" * 10], 0)
    assert key_length_ratio(doubled) == approx(2.0)
    fine = item(2, ["x" * 11, "x" * 10, "y" * 10, "z" * 10], 0)
    report = audit_items([doubled, fine], AuditGate(max_length_outliers=0.5))
    assert report.length_outliers == [{"id": "q1", "ratio": 2.0}]
    assert report.key_length_ratio["within_tolerance"] == 0.5
    assert not any("outside" in f for f in report.failures)


# --- near duplicates -----------------------------------------------------------------------------------


def test_the_same_scene_under_two_scenario_ids_is_a_near_duplicate():
    scene = "In the emergency department a nurse calls Dana a junkie while the peer specialist waits nearby."
    a = item(1, ["Speak to the nurse privately.", "b", "c", "d"], 0, scenario=scene)
    b = item(2, ["Speak to the nurse privately.", "e", "f", "g"], 0, scenario=scene.replace("Dana", "Rosa"))
    other = item(3, ["Plan the budget.", "h", "i", "j"], 0, scenario="A youth group plans a picnic budget for spring.")
    pairs = near_duplicates([a, b, other], 0.25)
    assert [(p["a"], p["b"]) for p in pairs] in ([("q1", "q2")], [("q2", "q1")])
    assert pairs[0]["similarity"] > 0.8
    assert not audit_items([a, b, other], AuditGate(max_length_outliers=1)).passed


def test_questions_of_one_scenario_are_never_duplicates_of_each_other():
    scene = "Same shared scenario text for both questions of this family."
    first = item(1, ["Same key.", "b", "c", "d"], 0, scenario=scene, scenario_id="fam")
    second = item(2, ["Same key.", "e", "f", "g"], 0, scenario=scene, scenario_id="fam")
    assert near_duplicates([first, second], 0.25) == []


# --- negatives, spelling, counts ----------------------------------------------------------------------


def test_negative_stems_need_emphasis_in_the_asking_sentence():
    plain = item(1, ["a", "b", "c"], 0, stem="Which action is not appropriate?")
    shouted = item(2, ["a", "b", "c"], 0, stem="Which action is NOT appropriate?")
    starred = item(3, ["a", "b", "c"], 0, stem="Which action is **not** appropriate?")
    context = item(4, ["a", "b", "c"], 0, stem="She does not want her family told. What do you do first?")
    least = item(5, ["a", "b", "c"], 0, stem="Which response is least helpful?")
    found = unemphasised_negatives([plain, shouted, starred, context, least])
    assert [(f["id"], f["word"]) for f in found] == [("q1", "not"), ("q5", "least")]


def test_en_gb_spellings_are_found_and_en_us_ones_are_not():
    gb = item(1, ["Model the behaviour.", "b", "c"], 0, scenario="The organisation runs a programme at the centre.")
    us = item(
        2, ["Model the behavior.", "b", "c"], 0, scenario="A realistic plan; the organization's center; criticism."
    )
    mix = spelling_mix([gb, us])
    assert mix["en_gb_questions"] == ["q1"]
    assert set(mix["en_gb_words"]) == {"behaviour", "organisation", "programme", "centre"}


def test_content_counts_report_standalone_share_and_tag_groups():
    standalone = AuditItem("k1", "k1", "ethics", ("gifts",), "", "Which is true?", ("a", "b", "c"), 0)
    vignette = item(2, ["a", "b", "c"], 0, tags=("stigma", "self-stigma"), domain="recovery")
    counts = content_counts([standalone, vignette], ["gifts", "stigma", "self-stigma", "housing"])
    assert counts["standalone"] == 1 and counts["standalone_share"] == 0.5
    assert counts["per_domain"] == {"ethics": 1, "recovery": 1}
    assert counts["boundaries"] == 1 and counts["stigma"] == 1
    assert counts["per_tag"]["housing"] == 0 and counts["smallest_tag"] == ("housing", 0)


# --- command line -------------------------------------------------------------------------------------

LONGEST_KEY_SCENARIO = """\
id: {id}
domain: advocacy
tags: [stigma]
scenario: A clinic poster number {n} calls people "addicts" in the waiting room.
questions:
  - id: {id}-q1
    stem: What is the most appropriate response?
    difficulty: medium
    options:
      - text: Ignore it {n}.
        rationale: Leaves stigma in place.
      - text: Raise it with the clinic manager and offer person-first wording for the poster {n}.
        correct: true
        rationale: Systems advocacy with respect.
      - text: Tear it down {n}.
        rationale: Acts without dialogue.
"""


def run_audit(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-m", "quizbank", "audit", str(directory), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cue_bank(tmp_path: Path) -> Path:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "bank.yaml").write_text(
        "id: cues\ntitle: Cues\nversion: 1.0.0\ndomains:\n  advocacy: Advocacy\ntags:\n  stigma: Stigma\n",
        encoding="utf-8",
    )
    for n in range(6):
        scenario_id = f"adv-poster-{n}"
        (tmp_path / "scenarios" / f"{scenario_id}.yaml").write_text(
            LONGEST_KEY_SCENARIO.format(id=scenario_id, n=n), encoding="utf-8"
        )
    return tmp_path


def test_cli_audit_fails_a_bank_with_answer_cues_and_prints_a_report(cue_bank):
    result = run_audit(cue_bank)
    assert result.returncode == 1
    assert "FAIL longest" in result.stdout and "Gate: FAILED" in result.stdout
    assert "Counts: 6 questions in 6 scenarios; advocacy 6" in result.stdout


def test_cli_audit_json_is_machine_readable(cue_bank):
    result = run_audit(cue_bank, "--json")
    data = json.loads(result.stdout)
    assert data["passed"] is False and data["question_count"] == 6
    longest = next(s for s in data["strategies"] if s["name"] == "longest")
    assert longest["expected_score"] == 1.0 and longest["passed"] is False


def test_cli_audit_rejects_an_unknown_domain(cue_bank):
    result = run_audit(cue_bank, "--domain", "nope")
    assert result.returncode == 2 and "unknown domain 'nope'" in result.stderr


def test_learned_models_are_also_read_backwards_and_by_elimination():
    """A bank tuned until a model's favourite is never the key has turned the cue around: the reversed
    reading and "rule out the favourite" must then score above chance."""

    class NeverTheKey:
        def strategy(self, item, others, reverse=False):
            return 1 / 3 if reverse else 0.0  # favourite never the key; least-liked is the key 1 time in 3

    four = item(1, ["a", "b", "c", "d"], 0)
    assert _not_top(NeverTheKey())(four, [four]) == approx(1 / 3)
    assert _reversed(NeverTheKey().strategy)(four, [four]) == approx(1 / 3)
    names = {s.name for s in audit_items([four]).strategies}
    assert {"word-cues-reversed", "word-cues-not-top", "opening-word-reversed", "opening-word-not-top"} <= names
    assert {"shortest", "fewest-clauses"} <= names
