"""Every page that bank 2.0, readiness 2 and the certification pathway added or changed, at 1280 and 390 px.

Each page is audited with axe-core (no serious or critical violations, no CSP or script errors) at a desktop
and a phone width, as the demo account that may open it.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Bank, Organization, QuestionVersion
from app.services import accounts
from app.services.demo import DEMO_ORG
from tests.browser.conftest import PASSWORD

WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(scope="module")
def places(live_server) -> dict:
    """Ids the page paths need: the demo organization, a trainee in it, a bank version."""
    with live_server.app.app_context():
        organization = db.session.query(Organization).filter_by(slug=DEMO_ORG[1]).one()
        trainee = accounts.find_user("trainee@example.org")
        bank = db.session.query(Bank).filter_by(slug="peer-specialist").one()
        version = db.session.query(QuestionVersion).order_by(QuestionVersion.id).first()
        return {"org": organization.id, "trainee": trainee.id, "bank": bank.slug, "version": version.id}


def pages(places: dict) -> dict[str, list[tuple[str, str]]]:
    """(step name, path) per demo account."""
    org = places["org"]
    return {
        "trainee@example.org": [
            ("dashboard", "/"),
            ("practice-start", "/practice/"),
            ("mock-exams", "/exams/"),
            ("pathway", "/pathway/"),
            ("pathway-board-variant", "/pathway/?track=example-five-domain-board"),
            ("records", "/records/"),
            ("record-training-form", "/records/new/training"),
            ("record-attestation-form", "/records/new/attestation"),
            ("certificates", "/certificates"),
        ],
        "supervisor@example.org": [("verify-queue", f"/org/{org}/verify")],
        "trainer@example.org": [
            ("training-sessions", f"/org/{org}/training-sessions"),
            ("training-session-form", f"/org/{org}/training-sessions/new"),
            ("item-statistics", f"/author/stats/banks/{places['bank']}"),
            ("item-statistics-forms", f"/author/stats/banks/{places['bank']}/forms"),
            ("version-statistics", f"/author/stats/versions/{places['version']}"),
            ("import-upload", "/author/transfer/"),
        ],
        "orgadmin@example.org": [
            ("cohort-dashboard", f"/org/{org}"),
            ("learner-drill-down", f"/org/{org}/learners/{places['trainee']}"),
        ],
        "admin@example.org": [("calibration", "/admin/calibration")],
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_changed_pages_are_axe_clean_at_desktop_and_phone_width(journey, places, width):
    journey.page.set_viewport_size({"width": WIDTHS[width], "height": 900})
    for email, steps in pages(places).items():
        journey.page.context.clear_cookies()
        journey.log_in(email, PASSWORD)
        for step, path in steps:
            response = journey.goto(path)
            assert response is not None and response.status == 200, f"{path}: {response and response.status}"
            journey.check(f"{width}-{step}")
