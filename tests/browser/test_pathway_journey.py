"""The certification pathway end to end in a real browser, every step through the pages: a learner of the demo
organization records a training and a supervision session, the demo supervisor verifies both from the queue in
the main navigation, and the learner sees the hours verified and downloads the application packet.

Only the learner's account is made through the service (the demo accounts are seeded with the live server).
Every page is checked with axe-core and for CSP errors; the screenshots of both people go, in order, to one
folder under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from app.extensions import db
from app.services import accounts
from app.services.demo import DEMO_ORG, DEMO_USERS
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, Journey

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

LEARNER = ("robin.journey@example.org", "Robin Journey")
SUPERVISOR = next((email, name) for _, email, name, role, _ in DEMO_USERS if role == "supervisor")
ORGANIZATION = DEMO_ORG[0]
COURSE = "Recovery coaching essentials"
PROVIDER = "Lakeside Training Institute"
TOPIC = "Boundaries with peers"


@pytest.fixture
def learner(live_server) -> str:
    """A new learner of the demo organization (the demo trainees keep their own history); the email."""
    email, name = LEARNER
    with live_server.app.app_context():
        if accounts.find_user(email) is None:
            organization = accounts.get_or_create_organization(*DEMO_ORG)
            accounts.add_membership(accounts.register_user(email, name, PASSWORD), organization, "learner")
            db.session.commit()
    return email


def second_person(browser, live_server, journey: Journey) -> tuple[object, Journey]:
    """Another browser context (its own cookies) whose screenshots continue ``journey``'s numbering."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    walk = Journey(page, journey.axe, journey.name, steps=journey.steps)

    def note_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            walk.problems.append(f"CSP: {message.text}")

    page.on("console", note_console)
    page.on("pageerror", lambda error: walk.problems.append(f"script error: {error}"))
    return context, walk


def pdf_text(data: bytes) -> str:
    completed = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)  # noqa: S603, S607
    return " ".join(completed.stdout.decode().split())


