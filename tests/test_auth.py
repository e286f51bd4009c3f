"""Accounts over HTTP: register, log in and out, sessions, CSRF, rate limits, cookies, headers, CLI."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app import create_app
from app.extensions import db, limiter
from app.models import Attempt, Membership, Organization, Response, User
from app.services import accounts
from tests.conftest import PASSWORD, TEST_CONFIG, get_token, login, post_form

EMAIL = "sam@example.org"
LOGIN_FAILED = "Email or password is not right."


@pytest.fixture(autouse=True)
def _bank(mini_release):
    """The practice page (used to tell whether a client is logged in) needs an imported bank."""


def register(client, email: str = EMAIL, password: str = PASSWORD, confirm: str | None = None, name: str = "Sam"):
    data = {
        "display_name": name,
        "email": email,
        "password": password,
        "confirm": password if confirm is None else confirm,
    }
    return post_form(client, "/register", data)


def get_user(app, email: str) -> User | None:
    with app.app_context():
        user = accounts.find_user(email)
        if user is not None:
            db.session.expunge(user)
        return user


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def is_logged_in(client) -> bool:
    """A protected page answers 200 when logged in and redirects to the login page otherwise."""
    response = client.get("/practice/")
    if response.status_code == 302:
        assert response.location.startswith("/login?next=")
        return False
    assert response.status_code == 200
    return True


def field_error(html: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', html, re.S)
    return match.group(1) if match else None


def set_cookie_header(response, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, f"no {name} cookie set"
    return headers[-1]


# Register ---------------------------------------------------------------------------------------------


def test_register_logs_in_and_lands_on_the_dashboard(app, client):
    response = register(client, name="Sam Rivera")

    assert response.status_code == 302
    assert response.location == "/"
    dashboard = client.get("/").get_data(as_text=True)
    assert "Sam Rivera" in dashboard
    assert is_logged_in(client)


def test_register_stores_the_email_lower_cased(app, client):
    register(client, email="Sam.Rivera@Example.ORG")
    assert get_user(app, "sam.rivera@example.org").email == "sam.rivera@example.org"


def test_register_stores_a_password_hash_never_the_password(app, client):
    register(client)
    user = get_user(app, EMAIL)

    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
    assert check_password_hash(user.password_hash, PASSWORD)


def test_register_with_a_taken_email_shows_a_form_message(app, client, make_user):
    make_user(EMAIL)
    response = register(client, email=EMAIL.upper())

    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True), "email") == "An account with this email already exists."
    assert user_count(app) == 1
    assert not is_logged_in(client)


def test_register_with_a_short_password_shows_a_form_message(app, client):
    response = register(client, password="short")

    assert response.status_code == 200
    assert "10" in field_error(response.get_data(as_text=True), "password")
    assert user_count(app) == 0


def test_register_with_a_mismatched_confirmation_shows_a_form_message(app, client):
    response = register(client, confirm=PASSWORD + "x")

    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True), "confirm") == "Passwords differ."
    assert user_count(app) == 0


# Log in -----------------------------------------------------------------------------------------------


def test_login_success_redirects_to_the_dashboard_and_records_the_login(app, client, make_user):
    make_user(EMAIL)
    response = login(client, EMAIL)

    assert response.status_code == 302
    assert response.location == "/"
    assert is_logged_in(client)
    assert get_user(app, EMAIL).last_login_at is not None


def test_login_ignores_the_case_of_the_email(app, client, make_user):
    make_user(EMAIL)
    assert login(client, EMAIL.upper()).status_code == 302
    assert is_logged_in(client)


@pytest.mark.parametrize(("email", "password"), [("nobody@example.org", PASSWORD), (EMAIL, "wrong-password-123")])
def test_login_failure_shows_one_message_for_unknown_email_and_wrong_password(app, client, make_user, email, password):
    make_user(EMAIL)
    response = login(client, email, password)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_error(html, "password") == LOGIN_FAILED
    assert field_error(html, "email") is None
    assert not is_logged_in(client)


def test_unknown_email_is_checked_against_a_hash_of_the_configured_method(app, db_ctx, monkeypatch):
    """Timing must not reveal which emails have accounts: both failures hash with the same method."""
    monkeypatch.setitem(app.config, "PASSWORD_HASH_METHOD", "scrypt")
    accounts.register_user(EMAIL, "Sam", PASSWORD)
    checked: list[str] = []
    real_check = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda h, p: checked.append(h) or real_check(h, p))

    assert accounts.authenticate(EMAIL, "wrong-password-123") is None
    assert accounts.authenticate("nobody@example.org", "wrong-password-123") is None

    known, unknown = (h.split("$")[0] for h in checked)
    assert unknown == known


def test_deactivated_account_cannot_log_in(app, client, make_user):
    make_user(EMAIL)
    with app.app_context():
        accounts.find_user(EMAIL).is_active_account = False
        db.session.commit()

    response = login(client, EMAIL)

    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True), "password") == LOGIN_FAILED
    assert not is_logged_in(client)


def test_deactivating_an_account_ends_its_open_sessions(app, client, make_user):
    make_user(EMAIL)
    login(client, EMAIL)
    assert is_logged_in(client)
    with app.app_context():
        accounts.find_user(EMAIL).is_active_account = False
        db.session.commit()

    assert not is_logged_in(client)


# The next parameter -----------------------------------------------------------------------------------


def login_with_next(client, next_url: str):
    token = get_token(client, "/login")
    return client.post(
        "/login", query_string={"next": next_url}, data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
    )


@pytest.mark.parametrize("next_url", ["/practice/", "/author/banks/mini?tab=questions"])
def test_login_follows_a_local_next_path(app, client, make_user, next_url):
    make_user(EMAIL)
    response = login_with_next(client, next_url)
    assert response.status_code == 302
    assert response.location == next_url


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example",
        "//evil.example/practice/",
        "https://evil.example",
        "https://evil.example/practice/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        " //evil.example",
    ],
)
def test_login_refuses_an_offsite_next_and_goes_to_the_dashboard(app, client, make_user, next_url):
    make_user(EMAIL)
    response = login_with_next(client, next_url)

    assert response.status_code == 302
    assert response.location == "/"
    assert is_logged_in(client)


# Log out ----------------------------------------------------------------------------------------------


def test_logout_is_post_only(app, client, make_user):
    make_user(EMAIL)
    login(client, EMAIL)

    assert client.get("/logout").status_code == 405
    assert is_logged_in(client)


def test_logout_ends_the_session_and_protected_pages_redirect_to_login(app, client, make_user):
    make_user(EMAIL)
    login(client, EMAIL)

    response = post_form(client, "/logout", token_from="/")

    assert response.status_code == 302
    assert response.location == "/login"
    practice = client.get("/practice/")
    assert practice.status_code == 302
    assert practice.location == "/login?next=%2Fpractice%2F"


def test_logout_invalidates_a_copied_session_cookie(app, client, make_user):
    make_user(EMAIL)
    login(client, EMAIL)
    stolen = client.get_cookie("session").value

    post_form(client, "/logout", token_from="/")

    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert not is_logged_in(replay)


# Sessions ---------------------------------------------------------------------------------------------


def test_session_cookie_changes_at_login(app, client, make_user):
    make_user(EMAIL)
    get_token(client, "/login")
    before = client.get_cookie("session").value

    login(client, EMAIL)

    after = client.get_cookie("session").value
    assert after != before
    replay = app.test_client()
    replay.set_cookie("session", before)
    assert not is_logged_in(replay)


def test_session_identifier_carries_the_users_current_session_token(app, client, make_user):
    make_user(EMAIL)
    login(client, EMAIL)
    user = get_user(app, EMAIL)

    with client.session_transaction() as session:
        assert session["_user_id"] == f"{user.id}:{user.session_token}"
    assert len(user.session_token) >= 32


def test_logging_in_again_rotates_the_token_and_old_sessions_stop_working(app, make_user):
    make_user(EMAIL)
    first, second = app.test_client(), app.test_client()
    login(first, EMAIL)
    old_token = get_user(app, EMAIL).session_token
    assert is_logged_in(first)

    login(second, EMAIL)

    assert get_user(app, EMAIL).session_token != old_token
    assert is_logged_in(second)
    assert not is_logged_in(first)


def test_a_remember_me_cookie_stops_working_after_logging_in_again(app, make_user):
    make_user(EMAIL)
    device = app.test_client()
    token = get_token(device, "/login")
    device.post("/login", data={"email": EMAIL, "password": PASSWORD, "remember": "y", "csrf_token": token})
    remembered = device.get_cookie("remember_token").value

    restored = app.test_client()
    restored.set_cookie("remember_token", remembered)
    assert is_logged_in(restored)

    login(app.test_client(), EMAIL)

    replay = app.test_client()
    replay.set_cookie("remember_token", remembered)
    assert not is_logged_in(replay)


# CSRF -------------------------------------------------------------------------------------------------


def snapshot(app, client) -> tuple:
    """Everything a forged POST could change: accounts, sessions, attempts, answers, the client's login."""
    with app.app_context():
        users = db.session.execute(
            select(User.email, User.session_token, User.last_login_at).order_by(User.email)
        ).all()
        attempts = db.session.scalar(select(func.count()).select_from(Attempt))
        answers = db.session.scalar(
            select(func.count()).select_from(Response).where(Response.chosen_option.is_not(None))
        )
    return users, attempts, answers, is_logged_in(client)


