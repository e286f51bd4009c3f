"""Browser journeys: the real app served by werkzeug on 127.0.0.1, Debian Chromium driven by Playwright.

One SQLite database for the whole browser session, with the bundled bank imported and the demo accounts
seeded. Every page a journey visits is checked with axe-core (no "serious" or "critical" violation; the
others are printed), must not log a Content-Security-Policy violation or a script error, and is saved as
a screenshot under test-artifacts/screenshots/<test>/.

These tests run on SQLite only: under TEST_DATABASE_URL they skip (the HTTP suite covers PostgreSQL).
They also skip, with the reason, when /usr/bin/chromium or the Playwright packages are missing;
``make test`` and .ci/run install both (never ``playwright install``: the browser is Debian's).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

import quizbank
from app import create_app
from app.extensions import db
from app.services import banks, demo
from tests.conftest import BUNDLED_BANK

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BLOCKING_IMPACTS = ("serious", "critical")
TIMEOUT_MS = 15_000  # generous: CI machines are small and may be busy
FULL_PAGE_MAX_HEIGHT = 4000  # taller pages (a whole bank, a whole exam review) are photographed to the viewport
PASSWORD = demo.DEMO_PASSWORD


def skip_reason() -> str | None:
    """Why the browser journeys cannot run here, or None."""
    if os.environ.get("TEST_DATABASE_URL"):
        return "browser journeys run on SQLite only; the HTTP suite covers PostgreSQL"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make test installs Debian's chromium package)"
    for module in ("playwright", "axe_playwright_python"):
        if importlib.util.find_spec(module) is None:
            return f"Python package {module} is missing (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session", autouse=True)
def _browser_requirements():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # no access log in the test output
        pass


@dataclass
class LiveServer:
    app: object
    url: str


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, _browser_requirements):
    """The app on a free port, in a daemon thread, with the bundled bank and the demo accounts."""
    database = tmp_path_factory.mktemp("browser") / "browser.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "SECRET_KEY": "browser-tests",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "RATELIMIT_ENABLED": False,
            "DEFAULT_BANK": "peer-specialist",
            "EVIDENCE_DIR": str(tmp_path_factory.mktemp("evidence")),
        }
    )
    with app.app_context():
        db.create_all()
        banks.import_bank(quizbank.load_bank(BUNDLED_BANK))
        db.session.commit()
        demo.seed_demo()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser(_browser_requirements):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="session")
def _expect_timeout():
    """Playwright's ``expect`` waits as long as actions do."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()  # axe-core ships inside the package: no network needed


@dataclass
class Journey:
    """One browser tab walking through the app; ``check`` audits and photographs each page."""

    page: object
    axe: object
    name: str
    problems: list[str] = field(default_factory=list)  # CSP violations and script errors seen so far
    steps: int = 0

    def goto(self, path: str):
        return self.page.goto(path)

    def click(self, role: str, name: str, *, exact: bool = True) -> None:
        self.page.get_by_role(role, name=name, exact=exact).first.click()

    def log_in(self, email: str, password: str = PASSWORD, *, audit: bool = False) -> None:
        """Log in through the form (``audit``: check the login page too; one journey is enough)."""
        self.goto("/login")
        if audit:
            self.check("login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.click("button", "Log in")

    def check(self, step: str) -> None:
        """Screenshot, then axe-core: fail on serious/critical violations, print the rest; no CSP errors."""
        self.page.wait_for_load_state("load")
        self.steps += 1
        folder = SCREENSHOTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        full_page = self.page.evaluate("document.documentElement.scrollHeight") <= FULL_PAGE_MAX_HEIGHT
        self.page.screenshot(path=str(folder / f"{self.steps:02d}-{step}.png"), full_page=full_page)
        violations = self.axe.run(self.page).response["violations"]
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        for violation in violations:
            if violation not in blocking:
                print(f"axe {violation['impact']}: {describe(violation)} on {self.page.url} ({step})")
        assert not blocking, f"{step} at {self.page.url}: " + "; ".join(describe(v) for v in blocking)
        assert not self.problems, f"{step} at {self.page.url}: {self.problems}"


def describe(violation: dict) -> str:
    targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
    return f"{violation['id']} ({violation['help']}) at {', '.join(targets)}"


@pytest.fixture
def journey(request, browser, live_server, axe, _expect_timeout):
    """A fresh browser context (no cookies) on the live server, as a Journey named after the test."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    shutil.rmtree(SCREENSHOTS / name, ignore_errors=True)  # no stale steps from an earlier run
    walk = Journey(page, axe, name)
    page.on("console", lambda message: _note_console(walk, message))
    page.on("pageerror", lambda error: walk.problems.append(f"script error: {error}"))
    yield walk
    context.close()


def _note_console(walk: Journey, message) -> None:
    if message.type == "error" and "Content Security Policy" in message.text:
        walk.problems.append(f"CSP: {message.text}")
