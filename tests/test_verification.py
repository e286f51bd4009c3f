"""The organization's side of the certification pathway: the supervisor's queue, verify / return / correct /
supersede with the audit trail, immutability, evidence for supervisors only, private statements, bulk
training attendance, and the cohort dashboard's pathway columns, filter and CSV.

Requirements of the mini bank's basic track (tests/banks/mini/tracks/basic.yaml): education 12 hours
(advocacy 4, ethics 6), experience 40, supervision 5, attestations diploma (document), code-of-ethics and
lived-experience (private); recertification every 24 months, 10 hours (ethics 3).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import BankRelease, Certification, LearnerRecord, Organization, RecordEvent, TrainingSession, User
from app.models.base import utcnow
from app.services import ServiceError, accounts, banks, cohort_report, pathway, records
from app.services.records import RecordInput
from tests.conftest import PASSWORD, get_token, login, post_form
from tests.test_orgs import history, statements_during, take_exam

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
DAY = date(2024, 3, 1)
LIVED = "I found my way through peer support groups and now want to give back."


# --- Setup ------------------------------------------------------------------------------------------------


def user(email: str) -> User:
    return accounts.find_user(email)


def org(slug: str) -> Organization:
    return db.session.scalar(select(Organization).where(Organization.slug == slug))


def requirements() -> dict:
    return banks.get_track(banks.latest_release("mini"), "basic")["requirements"]


def evidence_root(app) -> Path:
    return Path(app.config["EVIDENCE_DIR"])


def training(title="Ethics basics", hours=3.0, split=None, on=DAY) -> RecordInput:
    return RecordInput("training", title, "Acme Academy", on, None, hours, split or {"ethics": hours})


def experience(hours=40.0) -> RecordInput:
    return RecordInput("experience", "Peer support volunteer", "Drop-in center", DAY, DAY + timedelta(days=90), hours)


def supervision(hours=5.0) -> RecordInput:
    return RecordInput("supervision", "Boundaries", "Sue Supervisor", DAY, None, hours)


def attestation(key: str, statement: str | None = None, shared: bool = False) -> RecordInput:
    return RecordInput("attestation", "", "", DAY, None, 0.0, {}, key, statement, shared)


def add(email: str, data: RecordInput, slug: str = "acme", *, evidence: bytes | None = None, supersedes=None) -> int:
    """A pending record of this learner filed with the organization; returns its id (inside an app context)."""
    learner = user(email)
    root = Path(current_app.config["EVIDENCE_DIR"])
    stored = records.store_evidence(learner, evidence, "proof.pdf", root) if evidence else None
    record = records.create_record(learner, data, requirements(), org(slug), stored, supersedes)
    return record.id


def verify(record_id: int, by: str = "sue@acme.org") -> None:
    records.decide(db.session.get(LearnerRecord, record_id), user(by), True)


def client_for(app, email: str):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


@pytest.fixture
def people(app, make_user, mini_release):
    """Acme: admin Ada, supervisor Sue, trainer Teri, learners Sam and Wes. Bravo: supervisor Bob, learner Bea."""
    make_user("ada@acme.org", role="org_admin", org="acme", name="Ada Admin")
    make_user("sue@acme.org", role="supervisor", org="acme", name="Sue Supervisor")
    make_user("teri@acme.org", role="trainer", org="acme", name="Teri Trainer")
    make_user("sam@acme.org", role="learner", org="acme", name="Sam Learner")
    make_user("wes@acme.org", role="learner", org="acme", name="Wes Learner")
    make_user("bob@bravo.org", role="supervisor", org="bravo", name="Bob Bravo")
    make_user("bea@bravo.org", role="learner", org="bravo", name="Bea Bravo")
    with app.app_context():
        return {"acme": org("acme").id, "bravo": org("bravo").id}


def decide(client, org_id: int, record_id: int, decision: str | None, comment: str = ""):
    path = f"/org/{org_id}/records/{record_id}"
    data = {"comment": comment, **({"decision": decision} if decision else {})}
    return post_form(client, f"{path}/decide", data, token_from=path)


def status_of(app, record_id: int) -> str:
    with app.app_context():
        return db.session.get(LearnerRecord, record_id).status


def trail(app, record_id: int) -> list[tuple[str, str | None, str | None]]:
    """(action, actor email, comment) of every event of the record, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(RecordEvent.action, User.email, RecordEvent.comment)
            .outerjoin(User, User.id == RecordEvent.actor_id)
            .where(RecordEvent.record_id == record_id)
            .order_by(RecordEvent.id)
        )
        return [tuple(row) for row in rows]


