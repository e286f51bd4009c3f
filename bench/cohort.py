"""Cohort readiness report at scale: one organization of 5,000 learners with 1,000,000 responses.

Each learner has 10 attempts of 20 questions over the bundled bank (200 responses); four in ten learners
took two of them as mock exams. Skills and last-activity dates vary, so every flag occurs (about a third
are stalled). Rows go in through SQLAlchemy Core in chunks, not the ORM (executemany on SQLite, COPY on
PostgreSQL), into a scratch SQLite file and, with BENCH_DATABASE_URL, a scratch PostgreSQL database.

Timed: the report service for all learners and for a 50-learner cohort, the CSV, one HTTP GET of the
dashboard (first page of 100 rows) and of the CSV, and - for scale - readiness.evaluate one learner at a
time for the 50-learner cohort. The report's SQL statement count is printed for 50 and for 5,000
learners: it does not grow. Run alone with ``python -m bench.cohort``; ``BENCH_COHORT_LEARNERS``
changes the organization's size. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import column, event, insert, select, table, text

import quizbank
from app import create_app
from app.extensions import db
from app.models import Attempt, BankRelease, CohortMember, Membership, Organization, Response, User
from app.models.base import utcnow
from app.services import accounts, banks, cohort_report, evidence, orgs, readiness
from bench.databases import on_each_database

BANK = Path(quizbank.BUNDLED_BANKS) / "peer-specialist"
LEARNERS = int(os.environ.get("BENCH_COHORT_LEARNERS", "5000"))
ATTEMPTS_PER_LEARNER = 10
QUESTIONS_PER_ATTEMPT = 20  # 10 x 20 = 200 responses per learner
EXAM_TAKERS = 0.4  # share of learners whose last two attempts were mock exams
SMALL_COHORT = 50
CHUNK_LEARNERS = 250  # 250 learners x 200 = 50,000 responses per executemany
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@bench.example", "bench-password-1"


@dataclass(frozen=True)
class Item:
    version_id: int
    question_id: int
    key: int
    order: str  # the option order shown, already JSON


def _items(release: BankRelease) -> list[Item]:
    return [
        Item(v.id, v.question_id, v.correct_index, json.dumps(list(range(len(v.options)))))
        for v in banks.release_versions(release)
    ]


def _response_table():
    """The response table with option_order untyped, so the pre-serialised JSON text goes in as it is."""
    columns = [column(c.name, c.type) for c in Response.__table__.c if c.name not in ("id", "option_order")]
    return table("response", *columns, column("option_order"))


def _bulk_insert(conn, target, rows: list[dict]) -> None:
    """Core executemany; on PostgreSQL, COPY (several times faster) on the same connection and transaction."""
    if conn.dialect.name != "postgresql":
        conn.execute(insert(target), rows)
        return
    names = list(rows[0])
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {target.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


def _insert_learners(conn, organization_id: int, now: datetime) -> list[int]:
    users = [
        {
            "email": f"learner{i:05d}@bench.example",
            "display_name": f"Learner {i:05d}",
            "password_hash": "!",
            "is_admin": False,
            "is_active_account": True,
            "created_at": now - timedelta(days=90),
            "session_token": "",
        }
        for i in range(LEARNERS)
    ]
    conn.execute(insert(User.__table__), users)
    ids = list(conn.scalars(select(User.id).where(User.email.like("learner%@bench.example")).order_by(User.id)))
    memberships = [
        {"user_id": i, "organization_id": organization_id, "role": "learner", "created_at": now} for i in ids
    ]
    conn.execute(insert(Membership.__table__), memberships)
    return ids


def _learner_rows(user_id: int, first_attempt_id: int, release: BankRelease, track: dict, items, rng, now):
    """One learner's attempts and responses, as plain dicts for executemany."""
    skill = rng.uniform(0.45, 0.95)
    last_day = now - timedelta(days=rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 30, 45]), hours=rng.randint(0, 20))
    takes_exams = rng.random() < EXAM_TAKERS
    attempts, responses = [], []
    for number in range(ATTEMPTS_PER_LEARNER):
        attempt_id = first_attempt_id + number
        started = last_day - timedelta(days=3 * (ATTEMPTS_PER_LEARNER - 1 - number))
        exam = takes_exams and number >= ATTEMPTS_PER_LEARNER - 2
        right = 0
        for position, item in enumerate(rng.sample(items, QUESTIONS_PER_ATTEMPT), start=1):
            correct = rng.random() < skill
            right += correct
            responses.append(
                {
                    "attempt_id": attempt_id,
                    "position": position,
                    "question_id": item.question_id,
                    "question_version_id": item.version_id,
                    "option_order": item.order,
                    "chosen_option": item.key if correct else (item.key + 1) % 3,
                    "correct": correct,
                    "answered_at": started + timedelta(minutes=position),
                }
            )
        score = right / QUESTIONS_PER_ATTEMPT
        attempts.append(
            {
                "id": attempt_id,
                "user_id": user_id,
                "release_id": release.id,
                "mode": "exam" if exam else "practice",
                "track": track["id"] if exam else None,
                "seed": attempt_id,
                "started_at": started,
                "submitted_at": started + timedelta(minutes=QUESTIONS_PER_ATTEMPT + 1),
                "score": score if exam else None,
                "passed": score >= track["exam"]["cut_score"] if exam else None,
            }
        )
    return attempts, responses


