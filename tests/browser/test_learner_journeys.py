"""A trainee in a real browser: practice with rationales, a mock exam, keyboard-only answering, own data."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import PASSWORD

expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect


def test_trainee_practises_by_domain_then_takes_and_reviews_a_mock_exam(journey):
    page = journey.page
    journey.log_in("trainee@example.org", audit=True)
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Sam Rivera")
    journey.check("dashboard")

    journey.click("link", "Practice")
    journey.check("practice-start")
    page.get_by_label("Domain").select_option(label="Ethical Responsibility")
    page.get_by_label("Number of questions").select_option("5")
    journey.click("button", "Start practice")
    expect(page.locator(".eyebrow")).to_contain_text("Ethical Responsibility · Question 1 of 5")
    journey.check("question")

    option_count = page.get_by_role("radio").count()
    chosen_text = page.locator("label[for=choice-1]").inner_text()
    page.get_by_role("radio").nth(1).check()
    journey.click("button", "Check answer")
    expect(page.get_by_role("status").filter(has_text=re.compile("Correct|Not the best answer"))).to_be_visible()
    expect(page.locator(".rationale")).to_have_count(option_count)  # a rationale for every option
    expect(page.locator(".is-chosen .option-text")).to_contain_text(chosen_text)
    expect(page.locator(".badge-correct")).to_have_count(1)
    journey.check("rationales")

    journey.click("button", "Finish now")
    expect(page.get_by_role("heading", level=1)).to_have_text("Practice summary: Ethical Responsibility")
    expect(page.locator(".score")).to_contain_text("of 1 answered correctly")
    journey.check("summary")

    page.locator("main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Recent activity")).to_be_visible()
    journey.check("dashboard-after-practice")

    journey.click("link", "Mock exams")
    journey.check("exams")
    journey.click("button", "Start a mock exam")
    expect(page.locator(".eyebrow")).to_contain_text("Question 1 of 40")
    journey.check("exam-question-1")
    page.get_by_role("radio").first.check()
    journey.click("button", "Save and next")
    expect(page.locator(".eyebrow")).to_contain_text("Question 2 of 40")
    page.get_by_role("radio").last.check()
    journey.click("button", "Save and finish…")
    expect(page.locator("main")).to_contain_text("You have answered 2 of 40 questions.")
    journey.check("exam-submit")

    journey.click("button", "Submit the exam")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Exam review")
    expect(page.get_by_role("heading", name=re.compile(r"^Question \d+: not answered$"))).to_have_count(38)
    expect(page.get_by_role("heading", name=re.compile(r"^Question [12]: (correct|missed)$"))).to_have_count(2)
    journey.check("exam-review")


def test_keyboard_only_practice_answer(journey):
    page = journey.page
    journey.log_in("jordan@example.org")
    journey.goto("/practice/")
    journey.check("practice-start")

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    assert page.get_by_role("link", name="Skip to content").bounding_box()["x"] >= 0  # visible when focused
    tab_to(page, "button", "Start practice")
    page.keyboard.press("Enter")
    expect(page.locator(".eyebrow")).to_contain_text("Question 1 of")
    journey.check("question")

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link: focus goes to <main>, past the navigation
    page.keyboard.press("Tab")
    first = page.locator("#choice-0")
    expect(first).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus is visible
    page.keyboard.press("Space")  # Space chooses the focused option …
    expect(first).to_be_checked()
    page.keyboard.press("ArrowDown")  # … and the arrows move the choice through the group
    expect(page.locator("#choice-1")).to_be_checked()
    expect(first).not_to_be_checked()
    chosen_text = page.locator("label[for=choice-1]").inner_text()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Check answer")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator(".is-chosen .option-text")).to_contain_text(chosen_text)
    expect(page.locator(".rationale").first).to_be_visible()
    journey.check("feedback")
    tab_to(page, "link", "Next question")
    page.keyboard.press("Enter")
    expect(page.locator(".eyebrow")).to_contain_text("Question 2 of")
    journey.check("next-question")


def tab_to(page, role: str, name: str, limit: int = 40) -> None:
    """Press Tab until the element with this role and name has focus (fail after ``limit`` presses)."""
    target = page.get_by_role(role, name=name, exact=True)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    pytest.fail(f"{role} {name!r} never received focus from the keyboard")


def test_trainee_downloads_their_data_then_deletes_their_account(journey):
    page = journey.page
    journey.log_in("priya@example.org")
    journey.click("link", "Account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    journey.check("account")

    with page.expect_download() as download:
        journey.click("link", "Download my data (JSON)")
    data = json.loads(download.value.path().read_text())
    assert data["profile"]["email"] == "priya@example.org"
    assert len(data["attempts"]) == 10 and all(a["responses"] for a in data["attempts"])  # 8 practices, 2 exams
    assert "password_hash" not in json.dumps(data)

    page.get_by_label("Your current password").fill("not-my-password")
    page.get_by_label("Type DELETE to confirm").fill("DELETE")
    journey.click("button", "Delete my account")
    expect(page.locator("#password-error")).to_have_text("That is not your current password.")
    expect(page.get_by_label("Your current password")).to_have_attribute("aria-invalid", "true")
    journey.check("delete-refused")

    page.get_by_label("Your current password").fill(PASSWORD)
    page.get_by_label("Type DELETE to confirm").fill("DELETE")
    journey.click("button", "Delete my account")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("were deleted")
    journey.check("deleted")

    page.get_by_label("Email").fill("priya@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    journey.click("button", "Log in")
    expect(page.locator("#password-error")).to_have_text("Email or password is not right.")