# --- The queue --------------------------------------------------------------------------------------------


def test_queue_lists_pending_records_oldest_first_but_never_the_supervisors_own(app, people):
    with app.app_context():
        first = add("wes@acme.org", supervision(2.0))
        second = add("sam@acme.org", training("Advocacy 101", 3.0, {"advocacy": 2.0, "ethics": 1.0}), evidence=PDF)
        own = add("sue@acme.org", experience(10.0))
        done = add("sam@acme.org", experience(8.0))
        verify(done, "ada@acme.org")
        db.session.commit()
    acme = people["acme"]

    html = client_for(app, "sue@acme.org").get(f"/org/{acme}/verify").get_data(as_text=True)

    assert "2 records waiting for verification" in html
    assert html.index(f'/records/{first}"') < html.index(f'/records/{second}"')
    assert f'/records/{own}"' not in html  # the supervisor's own record waits for someone else
    assert "3 h (Advocacy 2, Ethical Responsibility 1)" in html  # domain labels from the track
    assert f'href="/org/{acme}/records/{second}/evidence">proof.pdf</a>' in html
    assert "Sam Learner" in html and "Wes Learner" in html
    assert "Recently decided" in html and f'/records/{done}"' in html

    admin_html = client_for(app, "ada@acme.org").get(f"/org/{acme}/verify").get_data(as_text=True)
    assert f'/records/{own}"' in admin_html and "3 records waiting" in admin_html


def test_private_statements_reach_supervisors_only_when_the_learner_shares_them(app, people):
    with app.app_context():
        private = add("sam@acme.org", attestation("lived-experience", LIVED))
        shared = add("wes@acme.org", attestation("lived-experience", "Shared in my own words.", shared=True))
        public = add("wes@acme.org", attestation("code-of-ethics", "I signed it on my first day."))
        db.session.commit()
    client, acme = client_for(app, "sue@acme.org"), people["acme"]

    queue = client.get(f"/org/{acme}/verify").get_data(as_text=True)
    assert LIVED not in queue and "private to the learner" in queue
    assert "Shared in my own words." in queue and "I signed it on my first day." in queue
    page = client.get(f"/org/{acme}/records/{private}").get_data(as_text=True)
    assert LIVED not in page and "the learner has not shared this statement" in page
    assert "Statement of lived experience" in page  # the attestation itself can still be verified
    assert "Shared in my own words." in client.get(f"/org/{acme}/records/{shared}").get_data(as_text=True)
    assert "I signed it on my first day." in client.get(f"/org/{acme}/records/{public}").get_data(as_text=True)


# --- Verify, return, correct, supersede -------------------------------------------------------------------


def test_verifying_a_record_signs_it_and_keeps_the_trail(app, people):
    with app.app_context():
        record_id = add("sam@acme.org", supervision(2.0))
        db.session.commit()
    client, acme = client_for(app, "sue@acme.org"), people["acme"]

    response = decide(client, acme, record_id, "verify")

    assert response.status_code == 302 and response.location == f"/org/{acme}/verify"
    assert status_of(app, record_id) == "verified"
    assert trail(app, record_id) == [("created", "sam@acme.org", None), ("verified", "sue@acme.org", None)]
    with app.app_context():
        record = db.session.get(LearnerRecord, record_id)
        assert record.decided_by_id == user("sue@acme.org").id and record.decided_at is not None
    queue = client.get(f"/org/{acme}/verify").get_data(as_text=True)
    assert "Supervision record of Sam Learner verified." in queue
    assert "Nothing is waiting for verification." in queue
    page = client.get(f"/org/{acme}/records/{record_id}").get_data(as_text=True)
    assert "Verified records never change" in page and 'name="decision"' not in page
    assert "Audit trail" in page and page.count("<tr><td>") == 2


