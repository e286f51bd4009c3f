"""The real app for the load benchmark: `gunicorn bench.wsgi:app` with BENCH_WSGI_DATABASE_URL set.

Rate limiting is off (every simulated learner comes from 127.0.0.1) and passwords hash cheaply.
"""

from __future__ import annotations

import os

from app import create_app

DATABASE_URL = os.environ["BENCH_WSGI_DATABASE_URL"]
SECRET_KEY = "bench-load-secret"  # noqa: S105 - benchmark only, loopback, scratch database

app = create_app(
    {
        "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
        "RATELIMIT_ENABLED": False,
        "SECRET_KEY": SECRET_KEY,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
)
