"""Web authoring: immutable versions, validation, statuses, releases, diff, preview and who may edit."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import func, select

import quizbank
from app.extensions import db
from app.models import Attempt, Bank, BankRelease, Question, QuestionVersion, Response
from app.services import ServiceError, accounts, authoring, banks, practice
from quizbank.dump import write_bank
from tests.conftest import MINI_BANK, get_token, login, post_form

EDIT_URL = "/author/banks/mini/questions/{}/edit"
HISTORY_URL = "/author/banks/mini/questions/{}"


# Helpers ------------------------------------------------------------------------------------------------


def give_bank_to(app, org_slug: str | None, slug: str = "mini") -> None:
    """Make an organization (created if needed) the owner of a bank; None leaves it unowned."""
    with app.app_context():
        bank = banks.get_bank(slug)
        org = accounts.get_or_create_organization(org_slug.title(), org_slug) if org_slug else None
        db.session.flush()
        bank.organization_id = org.id if org else None
        db.session.commit()


def client_for(app, make_user, email: str, **options):
    client = app.test_client()
    make_user(email, **options)
    assert login(client, email).status_code == 302
    return client


@pytest.fixture
def trainer(app, make_user, mini_release):
    """A logged-in trainer of acme, which owns the mini bank."""
    client = client_for(app, make_user, "tara@acme.org", role="trainer", org="acme")
    give_bank_to(app, "acme")
    return client


def versions_of(app, stable_id: str) -> list[dict]:
    with app.app_context():
        question = banks.get_question(banks.get_bank("mini"), stable_id)
        return [
            {
                "id": v.id,
                "number": v.number,
                "status": v.status,
                "content": v.content,
                "hash": v.content_hash,
                "created_by_id": v.created_by_id,
                "change_note": v.change_note,
                "tags": sorted(t.tag for t in v.tag_rows),
            }
            for v in question.versions
        ]


def form_data(content: dict, **changes) -> dict:
    """The editor's fields filled from a version's content, with some fields changed."""
    data = {
        "domain": content["domain"],
        "scenario": content["scenario"],
        "stem": content["stem"],
        "difficulty": content["difficulty"],
        "tags": list(content["tags"]),
        "competencies": list(content["competencies"]),
        "key": str(next(i for i, o in enumerate(content["options"]) if o["correct"])),
        "change_note": "Clearer wording",
    }
    for row in range(4):
        option = content["options"][row] if row < len(content["options"]) else {"text": "", "rationale": ""}
        data[f"options-{row}-text"] = option["text"]
        data[f"options-{row}-rationale"] = option["rationale"]
    data.update(changes)
    return data


def edit(client, app, stable_id: str, **changes):
    content = versions_of(app, stable_id)[-1]["content"]
    return post_form(client, EDIT_URL.format(stable_id), form_data(content, **changes))


def user_id(app, email: str) -> int:
    with app.app_context():
        return accounts.find_user(email).id


def publish_newest(app, stable_id: str) -> None:
    """Move the newest (draft) version of a question through review to published."""
    with app.app_context():
        question = banks.get_question(banks.get_bank("mini"), stable_id)
        for status in ("review", "published"):
            authoring.change_status(question.latest, status)
        db.session.commit()


def release_versions(app) -> list[str]:
    with app.app_context():
        return [r.version for r in db.session.scalars(select(BankRelease).order_by(BankRelease.id))]


def mini_draft(**changes) -> authoring.QuestionDraft:
    options = (
        authoring.OptionDraft("Listen first.", "Centres the person.", True),
        authoring.OptionDraft("Decide for them.", "Takes away choice."),
        authoring.OptionDraft("Ignore it.", "Leaves them alone."),
    )
    draft = authoring.QuestionDraft(
        question_id="adv-three-q1",
        scenario_id="adv-three",
        domain="advocacy",
        scenario="Sam wants to speak at a council meeting.",
        stem="What is the best first action?",
        difficulty="medium",
        tags=("stigma",),
        options=options,
    )
    return replace(draft, **changes)


# Versions are immutable ---------------------------------------------------------------------------------


def test_saving_an_edit_creates_a_new_draft_version_and_never_touches_version_1(app, trainer):
    before = versions_of(app, "adv-one-q1")
    assert [v["number"] for v in before] == [1]

    response = edit(trainer, app, "adv-one-q1", stem="What is the first thing to do?", change_note="Plainer stem")

    assert response.status_code == 302 and response.location == HISTORY_URL.format("adv-one-q1")
    after = versions_of(app, "adv-one-q1")
    assert after[0] == before[0]  # content, hash and status of version 1 are untouched
    assert after[0]["hash"] == quizbank.content_hash(before[0]["content"])
    new = after[1]
    assert (new["number"], new["status"], new["change_note"]) == (2, "draft", "Plainer stem")
    assert new["created_by_id"] == user_id(app, "tara@acme.org")
    assert new["content"]["stem"] == "What is the first thing to do?"
    assert new["hash"] == quizbank.content_hash(new["content"]) != before[0]["hash"]
    assert new["tags"] == new["content"]["tags"] == ["housing", "stigma"]
    assert new["content"]["options"] == before[0]["content"]["options"]


def test_each_save_gets_the_next_number(app, trainer):
    edit(trainer, app, "adv-two-q1", stem="Which response fits best?")
    edit(trainer, app, "adv-two-q1", difficulty="medium")

    numbers = [(v["number"], v["content"]["stem"], v["content"]["difficulty"]) for v in versions_of(app, "adv-two-q1")]
    assert numbers == [
        (1, "What is the most appropriate response?", "hard"),
        (2, "Which response fits best?", "hard"),
        (3, "Which response fits best?", "medium"),
    ]


def test_saving_unchanged_content_creates_nothing_and_says_so(app, trainer):
    content = versions_of(app, "adv-one-q1")[-1]["content"]
    # Browsers send textarea line breaks as CRLF, with the text as it was shown: still unchanged.
    data = form_data(content, scenario=content["scenario"].replace("\n", "\r\n") + "\r\n", change_note="")

    response = post_form(trainer, EDIT_URL.format("adv-one-q1"), data, follow_redirects=True)

    assert "Nothing changed" in response.get_data(as_text=True)
    assert len(versions_of(app, "adv-one-q1")) == 1


def test_a_stale_editor_cannot_overwrite_a_newer_version(app, trainer):
    url = EDIT_URL.format("adv-one-q1")
    content = versions_of(app, "adv-one-q1")[-1]["content"]
    token = get_token(trainer, url)  # the editor opened on version 1
    edit(trainer, app, "adv-one-q1", stem="Saved by a colleague meanwhile?")

    stale = form_data(content, stem="My own edit?", base_number="1", csrf_token=token)
    html = trainer.post(url, data=stale).get_data(as_text=True)

    assert "Version 2 of this question was saved while you were editing" in html
    assert [v["content"]["stem"] for v in versions_of(app, "adv-one-q1")][-1] == "Saved by a colleague meanwhile?"


def test_a_save_racing_another_one_is_reported_not_a_server_error(app, trainer, monkeypatch):
    def race(question, *args, **kwargs):
        # What the database says when another request took this version number first.
        db.session.add(
            QuestionVersion(question=question, number=1, content={}, content_hash="x", domain="d", difficulty="easy")
        )
        db.session.flush()

    monkeypatch.setattr(authoring, "save_question", race)
    response = edit(trainer, app, "adv-one-q1", stem="Racing?")

    assert response.status_code == 200
    assert "Someone saved this question at the same moment" in response.get_data(as_text=True)
    assert len(versions_of(app, "adv-one-q1")) == 1


# Validation mirrors the loader ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": ""}, "Mark exactly one option as the correct answer (found 0)."),
        (
            {"options-2-text": "", "options-2-rationale": "", "options-3-text": "", "options-3-rationale": ""},
            "A question needs 3 or 4 options, found 2.",
        ),
        ({"options-1-rationale": "   "}, "Option B needs a rationale."),
        ({"tags": ["stigma", "astrology"]}, "Unknown tag &#39;astrology&#39; (not in the bank&#39;s vocabulary)."),
        ({"options-1-text": "promising the complaint will succeed."}, "Two options have the same text."),
        ({"domain": "cooking"}, "Unknown domain &#39;cooking&#39;"),
        ({"stem": ""}, "The question must not be empty."),
    ],
)
def test_invalid_edits_are_refused_with_a_message_on_the_form(app, trainer, changes, message):
    response = edit(trainer, app, "adv-one-q2", **changes)

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert len(versions_of(app, "adv-one-q2")) == 1


def test_the_message_sits_next_to_the_field_it_is_about(app, trainer):
    html = edit(trainer, app, "adv-one-q2", **{"options-1-rationale": ""}).get_data(as_text=True)
    assert re.search(r'id="options-1-rationale-error">Option B needs a rationale\.<', html)
    assert 'aria-invalid="true"' in html


def test_two_correct_options_are_refused(app, db_ctx, mini_release):
    bank = banks.get_bank("mini")
    options = mini_draft().options
    two_keys = mini_draft(options=(options[0], replace(options[1], correct=True), options[2]))
    author = accounts.register_user("ed@example.org", "Ed", "correct-horse-battery")

    with pytest.raises(authoring.DraftInvalid) as refused:
        authoring.create_question(bank, two_keys, author, "New")

    assert refused.value.errors["key"] == ["Mark exactly one option as the correct answer (found 2)."]
    assert banks.get_question(bank, "adv-three-q1") is None


def test_ids_must_be_kebab_case_and_unique_in_the_bank(app, db_ctx, mini_release):
    bank = banks.get_bank("mini")
    errors = authoring.validate_draft(bank, mini_draft(question_id="adv-one-q1", scenario_id="eth-one-q1"), is_new=True)
    assert errors["question_id"] == ["Id 'adv-one-q1' is already used by a question in this bank."]
    assert errors["scenario_id"] == ["Id 'eth-one-q1' is already used by a question in this bank."]

    errors = authoring.validate_draft(bank, mini_draft(question_id="adv-one", scenario_id="Adv Three"), is_new=True)
    assert errors["question_id"] == ["Id 'adv-one' is already used by a scenario in this bank."]
    assert errors["scenario_id"][0].startswith("Use lowercase-kebab-case")

    assert authoring.validate_draft(bank, mini_draft(), is_new=True) == {}
    assert authoring.validate_draft(bank, mini_draft(scenario_id="adv-one"), is_new=True) == {}  # joins adv-one


def test_a_duplicate_id_is_refused_on_the_new_question_form(app, trainer):
    content = versions_of(app, "adv-one-q1")[-1]["content"]
    data = form_data(content, question_id="adv-one-q1", scenario_id="adv-one", change_note="Copy")

    response = post_form(trainer, "/author/banks/mini/new-question", data)

    assert response.status_code == 200
    assert "Id &#39;adv-one-q1&#39; is already used by a question in this bank." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Question)) == 5


def test_a_new_question_starts_as_draft_version_1_in_an_existing_scenario(app, trainer):
    form = trainer.get("/author/banks/mini/new-question?scenario=eth-one").get_data(as_text=True)
    assert "A peer offers you a gift card after your last session." in form  # scenario fields filled in
    content = versions_of(app, "eth-one-q1")[-1]["content"]
    data = form_data(
        content,
        question_id="eth-one-q2",
        scenario_id="eth-one",
        stem="What should the peer avoid saying?",
        change_note="Second question on gifts",
    )

    response = post_form(trainer, "/author/banks/mini/new-question?scenario=eth-one", data)

    assert response.location == HISTORY_URL.format("eth-one-q2")
    [version] = versions_of(app, "eth-one-q2")
    assert (version["number"], version["status"], version["content"]["scenario_id"]) == (1, "draft", "eth-one")
    assert version["content"]["scenario"] == content["scenario"]


# Scenario text shared by several questions ---------------------------------------------------------------------


def test_scenario_edits_stay_on_one_question_unless_applied_to_the_others(app, trainer):
    edit(trainer, app, "adv-one-q1", scenario="Dana is refused a flat after mentioning a past hospital stay.")
    assert len(versions_of(app, "adv-one-q2")) == 1  # each question keeps its own copy

    edit(
        trainer,
        app,
        "adv-one-q1",
        scenario="Dana is refused a flat after mentioning a hospital stay.",
        apply_to_scenario="y",
        change_note="Shorter scenario",
    )

    sibling = versions_of(app, "adv-one-q2")
    assert [v["number"] for v in sibling] == [1, 2]
    assert sibling[1]["content"]["scenario"] == "Dana is refused a flat after mentioning a hospital stay."
    assert sibling[1]["content"]["stem"] == sibling[0]["content"]["stem"]
    assert sibling[1]["status"] == "draft"
    assert sibling[1]["change_note"] == "Scenario updated from adv-one-q1: Shorter scenario"


# Statuses -------------------------------------------------------------------------------------------------------


def test_status_moves_along_the_lifecycle_and_back(app, db_ctx, mini_release):
    bank = banks.get_bank("mini")
    author = accounts.register_user("ed@example.org", "Ed", "correct-horse-battery")
    version = authoring.create_question(bank, mini_draft(), author, "New").version
    path = ["review", "draft", "review", "published", "retired", "draft"]

    for status in path:
        assert authoring.change_status(version, status).status == status


@pytest.mark.parametrize(("start", "target"), [("draft", "published"), ("draft", "retired"), ("published", "review")])
def test_status_jumps_are_refused(app, db_ctx, mini_release, start, target):
    bank = banks.get_bank("mini")
    author = accounts.register_user("ed@example.org", "Ed", "correct-horse-battery")
    version = authoring.create_question(bank, mini_draft(), author, "New").version
    for status in {"draft": [], "published": ["review", "published"]}[start]:
        authoring.change_status(version, status)

    with pytest.raises(ServiceError, match=f"A {start} version cannot become {target}"):
        authoring.change_status(version, target)
    assert version.status == start


def test_only_the_newest_version_changes_status(app, trainer):
    edit(trainer, app, "adv-one-q1", stem="Newer stem?")
    first = versions_of(app, "adv-one-q1")[0]

    response = post_form(
        trainer,
        f"/author/versions/{first['id']}/status",
        {"status": "retired"},
        token_from=HISTORY_URL.format("adv-one-q1"),
    )

    assert response.status_code == 302
    page = trainer.get(response.location).get_data(as_text=True)
    assert "Only the newest version (version 2) of a question can change status." in page
    assert versions_of(app, "adv-one-q1")[0]["status"] == "published"


def test_status_buttons_post_with_csrf_and_move_the_newest_version(app, trainer):
    edit(trainer, app, "adv-one-q1", stem="Newer stem?")
    newest = versions_of(app, "adv-one-q1")[-1]
    page = trainer.get(HISTORY_URL.format("adv-one-q1")).get_data(as_text=True)
    assert 'name="status" value="review"' in page and 'value="published"' not in page

    url = f"/author/versions/{newest['id']}/status"
    assert trainer.post(url, data={"status": "review"}).status_code == 400  # no CSRF token
    response = post_form(trainer, url, {"status": "review"}, token_from=HISTORY_URL.format("adv-one-q1"))

    assert response.status_code == 302
    assert versions_of(app, "adv-one-q1")[-1]["status"] == "review"
    assert "Version 2 is now review." in trainer.get(response.location).get_data(as_text=True)


# Releases -------------------------------------------------------------------------------------------------------


def start_practice(app, email: str, domain: str = "advocacy") -> int:
    with app.app_context():
        user = accounts.find_user(email)
        attempt = practice.start_practice(user, banks.latest_release("mini"), domain=domain, count=5, seed=7)
        db.session.commit()
        return attempt.id


def pinned_versions(app, attempt_id: int) -> dict[str, int]:
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        return {r.question_version.question.stable_id: r.question_version_id for r in attempt.responses}


def test_publishing_a_release_brings_the_new_version_to_practice(app, trainer, make_user, mini_release):
    make_user("lee@example.org")
    before = start_practice(app, "lee@example.org")
    old_version = versions_of(app, "adv-two-q1")[0]["id"]
    edit(trainer, app, "adv-two-q1", stem="Which response is most appropriate here?", change_note="Stem")
    publish_newest(app, "adv-two-q1")

    page = trainer.get("/author/banks/mini/release").get_data(as_text=True)
    assert 'value="1.1.0"' in page and "adv-two-q1" in page
    response = post_form(trainer, "/author/banks/mini/release", {"version": "1.1.0", "note": "Clearer stem"})

    assert response.status_code == 302 and response.location == "/author/banks/mini"
    assert release_versions(app) == ["1.0.0", "1.1.0"]
    with app.app_context():
        release = banks.latest_release("mini")
        assert release.counts == {"new": 0, "changed": 1, "unchanged": 4, "retired": 0}
        assert release.note == "Clearer stem"
        assert release.created_by_id == accounts.find_user("tara@acme.org").id
        assert release.manifest == {**db.session.get(BankRelease, mini_release).manifest, "version": "1.1.0"}
    new_version = versions_of(app, "adv-two-q1")[1]["id"]
    after = start_practice(app, "lee@example.org")
    assert pinned_versions(app, after)["adv-two-q1"] == new_version
    # The attempt started before the release keeps the version it was given.
    assert pinned_versions(app, before)["adv-two-q1"] == old_version


def test_an_attempt_keeps_showing_its_pinned_version_after_a_release(app, trainer, make_user):
    learner = client_for(app, make_user, "lee@example.org")
    attempt_id = start_practice(app, "lee@example.org")
    edit(trainer, app, "adv-two-q1", stem="Which response is most appropriate here?")
    publish_newest(app, "adv-two-q1")
    with app.app_context():
        authoring.publish_release(banks.get_bank("mini"), "1.1.0", "Clearer stem")
        db.session.commit()
        position = db.session.scalar(
            select(Response.position)
            .join(QuestionVersion)
            .join(Question)
            .where(Response.attempt_id == attempt_id, Question.stable_id == "adv-two-q1")
        )

    html = learner.get(f"/practice/{attempt_id}/q/{position}").get_data(as_text=True)
    assert "What is the most appropriate response?" in html
    assert "Which response is most appropriate here?" not in html


def test_drafts_and_retired_questions_stay_out_of_a_release(app, trainer):
    edit(trainer, app, "adv-one-q1", stem="Still a draft?")  # newest is a draft: v1 (published) stays in
    with app.app_context():
        question = banks.get_question(banks.get_bank("mini"), "eth-two-q1")
        authoring.change_status(question.latest, "retired")
        db.session.commit()

    post_form(trainer, "/author/banks/mini/release", {"version": "1.1.0", "note": "Retire eth-two"})

    with app.app_context():
        release = banks.latest_release("mini")
        assert release.version == "1.1.0"
        assert release.counts["retired"] == 1
        items = {v.question.stable_id: v.number for v in banks.release_versions(release)}
    assert items == {"adv-one-q1": 1, "adv-one-q2": 1, "adv-two-q1": 1, "eth-one-q1": 1}


def test_a_release_is_refused_when_nothing_changed(app, trainer):
    edit(trainer, app, "adv-one-q1", stem="Only a draft so far?")  # drafts do not count

    response = post_form(trainer, "/author/banks/mini/release", {"version": "1.1.0", "note": "Nothing"})

    assert response.status_code == 200
    assert "Nothing has changed since release 1.0.0" in response.get_data(as_text=True)
    assert release_versions(app) == ["1.0.0"]


@pytest.mark.parametrize(
    ("version", "message"),
    [("1.0.0", "must be greater than the latest release 1.0.0"), ("0.9.9", "must be greater"), ("v2", "major.minor")],
)
def test_a_release_needs_a_greater_semver(app, trainer, version, message):
    edit(trainer, app, "adv-one-q1", stem="Changed?")
    publish_newest(app, "adv-one-q1")

    response = post_form(trainer, "/author/banks/mini/release", {"version": version, "note": "Try"})

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert release_versions(app) == ["1.0.0"]


def test_a_release_needs_a_note(app, trainer):
    edit(trainer, app, "adv-one-q1", stem="Changed?")
    publish_newest(app, "adv-one-q1")

    response = post_form(trainer, "/author/banks/mini/release", {"version": "1.1.0", "note": " "})

    assert "Describe this release in a short note." in response.get_data(as_text=True)
    assert release_versions(app) == ["1.0.0"]


def test_reimporting_the_old_folder_after_a_web_release_asks_for_a_version_bump(app, trainer):
    edit(trainer, app, "adv-one-q1", stem="Changed on the web?")
    publish_newest(app, "adv-one-q1")
    post_form(trainer, "/author/banks/mini/release", {"version": "1.1.0", "note": "Web edit"})

    with app.app_context(), pytest.raises(ServiceError, match="bump the version in bank.yaml"):
        banks.import_bank(quizbank.load_bank(MINI_BANK))
    assert release_versions(app) == ["1.0.0", "1.1.0"]


def test_an_exported_web_release_reimports_as_a_no_op(app, trainer, tmp_path):
    edit(trainer, app, "adv-one-q1", scenario="Dana is refused a flat.", apply_to_scenario="y", change_note="Flat")
    for stable_id in ("adv-one-q1", "adv-one-q2"):
        publish_newest(app, stable_id)
    post_form(trainer, "/author/banks/mini/release", {"version": "1.1.0", "note": "Web edit"})

    with app.app_context():
        write_bank(banks.release_to_bank(banks.latest_release("mini")), tmp_path / "export")
        report = banks.import_bank(quizbank.load_bank(tmp_path / "export"))
        assert not report.created_release
        assert report.diff.counts() == {"new": 0, "changed": 0, "unchanged": 5, "retired": 0}


# Diff -----------------------------------------------------------------------------------------------------------


def test_word_diff_marks_changed_words_and_escapes_everything():
    old, new = authoring.word_diff("Call <b>the</b> landlord now", "Call <b>a</b> landlord now")
    assert str(old) == "Call &lt;b&gt;<del>the</del>&lt;/b&gt; landlord now"
    assert str(new) == "Call &lt;b&gt;<ins>a</ins>&lt;/b&gt; landlord now"


def test_history_lists_versions_and_diffs_newest_against_previous(app, trainer):
    edit(trainer, app, "adv-one-q1", stem="What is the <script>alert(1)</script> first action?", change_note="Test")

    html = trainer.get(HISTORY_URL.format("adv-one-q1")).get_data(as_text=True)

    assert "<script>" not in html
    assert "<del>best</del>" in html
    assert "<ins>&lt;script&gt;alert(1)&lt;/script&gt;</ins>" in html
    changed = re.findall(r'<tr class="changed">\s*<th scope="row">([^<]+)<', html)
    assert changed == ["Question"]
    assert "Tara" in html and "bank import" in html and "Test" in html
    for version in versions_of(app, "adv-one-q1"):
        assert version["hash"][:12] in html


def test_any_two_versions_can_be_compared(app, trainer):
    edit(trainer, app, "adv-two-q1", stem="Second?")
    edit(trainer, app, "adv-two-q1", stem="Third?", **{"options-0-rationale": "Leaves the stigma in place."})

    html = trainer.get(HISTORY_URL.format("adv-two-q1") + "?a=1&b=3").get_data(as_text=True)

    assert "Version 1 and version 3 side by side" in html
    changed = re.findall(r'<tr class="changed">\s*<th scope="row">([^<]+)<', html)
    assert changed == ["Question", "Option A rationale"]
    assert "Leaves<ins> the</ins> stigma in place." in html


# Preview --------------------------------------------------------------------------------------------------------


def test_preview_shows_the_trainee_question_without_the_key(app, trainer):
    version = versions_of(app, "adv-one-q1")[0]
    url = f"/author/versions/{version['id']}/preview"

    html = trainer.get(url).get_data(as_text=True)

    assert "Preview — answers are not saved" in html
    assert '<legend id="stem" class="stem">What is the best first action?</legend>' in html
    texts = [o["text"] for o in version["content"]["options"]]
    assert [html.index(t) for t in texts] == sorted(html.index(t) for t in texts)  # authored order
    assert re.findall(r'name="choice" id="choice-\d" value="(\d)"', html) == ["0", "1", "2"]
    assert "Best answer" not in html
    assert all(o["rationale"] not in html for o in version["content"]["options"])
    assert 'name="csrf_token"' not in html.split('class="question"')[1]  # the preview form posts nothing

    with_key = trainer.get(url + "?key=1").get_data(as_text=True)
    assert "Best answer" in with_key
    assert all(o["rationale"] in with_key for o in version["content"]["options"])

    answered = trainer.get(url + "?choice=1").get_data(as_text=True)
    assert "Not the best answer." in answered and "Your answer" in answered


def test_the_preview_uses_the_same_markup_as_the_practice_page(app, trainer, make_user):
    learner = client_for(app, make_user, "lee@example.org")
    attempt_id = start_practice(app, "lee@example.org", domain="ethics")
    practice_html = learner.get(f"/practice/{attempt_id}/q/1").get_data(as_text=True)
    with app.app_context():
        response = db.session.scalar(select(Response).where(Response.attempt_id == attempt_id, Response.position == 1))
        version_id = response.question_version_id
    preview_html = trainer.get(f"/author/versions/{version_id}/preview").get_data(as_text=True)

    def question_markup(html: str) -> str:
        body = html[html.index('<article class="question"') : html.index("</article>")]
        body = re.sub(r"<input[^>]*csrf_token[^>]*>|<input[^>]*hidden[^>]*>", "", body)
        return re.sub(r'method="\w+"|<label for="choice-\d">[^<]*</label>|\s+', "", body)

    assert question_markup(practice_html) == question_markup(preview_html)


# Who may edit ---------------------------------------------------------------------------------------------------


def test_a_trainer_of_the_owning_organization_can_edit(app, trainer):
    assert trainer.get("/author/").status_code == 200
    assert "Mini test bank" in trainer.get("/author/").get_data(as_text=True)
    assert trainer.get(EDIT_URL.format("adv-one-q1")).status_code == 200
    assert edit(trainer, app, "adv-one-q1", stem="Edited?").status_code == 302


def test_a_trainer_of_another_organization_gets_404(app, make_user, mini_release):
    give_bank_to(app, "acme")
    other = client_for(app, make_user, "gil@globex.org", role="trainer", org="globex")
    version_id = versions_of(app, "adv-one-q1")[0]["id"]
    token = get_token(other, "/author/")

    assert "Mini test bank" not in other.get("/author/").get_data(as_text=True)
    for url in (
        "/author/banks/mini",
        HISTORY_URL.format("adv-one-q1"),
        EDIT_URL.format("adv-one-q1"),
        "/author/banks/mini/new-question",
        "/author/banks/mini/release",
        f"/author/versions/{version_id}/preview",
    ):
        assert other.get(url).status_code == 404, url
    content = versions_of(app, "adv-one-q1")[0]["content"]
    posted = other.post(EDIT_URL.format("adv-one-q1"), data={**form_data(content, stem="Hijack?"), "csrf_token": token})
    status = other.post(f"/author/versions/{version_id}/status", data={"status": "retired", "csrf_token": token})
    assert posted.status_code == status.status_code == 404
    assert len(versions_of(app, "adv-one-q1")) == 1 and versions_of(app, "adv-one-q1")[0]["status"] == "published"


def test_a_trainee_gets_403(app, make_user, mini_release):
    give_bank_to(app, "acme")
    trainee = client_for(app, make_user, "lee@acme.org", role="learner", org="acme")
    assert trainee.get("/author/banks/mini").status_code == 403
    assert trainee.get(EDIT_URL.format("adv-one-q1")).status_code == 403


def test_an_unowned_bank_is_edited_only_by_site_admins(app, make_user, mini_release):
    trainer = client_for(app, make_user, "tara@acme.org", role="trainer", org="acme")
    admin = client_for(app, make_user, "root@example.org", admin=True)

    assert trainer.get(EDIT_URL.format("adv-one-q1")).status_code == 404
    assert admin.get("/author/banks/mini").status_code == 200
    assert edit(admin, app, "adv-one-q1", stem="Edited by the admin?").status_code == 302
    assert versions_of(app, "adv-one-q1")[-1]["created_by_id"] == user_id(app, "root@example.org")


def test_can_edit_rules(app, db_ctx, mini_release):
    bank = banks.get_bank("mini")
    acme = accounts.get_or_create_organization("Acme", "acme")
    trainer = accounts.register_user("t@example.org", "T", "correct-horse-battery")
    accounts.add_membership(trainer, acme, "trainer")
    learner = accounts.register_user("l@example.org", "L", "correct-horse-battery")
    accounts.add_membership(learner, acme, "learner")
    admin = accounts.register_user("a@example.org", "A", "correct-horse-battery", is_admin=True)
    db.session.flush()

    assert [authoring.can_edit(u, bank) for u in (trainer, learner, admin)] == [False, False, True]
    bank.organization_id = acme.id
    assert [authoring.can_edit(u, bank) for u in (trainer, learner, admin)] == [True, False, True]
    assert authoring.editable_banks(trainer) == [bank] == authoring.editable_banks(admin)
    assert db.session.scalar(select(func.count()).select_from(Bank)) == 1