def test_returning_needs_a_comment_and_a_correction_supersedes_the_returned_record(app, people):
    with app.app_context():
        original = add("sam@acme.org", training("Ethics basics", 3.0))
        db.session.commit()
    client, acme = client_for(app, "sue@acme.org"), people["acme"]

    missing = decide(client, acme, original, "return")
    assert missing.status_code == 200 and "Say what needs to change" in missing.get_data(as_text=True)
    nothing = decide(client, acme, original, None)
    assert nothing.status_code == 200 and "Choose whether to verify or return" in nothing.get_data(as_text=True)
    assert status_of(app, original) == "pending"

    returned = decide(client, acme, original, "return", "The certificate says 2 hours, not 3.")
    assert returned.status_code == 302 and status_of(app, original) == "returned"

    with app.app_context():
        old = db.session.get(LearnerRecord, original)
        correction = add("sam@acme.org", training("Ethics basics", 2.0), supersedes=old)
        db.session.commit()
    page = client.get(f"/org/{acme}/records/{correction}").get_data(as_text=True)
    assert "Corrects" in page and f"/org/{acme}/records/{original}" in page

    assert decide(client, acme, correction, "verify").status_code == 302

    assert status_of(app, original) == "superseded" and status_of(app, correction) == "verified"
    assert trail(app, original) == [
        ("created", "sam@acme.org", None),
        ("returned", "sue@acme.org", "The certificate says 2 hours, not 3."),
        ("superseded", "sue@acme.org", f"Replaced by record {correction}"),
    ]
    assert trail(app, correction) == [("corrected", "sam@acme.org", None), ("verified", "sue@acme.org", None)]
    old_page = client.get(f"/org/{acme}/records/{original}").get_data(as_text=True)
    assert "Replaced by" in old_page and f"/org/{acme}/records/{correction}" in old_page
    with app.app_context():
        progress = pathway.learner_progress(user("sam@acme.org"), banks.get_track(banks.latest_release("mini")))
        assert progress.education[0].verified == 2.0  # only the correction counts


def test_a_verified_record_never_changes_and_a_correction_replaces_it_once_verified(app, people):
    with app.app_context():
        record_id = add("sam@acme.org", supervision(4.0))
        verify(record_id)
        db.session.commit()
    client, acme = client_for(app, "ada@acme.org"), people["acme"]

    again = decide(client, acme, record_id, "return", "Changed my mind")
    assert again.status_code == 200 and "already been decided" in again.get_data(as_text=True)
    with app.app_context():
        record = db.session.get(LearnerRecord, record_id)
        assert (record.status, record.comment, record.hours) == ("verified", None, 4.0)
        with pytest.raises(ServiceError, match="not verified can be withdrawn"):
            records.withdraw(record, user("sam@acme.org"))
        with pytest.raises(ServiceError, match="already been decided"):
            records.decide(record, user("sue@acme.org"), False, "no")
        correction = add("sam@acme.org", supervision(5.0), supersedes=record)
        db.session.commit()
        assert record.status == "verified"  # until the correction itself is verified
        track = banks.get_track(banks.latest_release("mini"))
        supervised = pathway.learner_progress(user("sam@acme.org"), track).supervision
        assert (supervised.verified, supervised.pending) == (4.0, 5.0)

    assert decide(client, acme, correction, "verify").status_code == 302

    assert status_of(app, record_id) == "superseded"
    with app.app_context():
        supervised = pathway.learner_progress(user("sam@acme.org"), track).supervision
        assert (supervised.verified, supervised.pending, supervised.met) == (5.0, 0.0, True)


def test_nobody_verifies_their_own_record(app, people, make_user):
    with app.app_context():
        sues = add("sue@acme.org", supervision(2.0))
        adas = add("ada@acme.org", supervision(2.0))
        sams = add("sam@acme.org", supervision(2.0))
        db.session.commit()
    acme = people["acme"]
    supervisor, admin = client_for(app, "sue@acme.org"), client_for(app, "ada@acme.org")

    own = decide(supervisor, acme, sues, "verify")
    assert own.status_code == 403 and "your own records" in own.get_data(as_text=True)
    assert decide(admin, acme, adas, "verify").status_code == 403
    assert "another supervisor" in supervisor.get(f"/org/{acme}/records/{sues}").get_data(as_text=True)
    assert status_of(app, sues) == status_of(app, adas) == "pending"
    with app.app_context():
        assert not records.can_verify(user("sue@acme.org"), db.session.get(LearnerRecord, sues))

    learner = client_for(app, "sam@acme.org")
    assert learner.get(f"/org/{acme}/verify").status_code == 403
    assert learner.get(f"/org/{acme}/records/{sams}").status_code == 403
    token = get_token(learner, "/")
    response = learner.post(f"/org/{acme}/records/{sams}/decide", data={"decision": "verify", "csrf_token": token})
    assert response.status_code == 403 and status_of(app, sams) == "pending"

    # Other supervisors decide them.
    assert decide(admin, acme, sues, "verify").status_code == 302
    assert decide(supervisor, acme, adas, "verify").status_code == 302


