"""Import idempotence and versioning: releases, immutable question versions, retire, export round trip."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

import quizbank
from app.extensions import db
from app.models import Bank, BankRelease, Question, QuestionVersion, QuestionVersionTag, ReleaseItem
from app.services import ServiceError, banks
from quizbank.diff import bank_hashes
from quizbank.dump import write_bank
from tests.conftest import BUNDLED_BANK, MINI_BANK

ROOT = Path(__file__).resolve().parents[1]
MODELS = (Bank, BankRelease, Question, QuestionVersion, QuestionVersionTag, ReleaseItem)
MINI_IDS = ["adv-one-q1", "adv-one-q2", "adv-two-q1", "eth-one-q1", "eth-two-q1"]
OLD_TEXT = "text: Tear the poster down."
NEW_TEXT = "text: Take the poster down without asking anyone."


# --- helpers -----------------------------------------------------------------------------------------


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def set_version(bank_dir: Path, version: str) -> None:
    path = bank_dir / "bank.yaml"
    text, count = re.subn(r"(?m)^version: .*$", f"version: {version}", path.read_text(encoding="utf-8"))
    assert count == 1
    path.write_text(text, encoding="utf-8")


def change_adv_two(bank_dir: Path) -> None:
    """Change one option text of adv-two-q1 (and nothing else)."""
    edit(bank_dir / "scenarios" / "adv-two.yaml", OLD_TEXT, NEW_TEXT)


def import_dir(directory: Path) -> banks.ImportReport:
    return banks.import_bank(quizbank.load_bank(directory))


def row_counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def versions_by_id(release: BankRelease) -> dict[str, QuestionVersion]:
    return {v.question.stable_id: v for v in banks.release_versions(release)}


def question(stable_id: str) -> Question:
    return db.session.scalar(select(Question).where(Question.stable_id == stable_id))


def run_cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def run_quizbank(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed interpreter and arguments
        [sys.executable, "-m", "quizbank", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


# --- first import and no-op re-import ----------------------------------------------------------------


def test_first_import_reports_every_question_new(db_ctx):
    report = import_dir(MINI_BANK)

    assert report.diff.counts() == {"new": 5, "changed": 0, "unchanged": 0, "retired": 0}
    assert report.diff.new == MINI_IDS
    assert report.created_release
    assert report.release.version == "1.0.0"
    assert report.release.counts == report.diff.counts()
    assert report.summary() == "mini 1.0.0: release created (5 new, 0 changed, 0 unchanged, 0 retired)"
    assert banks.latest_release("mini") is report.release


def test_first_import_creates_version_1_of_every_question(db_ctx):
    report = import_dir(MINI_BANK)

    assert row_counts() == {
        "Bank": 1,
        "BankRelease": 1,
        "Question": 5,
        "QuestionVersion": 5,
        "QuestionVersionTag": 6,  # adv-one-q1 has two tags, the others one
        "ReleaseItem": 5,
    }
    versions = versions_by_id(report.release)
    assert sorted(versions) == MINI_IDS
    assert {(v.number, v.status) for v in versions.values()} == {(1, "published")}
    assert banks.release_hashes(report.release) == bank_hashes(quizbank.load_bank(MINI_BANK))


def test_reimport_of_unchanged_bank_is_a_noop(db_ctx):
    first = import_dir(MINI_BANK)
    before = row_counts()

    second = import_dir(MINI_BANK)

    assert second.release is None
    assert not second.created_release
    assert second.diff.counts() == {"new": 0, "changed": 0, "unchanged": 5, "retired": 0}
    assert second.summary() == "mini 1.0.0: unchanged, nothing imported (0 new, 0 changed, 5 unchanged, 0 retired)"
    assert row_counts() == before
    assert banks.latest_release("mini") is first.release


def test_reimport_of_unchanged_bank_via_cli_is_a_noop(app):
    first = run_cli(app, "bank", "import", str(MINI_BANK))
    second = run_cli(app, "bank", "import", str(MINI_BANK))

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "release created (5 new" in first.output
    assert "unchanged, nothing imported (0 new, 0 changed, 5 unchanged, 0 retired)" in second.output
    with app.app_context():
        assert row_counts()["BankRelease"] == 1
        assert row_counts()["QuestionVersion"] == 5


def test_diff_bank_against_database(db_ctx, bank_copy):
    assert banks.diff_bank(quizbank.load_bank(bank_copy)).new == MINI_IDS
    import_dir(bank_copy)
    change_adv_two(bank_copy)

    diff = banks.diff_bank(quizbank.load_bank(bank_copy))

    assert diff.changed == ["adv-two-q1"]
    assert diff.counts() == {"new": 0, "changed": 1, "unchanged": 4, "retired": 0}


# --- changed question: new immutable version ---------------------------------------------------------


def test_changed_option_creates_version_2_and_keeps_version_1(db_ctx, bank_copy):
    release1 = import_dir(bank_copy).release
    db.session.commit()
    old = versions_by_id(release1)
    old_ids = {qid: v.id for qid, v in old.items()}
    v1_content, v1_hash = old["adv-two-q1"].content, old["adv-two-q1"].content_hash
    change_adv_two(bank_copy)
    set_version(bank_copy, "1.1.0")

    report = import_dir(bank_copy)
    db.session.commit()
    db.session.expire_all()

    assert report.diff.changed == ["adv-two-q1"]
    assert report.diff.counts() == {"new": 0, "changed": 1, "unchanged": 4, "retired": 0}
    versions = question("adv-two-q1").versions
    assert [v.number for v in versions] == [1, 2]
    v1, v2 = versions
    assert v1.id == old_ids["adv-two-q1"]
    assert v1.content == v1_content
    assert v1.content_hash == v1_hash
    assert v1.options[2]["text"] == "Tear the poster down."
    assert v2.options[2]["text"] == "Take the poster down without asking anyone."
    assert v2.content_hash != v1_hash


def test_new_release_contains_new_version_and_keeps_the_others(db_ctx, bank_copy):
    release1 = import_dir(bank_copy).release
    old_ids = {qid: v.id for qid, v in versions_by_id(release1).items()}
    change_adv_two(bank_copy)
    set_version(bank_copy, "1.1.0")

    release2 = import_dir(bank_copy).release

    assert release2.version == "1.1.0"
    assert banks.latest_release("mini") is release2
    new_ids = {qid: v.id for qid, v in versions_by_id(release2).items()}
    assert new_ids["adv-two-q1"] != old_ids["adv-two-q1"]
    assert {q: i for q, i in new_ids.items() if q != "adv-two-q1"} == {
        q: i for q, i in old_ids.items() if q != "adv-two-q1"
    }
    # release 1 still points at version 1
    assert {qid: v.id for qid, v in versions_by_id(release1).items()} == old_ids
    assert row_counts()["QuestionVersion"] == 6
    assert row_counts()["Question"] == 5


def test_change_without_version_bump_is_refused_and_writes_nothing(db_ctx, bank_copy):
    import_dir(bank_copy)
    db.session.commit()
    before = row_counts()
    change_adv_two(bank_copy)

    with pytest.raises(ServiceError, match="bump the version") as excinfo:
        import_dir(bank_copy)

    assert "1.0.0" in str(excinfo.value)
    assert "1.1.0" in str(excinfo.value)  # the suggested next version
    assert row_counts() == before  # counted before any rollback: nothing was even added to the session
    db.session.rollback()
    assert row_counts() == before


def test_version_lower_than_latest_is_refused(db_ctx, bank_copy):
    set_version(bank_copy, "2.0.0")
    import_dir(bank_copy)
    change_adv_two(bank_copy)
    set_version(bank_copy, "1.9.9")

    with pytest.raises(ServiceError, match="bump"):
        import_dir(bank_copy)


def test_change_without_bump_via_cli_exits_1(app, mini_release, bank_copy):
    change_adv_two(bank_copy)

    result = run_cli(app, "bank", "import", str(bank_copy))

    assert result.exit_code == 1
    assert "bump the version" in result.stderr
    assert "nothing imported" in result.stderr
    with app.app_context():
        assert row_counts()["BankRelease"] == 1
        assert row_counts()["QuestionVersion"] == 5


def test_manifest_only_change_needs_a_bump_and_keeps_every_version(db_ctx, bank_copy):
    release1 = import_dir(bank_copy).release
    old_ids = {qid: v.id for qid, v in versions_by_id(release1).items()}
    edit(bank_copy / "bank.yaml", "title: Mini test bank", "title: Mini test bank, revised")

    with pytest.raises(ServiceError, match="bump"):
        import_dir(bank_copy)

    set_version(bank_copy, "1.0.1")
    report = import_dir(bank_copy)
    assert report.created_release
    assert report.diff.counts() == {"new": 0, "changed": 0, "unchanged": 5, "retired": 0}
    assert report.release.manifest["title"] == "Mini test bank, revised"
    assert {qid: v.id for qid, v in versions_by_id(report.release).items()} == old_ids


# --- retire and re-add -------------------------------------------------------------------------------


def test_removed_question_is_retired_in_the_new_release(db_ctx, bank_copy):
    release1 = import_dir(bank_copy).release
    (bank_copy / "scenarios" / "eth-two.yaml").unlink()
    set_version(bank_copy, "1.1.0")

    report = import_dir(bank_copy)

    assert report.diff.retired == ["eth-two-q1"]
    assert report.diff.counts() == {"new": 0, "changed": 0, "unchanged": 4, "retired": 1}
    assert "eth-two-q1" not in versions_by_id(report.release)
    assert len(versions_by_id(report.release)) == 4
    assert question("eth-two-q1").latest.status == "retired"
    assert "eth-two-q1" in versions_by_id(release1)  # history is kept


def test_retired_question_can_be_added_back(db_ctx, bank_copy):
    import_dir(bank_copy)
    v1_id = question("eth-two-q1").latest.id
    saved = (bank_copy / "scenarios" / "eth-two.yaml").read_text(encoding="utf-8")
    (bank_copy / "scenarios" / "eth-two.yaml").unlink()
    set_version(bank_copy, "1.1.0")
    import_dir(bank_copy)
    (bank_copy / "scenarios" / "eth-two.yaml").write_text(saved, encoding="utf-8")
    set_version(bank_copy, "1.2.0")

    report = import_dir(bank_copy)

    assert report.diff.new == ["eth-two-q1"]
    readded = versions_by_id(report.release)["eth-two-q1"]
    assert readded.id == v1_id  # same content, same version
    assert readded.status == "published"
    assert len(question("eth-two-q1").versions) == 1
    assert db.session.scalar(select(func.count()).select_from(Question).where(Question.stable_id == "eth-two-q1")) == 1
    assert len(versions_by_id(report.release)) == 5


# --- all-or-nothing ----------------------------------------------------------------------------------


def fail_after_flush(questions, retired_ids):
    """Stand-in for banks._retire: write what is pending, then fail like a crash mid-import."""
    db.session.flush()
    raise RuntimeError("simulated failure mid-import")


def test_failed_first_import_leaves_no_rows_after_rollback(db_ctx, monkeypatch):
    monkeypatch.setattr(banks, "_retire", fail_after_flush)

    with pytest.raises(RuntimeError, match="simulated"):
        import_dir(MINI_BANK)

    assert row_counts()["QuestionVersion"] == 5  # the failure really happened mid-way
    db.session.rollback()
    assert set(row_counts().values()) == {0}


def test_failed_update_leaves_the_previous_release_intact(db_ctx, bank_copy, monkeypatch):
    import_dir(bank_copy)
    db.session.commit()
    before = row_counts()
    change_adv_two(bank_copy)
    set_version(bank_copy, "1.1.0")
    monkeypatch.setattr(banks, "_retire", fail_after_flush)

    with pytest.raises(RuntimeError):
        import_dir(bank_copy)
    db.session.rollback()

    assert row_counts() == before
    assert banks.latest_release("mini").version == "1.0.0"
    assert [v.number for v in question("adv-two-q1").versions] == [1]


def test_failed_import_via_cli_commits_nothing(app, monkeypatch):
    monkeypatch.setattr(banks, "_retire", fail_after_flush)

    result = run_cli(app, "bank", "import", str(MINI_BANK))

    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)
    with app.app_context():
        assert set(row_counts().values()) == {0}


# --- export round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [MINI_BANK, BUNDLED_BANK], ids=["mini", "bundled"])
def test_export_then_reload_gives_identical_hashes(db_ctx, tmp_path, source):
    original = quizbank.load_bank(source)
    release = banks.import_bank(original).release

    exported = quizbank.load_bank(write_bank(banks.release_to_bank(release), tmp_path / "export"))

    assert bank_hashes(exported) == banks.release_hashes(release) == bank_hashes(original)
    assert exported.question_count == original.question_count
    assert exported.id == original.id
    assert exported.version == original.version
    assert exported.domains == original.domains
    assert exported.tags == original.tags
    assert [t.as_dict() for t in exported.tracks] == [t.as_dict() for t in original.tracks]


def test_release_keeps_the_domain_order_of_bank_yaml(db_ctx, tmp_path):
    release = import_dir(BUNDLED_BANK).release
    db.session.commit()
    db.session.expire_all()

    assert list(release.domains) == ["advocacy", "ethics", "mentoring", "recovery"]
    exported = quizbank.load_bank(write_bank(banks.release_to_bank(release), tmp_path / "export"))
    assert list(exported.domains) == list(quizbank.load_bank(BUNDLED_BANK).domains)


@pytest.mark.parametrize("source", [MINI_BANK, BUNDLED_BANK], ids=["mini", "bundled"])
def test_exported_bank_reimports_as_a_noop(db_ctx, tmp_path, source):
    release = import_dir(source).release
    target = write_bank(banks.release_to_bank(release), tmp_path / "export")

    report = import_dir(target)

    assert report.release is None
    assert report.diff.has_changes is False
    assert len(report.diff.unchanged) == quizbank.load_bank(source).question_count


def test_cli_export_writes_a_loadable_bank(app, mini_release, tmp_path):
    target = tmp_path / "out"

    result = run_cli(app, "bank", "export", "mini", str(target))

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"exported mini 1.0.0 to {target}"
    assert sorted(p.name for p in (target / "scenarios").iterdir()) == [
        "adv-one.yaml",
        "adv-two.yaml",
        "eth-one.yaml",
        "eth-two.yaml",
    ]
    assert bank_hashes(quizbank.load_bank(target)) == bank_hashes(quizbank.load_bank(MINI_BANK))
    reimport = run_cli(app, "bank", "import", str(target))
    assert "unchanged, nothing imported" in reimport.output


def test_cli_export_of_an_older_release_by_version(app, bank_copy, tmp_path):
    assert run_cli(app, "bank", "import", str(bank_copy)).exit_code == 0
    change_adv_two(bank_copy)
    set_version(bank_copy, "1.1.0")
    assert run_cli(app, "bank", "import", str(bank_copy)).exit_code == 0

    result = run_cli(app, "bank", "export", "mini", str(tmp_path / "old"), "--version", "1.0.0")

    assert result.exit_code == 0, result.output
    exported = quizbank.load_bank(tmp_path / "old")
    assert exported.version == "1.0.0"
    assert bank_hashes(exported) == bank_hashes(quizbank.load_bank(MINI_BANK))


def test_cli_export_refuses_a_non_empty_directory(app, mini_release, tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", encoding="utf-8")

    result = run_cli(app, "bank", "export", "mini", str(target))

    assert result.exit_code == 1
    assert f"error: {target} is not empty" in result.stderr
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert (target / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_cli_export_refuses_an_unknown_bank(app, mini_release, tmp_path):
    target = tmp_path / "out"

    result = run_cli(app, "bank", "export", "no-such-bank", str(target))

    assert result.exit_code == 1
    assert "error: no release of bank 'no-such-bank'" in result.stderr
    assert not target.exists()


def test_cli_export_refuses_an_unknown_version(app, mini_release, tmp_path):
    result = run_cli(app, "bank", "export", "mini", str(tmp_path / "out"), "--version", "9.9.9")

    assert result.exit_code == 1
    assert "error: no release 9.9.9 of bank 'mini'" in result.stderr


# --- diff --------------------------------------------------------------------------------------------

NEW_QUESTION = """\
  - id: eth-one-q2
    stem: What should the peer say if the person insists?
    difficulty: easy
    options:
      - text: Repeat the policy and suggest a thank-you card instead.
        correct: true
        rationale: Keeps the boundary while honouring the gesture.
      - text: Take the card to avoid offending them.
        rationale: Breaks the policy.
      - text: Report them to the program director.
        rationale: Punitive and out of proportion.
