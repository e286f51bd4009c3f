"""The trainee loop over HTTP: choose -> practise with feedback -> summary -> dashboard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import quizbank
from app.extensions import db
from app.models import Attempt, QuestionVersion, Response
from app.services import banks
from tests.conftest import csrf_token, get_token, login

TRAINEE = "sam@example.org"


@pytest.fixture
def trainee(client, make_user, mini_release):
    make_user(TRAINEE)
    login(client, TRAINEE)
    return client


def start(client, domain: str = "", tag: str = "", count: int = 5) -> str:
    token = get_token(client, "/practice/")
    response = client.post("/practice/", data={"domain": domain, "tag": tag, "count": str(count), "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def attempt_id(url: str) -> int:
    return int(re.search(r"/practice/(\d+)/", url).group(1))


def responses(app, aid: int) -> list[Response]:
    with app.app_context():
        rows = db.session.scalars(select(Response).where(Response.attempt_id == aid).order_by(Response.position))
        result = list(rows)
        for r in result:
            db.session.expunge(r)
        return result


def version_content(app, version_id: int) -> dict:
    with app.app_context():
        return db.session.get(QuestionVersion, version_id).content


def shown_position_of_key(app, response: Response) -> int:
    content = version_content(app, response.question_version_id)
    key = next(i for i, o in enumerate(content["options"]) if o["correct"])
    return response.option_order.index(key)


def answer(client, url: str, shown: int):
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"choice": str(shown), "csrf_token": csrf_token(page)})


def test_start_page_offers_domains_topics_and_sizes(trainee):
    html = trainee.get("/practice/").get_data(as_text=True)
    assert '<label for="domain">Domain</label>' in html
    assert '<option value="ethics">Ethical Responsibility</option>' in html
    assert '<option value="stigma">Stigma</option>' in html
    assert '<option value="20">20</option>' in html


def test_domain_practice_draws_only_that_domain_and_pins_versions(app, trainee):
    url = start(trainee, domain="ethics")
    rows = responses(app, attempt_id(url))
    assert len(rows) == 2  # the mini bank has two ethics questions
    for row in rows:
        assert version_content(app, row.question_version_id)["domain"] == "ethics"
        assert sorted(row.option_order) == list(range(len(version_content(app, row.question_version_id)["options"])))
        assert row.chosen_option is None


def test_topic_practice_filters_by_tag(app, trainee):
    url = start(trainee, tag="stigma")
    rows = responses(app, attempt_id(url))
    assert {version_content(app, r.question_version_id)["scenario_id"] for r in rows} == {"adv-one", "adv-two"}


def test_unknown_domain_is_a_form_error_not_a_crash(trainee):
    token = get_token(trainee, "/practice/")
    response = trainee.post("/practice/", data={"domain": "astrology", "count": "5", "csrf_token": token})
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_question_page_never_contains_the_key_or_rationales_before_answering(app, trainee):
    url = start(trainee)
    html = trainee.get(url).get_data(as_text=True)
    row = responses(app, attempt_id(url))[0]
    content = version_content(app, row.question_version_id)
    assert content["stem"] in html
    for option in content["options"]:
        assert option["text"] in html
        assert option["rationale"] not in html
    assert "Best answer" not in html and "correct" not in html.lower()
    # values are positions in the shown order, never the stored option index of the key
    assert re.findall(r'name="choice" id="choice-\d" value="(\d)"', html) == [
        str(i) for i in range(len(content["options"]))
    ]


def test_options_are_shown_in_the_stored_order(app, trainee):
    url = start(trainee)
    html = trainee.get(url).get_data(as_text=True)
    row = responses(app, attempt_id(url))[0]
    options = version_content(app, row.question_version_id)["options"]
    positions = [html.index(options[i]["text"]) for i in row.option_order]
    assert positions == sorted(positions)


def test_answering_shows_result_and_every_rationale(app, trainee):
    url = start(trainee)
    row = responses(app, attempt_id(url))[0]
    response = answer(trainee, url, shown_position_of_key(app, row))
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    html = trainee.get(url).get_data(as_text=True)
    assert "Correct." in html
    for option in version_content(app, row.question_version_id)["options"]:
        assert option["rationale"] in html
    saved = responses(app, attempt_id(url))[0]
    assert saved.correct is True and saved.answered_at is not None


def test_wrong_answer_is_saved_with_the_original_option_index(app, trainee):
    url = start(trainee)
    row = responses(app, attempt_id(url))[0]
    wrong_shown = (shown_position_of_key(app, row) + 1) % len(row.option_order)
    answer(trainee, url, wrong_shown)
    saved = responses(app, attempt_id(url))[0]
    assert saved.correct is False
    assert saved.chosen_option == row.option_order[wrong_shown]
    assert "Not the best answer." in trainee.get(url).get_data(as_text=True)


def test_repeated_submit_never_double_counts_or_changes_the_answer(app, trainee):
    url = start(trainee)
    row = responses(app, attempt_id(url))[0]
    key = shown_position_of_key(app, row)
    page = trainee.get(url).get_data(as_text=True)
    token = csrf_token(page)
    first = trainee.post(url, data={"choice": str(key), "csrf_token": token})
    second = trainee.post(url, data={"choice": str((key + 1) % len(row.option_order)), "csrf_token": token})
    assert first.status_code == second.status_code == 302
    saved = responses(app, attempt_id(url))[0]
    assert saved.correct is True and saved.chosen_option == row.option_order[key]
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(Response).where(Response.attempt_id == saved.attempt_id))
            == 5
        )
    follow = trainee.get(url).get_data(as_text=True)
    assert "first answer is the one that counts" in follow


def test_stale_submit_after_finishing_is_refused(app, trainee):
    url = start(trainee)
    aid = attempt_id(url)
    second_url = url.replace("/q/1", "/q/2")
    stale_page = trainee.get(second_url).get_data(as_text=True)
    finish_token = get_token(trainee, f"/practice/{aid}/summary")
    trainee.post(f"/practice/{aid}/finish", data={"csrf_token": finish_token})
    response = trainee.post(
        second_url, data={"choice": "0", "csrf_token": csrf_token(stale_page)}, follow_redirects=True
    )
    assert "already finished" in response.get_data(as_text=True)
    assert responses(app, aid)[1].chosen_option is None


def test_out_of_range_choice_is_rejected(app, trainee):
    url = start(trainee)
    token = get_token(trainee, url)
    response = trainee.post(url, data={"choice": "7", "csrf_token": token})
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert responses(app, attempt_id(url))[0].chosen_option is None


def test_full_loop_summary_and_dashboard(app, trainee):
    url = start(trainee, count=5)
    aid = attempt_id(url)
    rows = responses(app, aid)
    for row in rows:
        key = shown_position_of_key(app, row)
        # answer the ethics questions right and the advocacy ones wrong
        ethics = version_content(app, row.question_version_id)["domain"] == "ethics"
        answer(trainee, f"/practice/{aid}/q/{row.position}", key if ethics else (key + 1) % len(row.option_order))
    with app.app_context():
        assert db.session.get(Attempt, aid).submitted_at is not None  # the last answer finishes it
    summary = trainee.get(f"/practice/{aid}/summary").get_data(as_text=True)
    assert "<strong>2</strong> of 5 answered correctly" in summary
    assert "Ethical Responsibility" in summary and "(2 of 2)" in summary and "(0 of 3)" in summary
    dashboard = trainee.get("/").get_data(as_text=True)
    dashboard = dashboard[dashboard.index('id="progress-heading"') :]
    ethics_row = re.search(r"<th scope=\"row\">Ethical Responsibility</th>(.*?)</tr>", dashboard, re.S).group(1)
    assert re.findall(r"<td>(.*?)</td>", ethics_row) == ["2", "2", "100%", "2 of 2 (100%)"]
    advocacy_row = re.search(r"<th scope=\"row\">Advocacy</th>(.*?)</tr>", dashboard, re.S).group(1)
    assert re.findall(r"<td>(.*?)</td>", advocacy_row) == ["3", "0", "0%", "3 of 3 (100%)"]


def test_resume_goes_to_the_first_unanswered_question(app, trainee):
    url = start(trainee)
    aid = attempt_id(url)
    answer(trainee, url, 0)
    assert trainee.get(f"/practice/{aid}").headers["Location"].endswith(f"/practice/{aid}/q/2")


def test_next_practice_prefers_unseen_questions(app, trainee):
    first = start(trainee, domain="advocacy", count=5)
    aid = attempt_id(first)
    seen_question = responses(app, aid)[0]
    answer(trainee, first, 0)
    second = start(trainee, domain="advocacy", count=5)
    order = [r.question_id for r in responses(app, attempt_id(second))]
    assert order.index(seen_question.question_id) == len(order) - 1 or len(order) == 3
    # with three advocacy questions and one seen, the seen one is drawn only to fill the set
    assert set(order) == {r.question_id for r in responses(app, aid)}


def test_attempt_keeps_its_version_after_a_new_release(app, trainee, bank_copy):
    url = start(trainee, domain="ethics")
    aid = attempt_id(url)
    pinned = {r.position: r.question_version_id for r in responses(app, aid)}
    scenario = bank_copy / "scenarios" / "eth-one.yaml"
    scenario.write_text(scenario.read_text().replace("Accept it quietly.", "Accept it without telling anyone."))
    manifest = bank_copy / "bank.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    with app.app_context():
        report = banks.import_bank(quizbank.load_bank(bank_copy))
        db.session.commit()
        assert report.diff.changed == ["eth-one-q1"]
    assert {r.position: r.question_version_id for r in responses(app, aid)} == pinned
    html = trainee.get(url).get_data(as_text=True)
    content = version_content(app, pinned[1])
    assert content["stem"] in html
    assert ("Accept it quietly." in html) == ("Accept it quietly." in [o["text"] for o in content["options"]])


def test_practice_without_a_bank_is_a_clear_404(client, make_user):
    make_user(TRAINEE)
    login(client, TRAINEE)
    response = client.get("/practice/")
    assert response.status_code == 404
    assert "No question bank has been imported yet." in response.get_data(as_text=True)


def test_missed_scenarios_come_back_for_review_when_due(app, trainee):
    import time_machine

    from app.models.base import utcnow

    with time_machine.travel(utcnow(), tick=False) as traveller:
        url = start(trainee, domain="ethics")
        aid = attempt_id(url)
        rows = responses(app, aid)
        for row in rows:  # miss every question
            wrong = (shown_position_of_key(app, row) + 1) % len(row.option_order)
            answer(trainee, f"/practice/{aid}/q/{row.position}", wrong)
        assert "Nothing is due" in trainee.get("/").get_data(as_text=True)
        traveller.shift(timedelta(days=1, minutes=1))
        login(trainee, TRAINEE)  # sessions last 8 hours: the learner comes back the next day
        dashboard = trainee.get("/").get_data(as_text=True)
        assert "<strong>2</strong> scenarios you missed before are due for review." in dashboard
        token = csrf_token(dashboard)
        review = trainee.post("/practice/review", data={"csrf_token": token})
        assert review.status_code == 302
        review_rows = responses(app, attempt_id(review.headers["Location"]))
        families = {version_content(app, r.question_version_id)["scenario_id"] for r in review_rows}
        assert families == {"eth-one", "eth-two"}
        with app.app_context():
            assert db.session.get(Attempt, attempt_id(review.headers["Location"])).mode == "review"


def test_content_note_comes_before_the_scenario_and_standalone_items_show_no_scenario(app, trainee, bank_copy):
    """Bank 2.0 item shapes: a noted scenario and a stand-alone knowledge item, in practice and after a retire."""
    noted = bank_copy / "scenarios" / "eth-one.yaml"
    noted.write_text(noted.read_text().replace("domain: ethics\n", "domain: ethics\ncontent_note: violence\n"))
    (bank_copy / "scenarios" / "eth-know.yaml").write_text(
        "id: eth-know\ndomain: ethics\ntags: [boundaries]\nquestions:\n"
        "  - id: eth-know-q1\n    stem: Which statement about gifts is accurate?\n    difficulty: easy\n    options:\n"
        "      - text: Follow the written policy.\n        correct: true\n        rationale: Policy guides gifts.\n"
        "      - text: Accept any gift.\n        rationale: Ignores policy.\n"
        "      - text: Refuse with a lecture.\n        rationale: Shames the person.\n",
        encoding="utf-8",
    )
    manifest = bank_copy / "bank.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 2.0.0"))
    if "boundaries:" not in manifest.read_text():
        manifest.write_text(manifest.read_text().replace("tags:\n", "tags:\n  boundaries: Boundaries\n", 1))
    with app.app_context():
        banks.import_bank(quizbank.load_bank(bank_copy))
        db.session.commit()
    url = start(trainee, domain="ethics", count=10)
    aid = attempt_id(url)
    pages = {}
    for row in responses(app, aid):
        stable_id = version_content(app, row.question_version_id)["scenario_id"]
        pages[stable_id] = trainee.get(url.rsplit("/", 1)[0] + f"/{row.position}").get_data(as_text=True)
    noted_page = pages["eth-one"]
    assert noted_page.index("Content note:") < noted_page.index('class="scenario"')
    assert "this item mentions violence" in noted_page
    standalone_page = pages["eth-know"]
    assert 'class="scenario"' not in standalone_page and "Content note" not in standalone_page
    assert "Which statement about gifts is accurate?" in standalone_page


def test_adaptive_practice_serves_the_items_nearest_the_learners_ability(app, trainee):
    """After all-right answers the ability estimate is high: among the unseen advocacy questions the hard one
    (difficulty nearest the ability) comes first, then medium, then easy; seen questions come last."""
    assert "Matched to my level" in trainee.get("/practice/").get_data(as_text=True)
    first = start(trainee, domain="ethics")
    aid = attempt_id(first)
    for row in responses(app, aid):
        answer(trainee, first.rsplit("/", 1)[0] + f"/{row.position}", shown_position_of_key(app, row))
    token = get_token(trainee, "/practice/")
    response = trainee.post(
        "/practice/", data={"domain": "", "tag": "", "count": "5", "order": "adaptive", "csrf_token": token}
    )
    assert response.status_code == 302
    with app.app_context():
        served = [
            db.session.get(QuestionVersion, r.question_version_id)
            for r in responses(app, attempt_id(response.headers["Location"]))
        ]
        shown = [(v.domain, v.difficulty) for v in served]
    assert shown == [
        ("advocacy", "hard"),
        ("advocacy", "medium"),
        ("advocacy", "easy"),
        ("ethics", "hard"),
        ("ethics", "medium"),
    ]