def csrf_case(app, client, make_user, target: str) -> tuple[str, dict]:
    """Prepare the client for a POST to ``target``; return the URL and the (otherwise valid) form data."""
    make_user(EMAIL)
    if target == "login":
        return "/login", {"email": EMAIL, "password": PASSWORD}
    if target == "register":
        return "/register", {
            "display_name": "New",
            "email": "new@example.org",
            "password": PASSWORD,
            "confirm": PASSWORD,
        }
    login(client, EMAIL)
    if target == "logout":
        return "/logout", {}
    if target == "practice":
        return "/practice/", {"domain": "advocacy", "tag": "", "count": "5"}
    started = post_form(client, "/practice/", {"domain": "", "tag": "", "count": "5"})
    assert started.status_code == 302
    return started.location, {"choice": "0"}


CSRF_TARGETS = ["login", "register", "logout", "practice", "answer"]


def token_page(target: str) -> str:
    return "/login" if target in ("login", "register") else "/practice/"


@pytest.mark.parametrize("bad_token", ["missing", "garbage", "another session's"])
@pytest.mark.parametrize("target", CSRF_TARGETS)
def test_post_without_a_valid_csrf_token_is_rejected_and_changes_nothing(
    app, client, make_user, mini_release, target, bad_token
):
    url, data = csrf_case(app, client, make_user, target)
    get_token(client, token_page(target))  # the session now holds a CSRF secret that a token must match
    if bad_token == "garbage":
        data["csrf_token"] = "not-a-token"
    elif bad_token == "another session's":
        data["csrf_token"] = get_token(app.test_client(), "/login")
    before = snapshot(app, client)

    response = client.post(url, data=data)

    assert response.status_code == 400
    assert "could not be accepted" in response.get_data(as_text=True)
    assert snapshot(app, client) == before


