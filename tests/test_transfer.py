"""Web import/export of banks: YAML folder as .zip, GIFT and Moodle XML, with a preview before each import."""

from __future__ import annotations

import io
import json
import re
import stat
import tempfile
import zipfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

import quizbank
from app.extensions import db
from app.models import Bank, BankRelease, Question, QuestionVersion, QuestionVersionTag, ReleaseItem
from app.services import accounts, banks, transfer
from quizbank.diff import bank_hashes
from tests.conftest import MINI_BANK, get_token, login

MINI_IDS = ["adv-one-q1", "adv-one-q2", "adv-two-q1", "eth-one-q1", "eth-two-q1"]
UPLOAD_URL = "/author/transfer/"
TOKEN_IN_URL = re.compile(r"/author/transfer/preview/([A-Za-z0-9_-]{43})$")


# --- helpers -----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch) -> Path:
    """Keep this test's pending uploads in its own folder."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "BANK_UPLOAD_DIR", str(folder))
    return folder


def client_for(app, make_user, email: str, **options):
    client = app.test_client()
    make_user(email, **options)
    assert login(client, email).status_code == 302
    return client


def own_bank(app, slug: str, org_slug: str) -> None:
    """Make ``org_slug`` the owning organization of bank ``slug``."""
    with app.app_context():
        bank = banks.get_bank(slug)
        bank.organization_id = accounts.get_or_create_organization(org_slug.title(), org_slug).id
        db.session.commit()


def zip_folder(folder: Path, prefix: str = "mini/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def zip_entries(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(client, data: bytes, fmt: str = "yaml", filename: str = "bank.zip", **fields):
    token = get_token(client, UPLOAD_URL)
    form = {"csrf_token": token, "format": fmt, "bank": "", "version": "", **fields}
    form["file"] = (io.BytesIO(data), filename)
    return client.post(UPLOAD_URL, data=form, content_type="multipart/form-data")


def upload_token(client, data: bytes, fmt: str = "yaml", filename: str = "bank.zip", **fields) -> str:
    response = upload(client, data, fmt, filename, **fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    match = TOKEN_IN_URL.search(response.location)
    assert match, response.location
    return match.group(1)


def preview(client, token: str) -> str:
    response = client.get(f"/author/transfer/preview/{token}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def confirm(client, token: str):
    csrf = get_token(client, UPLOAD_URL)
    return client.post("/author/transfer/confirm", data={"csrf_token": csrf, "token": token})


def download(client, fmt: str, slug: str = "mini", **params):
    return client.get(f"/author/transfer/banks/{slug}/download", query_string={"format": fmt, **params})


def releases(app, slug: str = "mini") -> list[str]:
    with app.app_context():
        bank = banks.get_bank(slug)
        return [r.version for r in bank.releases] if bank else []


def release_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(BankRelease))


def bump_version(bank_dir: Path, version: str) -> None:
    path = bank_dir / "bank.yaml"
    path.write_text(re.sub(r"(?m)^version: .*$", f"version: {version}", path.read_text(encoding="utf-8")))


def change_adv_two(bank_dir: Path) -> None:
    path = bank_dir / "scenarios" / "adv-two.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("text: Tear the poster down.") == 1
    path.write_text(text.replace("text: Tear the poster down.", "text: Take the poster down without asking."))


@pytest.fixture
def admin(app, make_user):
    return client_for(app, make_user, "root@example.org", admin=True)


# --- export ------------------------------------------------------------------------------------------


def test_yaml_export_is_a_zip_of_the_bank_folder_with_a_safe_attachment_name(app, admin, mini_release, tmp_path):
    response = download(admin, "yaml")

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == "attachment; filename=mini-1.0.0.zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = set(archive.namelist())
        assert {"mini-1.0.0/bank.yaml", "mini-1.0.0/tracks/basic.yaml", "mini-1.0.0/scenarios/adv-one.yaml"} <= names
        archive.extractall(tmp_path)
    exported = quizbank.load_bank(tmp_path / "mini-1.0.0")
    assert bank_hashes(exported) == bank_hashes(quizbank.load_bank(MINI_BANK))
    assert exported.manifest() == quizbank.load_bank(MINI_BANK).manifest()


def test_export_of_an_older_release_by_version(app, admin, mini_release, bank_copy, tmp_path):
    change_adv_two(bank_copy)
    bump_version(bank_copy, "1.1.0")
    with app.app_context():
        banks.import_bank(quizbank.load_bank(bank_copy))
        db.session.commit()

    older = download(admin, "yaml", version="1.0.0")
    latest = download(admin, "yaml")

    assert "mini-1.0.0.zip" in older.headers["Content-Disposition"]
    assert "mini-1.1.0.zip" in latest.headers["Content-Disposition"]
    assert download(admin, "yaml", version="9.9.9").status_code == 404
    assert download(admin, "pdf").status_code == 404


def test_export_page_lists_releases_and_formats(app, admin, mini_release):
    html = admin.get("/author/transfer/banks/mini").get_data(as_text=True)
    assert '<option value="1.0.0"' in html
    assert "Moodle XML (.xml)" in html and "GIFT (.txt)" in html
    assert 'action="/author/transfer/banks/mini/download"' in html


def test_export_is_for_trainers_of_the_owning_organization_and_site_admins(app, make_user, mini_release):
    own_bank(app, "mini", "acme")
    owner = client_for(app, make_user, "ann@acme.org", role="trainer", org="acme")
    other = client_for(app, make_user, "gus@globex.org", role="trainer", org="globex")
    trainee = client_for(app, make_user, "tim@acme.org", role="learner", org="acme")

    assert owner.get("/author/transfer/banks/mini").status_code == 200
    assert download(owner, "yaml").status_code == 200
    assert other.get("/author/transfer/banks/mini").status_code == 404
    assert download(other, "yaml").status_code == 404
    assert trainee.get("/author/transfer/banks/mini").status_code == 403
    assert download(trainee, "yaml").status_code == 403
    assert download(owner, "yaml", slug="missing").status_code == 404


def test_unowned_bank_is_exported_by_site_admins_only(app, make_user, admin, mini_release):
    trainer = client_for(app, make_user, "ann@acme.org", role="trainer", org="acme")
    assert download(trainer, "yaml").status_code == 404
    assert download(admin, "yaml").status_code == 200


def test_bank_page_links_to_transfer_only_for_those_who_may_use_it(app, make_user, admin, mini_release):
    own_bank(app, "mini", "acme")
    owner = client_for(app, make_user, "ann@acme.org", role="trainer", org="acme")
    other = client_for(app, make_user, "gus@globex.org", role="trainer", org="globex")

    assert 'href="/author/transfer/banks/mini"' in owner.get("/author/banks/mini").get_data(as_text=True)
    assert 'href="/author/transfer/banks/mini"' in admin.get("/author/banks/mini").get_data(as_text=True)
    assert 'href="/author/transfer/banks/mini"' not in other.get("/author/banks/mini").get_data(as_text=True)


# --- YAML zip import ---------------------------------------------------------------------------------


def test_exported_zip_reimports_as_nothing_to_import(app, admin, mini_release):
    token = upload_token(admin, download(admin, "yaml").data, filename="mini-1.0.0.zip")
    html = preview(admin, token)

    assert "Nothing to import" in html
    assert "Confirm import" not in html
    assert "<td>0</td><td>0</td><td>5</td><td>0</td>" in html  # new, changed, unchanged, retired

    response = confirm(admin, token)  # confirming anyway is a no-op
    assert response.status_code == 302
    assert releases(app) == ["1.0.0"]


def test_changed_zip_previews_the_diff_then_confirm_imports_it(app, admin, mini_release, bank_copy, upload_dir):
    change_adv_two(bank_copy)
    (bank_copy / "scenarios" / "eth-two.yaml").unlink()
    bump_version(bank_copy, "1.1.0")

    token = upload_token(admin, zip_folder(bank_copy))
    html = preview(admin, token)
    assert "<td>0</td><td>1</td><td>3</td><td>1</td>" in html
    assert "<code>adv-two-q1</code>" in html and "<code>eth-two-q1</code>" in html
    assert "Confirm import" in html
    assert releases(app) == ["1.0.0"]  # the preview writes nothing

    response = confirm(admin, token)
    assert response.status_code == 302
    assert response.location == "/author/banks/mini"
    page = admin.get(response.location).get_data(as_text=True)
    assert "mini 1.1.0: release created (0 new, 1 changed, 3 unchanged, 1 retired)" in page
    assert releases(app) == ["1.0.0", "1.1.0"]
    assert list(upload_dir.iterdir()) == []  # the upload is gone once imported


def test_site_admin_creates_a_new_bank_from_a_zip_at_the_top_level(app, admin):
    token = upload_token(admin, zip_folder(MINI_BANK, prefix=""))
    html = preview(admin, token)
    assert "a new bank" in html
    assert "<td>5</td><td>0</td><td>0</td><td>0</td>" in html

    assert confirm(admin, token).location == "/author/banks/mini"
    with app.app_context():
        assert bank_hashes(banks.release_to_bank(banks.latest_release("mini"))) == bank_hashes(
            quizbank.load_bank(MINI_BANK)
        )


def test_broken_yaml_in_a_zip_shows_file_and_line_and_imports_nothing(app, admin, mini_release, bank_copy):
    path = bank_copy / "scenarios" / "adv-one.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("difficulty: easy", "difficulty: trivial"))
    bump_version(bank_copy, "1.1.0")

    token = upload_token(admin, zip_folder(bank_copy))
    html = preview(admin, token)
    assert (
        "mini/scenarios/adv-one.yaml:10: Difficulty must be one of easy, medium, hard, got &#39;trivial&#39;." in html
    )
    assert "nothing can be imported" in html
    assert "Confirm import" not in html
    assert str(bank_copy) not in html and tempfile.gettempdir() not in html  # no server paths

    response = confirm(admin, token)
    assert response.status_code == 200
    assert "nothing was imported" in response.get_data(as_text=True)
    assert releases(app) == ["1.0.0"]


def test_invalid_yaml_syntax_is_reported_with_its_line(app, admin, mini_release, bank_copy):
    path = bank_copy / "scenarios" / "eth-one.yaml"
    path.write_text("id: eth-one\ndomain: ethics\nscenario: [unclosed\n", encoding="utf-8")
    html = preview(admin, upload_token(admin, zip_folder(bank_copy)))
    assert re.search(r"mini/scenarios/eth-one\.yaml:\d+: invalid YAML", html)


def test_zip_without_bank_yaml_is_explained(app, admin):
    html = preview(admin, upload_token(admin, zip_entries({"notes/readme.txt": b"hello"})))
    assert "The zip must hold one bank folder with a bank.yaml" in html


def test_change_without_a_version_bump_is_refused_in_the_preview(app, admin, mini_release, bank_copy):
    change_adv_two(bank_copy)
    html = preview(admin, upload_token(admin, zip_folder(bank_copy)))
    assert "use a greater version (for example 1.1.0)" in html
    assert "<td>0</td><td>1</td><td>4</td><td>0</td>" in html  # the diff is still shown
    assert "Confirm import" not in html and "Nothing to import" not in html


def test_failure_at_confirm_rolls_back_and_shows_the_error(app, admin, mini_release, bank_copy):
    change_adv_two(bank_copy)
    bump_version(bank_copy, "1.1.0")
    token = upload_token(admin, zip_folder(bank_copy))
    assert "Confirm import" in preview(admin, token)

    with app.app_context():  # someone else imports a 1.1.0 meanwhile
        renamed = replace(quizbank.load_bank(MINI_BANK), version="1.1.0", title="Mini test bank, renamed")
        banks.import_bank(renamed)
        db.session.commit()

    response = confirm(admin, token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "nothing was imported" in html and "use a greater version (for example 1.2.0)" in html
    assert releases(app) == ["1.0.0", "1.1.0"]


# --- who may import ----------------------------------------------------------------------------------


def test_trainer_imports_into_a_bank_their_organization_owns(app, make_user, mini_release, bank_copy):
    own_bank(app, "mini", "acme")
    trainer = client_for(app, make_user, "ann@acme.org", role="trainer", org="acme")
    change_adv_two(bank_copy)
    bump_version(bank_copy, "1.1.0")

    token = upload_token(trainer, zip_folder(bank_copy))
    assert confirm(trainer, token).status_code == 302
    assert releases(app) == ["1.0.0", "1.1.0"]


def test_trainer_cannot_import_a_zip_of_another_organizations_bank(app, make_user, mini_release, bank_copy):
    own_bank(app, "mini", "globex")
    trainer = client_for(app, make_user, "ann@acme.org", role="trainer", org="acme")
    change_adv_two(bank_copy)
    bump_version(bank_copy, "1.1.0")

    token = upload_token(trainer, zip_folder(bank_copy))
    html = preview(trainer, token)
    assert "bank &#39;mini&#39; is not owned by your organization" in html
    assert "Confirm import" not in html
    assert confirm(trainer, token).status_code == 200
    assert releases(app) == ["1.0.0"]


def test_trainer_cannot_create_a_new_bank(app, make_user):
    trainer = client_for(app, make_user, "ann@acme.org", role="trainer", org="acme")
    html = preview(trainer, upload_token(trainer, zip_folder(MINI_BANK)))
    assert "only site administrators create banks" in html
    assert releases(app) == []


def test_trainee_cannot_open_the_upload_form(app, make_user):
    trainee = client_for(app, make_user, "tim@acme.org", role="learner", org="acme")
    assert trainee.get(UPLOAD_URL).status_code == 403


# --- pending uploads: owner only, expiry -------------------------------------------------------------


def test_a_token_belongs_to_its_uploader_only(app, make_user, admin, mini_release, bank_copy):
    bump_version(bank_copy, "1.1.0")
    change_adv_two(bank_copy)
    token = upload_token(admin, zip_folder(bank_copy))
    other_admin = client_for(app, make_user, "root2@example.org", admin=True)

    assert other_admin.get(f"/author/transfer/preview/{token}").status_code == 404
    assert confirm(other_admin, token).status_code == 404
    assert releases(app) == ["1.0.0"]
    assert "Confirm import" in preview(admin, token)  # still the uploader's


def test_an_expired_upload_cannot_be_previewed_or_confirmed(app, admin, mini_release, bank_copy, upload_dir):
    bump_version(bank_copy, "1.1.0")
    change_adv_two(bank_copy)
    token = upload_token(admin, zip_folder(bank_copy))
    meta_path = upload_dir / f"{token}.json"
    meta = json.loads(meta_path.read_text())
    meta["created_at"] = (datetime.now(UTC) - timedelta(hours=1, minutes=1)).isoformat()
    meta_path.write_text(json.dumps(meta))

    response = confirm(admin, token)
    assert response.status_code == 302 and response.location == UPLOAD_URL
    assert "no longer available" in admin.get(UPLOAD_URL).get_data(as_text=True)
    assert releases(app) == ["1.0.0"]
    assert not meta_path.exists()
    assert admin.get(f"/author/transfer/preview/{token}").location == UPLOAD_URL


def test_unknown_or_malformed_tokens_send_back_to_the_upload_form(app, admin):
    for token in ("x" * 43, "short", "..secret_key"):
        assert admin.get(f"/author/transfer/preview/{token}").location == UPLOAD_URL
    assert admin.get("/author/transfer/preview/..%2F..%2Fsecret_key").status_code == 404  # no such route
    assert confirm(admin, "../../instance/secret_key").location == UPLOAD_URL


def test_upload_is_stored_with_its_uploader_and_time(app, admin, mini_release, upload_dir):
    data = download(admin, "yaml").data
    token = upload_token(admin, data, filename="../../evil name.zip")
    meta = json.loads((upload_dir / f"{token}.json").read_text())
    with app.app_context():
        assert meta["user_id"] == accounts.find_user("root@example.org").id
    assert meta["filename"] == "evil_name.zip"
    assert datetime.now(UTC) - datetime.fromisoformat(meta["created_at"]) < timedelta(minutes=5)
    assert (upload_dir / f"{token}.data").read_bytes() == data  # the exact bytes uploaded


def test_old_uploads_are_purged_when_a_new_one_arrives(app, admin, mini_release, upload_dir):
    data = download(admin, "yaml").data
    first = upload_token(admin, data)
    meta_path = upload_dir / f"{first}.json"
    meta = json.loads(meta_path.read_text())
    meta["created_at"] = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    meta_path.write_text(json.dumps(meta))

    second = upload_token(admin, data)
    assert sorted(p.name for p in upload_dir.iterdir()) == sorted([f"{second}.data", f"{second}.json"])


# --- refused uploads ---------------------------------------------------------------------------------


def assert_refused(response, message: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 200, response.status_code
    assert message in html, html
    assert "Upload and preview" in html  # the form again, with its message


def test_zip_with_a_parent_directory_entry_is_refused(app, admin, upload_dir):
    response = upload(admin, zip_entries({"mini/bank.yaml": b"id: x\n", "../evil.yaml": b"x"}))
    assert_refused(response, "The zip entry &#39;../evil.yaml&#39; points outside the bank folder.")
    assert not upload_dir.exists() or list(upload_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "mini/../../evil.yaml", "C:/evil.yaml", "..\\evil.yaml"])
def test_zip_with_absolute_or_traversing_paths_is_refused(app, admin, name):
    response = upload(admin, zip_entries({"mini/bank.yaml": b"id: x\n", name: b"x"}))
    assert_refused(response, "points outside the bank folder")


def test_zip_with_a_symlink_is_refused(app, admin):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mini/bank.yaml", "id: x\n")
        link = zipfile.ZipInfo("mini/scenarios/link.yaml")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    assert_refused(upload(admin, buffer.getvalue()), "is a symbolic link; links are refused")


def test_zip_with_too_many_files_is_refused(app, admin):
    entries = {f"mini/scenarios/s{i}.yaml": b"" for i in range(transfer.MAX_ZIP_FILES + 1)}
    assert_refused(upload(admin, zip_entries(entries)), "holds 5001 entries; the limit is 5000")


def test_zip_bomb_is_refused_by_its_unpacked_size(app, admin):
    bomb = zip_entries({"mini/bank.yaml": b"\n" * (transfer.MAX_UNZIPPED_BYTES + 1)})
    assert len(bomb) < 200_000
    assert_refused(upload(admin, bomb), "the limit is 50 MB")


def test_file_that_is_not_a_zip_is_refused(app, admin):
    assert_refused(upload(admin, b"id: mini\n", filename="bank.yaml"), "not a valid .zip archive")


def test_file_over_the_upload_limit_is_refused_with_a_form_message(app, admin, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_UPLOAD_MAX_BYTES", 1_000)
    response = upload(admin, b"x" * 1_001)
    assert_refused(response, "The file is larger than the 0.001 MB limit; nothing was uploaded.")


def test_request_over_max_content_length_gets_the_form_not_a_bare_413_page(app, admin, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2_000)
    response = upload(admin, b"x" * 5_000)
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The file is larger than the 5 MB limit; nothing was uploaded." in html
    assert "Upload and preview" in html


def test_upload_limits_have_sensible_defaults(app):
    assert app.config["BANK_UPLOAD_MAX_BYTES"] == 5_000_000
    assert app.config["MAX_CONTENT_LENGTH"] > app.config["BANK_UPLOAD_MAX_BYTES"]


def test_upload_without_a_file_asks_for_one(app, admin):
    token = get_token(admin, UPLOAD_URL)
    response = admin.post(UPLOAD_URL, data={"csrf_token": token, "format": "yaml", "bank": "", "version": ""})
    assert_refused(response, "Choose a file to upload.")


def test_zip_made_on_a_mac_ignores_finder_metadata(app, admin, bank_copy):
    data = zip_folder(bank_copy)
    extra = zip_entries({"__MACOSX/mini/._bank.yaml": b"\x00\x05\x16\x07", "mini/scenarios/._adv-one.yaml": b"\x00"})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as merged:
        for source in (data, extra):
            with zipfile.ZipFile(io.BytesIO(source)) as archive:
                for info in archive.infolist():
                    merged.writestr(info, archive.read(info))
    html = preview(admin, upload_token(admin, buffer.getvalue()))
    assert "<td>5</td><td>0</td><td>0</td><td>0</td>" in html
    assert "Confirm import" in html


def test_full_web_round_trip_into_an_empty_database_keeps_every_hash(app, admin, mini_release):
    exported = download(admin, "yaml").data
    with app.app_context():
        for model in (ReleaseItem, QuestionVersionTag, QuestionVersion, Question, BankRelease, Bank):
            db.session.execute(delete(model))
        db.session.commit()

    assert confirm(admin, upload_token(admin, exported)).location == "/author/banks/mini"
    with app.app_context():
        rebuilt = banks.release_to_bank(banks.latest_release("mini"))
        assert bank_hashes(rebuilt) == bank_hashes(quizbank.load_bank(MINI_BANK))
        assert rebuilt.manifest() == quizbank.load_bank(MINI_BANK).manifest()


# --- GIFT and Moodle XML -----------------------------------------------------------------------------

GIFT_WITH_ESSAY = """// New questions for the mini bank
$CATEGORY: $course$/top/Advocacy/Stigma

