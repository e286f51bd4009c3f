"""`make bench`: bank validation/import and practice-loop latency on SQLite (and PostgreSQL if
BENCH_DATABASE_URL is set), then a 10,000-question bank import (bench/bank_import.py),
then the exam flow under gunicorn with concurrent learners (bench/load.py),
then item analysis over 1,000,000 responses (bench/item_analysis.py), then the cohort readiness report
for 5,000 learners (bench/cohort.py), then the calibration of the stated pass probability on simulated
learners (bench/calibration.py).
Prints figures; asserts nothing."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import quizbank
from app import create_app
from app.extensions import db
from app.services import accounts, banks
from bench import bank_import, calibration, cohort, convert_preview, item_analysis, load
from bench.databases import on_each_database

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


def main() -> None:
    on_each_database(bench_database)
    on_each_database(bank_import.bench_bank_import)
    convert_preview.main()  # GIFT and Moodle XML import preview of 10,000 questions (issue 11: under 3 s)
    on_each_database(load.bench_load)
    on_each_database(item_analysis.bench_item_analysis)
    on_each_database(cohort.bench_cohort)  # the cohort readiness report: 5,000 learners, 1,000,000 responses
    calibration.main()  # no database: simulated learners, the readiness model before and after


if __name__ == "__main__":
    main()
