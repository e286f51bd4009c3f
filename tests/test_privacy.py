"""Privacy: no health data in the schema; learners download their data and delete their account."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from app.extensions import db
from app.models import (
    Attempt,
    BankRelease,
    Certificate,
    Certification,
    Cohort,
    CohortMember,
    EvidenceFile,
    LearnerRecord,
    Membership,
    QuestionSet,
    QuestionVersion,
    ReadinessSnapshot,
    RecordEvent,
    Response,
    ReviewCard,
    TrainingSession,
    User,
)
from app.services import ServiceError, accounts, certificates, practice, privacy, records
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
PDF = b"%PDF-1.4\n%%EOF\n"
PRIVATE_WORDS = "Words I keep for myself."


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
    evidence = records.store_evidence(user, PDF + email.encode(), "proof.pdf", evidence_root())
    data = records.RecordInput("supervision", "Boundaries", "Sue", date(2024, 3, 1), None, 2.0, statement=PRIVATE_WORDS)
    record = records.create_record(user, data, {}, None, evidence)
    db.session.add(
        Certification(user_id=user.id, track="basic", certified_on=date(2024, 6, 1), credential_number="P-7")
    )
    db.session.flush()
    ids = {"user": user.id, "attempt": attempt.id, "certificate": certificate.code, "record": record.id}
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


def evidence_root() -> Path:
    return Path(current_app.config["EVIDENCE_DIR"])


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
        "learner_records": count(LearnerRecord, LearnerRecord.user_id == user_id),
        "record_events": count(
            RecordEvent, RecordEvent.record_id.in_(select(LearnerRecord.id).where(LearnerRecord.user_id == user_id))
        ),
        "evidence_files": count(EvidenceFile, EvidenceFile.user_id == user_id),
        "stored_files": sum(1 for _ in (evidence_root() / str(user_id)).glob("*")),
        "certifications": count(Certification, Certification.user_id == user_id),
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
    [record] = data["learner_records"]
    assert (record["id"], record["kind"], record["status"]) == (ids["record"], "supervision", "pending")
    assert record["statement"] == PRIVATE_WORDS  # the learner's own words, private or not
    assert [(e["action"], e["by"]) for e in record["events"]] == [("created", "you")]
    [evidence] = data["evidence_files"]
    assert record["evidence_file_id"] == evidence["id"]
    assert (evidence["original_name"], evidence["content_type"]) == ("proof.pdf", "application/pdf")
    assert evidence["size"] == len(PDF + LEARNER.encode()) and len(evidence["sha256"]) == 64
    assert "%PDF" not in body  # metadata only, never the file
    [certification] = data["certifications"]
    assert (certification["track"], certification["certified_on"], certification["credential_number"]) == (
        "basic",
        "2024-06-01",
        "P-7",
    )


def test_export_holds_only_the_requesting_users_data(app, learner, make_user):
    make_user(OTHER, role="learner", name="Kim Other")
    with app.app_context():
        other = give_history(OTHER)
        db.session.commit()
    client, _ = learner

    data = client.get("/account/export").get_json()

    assert other["attempt"] not in [a["id"] for a in data["attempts"]]
    assert [r["id"] for r in data["learner_records"]] == [ids_of_lee(app)]
    assert len(data["evidence_files"]) == len(data["certifications"]) == 1
    assert other["certificate"] not in [c["code"] for c in data["certificates"]]
    assert OTHER not in json.dumps(data) and "Kim Other" not in json.dumps(data)


def test_account_page_offers_download_and_deletion(learner):
    client, _ = learner
    html = client.get("/account/").get_data(as_text=True)
    assert 'href="/account/export"' in html
    assert 'action="/account/delete"' in html
    assert 'name="password"' in html and 'name="confirm"' in html
    assert 'href="/account/"' in client.get("/").get_data(as_text=True)  # the nav links to it


def ids_of_lee(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(LearnerRecord.id).join(User, User.id == LearnerRecord.user_id).where(User.email == LEARNER)
        )


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
    assert not (evidence_root() / str(mine["user"])).exists()  # the stored files went with the commit


def test_a_deleted_supervisors_decisions_stay_on_other_learners_records_unsigned(app, db_ctx, make_user):
    make_user(LEARNER, role="supervisor", org="acme")
    make_user("second@acme.org", role="supervisor", org="acme")
    make_user(OTHER, role="learner", org="acme")
    acme = accounts.get_or_create_organization("Acme", "acme")
    supervisor, learner = accounts.find_user(LEARNER), accounts.find_user(OTHER)
    data = records.RecordInput("supervision", "Boundaries", "Lee", date(2024, 3, 1), None, 2.0)
    record = records.decide(records.create_record(learner, data, {}, acme), supervisor, True)
    session = records.record_attendance(
        acme, supervisor, "Ethics", "Acme", date(2024, 3, 2), {"ethics": 2.0}, [learner],
        {"education": {"hours": 2, "domains": {"ethics": {"label": "Ethics", "hours": 2}}}},
    )  # fmt: skip
    db.session.commit()
    record_id, session_id = record.id, session.id

    privacy.delete_account(supervisor, PASSWORD, "DELETE")
    db.session.commit()
    db.session.expire_all()

    kept = db.session.get(LearnerRecord, record_id)
    assert (kept.status, kept.decided_by_id) == ("verified", None)
    assert [(e.action, e.actor_id) for e in kept.events] == [("created", learner.id), ("verified", None)]
    assert db.session.get(TrainingSession, session_id).created_by_id is None
    assert owned_counts(learner.id)["learner_records"] == 2


def test_a_rolled_back_deletion_keeps_the_evidence_files(app, db_ctx, make_user, mini_release):
    make_user(LEARNER, role="learner")
    mine = give_history(LEARNER)
    db.session.commit()
    folder = evidence_root() / str(mine["user"])
    assert any(folder.iterdir())

    privacy.delete_account(accounts.find_user(LEARNER), PASSWORD, "DELETE")
    db.session.rollback()
    db.session.commit()  # a later commit does not remove them either

    assert any(folder.iterdir())
    assert owned_counts(mine["user"])["evidence_files"] == 1


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
