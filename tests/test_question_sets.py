"""Question sets: fixed lists and rules, validation, assignment to organizations and cohorts, starting them."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

import quizbank
from app.extensions import db
from app.models import Attempt, Bank, BankRelease, Cohort, CohortMember, QuestionSet, Response
from app.models.base import utcnow
from app.services import ServiceError, accounts, banks, exams, practice
from app.services import question_sets as sets
from tests.conftest import csrf_token, get_token, login, post_form

TRAINER = "tia@acme.org"
LEARNER = "lee@acme.org"
OUTSIDER = "gus@globex.org"
ADVOCACY_IDS = {"adv-one-q1", "adv-one-q2", "adv-two-q1"}


# --- helpers ------------------------------------------------------------------------------------------


def acme_bank() -> Bank:
    """The mini bank, owned by the acme organization."""
    bank = banks.get_bank("mini")
    bank.organization_id = accounts.get_or_create_organization("Acme", "acme").id
    db.session.flush()
    return bank


def user(email: str, role: str | None = None, org: str = "acme"):
    found = accounts.find_user(email)
    if found is None:
        found = accounts.register_user(email, email.split("@")[0].title(), "long-enough-password")
        if role:
            accounts.add_membership(found, accounts.get_or_create_organization(org.title(), org), role)
        db.session.flush()
    return found


def rules_spec(count: int = 2, **changes) -> sets.SetSpec:
    fields = {"title": "Advocacy warm-up", "kind": "rules", "mode": "practice", "domain": "advocacy", "count": count}
    return sets.SetSpec(**{**fields, **changes})


def fixed_spec(*ids: str, **changes) -> sets.SetSpec:
    return sets.SetSpec(**{"title": "Boundaries", "kind": "fixed", "mode": "practice", "question_ids": ids, **changes})


def exam_spec(**changes) -> sets.SetSpec:
    ids = ("adv-one-q1", "adv-one-q2", "eth-one-q1", "eth-two-q1")
    exam = {"title": "Week 3 quiz", "mode": "exam", "time_limit_minutes": 20, "pass_mark": 0.5}
    return fixed_spec(*ids, **{**exam, **changes})


def problems(excinfo) -> dict[str, str]:
    return {p.field: str(p) for p in excinfo.value.problems}


def org_target(slug: str = "acme") -> sets.AssignmentTarget:
    return sets.AssignmentTarget(accounts.get_or_create_organization(slug.title(), slug))


def new_cohort(name: str, *members, org: str = "acme") -> Cohort:
    cohort = Cohort(organization=accounts.get_or_create_organization(org.title(), org), name=name)
    cohort.members = [CohortMember(user_id=member.id) for member in members]
    db.session.add(cohort)
    db.session.flush()
    return cohort


def shown_key(response: Response) -> int:
    """Where the correct option was shown."""
    return response.option_order.index(response.question_version.correct_index)


def answer_correctly(attempt: Attempt, how_many: int) -> None:
    """Answer every exam question, the first ``how_many`` with the key and the rest wrongly."""
    for response in attempt.responses:
        key = shown_key(response)
        wrong = next(i for i in range(len(response.option_order)) if i != key)
        exams.save_answer(attempt, response.position, key if response.position <= how_many else wrong)


@pytest.fixture
def bank(db_ctx, mini_release) -> Bank:
    return acme_bank()


@pytest.fixture
def trainer(bank):
    return user(TRAINER, "trainer")


# --- validation and rules -----------------------------------------------------------------------------


def test_create_rules_set_stores_the_rules(bank, trainer):
    question_set = sets.create_set(bank, trainer, rules_spec(count=3, tags=("stigma", "housing")))
    assert question_set.kind == "rules" and question_set.mode == "practice"
    assert question_set.rules == {"domain": "advocacy", "tags": ["stigma", "housing"], "difficulty": None, "count": 3}
    assert question_set.question_ids == []
    assert question_set.time_limit_minutes is None and question_set.pass_mark is None


def test_create_fixed_set_keeps_the_chosen_ids_in_order_without_duplicates(bank, trainer):
    question_set = sets.create_set(bank, trainer, fixed_spec("eth-two-q1", "adv-one-q1", "eth-two-q1"))
    assert question_set.kind == "fixed"
    assert question_set.question_ids == ["eth-two-q1", "adv-one-q1"]
    assert question_set.rules == {}
    assert question_set.created_by_id == trainer.id


def test_rules_count_matches_in_the_latest_release(bank):
    release = banks.latest_release("mini")
    assert sets.count_rule_matches(release, None) == 5
    assert sets.count_rule_matches(release, "advocacy") == 3
    assert sets.count_rule_matches(release, None, difficulty="hard") == 2
    assert sets.count_rule_matches(release, None, ("housing", "boundaries")) == 3  # any of the tags
    assert sets.count_rule_matches(release, "advocacy", ("boundaries",)) == 0
    matched = {v.question.stable_id for v in sets.rule_matches(release, {"domain": "advocacy", "tags": ["stigma"]})}
    assert matched == ADVOCACY_IDS


def test_a_rules_set_must_match_at_least_its_count(bank, trainer):
    with pytest.raises(sets.SetRejected) as excinfo:
        sets.create_set(bank, trainer, rules_spec(count=3, difficulty="hard"))
    message = problems(excinfo)["rule_count"]
    assert "Only 1 question in release 1.0.0 matches these rules" in message and "fewer than the 3" in message
    assert db.session.scalar(select(func.count()).select_from(QuestionSet)) == 0


def test_a_fixed_set_needs_a_question_from_the_latest_release(bank, trainer):
    with pytest.raises(sets.SetRejected) as excinfo:
        sets.create_set(bank, trainer, fixed_spec())
    assert problems(excinfo) == {"question_ids": "Choose at least one question for a fixed set."}
    with pytest.raises(sets.SetRejected) as excinfo:
        sets.create_set(bank, trainer, fixed_spec("adv-one-q1", "no-such-q9"))
    assert "no-such-q9" in problems(excinfo)["question_ids"]


def test_an_exam_set_needs_a_time_limit_and_a_pass_mark(bank, trainer):
    with pytest.raises(sets.SetRejected) as excinfo:
        sets.create_set(bank, trainer, exam_spec(title="  ", time_limit_minutes=None, pass_mark=None))
    assert problems(excinfo) == {
        "title": "Give the set a title.",
        "time_limit_minutes": "An exam set needs a time limit in minutes.",
        "pass_mark": "An exam set needs a pass mark.",
    }


@pytest.mark.parametrize(
    ("minutes", "mark", "bad"),
    [
        (0, 0.7, "time_limit_minutes"),
        (301, 0.7, "time_limit_minutes"),
        (30, 0.04, "pass_mark"),
        (30, 1.01, "pass_mark"),
    ],
)
def test_exam_limits_outside_their_ranges_are_refused(bank, trainer, minutes, mark, bad):
    with pytest.raises(sets.SetRejected) as excinfo:
        sets.create_set(bank, trainer, exam_spec(time_limit_minutes=minutes, pass_mark=mark))
    assert list(problems(excinfo)) == [bad]


@pytest.mark.parametrize(("minutes", "mark"), [(1, 0.05), (300, 1.0)])
def test_exam_limits_at_the_ends_of_their_ranges_are_accepted(bank, trainer, minutes, mark):
    question_set = sets.create_set(bank, trainer, exam_spec(time_limit_minutes=minutes, pass_mark=mark))
    assert (question_set.time_limit_minutes, question_set.pass_mark) == (minutes, mark)


def test_only_trainers_of_the_owning_organization_and_admins_author_a_banks_sets(bank):
    assert sets.can_author(user(TRAINER, "trainer"), bank)
    assert not sets.can_author(user("ann@acme.org", "learner"), bank)
    assert not sets.can_author(user("tom@globex.org", "trainer", org="globex"), bank)
    admin = accounts.register_user("root@example.org", "Root", "long-enough-password", is_admin=True)
    assert sets.can_author(admin, bank)
    assert sets.authorable_banks(user(TRAINER)) == [bank]
    assert sets.authorable_banks(user("tom@globex.org")) == []


def test_the_mode_cannot_change_once_a_learner_started_the_set(bank, trainer):
    question_set = sets.create_set(bank, trainer, rules_spec())
    sets.update_set(question_set, rules_spec(title="Renamed", count=3))
    assert (question_set.title, question_set.rules["count"]) == ("Renamed", 3)
    sets.assign_set(question_set, trainer, org_target())
    sets.start_set(user(LEARNER, "learner"), question_set)
    with pytest.raises(sets.SetRejected) as excinfo:
        sets.update_set(question_set, exam_spec())
    assert "mode cannot change" in problems(excinfo)["mode"]
    assert question_set.mode == "practice"


# --- assignments --------------------------------------------------------------------------------------


def test_a_set_assigned_to_an_organization_reaches_its_learners_only(bank, trainer):
    learner, outsider = user(LEARNER, "learner"), user(OUTSIDER, "learner", org="globex")
    question_set = sets.create_set(bank, trainer, rules_spec())
    sets.assign_set(question_set, trainer, org_target(), due_on=date(2099, 1, 31))

    [item] = sets.assigned_sets(learner)
    assert item.question_set == question_set and item.result is None
    assert item.due_at.date() == date(2099, 1, 31)
    assert sets.assigned_sets(outsider) == []
    assert sets.assigned_sets(trainer) == []  # "all learners" means members with the learner role
    assert sets.assigned_set(outsider, question_set.id) is None


def test_a_set_assigned_to_a_cohort_reaches_only_its_members(bank, trainer):
    inside, outside = user(LEARNER, "learner"), user("max@acme.org", "learner")
    question_set = sets.create_set(bank, trainer, rules_spec())
    cohort = new_cohort("Spring intake", inside)
    sets.assign_set(question_set, trainer, sets.AssignmentTarget(cohort.organization, cohort))

    assert [a.question_set for a in sets.assigned_sets(inside)] == [question_set]
    assert sets.assigned_sets(outside) == []
    assert [(r.organization_name, r.cohort_name) for r in sets.set_assignments(question_set)] == [
        ("Acme", "Spring intake")
    ]


def test_a_set_assigned_twice_shows_once_with_the_earliest_due_date(bank, trainer):
    learner = user(LEARNER, "learner")
    question_set = sets.create_set(bank, trainer, rules_spec())
    cohort = new_cohort("Evening", learner)
    sets.assign_set(question_set, trainer, org_target(), due_on=date(2099, 3, 1))
    sets.assign_set(question_set, trainer, sets.AssignmentTarget(cohort.organization, cohort), due_on=date(2099, 2, 1))
    [item] = sets.assigned_sets(learner)
    assert item.due_at.date() == date(2099, 2, 1)


def test_assignment_rules(bank, trainer):
    question_set = sets.create_set(bank, trainer, rules_spec())
    with pytest.raises(ServiceError, match="only to organizations where you are a trainer"):
        sets.assign_set(question_set, trainer, org_target("globex"))
    with pytest.raises(ServiceError, match="from today on"):
        sets.assign_set(question_set, trainer, org_target(), due_on=date(2030, 1, 1), today=date(2030, 1, 2))
    sets.assign_set(question_set, trainer, org_target())
    with pytest.raises(ServiceError, match="already assigned to all learners in acme"):
        sets.assign_set(question_set, trainer, org_target())
    other = new_cohort("Other org cohort", org="globex")
    with pytest.raises(ServiceError, match="another organization"):
        sets.assign_set(question_set, trainer, sets.AssignmentTarget(org_target().organization, other))


def test_assignment_targets_are_the_trainers_organizations_and_their_cohorts(bank, trainer):
    new_cohort("Spring", org="acme")
    new_cohort("Hidden", org="globex")
    assert [t.label for t in sets.assignment_targets(trainer)] == ["All learners in Acme", "Acme: cohort Spring"]


def test_removing_an_assignment_hides_the_set_but_keeps_results(bank, trainer):
    learner = user(LEARNER, "learner")
    question_set = sets.create_set(bank, trainer, rules_spec())
    assignment = sets.assign_set(question_set, trainer, org_target())
    sets.start_set(learner, question_set)
    sets.remove_assignment(assignment)
    assert sets.assigned_sets(learner) == []
    [row] = sets.learner_results(question_set)
    assert (row.name, row.assigned, row.result.attempts) == ("Lee", False, 1)


# --- starting sets ------------------------------------------------------------------------------------


def test_starting_a_rules_practice_set_draws_like_practice(bank, trainer):
    learner = user(LEARNER, "learner")
    question_set = sets.create_set(bank, trainer, rules_spec(count=2))
    sets.assign_set(question_set, trainer, org_target())

    started = sets.start_set(learner, question_set, seed=3)
    attempt = started.attempt
    assert (attempt.mode, attempt.question_set_id, attempt.deadline_at) == ("practice", question_set.id, None)
    first = {r.question_version.question.stable_id for r in attempt.responses}
    assert len(first) == 2 and first <= ADVOCACY_IDS
    assert practice.get_attempt(attempt.id, learner) is attempt

    for response in attempt.responses:
        practice.answer(attempt, response.position, 0)
    assert attempt.is_submitted
    second = sets.start_set(learner, question_set, seed=3).attempt
    assert {r.question_version.question.stable_id for r in second.responses} - first  # the unseen one comes first


def test_starting_again_resumes_the_open_attempt(bank, trainer):
    learner = user(LEARNER, "learner")
    question_set = sets.create_set(bank, trainer, rules_spec())
    first = sets.start_set(learner, question_set)
    again = sets.start_set(learner, question_set)
    assert again.resumed and again.attempt.id == first.attempt.id


def test_a_fixed_set_skips_questions_retired_from_the_bank_and_says_so(db_ctx, mini_release, bank_copy):
    bank = acme_bank()
    trainer = user(TRAINER, "trainer")
    question_set = sets.create_set(bank, trainer, fixed_spec("eth-two-q1", "adv-two-q1", "eth-one-q1"))
    (bank_copy / "scenarios" / "eth-two.yaml").unlink()
    manifest = bank_copy / "bank.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    release = banks.import_bank(quizbank.load_bank(bank_copy)).release
    assert sets.missing_from_release(release, question_set.question_ids) == ["eth-two-q1"]

    started = sets.start_set(user(LEARNER, "learner"), question_set)
    assert started.attempt.release_id == release.id
    assert [r.question_version.question.stable_id for r in started.attempt.responses] == ["adv-two-q1", "eth-one-q1"]
    assert started.skipped == ["eth-two-q1"]
    assert started.notes == ["1 question is no longer in the question bank and left out of this set."]


def test_an_exam_set_uses_its_own_deadline_and_pass_mark(bank, trainer):
    learner = user(LEARNER, "learner")
    question_set = sets.create_set(bank, trainer, exam_spec(time_limit_minutes=20, pass_mark=0.5))
    now = utcnow()
    attempt = sets.start_set(learner, question_set, now=now).attempt
    assert (attempt.mode, attempt.track) == ("exam", None)
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=20)
    assert [r.question_version.question.stable_id for r in attempt.responses] == list(question_set.question_ids)
    assert exams.exam_terms(attempt) == exams.ExamTerms(20, 0.5)

    answer_correctly(attempt, 2)  # 50%: passes the set's mark, would fail the track's 75%
    assert exams.submit(attempt)
    assert (attempt.score, attempt.passed) == (0.5, True)


def test_an_exam_set_below_its_pass_mark_fails(bank, trainer):
    question_set = sets.create_set(bank, trainer, exam_spec(pass_mark=0.8))
    attempt = sets.start_set(user(LEARNER, "learner"), question_set).attempt
    answer_correctly(attempt, 3)
    exams.submit(attempt)
    assert (attempt.score, attempt.passed) == (0.75, False)


def test_an_exam_set_closes_at_its_deadline(bank, trainer):
    learner = user(LEARNER, "learner")
    question_set = sets.create_set(bank, trainer, exam_spec(time_limit_minutes=5))
    started_at = utcnow()
    attempt = sets.start_set(learner, question_set, now=started_at).attempt
    assert exams.save_answer(attempt, 1, 0, now=started_at + timedelta(minutes=4)) == "saved"
    assert exams.save_answer(attempt, 2, 0, now=started_at + timedelta(minutes=5)) == "expired"
    assert attempt.submitted_at == started_at + timedelta(minutes=5)
    assert attempt.score is not None

    later = sets.start_set(learner, question_set, now=started_at + timedelta(minutes=6))
    assert not later.resumed and later.attempt.id != attempt.id


def test_an_expired_open_exam_is_submitted_before_a_new_one_starts(bank, trainer):
    learner = user(LEARNER, "learner")
    question_set = sets.create_set(bank, trainer, exam_spec(time_limit_minutes=5))
    started_at = utcnow()
    first = sets.start_set(learner, question_set, now=started_at).attempt
    second = sets.start_set(learner, question_set, now=started_at + timedelta(minutes=10)).attempt
    assert second.id != first.id
    assert first.submitted_at == first.deadline_at and first.passed is False


def test_archived_sets_cannot_be_started_or_assigned_and_leave_the_learners_list(bank, trainer):
    learner = user(LEARNER, "learner")
    question_set = sets.create_set(bank, trainer, rules_spec())
    sets.assign_set(question_set, trainer, org_target())
    assert sets.archive_set(question_set)
    assert not sets.archive_set(question_set)
    with pytest.raises(ServiceError, match="archived"):
        sets.start_set(learner, question_set)
    with pytest.raises(ServiceError, match="archived"):
        sets.assign_set(question_set, trainer, sets.AssignmentTarget(org_target().organization, new_cohort("Late")))
    assert sets.assigned_sets(learner) == []
    assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_learner_results_show_each_learners_latest_attempt(bank, trainer):
    lee, max_, ann = user(LEARNER, "learner"), user("max@acme.org", "learner"), user("ann@acme.org", "learner")
    question_set = sets.create_set(bank, trainer, rules_spec(count=2))
    sets.assign_set(question_set, trainer, org_target())
    first = sets.start_set(lee, question_set).attempt
    for response in first.responses:
        practice.answer(first, response.position, shown_key(response))
    latest = sets.start_set(lee, question_set).attempt
    practice.answer(latest, 1, shown_key(latest.responses[0]))
    sets.start_set(max_, question_set)

    rows = {row.email: row for row in sets.learner_results(question_set)}
    assert set(rows) == {LEARNER, "max@acme.org", "ann@acme.org"}
    assert rows["ann@acme.org"].result is None
    lee_result = rows[LEARNER].result
    assert (lee_result.attempt_id, lee_result.attempts, lee_result.finished) == (latest.id, 2, False)
    assert (lee_result.total, lee_result.answered, lee_result.correct) == (2, 1, 1)
    assert rows["max@acme.org"].result.answered == 0
    assert ann.id not in {a.user_id for a in db.session.scalars(select(Attempt))}


# --- HTTP ---------------------------------------------------------------------------------------------


@pytest.fixture
def acme(app, mini_release, make_user):
    """The mini bank owned by acme, a trainer and a learner there, and an outsider in globex."""
    make_user(TRAINER, role="trainer", org="acme")
    make_user(LEARNER, role="learner", org="acme")
    make_user(OUTSIDER, role="learner", org="globex")
    with app.app_context():
        acme_bank()
        db.session.commit()


def client_for(app, email: str):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def set_id_from(location: str) -> int:
    match = re.fullmatch(r"/author/sets/(\d+)", location)
    assert match, location
    return int(match.group(1))


def create_via_form(client, data: dict):
    defaults = {"title": "", "kind": "rules", "mode": "practice", "rule_domain": "", "rule_difficulty": ""}
    defaults["save"] = "Save"
    return post_form(client, "/author/sets/new/mini", {**defaults, **data})


def assign_via_form(client, set_id: int, target: str, due_on: str = ""):
    return post_form(
        client,
        f"/author/sets/{set_id}/assign",
        {"target": target, "due_on": due_on},
        token_from=f"/author/sets/{set_id}",
    )


def start_via_form(client, set_id: int):
    return post_form(client, f"/sets/{set_id}/start", token_from="/sets/")


def acme_id(app) -> int:
    with app.app_context():
        return accounts.get_or_create_organization("Acme", "acme").id


def test_trainer_builds_a_fixed_set_from_the_grouped_checkbox_list(app, acme):
    trainer = client_for(app, TRAINER)
    page = trainer.get("/author/sets/new/mini").get_data(as_text=True)
    assert "<legend>Advocacy (3)</legend>" in page and "<legend>Ethical Responsibility (2)</legend>" in page
    assert 'id="q-adv-one-q1" value="adv-one-q1"' in page

    data = {"title": "Boundaries", "kind": "fixed", "question_ids": ["eth-one-q1", "eth-two-q1"]}
    response = create_via_form(trainer, data)
    set_id = set_id_from(response.location)
    with app.app_context():
        question_set = db.session.get(QuestionSet, set_id)
        assert (question_set.title, question_set.kind, question_set.question_ids) == (
            "Boundaries",
            "fixed",
            ["eth-one-q1", "eth-two-q1"],
        )
    assert "Boundaries" in trainer.get("/author/sets/").get_data(as_text=True)


def test_the_form_shows_every_validation_message(app, acme):
    trainer = client_for(app, TRAINER)
    data = {"kind": "fixed", "mode": "exam", "time_limit_minutes": "400", "pass_mark": "2"}
    response = create_via_form(trainer, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in (
        "Give the set a title.",
        "Choose a time limit from 1 to 300 minutes.",
        "Choose a pass mark from 0.05 to 1",
        "Choose at least one question for a fixed set.",
    ):
        assert message in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuestionSet)) == 0


def test_the_form_counts_rule_matches_and_refuses_too_few(app, acme):
    trainer = client_for(app, TRAINER)
    data = {"title": "Hard ones", "rule_difficulty": "hard", "rule_count": "3"}
    refreshed = create_via_form(trainer, {**data, "save": "", "refresh": "y"}).get_data(as_text=True)
    assert re.search(r"<strong>2</strong> questions\s+in release 1.0.0 match", refreshed)
    assert "fewer than the 3" not in refreshed  # a refresh only redraws the form

    html = create_via_form(trainer, data).get_data(as_text=True)
    assert "Only 2 questions in release 1.0.0 match these rules, fewer than the 3 asked for" in html


def test_filtering_the_list_keeps_ticked_questions_hidden_by_the_filter(app, acme):
    trainer = client_for(app, TRAINER)
    data = {"kind": "fixed", "question_ids": ["adv-one-q1", "eth-one-q1"], "filter_domain": "ethics", "save": ""}
    html = create_via_form(trainer, {**data, "refresh": "y"}).get_data(as_text=True)
    assert 'id="q-adv-one-q2"' not in html and 'id="q-eth-one-q1" value="eth-one-q1" checked' in html
    assert '<input type="hidden" name="question_ids" value="adv-one-q1">' in html
    assert "Showing 2 of 5 questions; 2 ticked." in html


def test_trainer_edits_a_set_and_archives_it(app, acme):
    trainer = client_for(app, TRAINER)
    set_id = set_id_from(create_via_form(trainer, {"title": "Draft", "rule_count": "2"}).location)
    form = trainer.get(f"/author/sets/{set_id}/edit").get_data(as_text=True)
    assert 'value="Draft"' in form
    data = {"title": "Final", "kind": "rules", "mode": "exam", "rule_count": "4", "time_limit_minutes": "15"}
    data |= {"pass_mark": "0.7", "rule_domain": "", "rule_difficulty": "", "save": "Save"}
    data["csrf_token"] = csrf_token(form)
    assert trainer.post(f"/author/sets/{set_id}/edit", data=data).location == f"/author/sets/{set_id}"
    assert post_form(trainer, f"/author/sets/{set_id}/archive", token_from=f"/author/sets/{set_id}").status_code == 302
    with app.app_context():
        question_set = db.session.get(QuestionSet, set_id)
        assert (question_set.title, question_set.mode, question_set.rules["count"]) == ("Final", "exam", 4)
        assert (question_set.time_limit_minutes, question_set.pass_mark) == (15, 0.7)
        assert question_set.archived_at is not None


def test_trainer_of_another_organization_gets_404_for_the_banks_sets(app, acme, make_user):
    trainer = client_for(app, TRAINER)
    set_id = set_id_from(create_via_form(trainer, {"title": "Acme only", "rule_count": "2"}).location)
    make_user("tom@globex.org", role="trainer", org="globex")
    other = client_for(app, "tom@globex.org")
    assert other.get("/author/sets/new/mini").status_code == 404
    assert other.get(f"/author/sets/{set_id}").status_code == 404
    assert other.get(f"/author/sets/{set_id}/edit").status_code == 404
    assert "Acme only" not in other.get("/author/sets/").get_data(as_text=True)


def test_assign_to_the_organization_then_the_learner_starts_a_practice_set(app, acme):
    trainer = client_for(app, TRAINER)
    data = {"title": "Advocacy drill", "rule_domain": "advocacy", "rule_count": "2"}
    set_id = set_id_from(create_via_form(trainer, data).location)
    due = (utcnow().date() + timedelta(days=7)).isoformat()
    assert assign_via_form(trainer, set_id, f"org:{acme_id(app)}", due).location == f"/author/sets/{set_id}"
    show = trainer.get(f"/author/sets/{set_id}").get_data(as_text=True)
    assert "Acme: all learners" in show and "Lee" in show and "Not started" in show

    learner = client_for(app, LEARNER)
    listing = learner.get("/sets/").get_data(as_text=True)
    assert "Assigned to you" in listing and "Advocacy drill" in listing
    response = start_via_form(learner, set_id)
    match = re.fullmatch(r"/practice/(\d+)/q/1", response.location)
    assert match, response.location
    assert learner.get(response.location).status_code == 200
    with app.app_context():
        attempt = db.session.get(Attempt, int(match.group(1)))
        assert (attempt.question_set_id, attempt.mode, len(attempt.responses)) == (set_id, "practice", 2)
    assert "In progress (0 of 2 answered)" in learner.get("/sets/").get_data(as_text=True)


def test_learner_of_another_organization_does_not_see_the_set_and_gets_404_on_start(app, acme):
    trainer = client_for(app, TRAINER)
    set_id = set_id_from(create_via_form(trainer, {"title": "Acme drill", "rule_count": "2"}).location)
    assign_via_form(trainer, set_id, f"org:{acme_id(app)}")

    outsider = client_for(app, OUTSIDER)
    assert "Acme drill" not in outsider.get("/sets/").get_data(as_text=True)
    assert start_via_form(outsider, set_id).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0


def test_a_cohort_assignment_reaches_only_the_cohort(app, acme, make_user):
    make_user("max@acme.org", role="learner", org="acme")
    with app.app_context():
        cohort = new_cohort("Spring", accounts.find_user(LEARNER))
        db.session.commit()
        cohort_id = cohort.id
    trainer = client_for(app, TRAINER)
    set_id = set_id_from(create_via_form(trainer, {"title": "Spring drill", "rule_count": "2"}).location)
    assign_via_form(trainer, set_id, f"cohort:{cohort_id}")
    assert "Acme: cohort Spring" in trainer.get(f"/author/sets/{set_id}").get_data(as_text=True)

    assert "Spring drill" in client_for(app, LEARNER).get("/sets/").get_data(as_text=True)
    other = client_for(app, "max@acme.org")
    assert "Spring drill" not in other.get("/sets/").get_data(as_text=True)
    assert start_via_form(other, set_id).status_code == 404


def test_assign_form_errors_and_removing_an_assignment(app, acme):
    trainer = client_for(app, TRAINER)
    set_id = set_id_from(create_via_form(trainer, {"title": "Drill", "rule_count": "2"}).location)
    missing = assign_via_form(trainer, set_id, "")
    assert missing.status_code == 200 and "Choose who gets this set." in missing.get_data(as_text=True)
    past = assign_via_form(trainer, set_id, f"org:{acme_id(app)}", "2001-01-01")
    assert "Choose a due date from today on." in past.get_data(as_text=True)

    assign_via_form(trainer, set_id, f"org:{acme_id(app)}")
    with app.app_context():
        [assignment] = db.session.get(QuestionSet, set_id).assignments
        assignment_id = assignment.id
    url = f"/author/sets/{set_id}/assignments/{assignment_id}/remove"
    assert post_form(trainer, url, token_from=f"/author/sets/{set_id}").location == f"/author/sets/{set_id}"
    assert "Drill" not in client_for(app, LEARNER).get("/sets/").get_data(as_text=True)


def test_learner_takes_an_exam_set_on_the_exam_pages_and_sees_the_sets_pass_mark(app, acme):
    trainer = client_for(app, TRAINER)
    data = {"title": "Timed check", "kind": "fixed", "mode": "exam", "time_limit_minutes": "12", "pass_mark": "0.5"}
    set_id = set_id_from(create_via_form(trainer, {**data, "question_ids": ["adv-one-q1", "eth-one-q1"]}).location)
    assign_via_form(trainer, set_id, f"org:{acme_id(app)}")

    learner = client_for(app, LEARNER)
    response = start_via_form(learner, set_id)
    exam_id = int(re.fullmatch(r"/exams/(\d+)", response.location).group(1))
    question = learner.get(f"/exams/{exam_id}/q/1")
    assert question.status_code == 200 and "Time left:" in question.get_data(as_text=True)
    with app.app_context():
        attempt = db.session.get(Attempt, exam_id)
        assert (attempt.question_set_id, attempt.deadline_at - attempt.started_at) == (set_id, timedelta(minutes=12))
        key = shown_key(attempt.responses[0])
    token = csrf_token(question.get_data(as_text=True))
    learner.post(f"/exams/{exam_id}/q/1", data={"choice": str(key), "go": "next", "csrf_token": token})
    post_form(learner, f"/exams/{exam_id}/submit")

    review = learner.get(f"/exams/{exam_id}/review").get_data(as_text=True)
    assert "Passed" in review and "(pass mark 50%)" in review
    assert "50%: passed" in learner.get("/sets/").get_data(as_text=True)
    assert "50%: passed" in trainer.get(f"/author/sets/{set_id}").get_data(as_text=True)


def test_an_archived_set_cannot_be_started(app, acme):
    trainer = client_for(app, TRAINER)
    set_id = set_id_from(create_via_form(trainer, {"title": "Old drill", "rule_count": "2"}).location)
    assign_via_form(trainer, set_id, f"org:{acme_id(app)}")
    learner = client_for(app, LEARNER)
    token = get_token(learner, "/sets/")
    post_form(trainer, f"/author/sets/{set_id}/archive", token_from=f"/author/sets/{set_id}")

    response = learner.post(f"/sets/{set_id}/start", data={"csrf_token": token}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "archived by your trainer" in html
    assert "Old drill" not in html.split("Assigned to you", 1)[1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        assert db.session.scalar(select(func.count()).select_from(BankRelease)) == 1
