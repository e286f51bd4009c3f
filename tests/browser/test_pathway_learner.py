"""The learner's certification pathway in a real browser: record training, supervision and a private statement,
have them verified, download the packet, record a certification and see the recertification reminder.

The supervisor's decisions are made through the service here (the supervisor's own pages have their journey);
every learner page is checked with axe-core and for CSP errors.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import LearnerRecord
from app.services import accounts, records
from app.services.demo import DEMO_ORG
from app.services.pathway import add_months
from tests.browser.conftest import PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

LEARNER = "pat.pathway@example.org"
SUPERVISOR = "sage.pathway@example.org"
STATEMENT = "Words of my own, for me alone."


def add_people(app) -> None:
    """A learner and a supervisor in the demo organization (new accounts: the demo ones stay as they are)."""
    with app.app_context():
        organization = accounts.get_or_create_organization(*DEMO_ORG)
        for email, name, role in ((LEARNER, "Pat Pathway", "learner"), (SUPERVISOR, "Sage Supervisor", "supervisor")):
            if accounts.find_user(email) is None:
                accounts.add_membership(accounts.register_user(email, name, PASSWORD), organization, role)
        db.session.commit()


def verify_everything(app) -> None:
    with app.app_context():
        learner, supervisor = accounts.find_user(LEARNER), accounts.find_user(SUPERVISOR)
        pending = select(LearnerRecord).where(LearnerRecord.user_id == learner.id, LearnerRecord.status == "pending")
        for record in db.session.scalars(pending).all():
            records.decide(record, supervisor, True)
        db.session.commit()


def test_learner_records_training_and_supervision_gets_verified_and_downloads_the_packet(journey, live_server):
    add_people(live_server.app)
    page = journey.page
    journey.log_in(LEARNER)
    journey.click("link", "Pathway")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your certification pathway")
    expect(page.locator("main")).to_contain_text("Not ready to apply yet")
    journey.check("pathway-start")

    journey.click("link", "Your records")
    journey.check("records-empty")
    journey.click("link", "Add training")
    journey.click("button", "Save the record")
    expect(page.locator("#title-error")).to_have_text("Enter the course title.")
    expect(page.get_by_label("Course title")).to_have_attribute("aria-invalid", "true")
    journey.check("training-form-errors")

    page.get_by_label("Course title").fill("Ethics and boundaries")
    page.get_by_label("Provider").fill("Riverside Training Institute")
    page.get_by_label("Date completed").fill("2024-03-01")
    page.get_by_label("Total hours").fill("6")
    page.get_by_label("Advocacy hours").fill("2")
    page.get_by_label("Ethical Responsibility hours").fill("4")
    journey.click("button", "Save the record")
    expect(page.get_by_role("heading", level=1)).to_have_text("Training: Ethics and boundaries")
    expect(page.locator("main")).to_contain_text("Waiting for verification")
    journey.check("training-detail")

    journey.goto("/records/new/supervision")
    page.get_by_label("Supervisor").fill("Sage Supervisor")
    page.get_by_label("Date").fill("2024-03-08")
    page.get_by_label("Hours", exact=True).fill("1.5")
    journey.check("supervision-form")
    journey.click("button", "Save the record")
    expect(page.get_by_role("heading", level=1)).to_have_text("Supervision: Supervision session")

    journey.goto("/records/new/attestation")
    page.get_by_label("Attestation", exact=True).select_option("lived-experience")
    page.get_by_label("Date").fill("2024-03-09")
    page.get_by_label("Statement (optional)").fill(STATEMENT)
    journey.check("attestation-form")
    journey.click("button", "Save the record")
    expect(page.locator("main")).to_contain_text("Private: only you can read it.")
    journey.check("attestation-detail")

    verify_everything(live_server.app)
    journey.click("link", "Pathway")
    expect(page.locator("main")).to_contain_text("6 of 46 hours verified")
    expect(page.locator("main")).to_contain_text("1.5 of 25 hours verified")
    journey.check("pathway-verified")
    page.get_by_label("Track").select_option("example-five-domain-board")
    journey.click("button", "Show this track")
    expect(page.locator("main")).to_contain_text("Statement of lived experience")
    journey.check("pathway-other-track")

    with page.expect_download() as download:
        journey.click("link", "Application packet (PDF)")
    data = download.value.path().read_bytes()
    assert data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()  # noqa: S603, S607
        text = " ".join(text.split())
        assert "Pat Pathway" in text and "Ethics and boundaries" in text and "Sage Supervisor" in text
        assert STATEMENT not in text and "Private statement (not shared)" in text

    journey.click("link", "Your records")
    expect(page.get_by_role("table")).to_contain_text("Verified")
    journey.check("records-verified")

    certified = add_months(date.today() + timedelta(days=40), -24)  # due in about 40 days
    journey.click("link", "Pathway")
    page.get_by_label("Date certified").fill(certified.isoformat())
    page.get_by_label("Credential number").fill("PRS-2024-0042")
    journey.click("button", "Save certification")
    expect(page.get_by_role("heading", name="Recertification")).to_be_visible()
    expect(page.locator("main")).to_contain_text(re.compile(r"Due within 90 days"))
    journey.check("pathway-certified")

    journey.click("link", "Dashboard")
    expect(page.locator("main")).to_contain_text(re.compile(r"Recertification due in \d+ days"))
    journey.check("dashboard-reminder")
