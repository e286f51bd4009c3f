"""Privacy: no health data in the schema; learners download their data and delete their account."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from app.extensions import db
from app.models import (
    Attempt,
    BankRelease,
    Certificate,
    Cohort,
    CohortMember,
    Membership,
    QuestionSet,
    QuestionVersion,
    ReadinessSnapshot,
    Response,
    ReviewCard,
    User,
)
from app.services import ServiceError, accounts, certificates, practice, privacy
from tests.conftest import PASSWORD, login, post_form

# Names that would mean the app stores health information: it must not, by design.
HEALTH_WORDS = (
    "diagnos",
    "condition",
    "recovery_status",
    "recovery_stage",
    "substance",
    "medication",
    "sobriety",
    "relapse",
    "clean_date",
    "treatment",
    "disorder",
)
LEARNER = "lee@example.org"
OTHER = "kim@example.org"


def health_columns(metadata: MetaData) -> list[str]:
    """'table.column' for every table or column whose name contains a health word."""
    return [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if any(word in f"{table.name} {column.name}".lower() for word in HEALTH_WORDS)
    ]


def test_no_model_stores_a_diagnosis_or_recovery_status():
    assert health_columns(db.metadata) == []
    assert len(db.metadata.tables) > 10  # the models really are registered on this metadata


def test_the_health_column_scan_finds_such_a_column():
    metadata = MetaData()
    Table("learner_note", metadata, Column("id", Integer, primary_key=True), Column("Diagnosis_code", String))
    Table("intake", metadata, Column("id", Integer, primary_key=True), Column("recovery_status", String))
    assert sorted(health_columns(metadata)) == ["intake.recovery_status", "learner_note.Diagnosis_code"]


# Fixtures ----------------------------------------------------------------------------------------------


def give_history(email: str, *, author: bool = False) -> dict:
    """A finished practice (answers, review cards, readiness snapshot), a cohort, a certificate; with
    ``author``, also the authorship of a question version and a question set.

    Call inside an app context; returns the ids created.
    """
    user = accounts.find_user(email)
    release = db.session.scalars(select(BankRelease)).first()
    attempt = practice.start_practice(user, release, count=5, seed=7)
    for response in attempt.responses:
        practice.answer(attempt, response.position, 0)
    organization = accounts.get_or_create_organization("Acme", "acme")
    cohort = Cohort(organization_id=organization.id, name=f"Spring {email}")
    db.session.add(cohort)
    db.session.flush()
    db.session.add(CohortMember(cohort_id=cohort.id, user_id=user.id))
    certificate = Certificate(
        code=certificates.new_code(), user_id=user.id, track="basic", holder_name=user.display_name, details={}
    )
    db.session.add(certificate)
    db.session.flush()
    ids = {"user": user.id, "attempt": attempt.id, "certificate": certificate.code}
    if author:
        version = attempt.responses[0].question_version
        version.created_by_id = user.id
        question_set = QuestionSet(bank_id=release.bank_id, title=f"Set by {email}", created_by_id=user.id)
        db.session.add(question_set)
        db.session.flush()
        ids.update(version=version.id, question_set=question_set.id)
    return ids


@pytest.fixture
def learner(app, make_user, mini_release):
    """A logged-in client for LEARNER (a learner at Acme with history) and the ids of that history."""
    make_user(LEARNER, role="learner", name="Lee Learner")
    with app.app_context():
        ids = give_history(LEARNER)
        db.session.commit()
    client = app.test_client()
    assert login(client, LEARNER).status_code == 302
    return client, ids


def all_keys(value) -> list[str]:
    """Every dict key anywhere inside a JSON value."""
    if isinstance(value, dict):
        return [*value, *(key for child in value.values() for key in all_keys(child))]
    if isinstance(value, list):
        return [key for child in value for key in all_keys(child)]
    return []


def owned_counts(user_id: int) -> dict[str, int]:
    """How many rows of each kind belong to this user (inside an app context)."""

    def count(model, *where) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    attempt_ids = select(Attempt.id).where(Attempt.user_id == user_id)
    return {
        "user": count(User, User.id == user_id),
        "attempts": count(Attempt, Attempt.user_id == user_id),
        "responses": count(Response, Response.attempt_id.in_(attempt_ids)),
        "review_cards": count(ReviewCard, ReviewCard.user_id == user_id),
        "snapshots": count(ReadinessSnapshot, ReadinessSnapshot.user_id == user_id),
        "certificates": count(Certificate, Certificate.user_id == user_id),
        "memberships": count(Membership, Membership.user_id == user_id),
        "cohorts": count(CohortMember, CohortMember.user_id == user_id),
    }


# Export ------------------------------------------------------------------------------------------------


def test_export_is_a_json_download_of_the_learners_data_without_secrets(app, learner):
    client, ids = learner
    response = client.get("/account/export")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="peer-trainer-my-data-')
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data(as_text=True)
    with app.app_context():
        user = accounts.find_user(LEARNER)
        assert user.password_hash not in body and user.session_token not in body
    data = json.loads(body)
    assert not [key for key in all_keys(data) if "password" in key or "token" in key]
    assert data["profile"]["email"] == LEARNER
    assert data["profile"]["display_name"] == "Lee Learner"
    assert [(m["organization"], m["role"]) for m in data["memberships"]] == [("Acme", "learner")]
    assert [c["cohort"] for c in data["cohorts"]] == [f"Spring {LEARNER}"]
    [attempt] = data["attempts"]
    assert attempt["id"] == ids["attempt"] and attempt["mode"] == "practice" and attempt["submitted_at"]
    assert len(attempt["responses"]) == 5
    first = attempt["responses"][0]
    assert first["chosen_option"] == first["shown_option_order"][0]  # answered the first option shown
    assert first["chosen_text"] and first["stem"] and first["correct"] in (True, False)
    assert len(data["review_cards"]) >= 1
    assert len(data["readiness_snapshots"]) == 1
    assert [c["code"] for c in data["certificates"]] == [ids["certificate"]]


def test_export_holds_only_the_requesting_users_data(app, learner, make_user):
    make_user(OTHER, role="learner", name="Kim Other")
    with app.app_context():
        other = give_history(OTHER)
        db.session.commit()
    client, _ = learner

    data = client.get("/account/export").get_json()

    assert other["attempt"] not in [a["id"] for a in data["attempts"]]
    assert other["certificate"] not in [c["code"] for c in data["certificates"]]
    assert OTHER not in json.dumps(data) and "Kim Other" not in json.dumps(data)


def test_account_page_offers_download_and_deletion(learner):
    client, _ = learner
    html = client.get("/account/").get_data(as_text=True)
    assert 'href="/account/export"' in html
    assert 'action="/account/delete"' in html
    assert 'name="password"' in html and 'name="confirm"' in html
    assert 'href="/account/"' in client.get("/").get_data(as_text=True)  # the nav links to it


# Deletion: service -------------------------------------------------------------------------------------


def test_delete_account_removes_the_user_and_all_their_rows_but_keeps_others(app, db_ctx, make_user, mini_release):
    make_user(LEARNER, role="learner")
    make_user(OTHER, role="learner")
    mine, theirs = give_history(LEARNER, author=True), give_history(OTHER)
    db.session.commit()
    before_other = owned_counts(theirs["user"])
    assert all(owned_counts(mine["user"]).values())  # every kind of row exists before

    privacy.delete_account(accounts.find_user(LEARNER), PASSWORD, "DELETE")
    db.session.commit()
    db.session.expire_all()

    assert set(owned_counts(mine["user"]).values()) == {0}
    assert owned_counts(theirs["user"]) == before_other
    assert (
        db.session.scalar(select(func.count()).select_from(Response).where(Response.attempt_id == mine["attempt"])) == 0
    )
    version = db.session.get(QuestionVersion, mine["version"])
    assert version is not None and version.created_by_id is None  # content stays, without its author
    assert db.session.get(QuestionSet, mine["question_set"]).created_by_id is None
    assert certificates.get_by_code(mine["certificate"]) is None
    assert accounts.find_user(OTHER) is not None


@pytest.mark.parametrize(
    ("password", "confirmation", "field"),
    [("wrong-password-1", "DELETE", "password"), (PASSWORD, "delete", "confirm"), (PASSWORD, "", "confirm")],
)
def test_delete_account_needs_the_password_and_the_typed_word(db_ctx, make_user, password, confirmation, field):
    make_user(LEARNER)
    with pytest.raises(ServiceError) as error:
        privacy.delete_account(accounts.find_user(LEARNER), password, confirmation)
    assert error.value.field == field
    db.session.rollback()
    assert accounts.find_user(LEARNER) is not None


def test_the_last_site_admin_cannot_be_deleted_until_there_is_another(db_ctx, make_user):
    make_user("root@example.org", admin=True)
    root = accounts.find_user("root@example.org")
    with pytest.raises(ServiceError, match="only site admin"):
        privacy.delete_account(root, PASSWORD, "DELETE")

    make_user("second@example.org", admin=True)
    privacy.delete_account(root, PASSWORD, "DELETE")
    db.session.commit()
    assert accounts.find_user("root@example.org") is None


def test_an_inactive_admin_does_not_count_as_another_admin(db_ctx, make_user):
    make_user("root@example.org", admin=True)
    make_user("gone@example.org", admin=True)
    accounts.find_user("gone@example.org").is_active_account = False
    assert privacy.deletion_blockers(accounts.find_user("root@example.org")) != []


def test_the_last_org_admin_cannot_be_deleted_until_the_organization_has_another(db_ctx, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    make_user("gil@globex.org", role="org_admin", org="globex")  # an admin elsewhere does not help
    make_user("ann@acme.org", role="learner", org="acme")
    ada = accounts.find_user("ada@acme.org")
    with pytest.raises(ServiceError, match="only organization admin of Acme"):
        privacy.delete_account(ada, PASSWORD, "DELETE")

    accounts.add_membership(accounts.find_user("ann@acme.org"), ada.memberships[0].organization, "org_admin")
    privacy.delete_account(ada, PASSWORD, "DELETE")
    db.session.commit()
    assert accounts.find_user("ada@acme.org") is None
    assert accounts.get_or_create_organization("Acme", "acme").memberships[0].user.email == "ann@acme.org"


# Deletion: over HTTP -----------------------------------------------------------------------------------


def test_deleting_over_http_logs_out_and_the_account_is_gone(app, learner):
    client, ids = learner
    response = post_form(client, "/account/delete", {"password": PASSWORD, "confirm": "DELETE"}, token_from="/account/")

    assert response.status_code == 302 and response.location == "/login"
    assert "were deleted" in client.get("/login").get_data(as_text=True)
    follow = client.get("/account/")
    assert follow.status_code == 302 and follow.location.startswith("/login")
    with app.app_context():
        assert set(owned_counts(ids["user"]).values()) == {0}
    assert login(client, LEARNER).status_code == 200  # the login form again: no such account


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"password": "wrong-password-1", "confirm": "DELETE"}, "That is not your current password."),
        ({"password": PASSWORD, "confirm": "delete me"}, "Type DELETE in capital letters to confirm."),
        ({"password": PASSWORD, "confirm": ""}, "Type DELETE to confirm."),
    ],
)
def test_a_refused_deletion_shows_why_and_keeps_the_account(app, learner, data, message):
    client, ids = learner
    response = post_form(client, "/account/delete", data, token_from="/account/")

    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 200  # still logged in
    with app.app_context():
        assert owned_counts(ids["user"])["attempts"] == 1


def test_the_last_org_admin_sees_why_the_account_cannot_be_deleted(app, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    client = app.test_client()
    login(client, "ada@acme.org")

    page = client.get("/account/").get_data(as_text=True)
    assert "You are the only organization admin of Acme." in page
    assert 'action="/account/delete"' not in page
    response = post_form(client, "/account/delete", {"password": PASSWORD, "confirm": "DELETE"}, token_from="/")
    assert "You are the only organization admin of Acme." in response.get_data(as_text=True)
    with app.app_context():
        assert accounts.find_user("ada@acme.org") is not None