@pytest.mark.parametrize("target", CSRF_TARGETS)
def test_the_same_post_with_a_valid_csrf_token_does_change_something(app, client, make_user, target):
    """Control for the test above: its form data would have worked with a real token."""
    url, data = csrf_case(app, client, make_user, target)
    token = get_token(client, token_page(target))
    before = snapshot(app, client)

    response = client.post(url, data={**data, "csrf_token": token})

    assert response.status_code == 302
    assert snapshot(app, client) != before


# Rate limit -------------------------------------------------------------------------------------------


@pytest.fixture
def rate_limited_app(app):
    """A second app on the same database, with a login limit of 3 per minute."""
    limited = create_app(
        {
            **TEST_CONFIG,
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "3 per minute",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        }
    )
    yield limited
    with limited.app_context():
        db.engine.dispose()
    # The limiter is one object shared by every app in the process: undo what create_app switched on.
    limiter.reset()
    limiter.init_app(app)
    assert limiter.enabled is False


def test_fourth_login_post_within_a_minute_gets_a_friendly_429(app, make_user, rate_limited_app):
    make_user(EMAIL)
    client = rate_limited_app.test_client()
    for _ in range(3):
        assert login(client, EMAIL, "wrong-password-123").status_code == 200

    response = login(client, EMAIL)  # even the right password is refused now

    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "Too many attempts" in html and "wait a minute" in html
    assert "<html" in html
    assert client.get("/login").status_code == 200
    assert not is_logged_in(client)