def test_learner_records_supervisor_verifies_learner_downloads_the_packet(journey, browser, live_server, learner):
    page = journey.page
    main = page.locator("main")

    # 1. The learner records a training and a supervision session; both wait for verification.
    journey.log_in(learner)
    journey.click("link", "Pathway")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your certification pathway")
    journey.check("learner-pathway-empty")
    journey.click("link", "Your records")
    expect(main).to_contain_text("No records yet.")
    journey.check("learner-records-empty")

    journey.click("link", "Add training")
    page.get_by_label("Course title").fill(COURSE)
    page.get_by_label("Provider").fill(PROVIDER)
    page.get_by_label("Date completed").fill("2025-01-15")
    page.get_by_label("Total hours").fill("8")
    page.get_by_label("Advocacy hours").fill("3")
    page.get_by_label("Recovery and Wellness Support hours").fill("5")
    page.get_by_label("Organization that verifies it").select_option(label=ORGANIZATION)
    journey.check("learner-training-form")
    journey.click("button", "Save the record")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Training: {COURSE}")
    expect(main).to_contain_text("Waiting for verification")
    expect(main).to_contain_text(ORGANIZATION)
    journey.check("learner-training-saved")

    journey.click("link", "Your records")
    journey.click("link", "Add supervision")
    page.get_by_label("Supervisor").fill(SUPERVISOR[1])
    page.get_by_label("Date").fill("2025-01-22")
    page.get_by_label("Hours", exact=True).fill("2")
    page.get_by_label("Topic (optional)").fill(TOPIC)
    page.get_by_label("Organization that verifies it").select_option(label=ORGANIZATION)
    journey.check("learner-supervision-form")
    journey.click("button", "Save the record")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Supervision: {TOPIC}")
    expect(main).to_contain_text("Waiting for verification")
    journey.check("learner-supervision-saved")

    journey.click("link", "Pathway")
    expect(main).to_contain_text("0 of 46 hours verified, 8 waiting for verification")
    expect(main).to_contain_text("0 of 10 hours verified, 3 waiting for verification")  # Advocacy
    expect(main).to_contain_text("0 of 25 hours verified, 2 waiting for verification")
    journey.check("learner-pathway-pending")
    journey.click("button", "Log out", exact=False)
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    # 2. The supervisor, in a browser of their own, verifies both records from the queue.
    context, supervisor = second_person(browser, live_server, journey)
    try:
        spage = supervisor.page
        smain = spage.locator("main")
        supervisor.log_in(SUPERVISOR[0])
        spage.get_by_role("navigation", name="Main").get_by_role("link", name="Verify records").click()
        expect(spage.get_by_role("heading", level=1)).to_have_text(f"{ORGANIZATION}: records to verify")
        waiting = spage.get_by_role("table", name=re.compile("waiting for verification"))
        mine = waiting.get_by_role("row").filter(has_text=LEARNER[1])
        expect(mine.filter(has_text=COURSE)).to_contain_text("8 h (Advocacy 3, Recovery and Wellness Support 5)")
        expect(mine.filter(has_text=TOPIC)).to_contain_text("2 h")
        supervisor.check("supervisor-queue")

        for kind, title in (("Training", COURSE), ("Supervision", TOPIC)):
            mine.get_by_role("link", name=title, exact=True).click()
            expect(spage.get_by_role("heading", level=1)).to_have_text(f"{kind}: {title}")
            expect(smain).to_contain_text(f"{LEARNER[1]} · Waiting for verification")
            supervisor.check(f"supervisor-{kind.lower()}-pending")
            spage.get_by_label("Verify: the record is accurate and counts toward the credential").check()
            supervisor.click("button", "Save decision")
            expect(spage.locator(".flash")).to_contain_text(f"{kind} record of {LEARNER[1]} verified.")
            supervisor.check(f"supervisor-queue-after-{kind.lower()}")

        expect(mine).to_have_count(0)  # nothing of the learner's is left waiting; nothing was returned
        decided = spage.get_by_role("region", name="Recently decided")
        for title in (COURSE, TOPIC):
            row = decided.get_by_role("row").filter(has_text=title)
            expect(row).to_contain_text(LEARNER[1])
            expect(row).to_contain_text("Verified")
            expect(row).to_contain_text(SUPERVISOR[1])
        decided.get_by_role("link", name=COURSE, exact=True).click()
        expect(smain).to_contain_text(f"{LEARNER[1]} · Verified by {SUPERVISOR[1]}")
        expect(spage.get_by_role("heading", name="Verify or return")).to_have_count(0)
        trail = spage.get_by_role("region", name="Audit trail").get_by_role("row")
        expect(trail).to_have_count(3)  # the header, then one row per step
        expect(trail.nth(1)).to_contain_text(f"Submitted {LEARNER[1]}")
        expect(trail.nth(2)).to_contain_text(f"Verified {SUPERVISOR[1]}")
        supervisor.check("supervisor-audit-trail")
        journey.steps = supervisor.steps
    finally:
        context.close()

    # 3. The learner logs in again, sees the hours verified and downloads the application packet.
    journey.log_in(learner)
    journey.click("link", "Pathway")
    expect(main).to_contain_text("8 of 46 hours verified, 38 missing.")
    expect(main).to_contain_text("3 of 10 hours verified, 7 missing.")  # Advocacy
    expect(main).to_contain_text("5 of 10 hours verified, 5 missing.")  # Recovery and Wellness Support
    expect(main).to_contain_text("2 of 25 hours verified, 23 missing.")
    expect(main).not_to_contain_text(re.compile(r"\d waiting for verification"))
    journey.check("learner-pathway-verified")

    with page.expect_download() as download:
        journey.click("link", "Application packet (PDF)")
    assert download.value.suggested_filename.endswith(".pdf")
    data = download.value.path().read_bytes()
    assert data.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is missing: the packet's text was not checked")
    text = pdf_text(data)
    # pdftotext reads wrapped table cells line by line: check values that fit their cell.
    for expected in (
        f"Learner: {LEARNER[1]}",
        COURSE,
        "8 total: Advocacy 3",  # the training's hours and their split
        "Education (all domains) 46 8 38",  # required, verified, missing
        "Education: Advocacy 10 3 7",
        "Education: Recovery and Wellness Support 10 5 5",
        "Supervision 25 2 23",
        f"2025-01-22 {TOPIC} {SUPERVISOR[1]} 2 {SUPERVISOR[1]}",  # supervisor, hours, verified by
    ):
        assert expected in text, f"{expected!r} not in the packet: {text}"
    assert text.count(SUPERVISOR[1]) == 3, text  # the session's supervisor, and the verifier of both records