def test_a_supervisor_of_another_organization_gets_404_on_the_queue_and_every_record(app, people):
    with app.app_context():
        acme_record = add("sam@acme.org", supervision(2.0), evidence=PDF)
        bravo_record = add("bea@bravo.org", supervision(2.0), "bravo", evidence=PDF)
        db.session.commit()
    acme, bravo = people["acme"], people["bravo"]
    bob = client_for(app, "bob@bravo.org")
    token = get_token(bob, f"/org/{bravo}/verify")
    assert "Bea Bravo" in bob.get(f"/org/{bravo}/verify").get_data(as_text=True)

    for path in (
        f"/org/{acme}/verify",
        f"/org/{acme}/records/{acme_record}",
        f"/org/{acme}/records/{acme_record}/evidence",
        f"/org/{bravo}/records/{acme_record}",  # Acme's record under Bob's own organization
        f"/org/{bravo}/records/{acme_record}/evidence",
    ):
        response = bob.get(path)
        assert response.status_code == 404, path
        assert "Sam Learner" not in response.get_data(as_text=True)
    for org_id in (acme, bravo):
        data = {"decision": "verify", "csrf_token": token}
        assert bob.post(f"/org/{org_id}/records/{acme_record}/decide", data=data).status_code == 404
    assert status_of(app, acme_record) == "pending"

    sue = client_for(app, "sue@acme.org")
    assert sue.get(f"/org/{acme}/records/{bravo_record}").status_code == 404
    assert sue.get(f"/org/{acme}/records/{bravo_record}/evidence").status_code == 404
    assert decide(sue, acme, acme_record, "verify").status_code == 302
    assert "Bea Bravo" not in sue.get(f"/org/{acme}/verify").get_data(as_text=True)


# --- Evidence ---------------------------------------------------------------------------------------------


def test_evidence_downloads_for_the_organizations_supervisors_only(app, people, make_user):
    with app.app_context():
        with_file = add("sam@acme.org", supervision(2.0), evidence=PDF)
        without = add("wes@acme.org", supervision(2.0))
        db.session.commit()
    acme = people["acme"]

    response = client_for(app, "sue@acme.org").get(f"/org/{acme}/records/{with_file}/evidence")

    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;") and "proof.pdf" in response.headers[
        "Content-Disposition"
    ]  # fmt: skip
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client_for(app, "ada@acme.org").get(f"/org/{acme}/records/{with_file}/evidence").status_code == 200
    assert client_for(app, "sue@acme.org").get(f"/org/{acme}/records/{without}/evidence").status_code == 404
    # A site admin opens the organization's pages but never a learner's evidence file.
    make_user("root@example.org", admin=True)
    root = client_for(app, "root@example.org")
    assert root.get(f"/org/{acme}/records/{with_file}").status_code == 200
    assert root.get(f"/org/{acme}/records/{with_file}/evidence").status_code == 404
    assert client_for(app, "teri@acme.org").get(f"/org/{acme}/records/{with_file}/evidence").status_code == 403


def test_a_missing_evidence_file_is_404_not_500(app, people):
    with app.app_context():
        record_id = add("sam@acme.org", supervision(2.0), evidence=PDF)
        evidence = db.session.get(LearnerRecord, record_id).evidence
        records.evidence_path(evidence, evidence_root(app)).unlink()
        db.session.commit()
    assert client_for(app, "sue@acme.org").get(f"/org/{people['acme']}/records/{record_id}/evidence").status_code == 404


# --- Bulk attendance ----------------------------------------------------------------------------------------


