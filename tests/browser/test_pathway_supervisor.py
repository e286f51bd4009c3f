"""The organization's side of the certification pathway in a real browser: a supervisor works through the
queue (return with a comment, verify), an organization admin filters the cohort dashboard by pathway, and a
trainer records a training session's attendance. Every page is checked with axe-core and for CSP errors.

The learner's records are created through the service (the learner's pages have their own journey).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.extensions import db
from app.services import accounts, banks, records
from app.services.demo import DEMO_ORG
from app.services.records import RecordInput
from tests.browser.conftest import PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

SUPERVISOR = "sky.supervisor@example.org"
LEARNER = "lin.learner@example.org"
PRIVATE = "A statement only Lin may read."
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def queue(live_server, tmp_path, monkeypatch) -> dict:
    """A supervisor and a learner with three pending records in the demo organization; their ids.

    Evidence files go to a temporary folder (the live server's default is the instance folder).
    """
    app = live_server.app
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    with app.app_context():
        organization = accounts.get_or_create_organization(*DEMO_ORG)
        for email, name, role in ((SUPERVISOR, "Sky Supervisor", "supervisor"), (LEARNER, "Lin Learner", "learner")):
            if accounts.find_user(email) is None:
                accounts.add_membership(accounts.register_user(email, name, PASSWORD), organization, role)
        learner = accounts.find_user(LEARNER)
        release = banks.latest_release(app.config["DEFAULT_BANK"])
        cprs, board = banks.get_track(release, "cprs"), banks.get_track(release, "example-five-domain-board")
        evidence = records.store_evidence(learner, PDF, "certificate.pdf", Path(app.config["EVIDENCE_DIR"]))
        course = RecordInput("training", "Boundaries in peer work", "Lakeside College", date(2024, 2, 2), None, 6.0,
                             {"ethics": 4.0, "advocacy": 2.0})  # fmt: skip
        training = records.create_record(learner, course, cprs["requirements"], organization, evidence)
        meeting = RecordInput("supervision", "Weekly supervision", "Sky Supervisor", date(2024, 2, 9), None, 1.5)
        supervision = records.create_record(learner, meeting, cprs["requirements"], organization)
        statement = RecordInput("attestation", "", "", date(2024, 2, 10), None, 0.0, {}, "lived-experience", PRIVATE)
        records.create_record(learner, statement, board["requirements"], organization)
        db.session.commit()
        return {"org": organization.id, "training": training.id, "supervision": supervision.id}


def test_supervisor_returns_one_record_with_a_comment_and_verifies_another(journey, queue):
    page = journey.page
    journey.log_in(SUPERVISOR)
    journey.goto(f"/org/{queue['org']}/verify")
    expect(page.get_by_role("heading", level=1)).to_contain_text("records to verify")
    expect(page.get_by_role("table").first).to_contain_text("Lin Learner")
    expect(page.locator("main")).not_to_contain_text(PRIVATE)
    expect(page.locator("main")).to_contain_text("private to the learner")
    journey.check("queue")

    journey.click("link", "Boundaries in peer work")
    expect(page.get_by_role("heading", level=1)).to_have_text("Training: Boundaries in peer work")
    expect(page.get_by_role("link", name="certificate.pdf")).to_be_visible()
    journey.check("record")
    journey.click("button", "Save decision")
    expect(page.locator("#decision-error")).to_contain_text("Choose whether to verify or return")
    journey.check("record-no-decision")
    page.get_by_label("Return it to the learner to correct").check()
    journey.click("button", "Save decision")
    expect(page.locator("main")).to_contain_text("Say what needs to change")
    expect(page.get_by_label("Comment")).to_have_attribute("aria-invalid", "true")
    journey.check("record-no-comment")
    page.get_by_label("Comment").fill("The certificate shows 5 hours; please correct the total.")
    journey.click("button", "Save decision")
    expect(page.locator(".flash")).to_contain_text("Training record of Lin Learner returned to the learner.")
    journey.check("queue-after-return")

    journey.goto(f"/org/{queue['org']}/records/{queue['supervision']}")
    page.get_by_label("Verify: the record is accurate and counts toward the credential").check()
    journey.click("button", "Save decision")
    expect(page.locator(".flash")).to_contain_text("Supervision record of Lin Learner verified.")
    expect(page.get_by_role("heading", name="Recently decided")).to_be_visible()

    journey.goto(f"/org/{queue['org']}/records/{queue['training']}")
    expect(page.locator("main")).to_contain_text("Returned to the learner")
    expect(page.get_by_role("table")).to_contain_text("The certificate shows 5 hours")
    journey.check("returned-record-trail")


def test_org_admin_filters_the_dashboard_by_pathway(journey, queue):
    page = journey.page
    journey.log_in("orgadmin@example.org")
    journey.goto(f"/org/{queue['org']}")
    expect(page.get_by_role("columnheader", name="Ready to apply")).to_be_visible()
    journey.check("dashboard-pathway")
    page.get_by_label("Certification pathway").select_option("pending")
    journey.click("button", "Show")
    expect(page.locator("main")).to_contain_text("whose pathway is: waiting for verification")
    expect(page.get_by_role("row").filter(has_text="Lin Learner")).to_be_visible()
    journey.check("dashboard-pending")
    journey.click("link", "Verify records")
    expect(page.get_by_role("heading", level=1)).to_contain_text("records to verify")


def test_trainer_records_the_attendance_of_a_training_session(journey, queue):
    page = journey.page
    journey.log_in("trainer@example.org")
    journey.goto(f"/org/{queue['org']}/training-sessions")
    journey.check("sessions")
    journey.click("link", "Record attendance of a session")
    journey.click("button", "Record attendance")
    expect(page.locator("main")).to_contain_text("Enter the course title.")
    journey.check("attendance-errors")

    page.get_by_label("Course title").fill("Motivational interviewing basics")
    page.get_by_label("Date held").fill("2024-04-12")
    page.get_by_label("Mentoring and Education hours").fill("3")
    page.get_by_label("Ethical Responsibility hours").fill("1")
    page.get_by_label("Lin Learner").check()
    journey.check("attendance-form")
    journey.click("button", "Record attendance")
    expect(page.locator(".flash")).to_contain_text("1 verified training record.")
    expect(page.get_by_role("row").filter(has_text="Motivational interviewing basics")).to_contain_text("4")
    journey.check("sessions-after")