def generate(organization_id: int, release: BankRelease, track: dict, now: datetime) -> list[int]:
    """Insert the learners, their attempts and responses; returns the learner ids."""
    rng = random.Random(5000)  # noqa: S311 - synthetic data
    items = _items(release)
    responses_table = _response_table()
    with db.engine.begin() as conn:
        learner_ids = _insert_learners(conn, organization_id, now)
        for first in range(0, len(learner_ids), CHUNK_LEARNERS):
            attempts, responses = [], []
            for index in range(first, min(first + CHUNK_LEARNERS, len(learner_ids))):
                rows = _learner_rows(
                    learner_ids[index], index * ATTEMPTS_PER_LEARNER + 1, release, track, items, rng, now
                )
                attempts.extend(rows[0])
                responses.extend(rows[1])
            _bulk_insert(conn, Attempt.__table__, attempts)
            _bulk_insert(conn, responses_table, responses)
        conn.execute(text("ANALYZE"))
    return learner_ids


def _statements(call) -> tuple[int, object]:
    seen: list[str] = []

    def count(*args):
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen), result


def _median_s(call, repeat: int = 3) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        db.session.expire_all()
        start = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def _setup():
    """The bundled bank, an organization with an admin, and a cohort; returns ids and the track."""
    release = banks.import_bank(quizbank.load_bank(BANK)).release
    admin = accounts.register_user(ADMIN_EMAIL, "Bench Admin", ADMIN_PASSWORD)
    organization = orgs.create_organization("Bench Recovery Network", "bench", ADMIN_EMAIL)
    db.session.commit()
    return organization.id, release, banks.get_track(release), admin


def _print_query_times(label: str, organization: Organization, release: BankRelease, track: dict) -> None:
    """The report's two big queries on their own (rows fetched); the rest of the time is Python."""
    ids = cohort_report.learner_ids(organization)
    answers, _ = _median_s(lambda: evidence.answers_for(ids, release.bank_id), repeat=1)
    activity, _ = _median_s(lambda: cohort_report.activity(ids, release), repeat=1)
    print(
        f"[{label}]   of which: independent-answers query and selection {answers * 1000:.0f} ms, "
        f"activity/coverage query {activity * 1000:.0f} ms"
    )


def _measure_report(label: str, organization: Organization, release: BankRelease, track: dict, cohort) -> None:
    cohort_report.build_report(organization, release, track, cohort)  # warm: load the expired ORM objects first
    small_statements, small = _statements(lambda: cohort_report.build_report(organization, release, track, cohort))
    large_statements, large = _statements(lambda: cohort_report.build_report(organization, release, track))
    print(
        f"[{label}] SQL statements per report: {small_statements} for {len(small.rows)} learners, "
        f"{large_statements} for {len(large.rows)} learners"
    )
    seconds, report = _median_s(lambda: cohort_report.build_report(organization, release, track))
    print(f"[{label}] report service, {len(report.rows)} learners: {seconds * 1000:.0f} ms median of 3 "
          f"(flags: {report.counts})")  # fmt: skip
    _print_query_times(label, organization, release, track)
    seconds, _ = _median_s(lambda: cohort_report.build_report(organization, release, track, cohort))
    print(f"[{label}] report service, cohort of {SMALL_COHORT}: {seconds * 1000:.1f} ms median of 3")
    seconds, csv_text = _median_s(lambda: cohort_report.report_csv(report))
    print(
        f"[{label}] CSV of {len(report.rows)} rows ({len(csv_text) / 1e6:.2f} MB): {seconds * 1000:.0f} ms median of 3"
    )
    users = [db.session.get(User, row.user_id) for row in small.rows]
    seconds, _ = _median_s(lambda: [readiness.evaluate(user, release, track) for user in users], repeat=1)
    print(
        f"[{label}] for scale: readiness.evaluate one by one for {len(users)} learners: {seconds * 1000:.0f} ms "
        f"(~{seconds * LEARNERS / max(len(users), 1):.0f} s for {LEARNERS})"
    )


def _measure_http(label: str, app, organization_id: int, cohort_id: int) -> None:
    client = app.test_client()
    client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    client.get(f"/org/{organization_id}/members")  # warm up: compile the templates
    for path in (
        f"/org/{organization_id}",
        f"/org/{organization_id}/report.csv",
        f"/org/{organization_id}?cohort={cohort_id}",
    ):
        start = time.perf_counter()
        response = client.get(path)
        seconds = time.perf_counter() - start
        size = len(response.get_data())
        print(f"[{label}] GET {path}: {response.status_code}, {seconds * 1000:.0f} ms, {size / 1e6:.2f} MB")


def bench_cohort(url: str, label: str) -> None:
    """Generate the organization on ``url`` and print the report's figures."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SECRET_KEY": "bench",
            "DEFAULT_BANK": "peer-specialist",
        }
    )
    now = utcnow()
    with app.app_context():
        db.drop_all()
        db.create_all()
        organization_id, release, track, _ = _setup()
        start = time.perf_counter()
        learner_ids = generate(organization_id, release, track, now)
        seconds = time.perf_counter() - start
        total = LEARNERS * ATTEMPTS_PER_LEARNER * QUESTIONS_PER_ATTEMPT
        print(f"[{label}] generated {len(learner_ids)} learners, {total:,} responses in {seconds:.1f} s")
        organization = db.session.get(Organization, organization_id)
        cohort = orgs.create_cohort(organization, f"First {SMALL_COHORT}")
        db.session.execute(
            insert(CohortMember.__table__), [{"cohort_id": cohort.id, "user_id": i} for i in learner_ids[:SMALL_COHORT]]
        )
        db.session.commit()
        cohort_id = cohort.id
        _measure_report(label, organization, release, track, cohort)
    _measure_http(label, app, organization_id, cohort_id)
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def run() -> None:
    """SQLite always; PostgreSQL too when BENCH_DATABASE_URL is set (in a scratch database)."""
    on_each_database(bench_cohort)


if __name__ == "__main__":
    run()