def attendance(client, org_id: int, **fields):
    path = f"/org/{org_id}/training-sessions/new"
    data = {"title": "Ethics in practice", "provider": "Acme Academy", "held_on": "2024-04-02", **fields}
    return post_form(client, path, data)


def test_bulk_attendance_creates_verified_records_for_the_chosen_learners(app, people):
    with app.app_context():
        sam, wes = user("sam@acme.org").id, user("wes@acme.org").id
    client, acme = client_for(app, "teri@acme.org"), people["acme"]
    form = client.get(f"/org/{acme}/training-sessions/new").get_data(as_text=True)
    assert "Advocacy hours" in form and "Ethical Responsibility hours" in form
    assert "Sam Learner" in form and "Wes Learner" in form
    assert "Bea Bravo" not in form and "Sue Supervisor" not in form  # only this organization's learners

    response = attendance(client, acme, domain_0="1.5", domain_1="3", attendees=[str(sam), str(wes)])

    assert response.status_code == 302 and response.location == f"/org/{acme}/training-sessions"
    with app.app_context():
        created = list(db.session.scalars(select(LearnerRecord).order_by(LearnerRecord.user_id)))
        assert [(r.user_id, r.status, r.hours, r.domain_hours) for r in created] == [
            (sam, "verified", 4.5, {"advocacy": 1.5, "ethics": 3.0}),
            (wes, "verified", 4.5, {"advocacy": 1.5, "ethics": 3.0}),
        ]
        session = db.session.scalar(select(TrainingSession))
        assert {r.training_session_id for r in created} == {session.id}
        assert session.created_by_id == user("teri@acme.org").id
        assert {r.decided_by_id for r in created} == {user("teri@acme.org").id}
        assert [e.action for r in created for e in r.events] == ["attendance", "attendance"]
        progress = pathway.learner_progress(user("sam@acme.org"), banks.get_track(banks.latest_release("mini")))
        assert [line.verified for line in progress.education] == [4.5, 1.5, 3.0]
    listing = client.get(f"/org/{acme}/training-sessions").get_data(as_text=True)
    assert "Attendance of Ethics in practice recorded: 2 verified training records." in listing
    assert "<td>2024-04-02</td>" in listing and "<td>4.5</td>" in listing and "<td>2</td>" in listing


def test_attendance_is_refused_for_anyone_outside_the_organizations_learners(app, people):
    with app.app_context():
        bea, sue, sam = user("bea@bravo.org").id, user("sue@acme.org").id, user("sam@acme.org").id
    client, acme = client_for(app, "ada@acme.org"), people["acme"]

    for outsider in (bea, sue):
        response = attendance(client, acme, domain_1="2", attendees=[str(sam), str(outsider)])
        assert response.status_code == 200 and "not a valid choice" in response.get_data(as_text=True).lower()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LearnerRecord)) == 0
        assert db.session.scalar(select(func.count()).select_from(TrainingSession)) == 0
        with pytest.raises(ServiceError, match="Not learners of this organization: Bea Bravo"):
            records.record_attendance(
                org("acme"), user("ada@acme.org"), "T", "P", DAY, {"ethics": 1.0}, [user("bea@bravo.org")], {
                    "education": {"hours": 1, "domains": {"ethics": {"label": "Ethics", "hours": 1}}}
                },
            )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"domain_1": "2"}, "Choose at least one attendee."),
        ({"attendees": "SAM"}, "Enter the hours: more than 0"),
        ({"attendees": "SAM", "domain_0": "-1"}, "Enter hours from 0 to"),
        ({"attendees": "SAM", "domain_0": "two"}, "Not a valid float value"),
        ({"attendees": "SAM", "domain_0": "1", "held_on": (date.today() + timedelta(days=2)).isoformat()}, "future"),
        ({"attendees": "SAM", "domain_0": "1", "held_on": ""}, "Enter the date of the session."),
        ({"attendees": "SAM", "domain_0": "1", "title": ""}, "Enter the course title."),
    ],
)
def test_attendance_form_explains_every_problem(app, people, fields, message):
    with app.app_context():
        sam = user("sam@acme.org").id
    fields = {k: str(sam) if v == "SAM" else v for k, v in fields.items()}
    response = attendance(client_for(app, "teri@acme.org"), people["acme"], **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LearnerRecord)) == 0


