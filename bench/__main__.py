"""`make bench`: bank validation/import and practice-loop latency on SQLite (and PostgreSQL if
BENCH_DATABASE_URL is set), then a 10,000-question bank import (bench/bank_import.py),
then the exam flow under gunicorn with concurrent learners (bench/load.py),
then item analysis over 1,000,000 responses (bench/item_analysis.py), then the cohort readiness report
for 5,000 learners (bench/cohort.py).
Prints figures; asserts nothing."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import quizbank
from app import create_app
from app.extensions import db
from app.services import accounts, banks
from bench import bank_import, cohort, item_analysis, load

BANK = Path(quizbank.BUNDLED_BANKS) / "peer-specialist"


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, {len(ordered) / sum(ordered):.0f} req/s (1 client)"


def bench_database(url: str, label: str) -> None:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        validate_s, bank = timed(lambda: quizbank.load_bank(BANK), repeat=5)
        print(f"[{label}] validate bundled bank ({bank.question_count} questions): {validate_s * 1000:.1f} ms")
        import_s, report = timed(lambda: banks.import_bank(bank))
        db.session.commit()
        print(f"[{label}] first import: {import_s * 1000:.1f} ms ({report.summary()})")
        reimport_s, report = timed(lambda: banks.import_bank(bank), repeat=5)
        print(f"[{label}] unchanged re-import (no-op): {reimport_s * 1000:.1f} ms")
        accounts.register_user("bench@example.org", "Bench", "bench-password-1")
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.org", "password": "bench-password-1"})
    starts, answers, pages = [], [], []
    for _ in range(30):
        t0 = time.perf_counter()
        location = client.post("/practice/", data={"domain": "", "tag": "", "count": "10"}).headers["Location"]
        starts.append(time.perf_counter() - t0)
        for position in range(1, 11):
            url = location.replace("/q/1", f"/q/{position}")
            t0 = time.perf_counter()
            client.get(url)
            pages.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            client.post(url, data={"choice": "0"})
            answers.append(time.perf_counter() - t0)
    print(f"[{label}] start practice (10 questions): {percentiles(starts)}")
    print(f"[{label}] question page: {percentiles(pages)}")
    print(f"[{label}] save answer: {percentiles(answers)}")
    t0 = time.perf_counter()
    for _ in range(50):
        client.get("/")
    print(f"[{label}] dashboard after 300 answers: {(time.perf_counter() - t0) / 50 * 1000:.2f} ms mean")
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@contextmanager
def scratch_postgres(base_url: str):
    """A throwaway database next to BENCH_DATABASE_URL's, so benchmarks never touch test data."""
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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench_database(f"sqlite:///{tmp}/bench.db", "sqlite")
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_postgres(os.environ["BENCH_DATABASE_URL"]) as url:
            bench_database(url, "postgresql")
    with tempfile.TemporaryDirectory() as tmp:
        bank_import.bench_bank_import(f"sqlite:///{tmp}/import.db", "sqlite")
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_postgres(os.environ["BENCH_DATABASE_URL"]) as url:
            bank_import.bench_bank_import(url, "postgresql")
    with tempfile.TemporaryDirectory() as tmp:
        load.bench_load(f"sqlite:///{tmp}/load.db", "sqlite")
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_postgres(os.environ["BENCH_DATABASE_URL"]) as url:
            load.bench_load(url, "postgresql")
    with tempfile.TemporaryDirectory() as tmp:
        item_analysis.bench_item_analysis(f"sqlite:///{tmp}/items.db", "sqlite")
    if os.environ.get("BENCH_DATABASE_URL"):
        with scratch_postgres(os.environ["BENCH_DATABASE_URL"]) as url:
            item_analysis.bench_item_analysis(url, "postgresql")
    cohort.run()  # the cohort readiness report: 5,000 learners, 1,000,000 responses (SQLite, then PostgreSQL)


if __name__ == "__main__":
    main()