::adv-new-q1:: Riley says a coworker keeps calling people in recovery "junkies".\\n
What is the best first action for the peer specialist? {
\t=Ask Riley how the remarks affect them and what they would like to do. #Keeps Riley in charge of the response.
\t~Report the coworker to human resources yourself. #Acting without consent takes Riley's choice away.
\t~Tell Riley the remarks are not worth worrying about. #Dismisses a real concern.
}

::reflection:: Describe a time you spoke up for yourself. {}
"""

XML_WITH_ESSAY = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category">
    <category><text>$course$/top/Ethical Responsibility/Boundaries</text></category>
  </question>
  <question type="multichoice">
    <name><text>Gift from a peer</text></name>
    <questiontext format="html"><text><![CDATA[<p>A peer you support offers you concert tickets as thanks.</p>
<p>What should the peer specialist do?</p>]]></text></questiontext>
    <single>true</single>
    <answer fraction="100"><text>Thank them and explain that you cannot accept gifts of value.</text>
      <feedback><text>Keeps the boundary and the relationship.</text></feedback></answer>
    <answer fraction="0"><text>Accept the tickets so the peer is not offended.</text>
      <feedback><text>Creates a dual relationship.</text></feedback></answer>
    <answer fraction="0"><text>Report the peer to your supervisor.</text>
      <feedback><text>Punitive and unnecessary.</text></feedback></answer>
  </question>
  <question type="essay">
    <name><text>Boundaries reflection</text></name>
    <questiontext format="html"><text>Describe a boundary you hold.</text></questiontext>
  </question>
</quiz>
"""