def test_supervisors_and_trainers_see_only_their_own_organization_pages(app, people):
    acme = people["acme"]
    supervisor = client_for(app, "sue@acme.org").get(f"/org/{acme}/verify").get_data(as_text=True)
    assert "Verify records" in supervisor and f'href="/org/{acme}/members"' not in supervisor
    assert f'href="/org/{acme}/training-sessions"' not in supervisor
    trainer = client_for(app, "teri@acme.org").get(f"/org/{acme}/training-sessions").get_data(as_text=True)
    assert "Training sessions" in trainer and f'href="/org/{acme}/verify"' not in trainer
    admin = client_for(app, "ada@acme.org").get(f"/org/{acme}/members").get_data(as_text=True)
    assert f'href="/org/{acme}/verify"' in admin and f'href="/org/{acme}/training-sessions"' in admin
    assert client_for(app, "sue@acme.org").get(f"/org/{acme}/training-sessions").status_code == 403
    assert client_for(app, "bob@bravo.org").get(f"/org/{acme}/training-sessions").status_code == 403
    with app.app_context():
        accounts.add_membership(user("bob@bravo.org"), org("acme"), "learner")
        db.session.commit()
    assert client_for(app, "bob@bravo.org").get(f"/org/{acme}/verify").status_code == 404  # a learner there


# --- The cohort dashboard's pathway columns ----------------------------------------------------------------


def complete_pathway(email: str) -> None:
    """Verified records meeting every requirement of the basic track."""
    ids = [
        add(email, training("Advocacy 101", 5.0, {"advocacy": 4.0, "ethics": 1.0})),
        add(email, training("Ethics basics", 7.0, {"ethics": 5.0})),
        add(email, experience(40.0)),
        add(email, supervision(5.0)),
        add(email, attestation("diploma"), evidence=PDF),
        add(email, attestation("code-of-ethics")),
        add(email, attestation("lived-experience", LIVED)),
    ]
    for record_id in ids:
        verify(record_id)


@pytest.fixture
def cohort(app, people):
    """Sam: every requirement verified and exam-ready. Wes: partial hours, one record pending, not exam-ready."""
    with app.app_context():
        release = db.session.get(BankRelease, banks.latest_release("mini").id)
        sam, wes = user("sam@acme.org"), user("wes@acme.org")
        start = utcnow() - timedelta(days=1)
        history(sam, release, skill=4, sessions=3, start=start)
        take_exam(sam, release, passed=True, when=start + timedelta(hours=5))
        history(wes, release, skill=1, sessions=2, start=start)
        complete_pathway("sam@acme.org")
        verify(add("wes@acme.org", training("Advocacy 101", 6.0, {"advocacy": 4.0, "ethics": 2.0})))
        verify(add("wes@acme.org", experience(10.0)))
        add("wes@acme.org", supervision(2.0))  # pending
        verify(add("wes@acme.org", attestation("code-of-ethics")))
        db.session.commit()
    return people


def test_report_rows_carry_hand_computed_pathway_figures(app, cohort):
    with app.app_context():
        release = banks.latest_release("mini")
        report = cohort_report.build_report(org("acme"), release, banks.get_track(release))
        sam, wes = (next(r for r in report.rows if r.email == e) for e in ("sam@acme.org", "wes@acme.org"))

    assert report.has_pathway and report.total == 2
    assert (sam.education_share, sam.experience_share, sam.supervision_share) == (1.0, 1.0, 1.0)
    assert (sam.attestations_verified, sam.attestations_required, sam.pending_records) == (3, 3, 0)
    assert sam.requirements_met and sam.ready and sam.ready_to_apply
    # Wes: education 6 of 12 (0.5), advocacy 4 of 4 (1), ethics 2 of 6 (1/3): the least complete part.
    assert wes.education_share == pytest.approx(1 / 3)
    assert wes.experience_share == pytest.approx(10 / 40)
    assert wes.supervision_share == 0.0  # 2 hours pending do not count
    assert (wes.attestations_verified, wes.pending_records) == (1, 1)
    assert not wes.requirements_met and not wes.ready_to_apply
    assert report.pathway_counts == {"ready": 1, "pending": 1, "incomplete": 1}
    assert sam.matches("ready") and not sam.matches("pending") and wes.matches("incomplete")


