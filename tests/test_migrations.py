"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from tests.conftest import TEST_CONFIG


@contextmanager
def scratch_database(tmp_path):
    """A new empty database of the kind under test; dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def migrated_app(tmp_path):
    with scratch_database(tmp_path) as url:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()


def test_upgrade_matches_the_models(migrated_app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_downgrade_removes_every_table(migrated_app):
    downgrade(revision="base")
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()


def test_upgrade_keeps_existing_data_from_the_last_landed_release(tmp_path):
    """A database at the schema that landed before bank 2 / readiness 2 / the pathway, holding a learner with an
    attempt and a readiness snapshot, upgrades to head with its data intact and the new tables usable."""
    with scratch_database(tmp_path) as url:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(revision="e9ea236ab5bb")
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        'INSERT INTO "user" (id, email, display_name, password_hash, is_admin, is_active_account, '
                        "created_at, session_token) VALUES (1, 'old@example.org', 'Old Learner', 'x', false, true, "
                        "'2026-11-01 09:00:00', 'token')"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO readiness_snapshot (id, user_id, track, taken_at, probability, domains) "
                        "VALUES (1, 1, 'cprs', '2026-11-02 09:00:00', 0.42, '{}')"
                    )
                )
            upgrade()
            with db.engine.connect() as conn:
                assert conn.execute(text('SELECT email FROM "user"')).scalar_one() == "old@example.org"
                row = conn.execute(text("SELECT probability, evidence FROM readiness_snapshot")).one()
                assert row.probability == 0.42 and row.evidence is None  # recorded before readiness 2
                assert conn.execute(text("SELECT count(*) FROM learner_record")).scalar_one() == 0
                assert conn.execute(text("SELECT count(*) FROM bank_calibration")).scalar_one() == 0
                assert conn.execute(text("SELECT exam_form FROM attempt")).all() == []
            db.session.remove()
            db.engine.dispose()
