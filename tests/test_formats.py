"""The format registry, Aiken import, auto-detected web uploads, the bank permission helper and readable codes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

import quizbank
from app.models import Bank
from app.services import accounts, banks, transfer
from app.services.codes import ReadableCode, hash_secret, new_secret
from app.services.permissions import can_manage_bank
from quizbank import formats
from quizbank.converters import aiken, parse_aiken
from quizbank.converters.common import ConversionResult
from tests.conftest import MINI_BANK
from tests.test_transfer import (  # noqa: F401 - upload_dir is an autouse fixture
    GIFT_WITH_ESSAY,
    XML_WITH_ESSAY,
    client_for,
    confirm,
    own_bank,
    preview,
    releases,
    upload,
    upload_dir,
    upload_token,
)

DOMAINS = {"advocacy": "Advocacy", "ethics": "Ethical Responsibility"}
TAGS = {"stigma": "Stigma"}

AIKEN = """Which statement best describes a peer specialist's role?
A. Diagnosing a mental-health condition
B. Sharing lived experience to support recovery
C. Prescribing a treatment plan
ANSWER: B

A peer asks you to keep a disclosure of self-harm secret.
What should you do first?
A) Promise to keep it between the two of you
B) Explain the limits of confidentiality and stay with them
C) End the conversation and call a supervisor later
D) Change the subject to something less upsetting
ANSWER: B
Which word is person-first?
A. addict
B. person who uses drugs
C. junkie
ANSWER: B
"""


@pytest.fixture
def admin(app, make_user):
    return client_for(app, make_user, "root@example.org", admin=True)


def mini() -> quizbank.Bank:
    return quizbank.load_bank(MINI_BANK)


# --- the registry -------------------------------------------------------------------------------------


def test_builtin_formats_are_registered_with_their_parts():
    assert {"yaml-zip", "gift", "moodle-xml", "aiken"} <= set(formats.FORMATS)
    assert formats.by_name("yaml-zip").parse is None  # a whole bank, not questions to merge
    assert formats.by_name("aiken").dump is None  # import only
    assert {"yaml-zip", "moodle-xml", "gift"} <= {f.name for f in formats.exportable()}
    assert "aiken" not in {f.name for f in formats.exportable()}
    assert formats.by_name("xml").name == "moodle-xml" and formats.by_name("yaml").name == "yaml-zip"
    assert formats.by_name("pdf") is None and formats.by_name("") is None


@pytest.mark.parametrize("name", ["yaml-zip", "gift", "moodle-xml"])
def test_every_export_is_detected_by_content_whatever_its_name(name):
    data = formats.by_name(name).dump(mini())
    assert formats.detect("download.bin", data).name == name
    assert formats.detect("misleading.txt", data).name == name


def test_aiken_is_detected_by_content_and_not_taken_for_gift():
    assert formats.detect("questions.txt", AIKEN.encode()).name == "aiken"
    assert formats.detect("questions.txt", GIFT_WITH_ESSAY.encode()).name == "gift"
    assert formats.detect("questions.dat", XML_WITH_ESSAY.encode()).name == "moodle-xml"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("essays.gift", "gift"),
        ("essays.GIFT.TXT", "gift"),
        ("notes.txt", "gift"),
        ("list.aiken.txt", "aiken"),
        ("quiz.moodle.xml", "moodle-xml"),
        ("quiz.xml", "moodle-xml"),
        ("bank.zip", "yaml-zip"),
        ("picture.png", None),
    ],
)
def test_content_that_sniffs_as_nothing_falls_back_to_the_longest_extension(filename, expected):
    found = formats.detect(filename, b"Describe a time you spoke up for yourself.")
    assert (found.name if found else None) == expected


def test_a_zip_without_bank_yaml_or_garbage_sniffs_as_nothing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert formats.detect("x", buffer.getvalue()) is None
    assert formats.detect("x", b"PK\x03\x04 not really a zip") is None
    assert formats.detect("x", b"") is None


def test_a_new_format_is_one_register_call(monkeypatch):
    def parse(data, *, source, domains, tags):
        return ConversionResult(scenarios=(), skipped=(), problems=())

    fmt = formats.Format("csv-demo", "CSV (demo)", (".csv",), lambda d: d.startswith(b"id,"), parse, None, "text/csv")
    monkeypatch.setitem(formats.FORMATS, fmt.name, fmt)
    assert formats.detect("anything", b"id,stem\n") is fmt
    assert formats.detect("list.csv", b"x") is fmt
    assert "csv-demo" in transfer.import_formats() and "csv-demo" not in transfer.export_formats()
    with pytest.raises(ValueError):
        formats.register(formats.Format("Bad Name", "x", (), lambda d: False, None, None, "text/plain"))


def test_a_sniffer_that_raises_is_ignored(monkeypatch):
    def broken(data):
        raise RuntimeError("boom")

    fmt = formats.Format("broken", "Broken", (".brk",), broken, None, None, "text/plain")
    monkeypatch.setitem(formats.FORMATS, fmt.name, fmt)
    assert formats.detect("x.brk", b"anything") is fmt


def test_text_formats_report_bytes_that_are_not_utf8_at_their_line():
    result = formats.by_name("aiken").parse(b"Q?\nA. caf\xe9\n", source="old.txt", domains=DOMAINS, tags=TAGS)
    assert [str(p) for p in result.problems] == ["old.txt:2: the Aiken file is not UTF-8 text (byte 10)"]


# --- Aiken --------------------------------------------------------------------------------------------


class _Recorder(aiken.ResultBuilder):
    """A ResultBuilder that remembers every question handed to the shared rules."""

    added: list = []

    def add(self, question) -> None:
        _Recorder.added.append(question)
        super().add(question)


@pytest.fixture
def recorded(monkeypatch):
    _Recorder.added = []
    monkeypatch.setattr(aiken, "ResultBuilder", _Recorder)
    return _Recorder.added


def test_aiken_questions_are_read_with_both_option_styles(recorded):
    parse_aiken(AIKEN, source="a.txt", domains=DOMAINS, tags=TAGS)
    assert [q.line for q in recorded] == [1, 7, 14]
    first, second, third = recorded
    assert first.text == "Which statement best describes a peer specialist's role?"
    assert [o.text for o in first.options] == [
        "Diagnosing a mental-health condition",
        "Sharing lived experience to support recovery",
        "Prescribing a treatment plan",
    ]
    assert [o.weight for o in first.options] == [0.0, 100.0, 0.0]
    assert [o.line for o in first.options] == [2, 3, 4]
    assert second.text == "A peer asks you to keep a disclosure of self-harm secret.\nWhat should you do first?"
    assert len(second.options) == 4 and second.options[1].weight == 100.0
    assert third.options[1].text == "person who uses drugs"
    assert all(o.rationale is None for q in recorded for o in q.options)


def test_aiken_has_no_feedback_so_every_question_needs_rationales():
    result = parse_aiken(AIKEN, source="a.txt", domains=DOMAINS, tags=TAGS)
    assert result.scenarios == ()
    rationale_lines = {p.line for p in result.problems if "rationale" in p.message.lower()}
    assert rationale_lines and rationale_lines <= {2, 3, 4, 9, 10, 11, 12, 15, 16, 17}
    assert all(p.path == "a.txt" for p in result.problems)


def test_aiken_shape_problems_are_reported_at_their_line():
    text = "\n".join(
        [
            "ANSWER: A",  # 1: before any question
            "First question?",  # 2
            "A. one",  # 3
            "C. two",  # 4: out of order
            "B. three",  # 5: out of order too
            "ANSWER: D",  # 6: names no option
            "Second question?",  # 7
            "A. one",  # 8
            "this line is not an option",  # 9
            "B. two",  # 10
            "C. three",  # 11
            "ANSWER: C",  # 12
            "A question without options",  # 13
            "ANSWER: A",  # 14
        ]
    )
    messages = {(p.line, p.message) for p in parse_aiken(text, source="bad.txt", domains=DOMAINS, tags=TAGS).problems}
    assert (1, "'ANSWER:' with no question before it") in messages
    assert (4, "option C is out of order: expected B") in messages
    assert (5, "option B is out of order: expected C") in messages
    assert (6, "'ANSWER: D' names no option; use one of A, B, C") in messages
    assert (9, "expected option B or 'ANSWER: X', found 'this line is not an option'") in messages
    assert (14, "'ANSWER:' comes before any option ('A. text')") in messages


def test_aiken_question_without_answer_line_has_no_key_at_its_line():
    text = "First?\nA. one\nB. two\nC. three\n\nSecond?\nA. one\nB. two\nC. three\nANSWER: A\n"
    problems = parse_aiken(text, source="k.txt", domains=DOMAINS, tags=TAGS).problems
    assert any(p.line == 1 and "ANSWER: X" in p.message for p in problems)
    assert not any(p.line == 6 and "ANSWER: X" in p.message for p in problems)


def test_aiken_with_two_or_five_options_is_skipped_with_its_line():
    text = "Yes or no?\nA. yes\nB. no\nANSWER: A\n\nPick one\nA. a\nB. b\nC. c\nD. d\nE. e\nANSWER: E\n"
    result = parse_aiken(text, source="s.txt", domains=DOMAINS, tags=TAGS)
    assert [(s.line, s.title) for s in result.skipped] == [(1, "Yes or no?"), (6, "Pick one")]


# --- auto-detected uploads on the web -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "filename", "label"),
    [(GIFT_WITH_ESSAY, "questions.dat", "GIFT (.txt)"), (XML_WITH_ESSAY, "export.txt", "Moodle XML (.xml)")],
)
def test_automatic_format_is_detected_and_imported(app, admin, mini_release, text, filename, label):
    token = upload_token(admin, text.encode(), "", filename, bank="mini")
    html = preview(admin, token)
    assert f'<dd>{label} <span class="muted">(recognised automatically' in html
    assert "Confirm import" in html
    assert confirm(admin, token).status_code == 302
    assert releases(app) == ["1.0.0", "1.1.0"]


def test_automatic_yaml_zip_needs_no_bank(app, admin, mini_release):
    html = admin.get("/author/transfer/").get_data(as_text=True)
    assert '<option selected value="">Automatic' in html or '<option value="" selected>Automatic' in html
    token = upload_token(admin, formats.dump_bank_zip(mini()), "", "whatever.bin")
    assert "Nothing to import" in preview(admin, token)


def test_automatic_aiken_upload_shows_its_rationale_problems(app, admin, mini_release):
    html = preview(admin, upload_token(admin, AIKEN.encode(), "", "quiz.txt", bank="mini"))
    assert "Aiken (.txt, import only)" in html
    assert "questions.txt" not in html and "quiz.txt:2:" in html
    assert "Confirm import" not in html


def test_unrecognised_file_asks_for_its_format(app, admin, mini_release):
    response = upload(admin, b"\x89PNG\r\n\x1a\n....", "", "picture.png", bank="mini")
    assert response.status_code == 200
    assert "could not be recognised from its content or name" in response.get_data(as_text=True)


def test_unknown_chosen_format_is_refused(app, admin, mini_release):
    html = upload(admin, GIFT_WITH_ESSAY.encode(), "pdf", "a.txt", bank="mini").get_data(as_text=True)
    assert "Choose one of the listed formats." in html


def test_an_import_parses_the_file_once(app, admin, mini_release, monkeypatch):
    gift = formats.by_name("gift")
    calls = []

    def counting(data, **kwargs):
        calls.append(kwargs["source"])
        return gift.parse(data, **kwargs)

    monkeypatch.setitem(formats.FORMATS, "gift", formats.Format(**{**gift.__dict__, "parse": counting}))
    token = upload_token(admin, GIFT_WITH_ESSAY.encode(), "gift", "new.txt", bank="mini")
    assert "Confirm import" in preview(admin, token)
    assert confirm(admin, token).status_code == 302
    assert calls == ["new.txt"]
    assert releases(app) == ["1.0.0", "1.1.0"]


def test_a_release_after_the_preview_makes_the_confirmation_plan_again(app, admin, mini_release, monkeypatch):
    first = upload_token(admin, GIFT_WITH_ESSAY.encode(), "gift", "new.txt", bank="mini")
    second = upload_token(admin, XML_WITH_ESSAY.encode(), "xml", "new.xml", bank="mini")
    assert "Confirm import" in preview(admin, first) and "Confirm import" in preview(admin, second)
    assert confirm(admin, first).status_code == 302
    assert confirm(admin, second).status_code == 302  # merged into 1.1.0, not the stale 1.0.0
    assert releases(app) == ["1.0.0", "1.1.0", "1.2.0"]
    with app.app_context():
        hashes = banks.release_hashes(banks.latest_release("mini"))
        assert "adv-new-q1" in hashes and "gift-from-a-peer" in hashes


# --- permission helper --------------------------------------------------------------------------------


def test_bank_managers_are_site_admins_and_trainers_of_the_owning_organization(app, make_user):
    emails = {
        "trainer": make_user("ann@acme.org", role="trainer", org="acme"),
        "learner": make_user("tim@acme.org", role="learner", org="acme"),
        "outsider": make_user("gus@globex.org", role="trainer", org="globex"),
        "admin": make_user("root@example.org", admin=True),
    }
    with app.app_context():
        users = {key: accounts.find_user(email) for key, email in emails.items()}
        owned = Bank(slug="owned", title="Owned", organization_id=users["trainer"].memberships[0].organization_id)
        unowned = Bank(slug="free", title="Free", organization_id=None)
        assert [can_manage_bank(users[k], owned) for k in ("trainer", "learner", "outsider", "admin")] == [
            True,
            False,
            False,
            True,
        ]
        assert not can_manage_bank(users["trainer"], unowned) and can_manage_bank(users["admin"], unowned)
        assert not can_manage_bank(users["admin"], None)


def test_every_bank_page_hides_a_bank_from_other_trainers(app, make_user, mini_release):
    own_bank(app, "mini", "acme")
    owner = client_for(app, make_user, "ann@acme.org", role="trainer", org="acme")
    other = client_for(app, make_user, "gus@globex.org", role="trainer", org="globex")
    for url in (
        "/author/banks/mini",
        "/author/banks/mini/release",
        "/author/stats/banks/mini",
        "/author/sets/new/mini",
        "/author/transfer/banks/mini",
    ):
        assert other.get(url).status_code == 404, url
        assert owner.get(url).status_code in (200, 302), url


# --- readable codes and secrets -----------------------------------------------------------------------


def test_readable_codes_are_made_normalised_and_grouped():
    codes = ReadableCode("ABCDEFGHJK", length=6, group=3, min_length=4)
    code = codes.new()
    assert len(code) == 6 and set(code) <= set("ABCDEFGHJK")
    assert codes.normalize(" abc\u2013def ") == "ABCDEF"
    assert codes.normalize("abcd") == "ABCD" and codes.normalize("abc") is None
    assert codes.normalize("ABCDEZ") is None and codes.normalize(None) is None
    assert codes.format("ABCDEF") == "ABC-DEF"


def test_secrets_are_random_and_stored_as_sha256():
    assert new_secret(30, prefix="pst_").startswith("pst_") and len(new_secret(30, prefix="pst_")) == 44
    assert new_secret() != new_secret()
    assert hash_secret("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_kept_plans_go_with_their_upload(app, admin, mini_release):
    folder = Path(app.config["BANK_UPLOAD_DIR"])
    token = upload_token(admin, GIFT_WITH_ESSAY.encode(), "gift", "new.txt", bank="mini")
    preview(admin, token)
    assert sorted(p.name.removeprefix(token) for p in folder.iterdir()) == [
        ".data",
        ".json",
        ".plan.json",
        ".plan.zip",
    ]
    assert transfer.purge_expired(folder) == 0
    assert confirm(admin, token).status_code == 302
    assert list(folder.iterdir()) == []
