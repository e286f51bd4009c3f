"""Fixtures: one app per session (SQLite file, or TEST_DATABASE_URL for PostgreSQL), clean tables per test.

HTTP tests must not hold an app context while calling the client (the request would share the
test's session); use the ``db_ctx`` fixture only for service-level tests, or ``app.app_context()``
blocks around setup and checks.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import quizbank
from app import create_app
from app.extensions import db
from app.services import accounts, banks

HERE = Path(__file__).parent
MINI_BANK = HERE / "banks" / "mini"
BUNDLED_BANK = Path(quizbank.BUNDLED_BANKS) / "peer-specialist"
PASSWORD = "correct-horse-battery"

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "RATELIMIT_ENABLED": False,
    "DEFAULT_BANK": "mini",
}


def database_url(tmp_path_factory) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    evidence = str(tmp_path_factory.mktemp("evidence"))
    app = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url(tmp_path_factory), "EVIDENCE_DIR": evidence}
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_tables(request):
    """Empty every table after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def db_ctx(app):
    """An app context for service-level tests."""
    with app.app_context():
        yield db
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def mini_release(app):
    """The mini bank imported as release 1.0.0; returns the release id."""
    with app.app_context():
        report = banks.import_bank(quizbank.load_bank(MINI_BANK))
        db.session.commit()
        return report.release.id


@pytest.fixture
def bank_copy(tmp_path):
    """A writable copy of the mini bank, for tests that corrupt or change it."""
    target = tmp_path / "bank"
    shutil.copytree(MINI_BANK, target)
    return target


@pytest.fixture
def make_user(app):
    """Create a user (optionally with a role in an organization); returns the email."""

    def make(email: str, *, role: str | None = None, org: str = "acme", admin: bool = False, name: str | None = None):
        with app.app_context():
            user = accounts.register_user(email, name or email.split("@")[0].title(), PASSWORD, is_admin=admin)
            if role:
                accounts.add_membership(user, accounts.get_or_create_organization(org.title(), org), role)
            db.session.commit()
        return email

    return make


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in page"
    return match.group(1)


def get_token(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return csrf_token(response.get_data(as_text=True))


def login(client, email: str, password: str = PASSWORD, follow: bool = False):
    token = get_token(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, follow_redirects=follow
    )


def post_form(client, url: str, data: dict | None = None, *, token_from: str | None = None, **kwargs):
    """POST a form with a valid CSRF token taken from ``token_from`` (default: the same URL)."""
    token = get_token(client, token_from or url)
    return client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)