def test_dashboard_shows_pathway_columns_and_filters_by_pathway(app, cohort):
    acme = cohort["acme"]
    client = client_for(app, "ada@acme.org")

    html = client.get(f"/org/{acme}").get_data(as_text=True)
    assert "Education hours" in html and "Ready to apply" in html
    assert "<strong>1</strong> ready to apply, <strong>1</strong> with records waiting for verification." in html
    assert "<td>33%</td>" in html and "<td>25%</td>" in html and "<td>1 of 3</td>" in html and "<td>3 of 3</td>" in html
    assert 'class="badge flag-ready">Ready to apply' in html
    assert '<option value="pending">Waiting for verification (1)</option>' in html

    ready = client.get(f"/org/{acme}?pathway=ready").get_data(as_text=True)
    assert "Sam Learner" in ready and "Wes Learner" not in ready
    assert "Showing the 1 learner whose pathway is: <strong>ready to apply</strong>" in ready
    assert f'href="/org/{acme}/report.csv?pathway=ready"' in ready
    assert f"/org/{acme}?sort=-name&amp;pathway=ready" in ready  # sorting keeps the filter
    for key in ("pending", "incomplete"):
        page = client.get(f"/org/{acme}?pathway={key}").get_data(as_text=True)
        assert "Wes Learner" in page and "Sam Learner" not in page
    assert client.get(f"/org/{acme}?pathway=everything").status_code == 404
    assert client.get(f"/org/{acme}/report.csv?pathway=nope").status_code == 404


def test_csv_has_the_pathway_columns_and_honours_the_filter(app, cohort):
    acme = cohort["acme"]
    client = client_for(app, "ada@acme.org")

    rows = list(csv.reader(io.StringIO(client.get(f"/org/{acme}/report.csv").get_data(as_text=True))))

    header = rows[0]
    pathway_columns = list(cohort_report.PATHWAY_HEADER)
    assert header[-len(pathway_columns) :] == pathway_columns
    assert [name for name, _ in cohort_report.CSV_COLUMNS][-len(pathway_columns) :] == pathway_columns
    cells = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    sam, wes = cells["sam@acme.org"], cells["wes@acme.org"]
    assert [sam[c] for c in pathway_columns] == ["1.000", "1.000", "1.000", "3", "3", "0", "yes", "yes", ""]
    assert [wes[c] for c in pathway_columns] == ["0.333", "0.250", "0.000", "1", "3", "1", "no", "no", ""]

    response = client.get(f"/org/{acme}/report.csv?pathway=pending")
    assert response.headers["Content-Disposition"] == 'attachment; filename="acme-readiness-pending.csv"'
    assert [row[1] for row in csv.reader(io.StringIO(response.get_data(as_text=True)))][1:] == ["wes@acme.org"]


def test_a_certified_learner_shows_the_recertification_due_date(app, cohort):
    with app.app_context():
        sam_id = user("sam@acme.org").id
        db.session.add(
            Certification(user_id=sam_id, track="basic", certified_on=date(2024, 6, 15), credential_number="1")
        )
        db.session.commit()
        release = banks.latest_release("mini")
        report = cohort_report.build_report(
            org("acme"), release, banks.get_track(release), now=utcnow().replace(year=2025, month=1, day=10)
        )
    sam = next(r for r in report.rows if r.email == "sam@acme.org")
    assert sam.recertification_due == date(2026, 6, 15)  # 24 months after certification
    assert cohort_report.csv_rows(report)[1 + report.rows.index(sam)][-1] == "2026-06-15"


def test_pathway_columns_keep_the_report_at_a_constant_number_of_queries(app, people):
    with app.app_context():
        organization = org("acme")
        release = banks.latest_release("mini")
        track = banks.get_track(release)
        cohort_report.build_report(organization, release, track)  # warm the calibration cache
        few, _ = statements_during(lambda: cohort_report.build_report(organization, release, track))
        for index in range(12):
            email = f"extra{index}@acme.org"
            accounts.add_membership(accounts.register_user(email, f"Extra {index}", PASSWORD), organization, "learner")
            verify(add(email, supervision(1.0)))
            add(email, experience(5.0))
        many, report = statements_during(lambda: cohort_report.build_report(organization, release, track))
    assert few == many and report.total == 14
    assert report.pathway_counts["pending"] == 12
