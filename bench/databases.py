"""Where benchmarks run: a temporary SQLite file, then a scratch PostgreSQL database when
BENCH_DATABASE_URL is set. Benchmarks never touch the test database's data."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_postgres(base_url: str):
    """A throwaway database next to ``base_url``'s, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def on_each_database(bench: Callable[[str, str], None]) -> None:
    """Run ``bench(url, label)`` on SQLite, then on a scratch PostgreSQL database if one is configured."""
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.db", "sqlite")
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_postgres(os.environ["BENCH_DATABASE_URL"]) as url:
            bench(url, "postgresql")