# Cookies and headers ----------------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_lax(client):
    cookie = set_cookie_header(client.get("/login"), "session")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_remember_cookie_is_httponly_and_samesite_lax(app, client, make_user):
    make_user(EMAIL)
    token = get_token(client, "/login")
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "remember": "y", "csrf_token": token})
    cookie = set_cookie_header(response, "remember_token")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.fixture
def build_app(app, monkeypatch):
    """create_app with SECURE_COOKIES set to ``secure`` (None: unset) in the environment."""
    built = []

    def build(secure: str | None):
        if secure is None:
            monkeypatch.delenv("SECURE_COOKIES", raising=False)
        else:
            monkeypatch.setenv("SECURE_COOKIES", secure)
        built.append(create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]}))
        return built[-1]

    yield build
    for other in built:
        with other.app_context():
            db.engine.dispose()


def test_secure_cookies_environment_variable_marks_cookies_secure(build_app):
    secure_app = build_app("1")

    assert secure_app.config["SESSION_COOKIE_SECURE"] is True
    assert secure_app.config["REMEMBER_COOKIE_SECURE"] is True
    cookie = set_cookie_header(secure_app.test_client().get("/login"), "session")
    assert "Secure" in cookie


@pytest.mark.parametrize("value", [None, "0"])
def test_cookies_are_not_marked_secure_without_the_environment_variable(build_app, value):
    plain_app = build_app(value)

    assert plain_app.config["SESSION_COOKIE_SECURE"] is False
    cookie = set_cookie_header(plain_app.test_client().get("/login"), "session")
    assert "Secure" not in cookie


def csp_directives(header: str) -> dict[str, list[str]]:
    parts = (p.split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.mark.parametrize("path", ["/", "/login", "/register", "/no-such-page", "/practice/"])
def test_pages_carry_security_headers_and_no_inline_scripts(app, client, make_user, path):
    make_user(EMAIL)
    login(client, EMAIL)
    if path in ("/login", "/register"):
        client = app.test_client()
    response = client.get(path)
    assert response.status_code in (200, 404)

    csp = csp_directives(response.headers["Content-Security-Policy"])
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert csp["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script would be blocked by the CSP"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler would be blocked by the CSP"


# CLI --------------------------------------------------------------------------------------------------


def create_user_cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["users", "create", "--password", PASSWORD, *args])


def test_cli_users_create_adds_a_user_with_a_membership(app):
    result = create_user_cli(app, "--email", "Tara@Example.org", "--name", "Tara", "--org", "acme", "--role", "trainer")

    assert result.exit_code == 0, result.output
    assert "created tara@example.org" in result.output
    with app.app_context():
        user = accounts.authenticate("tara@example.org", PASSWORD)
        assert user is not None and not user.is_admin
        membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        assert membership.role == "trainer"
        assert db.session.get(Organization, membership.organization_id).slug == "acme"


def test_cli_users_create_without_org_makes_a_trainee_and_admin_flag_makes_an_admin(app):
    assert create_user_cli(app, "--email", "t@example.org", "--name", "T").exit_code == 0
    assert create_user_cli(app, "--email", "root@example.org", "--name", "Root", "--admin").exit_code == 0
    with app.app_context():
        trainee, admin = accounts.find_user("t@example.org"), accounts.find_user("root@example.org")
        assert trainee.roles() == set() and not trainee.is_admin
        assert admin.is_admin
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 0


def test_cli_users_create_rejects_a_duplicate_email(app):
    assert create_user_cli(app, "--email", "tara@example.org", "--name", "Tara").exit_code == 0

    result = create_user_cli(app, "--email", "TARA@example.org", "--name", "Other", "--org", "acme")

    assert result.exit_code == 1
    assert "already exists" in result.output
    assert user_count(app) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 0


def test_cli_users_create_rejects_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "t@example.org", "--name", "T", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "at least 10" in result.output
    assert user_count(app) == 0
