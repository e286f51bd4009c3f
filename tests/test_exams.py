"""Mock exams: blueprint forms, reproducibility, server-side deadlines, auto-submit, exactly-once submit."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

import quizbank
from app.extensions import db
from app.models import Attempt, BankRelease, ReadinessSnapshot, Response, User
from app.models.base import utcnow
from app.services import accounts, banks, exams, progress
from tests.conftest import csrf_token, get_token, login

TRAINEE = "exam-taker@example.org"


def release_and_track(mini_release):
    release = db.session.get(BankRelease, mini_release)
    return release, banks.get_track(release, "basic")


def new_user(email: str) -> User:
    user = accounts.register_user(email, email.split("@")[0], "long-enough-password")
    db.session.flush()
    return user


def form_signature(attempt: Attempt) -> list[tuple[str, list[int]]]:
    return [(r.question_version.question.stable_id, r.option_order) for r in attempt.responses]


# --- service level -------------------------------------------------------------------------------------


def test_allocate_uses_largest_remainders_and_respects_availability():
    weights = {"advocacy": 0.25, "ethics": 0.30, "mentoring": 0.20, "recovery": 0.25}
    assert exams.allocate(40, weights) == {"advocacy": 10, "ethics": 12, "mentoring": 8, "recovery": 10}
    assert exams.allocate(7, {"a": 0.5, "b": 0.5}) == {"a": 4, "b": 3}
    assert exams.allocate(4, {"a": 0.5, "b": 0.5}, {"a": 1, "b": 9}) == {"a": 1, "b": 3}


def test_form_follows_the_blueprint(db_ctx, mini_release):
    release, track = release_and_track(mini_release)
    attempt = exams.start_exam(new_user("a@example.org"), release, track, seed=7)
    domains = [r.question_version.domain for r in attempt.responses]
    assert sorted(domains) == ["advocacy", "advocacy", "ethics", "ethics"]
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=10)


def test_same_seed_gives_the_same_form_and_option_orders(db_ctx, mini_release):
    release, track = release_and_track(mini_release)
    first = exams.start_exam(new_user("a@example.org"), release, track, seed=42)
    second = exams.start_exam(new_user("b@example.org"), release, track, seed=42)
    assert form_signature(first) == form_signature(second)
    others = [form_signature(exams.start_exam(new_user(f"c{s}@example.org"), release, track, seed=s)) for s in range(8)]
    assert any(o != form_signature(first) for o in others)


def test_unseen_items_are_preferred(db_ctx, mini_release):
    release, track = release_and_track(mini_release)
    user = new_user("a@example.org")
    first = exams.start_exam(user, release, track, seed=1)
    for r in first.responses:
        exams.save_answer(first, r.position, 0)
    exams.submit(first)
    seen_advocacy = {r.question_id for r in first.responses if r.question_version.domain == "advocacy"}
    second = exams.start_exam(user, release, track, seed=2)
    advocacy = {r.question_id for r in second.responses if r.question_version.domain == "advocacy"}
    assert len(advocacy - seen_advocacy) == 1  # the one advocacy question not seen in the first exam


def test_starting_again_resumes_the_open_exam(db_ctx, mini_release):
    release, track = release_and_track(mini_release)
    user = new_user("a@example.org")
    first = exams.start_exam(user, release, track)
    assert exams.start_exam(user, release, track).id == first.id


def test_late_answer_is_refused_and_the_exam_submitted_at_its_deadline(db_ctx, mini_release):
    release, track = release_and_track(mini_release)
    start = utcnow()
    attempt = exams.start_exam(new_user("a@example.org"), release, track, now=start)
    assert exams.save_answer(attempt, 1, 0, now=start + timedelta(minutes=9)) == "saved"
    assert exams.save_answer(attempt, 2, 0, now=start + timedelta(minutes=10)) == "expired"
    assert attempt.submitted_at == attempt.deadline_at
    assert [r.is_answered for r in attempt.responses] == [True, False, False, False]
    assert attempt.score == (1 if attempt.responses[0].correct else 0) / 4
    assert exams.save_answer(attempt, 3, 0, now=start + timedelta(minutes=11)) == "submitted"


def test_score_and_pass_against_the_cut(db_ctx, mini_release):
    release, track = release_and_track(mini_release)
    attempt = exams.start_exam(new_user("a@example.org"), release, track)
    for r in attempt.responses[:3]:
        exams.save_answer(attempt, r.position, r.option_order.index(r.question_version.correct_index))
    assert exams.submit(attempt) is True
    assert attempt.score == 0.75 and attempt.passed is True  # cut score 0.75
    assert exams.submit(attempt) is False
    scores = {d.domain: (d.correct, d.total) for d in exams.domain_scores(attempt)}
    assert sum(c for c, _ in scores.values()) == 3 and sum(t for _, t in scores.values()) == 4


def test_submit_feeds_review_cards_and_readiness_history(db_ctx, mini_release):
    release, track = release_and_track(mini_release)
    user = new_user("a@example.org")
    attempt = exams.start_exam(user, release, track)
    wrong = attempt.responses[0]
    exams.save_answer(attempt, wrong.position, wrong.option_order.index((wrong.question_version.correct_index + 1) % 3))
    exams.submit(attempt)
    snapshots = db.session.scalars(select(ReadinessSnapshot).where(ReadinessSnapshot.attempt_id == attempt.id)).all()
    assert len(snapshots) == 1
    from app.services import scheduler

    assert scheduler.due_count(user.id, release.bank_id, utcnow() + timedelta(days=2)) == 1


def test_expire_due_submits_only_overdue_exams(db_ctx, mini_release):
    release, track = release_and_track(mini_release)
    start = utcnow()
    overdue = exams.start_exam(new_user("a@example.org"), release, track, now=start - timedelta(minutes=30))
    running = exams.start_exam(new_user("b@example.org"), release, track, now=start)
    assert exams.expire_due(now=start) == 1
    assert overdue.submitted_at == overdue.deadline_at and running.submitted_at is None


# --- over HTTP -----------------------------------------------------------------------------------------


@pytest.fixture
def taker(client, make_user, mini_release):
    make_user(TRAINEE)
    login(client, TRAINEE)
    return client


def start_http(client) -> int:
    token = get_token(client, "/exams/")
    response = client.post("/exams/start", data={"csrf_token": token})
    assert response.status_code == 302
    return int(re.search(r"/exams/(\d+)", response.headers["Location"]).group(1))


def exam_responses(app, aid: int) -> list[Response]:
    with app.app_context():
        rows = list(db.session.scalars(select(Response).where(Response.attempt_id == aid).order_by(Response.position)))
        for row in rows:
            db.session.expunge(row)
        return rows


def attempt_row(app, aid: int) -> Attempt:
    with app.app_context():
        attempt = db.session.get(Attempt, aid)
        db.session.expunge(attempt)
        return attempt


def save(client, aid: int, position: int, choice: int | None, go: str = "next"):
    url = f"/exams/{aid}/q/{position}"
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "go": go}
    if choice is not None:
        data["choice"] = str(choice)
    return client.post(url, data=data)


def test_exam_page_shows_no_feedback_and_a_server_clock(app, taker):
    aid = start_http(taker)
    html = taker.get(f"/exams/{aid}/q/1").get_data(as_text=True)
    assert "Time left:" in html and "Save and next" in html
    assert "rationale" not in html.lower() and "Best answer" not in html
    response = save(taker, aid, 1, 0)
    assert response.headers["Location"].endswith(f"/exams/{aid}/q/2")
    assert "Best answer" not in taker.get(f"/exams/{aid}/q/1").get_data(as_text=True)
    assert taker.get(f"/exams/{aid}/review").status_code == 302  # no review before submit


def test_answers_can_be_changed_and_are_shown_checked_on_return(app, taker):
    aid = start_http(taker)
    save(taker, aid, 1, 0)
    save(taker, aid, 1, 2)
    rows = exam_responses(app, aid)
    assert rows[0].chosen_option == rows[0].option_order[2]
    assert 'id="choice-2" value="2" checked' in taker.get(f"/exams/{aid}/q/1").get_data(as_text=True)


def test_resume_after_closing_the_browser(app, client, make_user, mini_release):
    make_user(TRAINEE)
    login(client, TRAINEE)
    aid = start_http(client)
    save(client, aid, 1, 0)
    fresh = app.test_client()  # a new browser: log in again and carry on
    login(fresh, TRAINEE)
    assert fresh.get(f"/exams/{aid}").headers["Location"].endswith(f"/exams/{aid}/q/2")
    token = get_token(fresh, "/exams/")
    again = fresh.post("/exams/start", data={"csrf_token": token})
    assert again.headers["Location"].endswith(f"/exams/{aid}")


def test_submit_then_review_shows_scores_and_every_rationale(app, taker):
    aid = start_http(taker)
    for position in range(1, 5):
        save(taker, aid, position, 0)
    token = get_token(taker, f"/exams/{aid}/submit")
    assert taker.post(f"/exams/{aid}/submit", data={"csrf_token": token}).headers["Location"].endswith("/review")
    html = taker.get(f"/exams/{aid}/review").get_data(as_text=True)
    attempt = attempt_row(app, aid)
    assert ("Passed" in html) == attempt.passed
    assert "By domain" in html and "Ethical Responsibility" in html
    with app.app_context():
        for row in exam_responses(app, aid):
            for option in db.session.get(Response, row.id).question_version.options:
                assert option["rationale"] in html


def test_time_travel_past_the_deadline_auto_submits_with_saved_answers(app, taker):
    with time_machine.travel(utcnow(), tick=False) as traveller:
        aid = start_http(taker)
        save(taker, aid, 1, 0)
        page = taker.get(f"/exams/{aid}/q/2").get_data(as_text=True)
        traveller.shift(timedelta(minutes=10, seconds=1))
        late = taker.post(f"/exams/{aid}/q/2", data={"csrf_token": csrf_token(page), "choice": "0", "go": "next"})
        assert late.headers["Location"].endswith(f"/exams/{aid}/review")
        assert "Time is up" in taker.get(late.headers["Location"]).get_data(as_text=True)
    attempt = attempt_row(app, aid)
    assert attempt.submitted_at == attempt.deadline_at
    assert [r.is_answered for r in exam_responses(app, aid)] == [True, False, False, False]


def test_an_expired_exam_is_submitted_when_next_seen(app, taker):
    with time_machine.travel(utcnow(), tick=False) as traveller:
        aid = start_http(taker)
        traveller.shift(timedelta(hours=1))
        assert taker.get(f"/exams/{aid}").headers["Location"].endswith("/review")
    assert attempt_row(app, aid).submitted_at is not None


def test_cli_expire_sweeps_overdue_exams(app, taker):
    with time_machine.travel(utcnow(), tick=False) as traveller:
        aid = start_http(taker)
        traveller.shift(timedelta(minutes=11))
        result = app.test_cli_runner().invoke(args=["exams", "expire"])
    assert result.exit_code == 0 and "1 exam(s) submitted" in result.output
    assert attempt_row(app, aid).submitted_at is not None


def test_two_tabs_cannot_save_after_submit(app, taker):
    aid = start_http(taker)
    tab_two_page = taker.get(f"/exams/{aid}/q/3").get_data(as_text=True)
    token = get_token(taker, f"/exams/{aid}/submit")
    taker.post(f"/exams/{aid}/submit", data={"csrf_token": token})
    late = taker.post(f"/exams/{aid}/q/3", data={"csrf_token": csrf_token(tab_two_page), "choice": "1"})
    assert late.headers["Location"].endswith("/review")
    assert exam_responses(app, aid)[2].chosen_option is None


def test_concurrent_submits_submit_exactly_once(app, taker):
    aid = start_http(taker)
    save(taker, aid, 1, 0)
    token = get_token(taker, f"/exams/{aid}/submit")
    cookie = taker.get_cookie("session").value
    clients = []
    for _ in range(6):
        other = app.test_client()
        other.set_cookie("session", cookie)
        clients.append(other)
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def submit(c):
        barrier.wait()
        statuses.append(c.post(f"/exams/{aid}/submit", data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * len(clients)
    with app.app_context():
        snapshots = db.session.scalar(
            select(func.count()).select_from(ReadinessSnapshot).where(ReadinessSnapshot.attempt_id == aid)
        )
        assert snapshots == 1  # the submit side effects ran once
        assert db.session.get(Attempt, aid).submitted_at is not None


def test_concurrent_saves_and_submit_never_leave_an_answer_after_submission(app, taker):
    aid = start_http(taker)
    pages = {p: taker.get(f"/exams/{aid}/q/{p}").get_data(as_text=True) for p in range(1, 5)}
    submit_token = get_token(taker, f"/exams/{aid}/submit")
    cookie = taker.get_cookie("session").value
    barrier = threading.Barrier(5)

    def client():
        c = app.test_client()
        c.set_cookie("session", cookie)
        return c

    def saver(position):
        c = client()
        barrier.wait()
        c.post(f"/exams/{aid}/q/{position}", data={"csrf_token": csrf_token(pages[position]), "choice": "0"})

    def submitter():
        c = client()
        barrier.wait()
        c.post(f"/exams/{aid}/submit", data={"csrf_token": submit_token})

    threads = [threading.Thread(target=saver, args=(p,)) for p in range(1, 5)] + [threading.Thread(target=submitter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    attempt = attempt_row(app, aid)
    rows = exam_responses(app, aid)
    assert attempt.submitted_at is not None
    # whatever interleaving happened, no answer landed after scoring: the score matches what was saved
    assert attempt.score == sum(1 for r in rows if r.correct) / 4


# --- exam forms: the short form and a full-length form of the same track ------------------------------

FULL_FORM = "    - id: full\n      title: Full-length form\n      length: 5\n      time_limit_minutes: 20\n"


@pytest.fixture
def forms_release(app, bank_copy):
    """The mini bank with a second, longer form on its track, imported as release 1.0.0."""
    track_file = bank_copy / "tracks" / "basic.yaml"
    text = track_file.read_text(encoding="utf-8")
    track_file.write_text(text.replace("  cut_score: 0.75\n", "  cut_score: 0.75\n  forms:\n" + FULL_FORM), "utf-8")
    with app.app_context():
        report = banks.import_bank(quizbank.load_bank(bank_copy))
        db.session.commit()
        return report.release.id


def test_track_lists_the_short_form_first_then_its_other_forms(db_ctx, forms_release):
    _, track = release_and_track(forms_release)
    assert [(f["id"], f["length"], f["time_limit_minutes"]) for f in exams.exam_forms(track)] == [
        ("short", 4, 10),
        ("full", 5, 20),
    ]


def test_full_length_form_has_its_own_length_time_and_terms(db_ctx, forms_release):
    release, track = release_and_track(forms_release)
    attempt = exams.start_exam(new_user("a@example.org"), release, track, seed=3, form_id="full")
    assert len(attempt.responses) == 5 and attempt.exam_form == "full"
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=20)
    assert exams.exam_terms(attempt) == exams.ExamTerms(20, 0.75)
    assert attempt.title == "Basic track · Full-length form"
    short = exams.start_exam(new_user("b@example.org"), release, track, seed=3)
    assert len(short.responses) == 4 and short.exam_form is None
    assert exams.exam_terms(short) == exams.ExamTerms(10, 0.75)


def test_an_unknown_form_is_refused(db_ctx, forms_release):
    release, track = release_and_track(forms_release)
    with pytest.raises(exams.ServiceError, match="no such exam form"):
        exams.start_exam(new_user("a@example.org"), release, track, form_id="nope")


def test_exam_page_offers_every_form_and_starts_the_chosen_one(app, client, make_user, forms_release):
    make_user(TRAINEE)
    login(client, TRAINEE)
    page = client.get("/exams/").get_data(as_text=True)
    assert "Short form</strong>: 4 questions, 10 minutes" in page
    assert "Full-length form</strong>: 5 questions, 20 minutes" in page
    token = csrf_token(page)
    assert client.post("/exams/start/nope", data={"csrf_token": token}).status_code == 404
    response = client.post("/exams/start/full", data={"csrf_token": token})
    assert response.status_code == 302
    with app.app_context():
        attempt = db.session.scalar(select(Attempt).where(Attempt.mode == "exam"))
        assert attempt.exam_form == "full" and len(attempt.responses) == 5


def test_no_correctness_of_an_open_exam_leaks_into_export_dashboard_or_activity(app, taker):
    """Pick the right option in an open exam: nothing may reveal it was right until the exam is submitted."""
    aid = start_http(taker)
    first = exam_responses(app, aid)[0]
    with app.app_context():
        key = db.session.get(Response, first.id).question_version.correct_index
    save(taker, aid, 1, first.option_order.index(key))
    exported = taker.get("/account/export").get_json()
    answers = [
        r for a in exported["attempts"] if a["mode"] == "exam" for r in a["responses"] if r["chosen_option"] is not None
    ]
    assert len(answers) == 1 and answers[0]["correct"] is None
    with app.app_context():
        user = accounts.find_user(TRAINEE)
        assert sum(d.correct for d in progress.domain_progress(user, db.session.get(Attempt, aid).release)) == 0
        assert progress.learner_activity([user.id]).get(user.id, (0, 0, None))[1] == 0
    token = get_token(taker, f"/exams/{aid}/submit")
    taker.post(f"/exams/{aid}/submit", data={"csrf_token": token})
    exported = taker.get("/account/export").get_json()
    answers = [
        r for a in exported["attempts"] if a["mode"] == "exam" for r in a["responses"] if r["chosen_option"] is not None
    ]
    assert answers[0]["correct"] is True
    with app.app_context():
        user = accounts.find_user(TRAINEE)
        assert progress.learner_activity([user.id])[user.id][1] == 1