MERGE_FILES = {
    "gift": ("new.gift.txt", GIFT_WITH_ESSAY, "adv-new-q1", "advocacy"),
    "xml": ("new.xml", XML_WITH_ESSAY, "gift-from-a-peer", "ethics"),
}


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


@pytest.mark.parametrize("fmt", ["gift", "xml"])
def test_skipped_essay_is_shown_with_its_line_and_the_rest_is_merged(app, admin, mini_release, fmt):
    filename, text, new_id, domain = MERGE_FILES[fmt]
    essay_line = line_of(text, "::reflection::" if fmt == "gift" else '<question type="essay">')

    token = upload_token(admin, text.encode(), fmt, filename, bank="mini")
    html = preview(admin, token)
    assert f"<td>{filename}:{essay_line}</td><td>essay</td>" in html
    assert "1 question skipped" in html
    assert "<td>1</td><td>0</td><td>5</td><td>0</td>" in html  # merged: nothing retired
    assert f"<code>{new_id}</code>" in html
    assert "1.1.0" in html

    assert confirm(admin, token).location == "/author/banks/mini"
    assert releases(app) == ["1.0.0", "1.1.0"]
    with app.app_context():
        merged = banks.release_to_bank(banks.latest_release("mini"))
        by_id = {q.id: s for s, q in merged.questions()}
        assert sorted(by_id) == sorted([*MINI_IDS, new_id])
        assert by_id[new_id].domain == domain
        assert by_id[new_id].text and "reflection" not in by_id


