"""Category -> domain mapping: converters list unmapped categories; the web preview and `flask bank merge` map them.

Fixtures (tests/data/converters/mapping/) are hand-written in the style of Moodle's GIFT and XML examples: a
course's categories ("Peer Work Basics", "Legal Questions") that name none of the mini bank's domains.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import BankCategoryMap
from app.services import banks, transfer
from quizbank.converters import parse_aiken, parse_gift, parse_moodle_xml
from quizbank.converters.common import SKIP, UnmappedCategory, category_key, category_mapping, check_category_map
from tests.conftest import csrf_token, get_token, login

DATA = Path(__file__).parent / "data" / "converters" / "mapping"
GIFT = (DATA / "unmapped.gift").read_text(encoding="utf-8")
XML = (DATA / "unmapped.xml").read_bytes()
DOMAINS = {"advocacy": "Advocacy", "ethics": "Ethical Responsibility"}
BASICS, LEGAL = "$course$/top/Peer Work Basics", "$course$/top/Legal Questions"
UPLOAD_URL = "/author/transfer/"
TOKEN_IN_URL = re.compile(r"/author/transfer/preview/([A-Za-z0-9_-]{43})$")


def gift(**mapping):
    return parse_gift(GIFT, source="course.gift", domains=DOMAINS, tags={}, **mapping)


def xml():
    return parse_moodle_xml(XML, source="course.xml", domains=DOMAINS, tags={})


def domains_of(result) -> dict[str, str]:
    return {q.id: s.domain for s in result.scenarios for q in s.questions}


# --- converters --------------------------------------------------------------------------------------


def test_unmapped_categories_stay_problems_and_are_listed_with_counts_and_first_lines():
    result = gift()
    assert result.unmapped == (UnmappedCategory(BASICS, 2, 6), UnmappedCategory(LEGAL, 1, 20))
    assert [p.line for p in result.problems] == [6, 12, 20]
    assert all("no domain" in p.message for p in result.problems)
    assert domains_of(result) == {"housing-denial": "advocacy"}  # "Advocacy" names a domain itself

    assert xml().unmapped == (UnmappedCategory(BASICS, 1, 7), UnmappedCategory(LEGAL, 2, 18))


@pytest.mark.parametrize("key", [BASICS, "Peer Work Basics", "top/peer work basics", "PEER WORK BASICS"])
def test_a_category_is_mapped_by_its_path_or_a_segment_in_any_case(key):
    with category_mapping({key: "advocacy", "Legal Questions": "ethics"}):
        result = gift()
    assert not result.problems and not result.unmapped
    assert domains_of(result) == {
        "lived-experience": "advocacy",
        "person-first-language": "advocacy",
        "subpoena": "ethics",
        "housing-denial": "advocacy",
    }


def test_default_domain_takes_what_no_category_names_and_the_map_wins_over_it():
    with category_mapping({"Legal Questions": "ethics"}, default_domain="advocacy"):
        result = xml()
    assert not result.problems
    assert domains_of(result) == {"lived-experience": "advocacy", "subpoena": "ethics", "records-request": "ethics"}


def test_a_category_naming_a_domain_keeps_it_over_a_mapped_parent_segment():
    text = "$CATEGORY: $course$/top/Peer Work Basics/Ethical Responsibility\n\n" + GIFT.split("\n\n", 3)[2]
    with category_mapping({"Peer Work Basics": "advocacy"}):
        result = parse_gift(text, source="nested.gift", domains=DOMAINS, tags={})
    assert domains_of(result) == {"lived-experience": "ethics"}


def test_explicit_arguments_reach_the_builder_for_a_format_with_no_categories():
    aiken = "Which phrase uses person-first language?\nA. An addict\nB. A person who uses drugs\nC. A user\nANSWER: B\n"
    unmapped = parse_aiken(aiken, source="a.txt", domains=DOMAINS, tags={})
    assert unmapped.unmapped == (UnmappedCategory("", 1, 1),)
    mapped = parse_aiken(aiken, source="a.txt", domains=DOMAINS, tags={}, default_domain="advocacy")
    assert not any("no domain" in p.message for p in mapped.problems)  # the rationales are still missing


def test_skip_drops_the_questions_with_a_listed_reason():
    with category_mapping({"Legal Questions": SKIP, "Peer Work Basics": "advocacy"}):
        result = xml()
    assert not result.problems
    assert [(s.line, s.title) for s in result.skipped] == [(18, "Subpoena"), (26, "Records request")]
    assert all("mapped to 'skip these questions'" in s.reason for s in result.skipped)
    assert domains_of(result) == {"lived-experience": "advocacy"}


def test_a_mapping_to_an_unknown_domain_is_a_problem_at_each_question():
    with category_mapping({"Legal Questions": "law"}, default_domain="basics"):
        result = gift()
    messages = {(p.line, p.message) for p in result.problems}
    assert (
        20,
        f"category {LEGAL!r} is mapped to 'law', which is not one of the bank's domains (advocacy, ethics)",
    ) in (messages)
    assert (6, "the default domain 'basics' is not one of the bank's domains (advocacy, ethics)") in messages
    assert check_category_map({"Legal": "law", "Basics": SKIP}, "basics", DOMAINS) == [
        "category 'Legal' is mapped to 'law', which is not one of the bank's domains (advocacy, ethics)",
        "the default domain 'basics' is not one of the bank's domains (advocacy, ethics)",
    ]


def test_category_key_ignores_moodle_markers_and_case():
    assert category_key("$course$/top/Legal Questions") == category_key("legal questions") == "legal questions"
    assert category_key("$system$/top/A//B/C") == "a/b/c"


# --- web -----------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "BANK_UPLOAD_DIR", str(folder))
    return folder


@pytest.fixture
def admin(app, make_user):
    client = app.test_client()
    make_user("root@example.org", admin=True)
    assert login(client, "root@example.org").status_code == 302
    return client


def upload(client, data: bytes, filename: str) -> str:
    form = {"csrf_token": get_token(client, UPLOAD_URL), "format": "", "bank": "mini", "version": ""}
    form["file"] = (io.BytesIO(data), filename)
    response = client.post(UPLOAD_URL, data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return TOKEN_IN_URL.search(response.location).group(1)


def preview(client, token: str) -> str:
    response = client.get(f"/author/transfer/preview/{token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post_mapping(client, token: str, choices: list[tuple[str, str]], html: str | None = None):
    data = {"csrf_token": csrf_token(html or preview(client, token))}
    for index, (category, domain) in enumerate(choices):
        data[f"mappings-{index}-category"] = category
        data[f"mappings-{index}-domain"] = domain
    return client.post(f"/author/transfer/preview/{token}/mapping", data=data)


def confirm(client, token: str):
    return client.post("/author/transfer/confirm", data={"csrf_token": get_token(client, UPLOAD_URL), "token": token})


def remembered(app) -> dict[str, str]:
    with app.app_context():
        return {row.category: row.domain for row in db.session.scalars(select(BankCategoryMap))}


def question_ids(app) -> set[str]:
    with app.app_context():
        release = banks.latest_release("mini")
        return set(banks.release_hashes(release))


def test_preview_asks_for_each_unmapped_category_with_a_labelled_select(app, admin, mini_release):
    html = preview(admin, upload(admin, GIFT.encode(), "course.gift"))

    assert "Map 2 categories to the bank" in html
    assert 'action="/author/transfer/preview/' in html and "/mapping" in html
    for index, (category, count, line) in enumerate([(BASICS, "2 questions", 6), (LEGAL, "1 question", 20)]):
        assert f'<label for="mappings-{index}-domain">Category “{category}” ({count}, first at line {line})' in html
        assert f'name="mappings-{index}-category" type="hidden" value="{category}"' in html
    assert '<option value="advocacy">Advocacy (advocacy)</option>' in html
    assert '<option value="-">Skip these questions</option>' in html
    assert "Confirm import" not in html


def test_mapping_imports_gift_and_is_remembered_for_the_next_moodle_xml_upload(app, admin, mini_release):
    token = upload(admin, GIFT.encode(), "course.gift")
    response = post_mapping(admin, token, [(BASICS, "advocacy"), (LEGAL, SKIP)])
    assert response.status_code == 302 and response.location.endswith(f"/author/transfer/preview/{token}")

    html = preview(admin, token)
    assert "Map 2 categories" not in html and "Confirm import" in html
    assert "mapped to &#39;skip these questions&#39;" in html  # listed with the skipped questions
    assert "Category mapping remembered for this bank (2)" in html
    assert confirm(admin, token).status_code == 302
    assert {"lived-experience", "person-first-language", "housing-denial"} <= question_ids(app)
    assert "subpoena" not in question_ids(app)
    assert remembered(app) == {BASICS: "advocacy", LEGAL: SKIP}

    xml_token = upload(admin, XML, "course.xml")  # the same categories: applied without asking
    xml_html = preview(admin, xml_token)
    assert "Map " not in xml_html and "no domain" not in xml_html
    assert "2 questions skipped" in xml_html


def test_moodle_xml_imports_after_mapping_to_domains(app, admin, mini_release):
    token = upload(admin, XML, "course.xml")
    assert post_mapping(admin, token, [(BASICS, "advocacy"), (LEGAL, "ethics")]).status_code == 302
    assert confirm(admin, token).status_code == 302
    with app.app_context():
        bank = banks.release_to_bank(banks.latest_release("mini"))
        found = {q.id: s.domain for s, q in bank.questions()}
    assert found["subpoena"] == found["records-request"] == "ethics" and found["lived-experience"] == "advocacy"


def test_a_partial_mapping_is_kept_and_the_rest_is_asked_again(app, admin, mini_release):
    token = upload(admin, GIFT.encode(), "course.gift")
    post_mapping(admin, token, [(BASICS, "advocacy"), (LEGAL, "")])
    html = preview(admin, token)
    assert "Map 1 category to the bank" in html and LEGAL in html
    assert remembered(app) == {BASICS: "advocacy"}


def test_an_unknown_domain_or_a_missing_csrf_token_changes_nothing(app, admin, mini_release):
    token = upload(admin, GIFT.encode(), "course.gift")
    html = preview(admin, token)
    refused = post_mapping(admin, token, [(BASICS, "law")], html)
    assert refused.status_code == 302
    page = preview(admin, token)
    assert "mapped to &#39;law&#39;, which is not one of the bank&#39;s domains" in page
    no_csrf = admin.post(
        f"/author/transfer/preview/{token}/mapping",
        data={"mappings-0-category": BASICS, "mappings-0-domain": "advocacy"},
    )
    assert no_csrf.status_code in (302, 400)
    assert remembered(app) == {}


def test_someone_else_cannot_map_an_upload(app, admin, make_user, mini_release):
    token = upload(admin, GIFT.encode(), "course.gift")
    other = app.test_client()
    make_user("ann@acme.org", role="trainer", org="acme")
    login(other, "ann@acme.org")
    data = {"csrf_token": get_token(other, UPLOAD_URL), "mappings-0-category": BASICS, "mappings-0-domain": "ethics"}
    assert other.post(f"/author/transfer/preview/{token}/mapping", data=data).status_code == 404
    assert remembered(app) == {}


def test_without_a_mapping_the_preview_still_refuses_the_import(app, admin, mini_release):
    html = preview(admin, upload(admin, XML, "course.xml"))
    assert "no domain: category &#39;$course$/top/Legal Questions&#39;" in html
    assert "Confirm import" not in html


def test_remember_mapping_updates_a_choice_for_the_same_category(app, mini_release):
    with app.app_context():
        bank = banks.get_bank("mini")
        transfer.remember_mapping(bank, None, {"Legal Questions": "ethics"})
        transfer.remember_mapping(bank, None, {"$course$/top/legal questions": SKIP})
        db.session.commit()
        assert transfer.remembered_mapping(bank) == {"$course$/top/legal questions": SKIP}


# --- CLI -----------------------------------------------------------------------------------------------


def merge(app, *args: str):
    return app.test_cli_runner().invoke(args=["bank", "merge", *args])


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_cli_without_a_mapping_lists_the_unmapped_categories_and_imports_nothing(app, mini_release, tmp_path):
    result = merge(app, write(tmp_path, "course.gift", GIFT.encode()), "--bank", "mini")
    assert result.exit_code == 1
    assert f"unmapped category {BASICS!r}: 2 question(s), first at line 6" in result.stderr
    assert "course.gift:20: no domain" in result.stderr
    assert "housing-denial" not in question_ids(app)


def test_cli_merges_gift_with_map_and_default_domain_and_remembers_the_map(app, mini_release, tmp_path):
    result = merge(
        app,
        write(tmp_path, "course.gift", GIFT.encode()),
        "--bank",
        "mini",
        "--map",
        "Legal Questions=ethics",
        "--default-domain",
        "advocacy",
    )
    assert result.exit_code == 0, result.stderr
    assert "1.1.0" in result.output
    assert {"lived-experience", "subpoena", "housing-denial"} <= question_ids(app)
    assert remembered(app) == {"Legal Questions": "ethics"}


def test_cli_merges_moodle_xml_skipping_a_category(app, mini_release, tmp_path):
    path = write(tmp_path, "course.xml", XML)
    result = merge(app, path, "--bank", "mini", "--map", "Peer Work Basics=advocacy", "--map", "Legal Questions=-")
    assert result.exit_code == 0, result.stderr
    assert "skipped: line 18: multichoice: Subpoena: category" in result.stderr
    ids = question_ids(app)
    assert "lived-experience" in ids and "subpoena" not in ids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "Legal Questions"], "write it as CATEGORY=DOMAIN"),
        (["--map", "Legal Questions=law"], "is mapped to 'law', which is not one of the bank's domains"),
        (["--default-domain", "basics"], "the default domain 'basics' is not one of the bank's domains"),
    ],
)
def test_cli_refuses_a_bad_map(app, mini_release, tmp_path, args, message):
    result = merge(app, write(tmp_path, "course.xml", XML), "--bank", "mini", *args)
    assert result.exit_code != 0
    assert message in result.stderr