"""

EXPECTED_DIFF = ["1 new, 1 changed, 3 unchanged, 1 retired", "+ eth-one-q2", "~ adv-two-q1", "- eth-two-q1"]


def make_all_kinds_of_change(bank_dir: Path) -> None:
    change_adv_two(bank_dir)
    eth_one = bank_dir / "scenarios" / "eth-one.yaml"
    eth_one.write_text(eth_one.read_text(encoding="utf-8") + NEW_QUESTION, encoding="utf-8")
    (bank_dir / "scenarios" / "eth-two.yaml").unlink()


def test_cli_diff_lists_new_changed_and_retired(app, mini_release, bank_copy):
    make_all_kinds_of_change(bank_copy)

    result = run_cli(app, "bank", "diff", str(bank_copy))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == EXPECTED_DIFF
    with app.app_context():
        assert row_counts()["BankRelease"] == 1  # diff writes nothing


def test_cli_diff_before_any_import_shows_everything_new(app):
    result = run_cli(app, "bank", "diff", str(MINI_BANK))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["5 new, 0 changed, 0 unchanged, 0 retired"] + [f"+ {q}" for q in MINI_IDS]


def test_cli_diff_of_a_broken_bank_exits_1(app, bank_copy):
    edit(bank_copy / "scenarios" / "adv-two.yaml", "difficulty: hard", "difficulty: tricky")

    result = run_cli(app, "bank", "diff", str(bank_copy))

    assert result.exit_code == 1
    assert f"{bank_copy / 'scenarios' / 'adv-two.yaml'}:8: Difficulty must be one of" in result.stderr


def test_module_diff_between_two_folders(bank_copy):
    make_all_kinds_of_change(bank_copy)

    result = run_quizbank("diff", str(MINI_BANK), str(bank_copy))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED_DIFF


def test_module_diff_of_identical_folders_has_only_the_summary(bank_copy):
    result = run_quizbank("diff", str(MINI_BANK), str(bank_copy))

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["0 new, 0 changed, 5 unchanged, 0 retired"]


def test_module_diff_with_a_broken_side_exits_1(bank_copy):
    edit(bank_copy / "scenarios" / "adv-two.yaml", "domain: advocacy", "domain: advocasy")

    result = run_quizbank("diff", str(MINI_BANK), str(bank_copy))

    assert result.returncode == 1
    assert f"{bank_copy / 'scenarios' / 'adv-two.yaml'}:2: unknown domain 'advocasy'" in result.stderr


# --- tags and hashes ---------------------------------------------------------------------------------


def test_scenario_and_question_tags_are_merged_on_import(db_ctx):
    release = import_dir(MINI_BANK).release
    versions = versions_by_id(release)

    assert versions["adv-one-q1"].content["tags"] == ["housing", "stigma"]
    assert sorted(t.tag for t in versions["adv-one-q1"].tag_rows) == ["housing", "stigma"]
    assert versions["adv-one-q2"].content["tags"] == ["stigma"]
    assert sorted(t.tag for t in versions["eth-one-q1"].tag_rows) == ["boundaries"]


def test_merged_tags_survive_export_round_trip(db_ctx, tmp_path):
    release = import_dir(MINI_BANK).release

    exported = quizbank.load_bank(write_bank(banks.release_to_bank(release), tmp_path / "export"))

    contents = {q.id: quizbank.question_content(s, q) for s, q in exported.questions()}
    assert contents["adv-one-q1"]["tags"] == ["housing", "stigma"]
    assert contents["adv-one-q2"]["tags"] == ["stigma"]
    scenario = next(s for s in exported.scenarios if s.id == "adv-one")
    assert scenario.tags == ("stigma",)
    assert {q.id: q.tags for q in scenario.questions} == {"adv-one-q1": ("housing",), "adv-one-q2": ()}
    assert scenario.competencies == ("c01",)


def test_content_hash_is_stable_for_the_same_input():
    first = bank_hashes(quizbank.load_bank(MINI_BANK))
    second = bank_hashes(quizbank.load_bank(MINI_BANK))

    assert first == second
    assert sorted(first) == MINI_IDS
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in first.values())
    assert len(set(first.values())) == 5


def test_content_hash_is_sha256_of_canonical_json():
    bank = quizbank.load_bank(MINI_BANK)
    scenario, question_ = next((s, q) for s, q in bank.questions() if q.id == "adv-two-q1")
    content = quizbank.question_content(scenario, question_)

    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert quizbank.content_hash(content) == hashlib.sha256(canonical.encode()).hexdigest()
    assert quizbank.content_hash(dict(reversed(list(content.items())))) == quizbank.content_hash(content)


def test_whitespace_comments_and_key_order_do_not_change_the_hash(bank_copy):
    path = bank_copy / "scenarios" / "adv-two.yaml"
    path.write_text(
        """\