@pytest.mark.parametrize("fmt", ["gift", "xml"])
def test_export_then_reimport_is_nothing_to_import_and_keeps_every_hash(app, admin, mini_release, fmt):
    from quizbank import converters

    response = download(admin, fmt)
    assert response.status_code == 200
    suffix = "gift.txt" if fmt == "gift" else "moodle.xml"
    assert response.headers["Content-Disposition"] == f"attachment; filename=mini-1.0.0.{suffix}"
    original = quizbank.load_bank(MINI_BANK)
    parse = converters.parse_gift if fmt == "gift" else converters.parse_moodle_xml
    data = response.get_data(as_text=True) if fmt == "gift" else response.data
    result = parse(data, source="export", domains=original.domains, tags=original.tags)
    assert not result.problems and not result.skipped
    assert bank_hashes(replace(original, scenarios=result.scenarios)) == bank_hashes(original)

    token = upload_token(admin, response.data, fmt, f"mini.{suffix}", bank="mini")
    html = preview(admin, token)
    assert "<td>0</td><td>0</td><td>5</td><td>0</td>" in html
    assert "Nothing to import" in html and "Confirm import" not in html
    assert confirm(admin, token).status_code == 302
    assert releases(app) == ["1.0.0"]


def test_gift_replaces_a_question_with_the_same_id(app, admin, mini_release):
    gift = download(admin, "gift").get_data(as_text=True)
    assert gift.count("~Tear the poster down.") == 1
    edited = gift.replace("~Tear the poster down.", "~Take the poster down without asking.")

    token = upload_token(admin, edited.encode(), "gift", "mini.txt", bank="mini", version="1.0.1")
    html = preview(admin, token)
    assert "<td>0</td><td>1</td><td>4</td><td>0</td>" in html and "<code>adv-two-q1</code>" in html
    assert confirm(admin, token).status_code == 302
    assert releases(app) == ["1.0.0", "1.0.1"]
    with app.app_context():
        version = banks.get_question(banks.get_bank("mini"), "adv-two-q1").latest
        assert version.number == 2
        assert "Take the poster down without asking." in [o["text"] for o in version.options]


