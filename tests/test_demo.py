"""`flask demo seed`: demo organization, roles and practice history; idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Attempt, Membership, Response, User
from app.services.demo import DEMO_PASSWORD
from tests.conftest import login


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (User, Attempt, Response))


def test_seed_requires_an_imported_bank(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 1
    assert "Import a bank first" in result.output
    assert counts(app) == (0, 0, 0)


def test_seed_creates_roles_and_history_and_prints_logins(app, mini_release):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output and "trainer@example.org" in result.output
    with app.app_context():
        roles = dict(db.session.execute(select(User.email, Membership.role).join(Membership)).all())
        assert roles["trainer@example.org"] == "trainer"
        assert roles["orgadmin@example.org"] == "org_admin"
        assert roles["trainee@example.org"] == "learner"
        assert db.session.scalar(select(User.is_admin).where(User.email == "admin@example.org")) is True
        answered = db.session.scalar(
            select(func.count()).select_from(Response).where(Response.chosen_option.is_not(None))
        )
        assert answered > 0


def test_seed_twice_changes_nothing(app, mini_release):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "seed"])
    before = counts(app)
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert counts(app) == before


def test_demo_trainee_can_log_in_and_sees_progress(app, client, mini_release):
    app.test_cli_runner().invoke(args=["demo", "seed"])
    assert login(client, "trainee@example.org", DEMO_PASSWORD).status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert "Hello, Sam Rivera" in html
    assert "Recent activity" in html and "finished" in html
