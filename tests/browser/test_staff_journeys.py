"""Trainers, organization admins and anonymous visitors in a real browser."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Certificate
from app.services import accounts, certificates

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


def test_trainer_opens_the_question_bank_and_a_questions_versions(journey):
    page = journey.page
    journey.log_in("trainer@example.org")
    journey.click("link", "Question bank")
    expect(page.get_by_role("heading", level=1)).to_have_text("Question banks")
    journey.check("banks")

    journey.click("link", "Peer Specialist Certification Practice Bank")
    expect(page.get_by_role("heading", name=re.compile(r"^Questions .*\(\d+\)$"))).to_be_visible()
    journey.check("bank")

    first_question = page.locator("tbody a[href*='/questions/']").first
    stable_id = first_question.inner_text()
    first_question.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(stable_id)
    expect(page.get_by_role("heading", name=re.compile(r"^Versions?\b"))).to_be_visible()
    expect(page.locator("main")).to_contain_text(re.compile(r"\b(v|Version )1\b"))
    journey.check("question-versions")


def test_org_admin_opens_their_organization(journey):
    page = journey.page
    journey.log_in("orgadmin@example.org")
    journey.click("link", "Organization")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your organizations")
    journey.check("organizations")

    journey.click("link", "Riverside Recovery Community")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Riverside Recovery Community")
    expect(page.get_by_role("row").filter(has_text="Sam Rivera")).to_be_visible()
    journey.check("members")


@pytest.fixture
def certificate_code(live_server):
    """A valid certificate of Jordan's in the live database, removed afterwards."""
    with live_server.app.app_context():
        user = accounts.find_user("jordan@example.org")
        certificate = Certificate(
            code=certificates.new_code(), user_id=user.id, track="cprs", holder_name=user.display_name, details={}
        )
        db.session.add(certificate)
        db.session.commit()
        code, certificate_id = certificate.code, certificate.id
    yield certificates.format_code(code)
    with live_server.app.app_context():
        db.session.delete(db.session.get(Certificate, certificate_id))
        db.session.commit()


def test_anonymous_visitor_verifies_certificate_codes(journey, certificate_code):
    page = journey.page
    journey.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Prepare for peer specialist certification")
    journey.check("welcome")

    journey.goto("/verify")
    journey.check("verify-form")
    journey.click("button", "Verify")
    expect(page.locator("#code-error")).to_have_text("Enter the code printed on the certificate.")
    journey.check("verify-empty")

    page.get_by_label("Certificate code").fill("ABCD-EFGH-JKLM")
    journey.click("button", "Verify")
    expect(page.get_by_role("status")).to_contain_text("No such certificate.")
    journey.check("verify-unknown")

    page.get_by_label("Certificate code").fill(certificate_code.lower().replace("-", " "))
    journey.click("button", "Verify")
    expect(page.get_by_role("status")).to_contain_text("Valid certificate")
    expect(page.get_by_role("status")).to_contain_text("Jordan Lee")
    journey.check("verify-valid")