def test_gift_problems_are_shown_with_file_and_line_and_block_the_import(app, admin, mini_release):
    broken = GIFT_WITH_ESSAY.replace(" #Dismisses a real concern.", "")
    token = upload_token(admin, broken.encode(), "gift", "new.txt", bank="mini")
    html = preview(admin, token)
    assert f"new.txt:{line_of(broken, '~Tell Riley')}: Option C needs a rationale." in html
    assert "Confirm import" not in html
    assert confirm(admin, token).status_code == 200
    assert releases(app) == ["1.0.0"]


def test_gift_question_without_a_scenario_paragraph_imports_as_a_standalone_item(app, admin, mini_release):
    single = "$CATEGORY: advocacy\n\n::adv-short:: What comes first? {=Listen. #Yes. ~Advise. #No. ~Decide. #No.}\n"
    token = upload_token(admin, single.encode(), "gift", "short.txt", bank="mini")
    html = preview(admin, token)
    assert "no scenario text" not in html and "Confirm import" in html
    assert confirm(admin, token).status_code == 302
    with app.app_context():
        content = banks.get_question(banks.get_bank("mini"), "adv-short").latest.content
        assert content["scenario"] == "" and content["stem"] == "What comes first?"


def test_gift_that_is_not_utf8_is_explained(app, admin, mini_release):
    html = preview(admin, upload_token(admin, "caf\xe9 {=a #b}".encode("latin-1"), "gift", "old.txt", bank="mini"))
    assert "old.txt:1: the GIFT file is not UTF-8 text" in html