# reformatted by hand
domain: advocacy
id: adv-two
tags:
  - stigma
scenario: |
  A clinic poster calls people "addicts".

questions:
  - id: adv-two-q1
    difficulty: hard
    stem: "  What is the most appropriate response?  "
    options:
      - rationale: Leaves stigma in place.
        text: "Ignore it.   "
      - text: Raise it with the clinic and suggest person-first wording.
        rationale: >
          Systems advocacy
          with respect.
        correct: true
      - text: Tear the poster down.
        rationale: Acts without consent or dialogue.
        correct: false
""",
        encoding="utf-8",
    )

    assert bank_hashes(quizbank.load_bank(bank_copy)) == bank_hashes(quizbank.load_bank(MINI_BANK))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("rationale: Leaves stigma in place.", "rationale: Leaves the stigma in place."),
        ("difficulty: hard", "difficulty: medium"),
        ("tags: [stigma]", "tags: [stigma, housing]"),
        ("domain: advocacy", "domain: ethics"),
    ],
    ids=["rationale", "difficulty", "tags", "domain"],
)
def test_content_hash_changes_with_scored_content(bank_copy, old, new):
    before = bank_hashes(quizbank.load_bank(bank_copy))
    edit(bank_copy / "scenarios" / "adv-two.yaml", old, new)

    after = bank_hashes(quizbank.load_bank(bank_copy))

    assert after["adv-two-q1"] != before["adv-two-q1"]
    assert {k: v for k, v in after.items() if k != "adv-two-q1"} == {
        k: v for k, v in before.items() if k != "adv-two-q1"
    }


def test_moving_the_correct_mark_changes_the_hash(bank_copy):
    before = bank_hashes(quizbank.load_bank(bank_copy))
    path = bank_copy / "scenarios" / "adv-two.yaml"
    edit(path, "        correct: true\n", "")
    edit(path, "      - text: Ignore it.\n", "      - text: Ignore it.\n        correct: true\n")

    assert bank_hashes(quizbank.load_bank(bank_copy))["adv-two-q1"] != before["adv-two-q1"]


def test_copy_of_bank_in_another_folder_has_the_same_hashes(tmp_path):
    shutil.copytree(MINI_BANK, tmp_path / "elsewhere")

    assert bank_hashes(quizbank.load_bank(tmp_path / "elsewhere")) == bank_hashes(quizbank.load_bank(MINI_BANK))
