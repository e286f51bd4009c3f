"""The baseline for the load benchmark: a bare Flask app whose one route inserts one row and returns 204.

`gunicorn bench.bare:app` with BENCH_WSGI_DATABASE_URL set; same database and the same engine options as
the real app (pre-ping), so the ratio shows what the app adds on top of a request plus one committed write.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, insert

metadata = MetaData()
bench_ping = Table(
    "bench_ping",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", DateTime, nullable=False),
)

engine = create_engine(os.environ["BENCH_WSGI_DATABASE_URL"], pool_pre_ping=True)
with engine.begin() as conn:
    metadata.create_all(conn)  # checkfirst: the load script has usually created it already
engine.dispose()

app = Flask(__name__)


@app.post("/ping")
def ping():
    with engine.begin() as conn:
        conn.execute(insert(bench_ping).values(created_at=datetime.now(UTC).replace(tzinfo=None)))
    return "", 204