def test_gift_or_xml_needs_a_target_bank_and_a_valid_version(app, admin, mini_release):
    data = GIFT_WITH_ESSAY.encode()
    assert_refused(upload(admin, data, "gift", "new.txt"), "Choose the bank to merge the questions into.")
    assert_refused(upload(admin, data, "gift", "new.txt", bank="nope"), "Not a valid choice")
    assert_refused(
        upload(admin, data, "gift", "new.txt", bank="mini", version="two"),
        "Give the version as X.Y.Z, for example 1.2.0, or leave it empty.",
    )


def test_chosen_version_is_used_for_a_merge(app, admin, mini_release):
    token = upload_token(admin, GIFT_WITH_ESSAY.encode(), "gift", "new.txt", bank="mini", version="2.0.0")
    assert confirm(admin, token).status_code == 302
    assert releases(app) == ["1.0.0", "2.0.0"]


def test_trainer_can_merge_only_into_banks_their_organization_owns(app, make_user, mini_release):
    trainer = client_for(app, make_user, "ann@acme.org", role="trainer", org="acme")
    data = GIFT_WITH_ESSAY.encode()
    assert 'value="mini"' not in trainer.get(UPLOAD_URL).get_data(as_text=True)
    assert_refused(upload(trainer, data, "gift", "new.txt", bank="mini"), "Not a valid choice")

    own_bank(app, "mini", "acme")
    assert 'value="mini"' in trainer.get(UPLOAD_URL).get_data(as_text=True)
    token = upload_token(trainer, data, "gift", "new.txt", bank="mini")
    assert confirm(trainer, token).status_code == 302
    assert releases(app) == ["1.0.0", "1.1.0"]


def test_oversized_request_from_a_guest_is_refused_without_the_form(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100)
    response = client.post(UPLOAD_URL, data={"file": (io.BytesIO(b"x" * 500), "a.zip")})
    assert response.status_code == 413
    assert "Upload and preview" not in response.get_data(as_text=True)


def test_zip_with_a_corrupt_entry_is_explained_in_the_preview(app, admin):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.write(MINI_BANK / "bank.yaml", "mini/bank.yaml")
    corrupt = buffer.getvalue().replace(b"title: Mini test bank", b"title: Mini test bonk")
    html = preview(admin, upload_token(admin, corrupt))
    assert "The zip entry &#39;mini/bank.yaml&#39; could not be unpacked (Bad CRC-32" in html
    assert "Confirm import" not in html


def test_gift_preview_lists_what_each_question_cannot_keep(app, admin, mini_release):
    gift = (
        "$CATEGORY: advocacy\n\n"
        '::adv-image:: A poster shows [html]<img src="@@PLUGINFILE@@/poster.png"> a slur. What first? {\n'
        "  =Raise it with the manager. #Systems advocacy.\n"
        "  ~Ignore it. #Leaves stigma.\n"
        "  ~Tear it down. #Acts alone.\n"
        "  ####Posters shape how people see recovery.\n"
        "}\n"
    )
    html = preview(admin, upload_token(admin, gift.encode(), "gift", "img.txt", bank="mini"))
    assert "Not kept:" in html and "img.txt:3" in html
    assert "image" in html.lower() and "general feedback" in html.lower()
