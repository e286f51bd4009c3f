"""Item analysis at scale: 1,000,000 responses (25,000 submitted mock exams x 40 items, bundled bank).

Simulated learners answer by a two-parameter logistic model (ability ~ N(0, 1); a few items have a
negative slope, as if miskeyed; each item has one rarely chosen distractor), on forms drawn to the
track blueprint, so KR-20 is the approximate random-form figure. Rows go in through SQLAlchemy Core
executemany in chunks (not the ORM) into a scratch database. Generation, ANALYZE and each analysis
are timed separately. Prints figures; asserts nothing.

Run alone with ``python -m bench.item_analysis`` (BENCH_DATABASE_URL adds a scratch PostgreSQL run);
``BENCH_ITEM_ATTEMPTS`` changes the number of exams.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import permutations
from pathlib import Path

from sqlalchemy import column, func, insert, select, table, text

import quizbank
from app import create_app
from app.extensions import db
from app.models import Attempt, Bank, BankRelease, Response, User
from app.services import banks, item_analysis
from app.services.item_analysis import StatsFilter
from bench.databases import on_each_database
from quizbank.blueprint import allocate

BANK = Path(quizbank.BUNDLED_BANKS) / "peer-specialist"
ATTEMPTS = int(os.environ.get("BENCH_ITEM_ATTEMPTS", "25000"))
LEARNERS = max(1, ATTEMPTS // 10)
CHUNK_ATTEMPTS = 500  # 500 exams x 40 items = 20,000 responses per executemany
MISKEYED = 3  # items simulated with a negative slope: item analysis should flag them "check key"
START = datetime(2026, 1, 5, 9, 0)


@dataclass(frozen=True)
class Item:
    """What the generator needs of a question version, as plain values (no ORM attribute access)."""

    version_id: int
    question_id: int
    domain: str
    key: int
    orders: tuple[str, ...]  # every option order, already JSON
    slope: float
    difficulty: float
    distractor_weights: tuple[float, ...]


def _items(versions, rng: random.Random) -> list[Item]:
    """Simulated parameters per version; the first MISKEYED items get a negative slope."""
    items = []
    for number, version in enumerate(versions):
        options = version.options
        weights = [0.0 if option["correct"] else rng.uniform(0.5, 1.0) for option in options]
        weights[rng.choice([i for i, w in enumerate(weights) if w > 0])] = 0.02  # one rarely chosen distractor
        items.append(
            Item(
                version_id=version.id,
                question_id=version.question_id,
                domain=version.domain,
                key=version.correct_index,
                orders=tuple(json.dumps(list(order)) for order in permutations(range(len(options)))),
                slope=rng.uniform(0.4, 2.0) * (-1 if number < MISKEYED else 1),
                difficulty=rng.gauss(-0.6, 1.0),
                distractor_weights=tuple(weights),
            )
        )
    return items


def _answer(item: Item, theta: float, rng: random.Random) -> int:
    if rng.random() < 1 / (1 + math.exp(-1.7 * item.slope * (theta - item.difficulty))):
        return item.key
    return rng.choices(range(len(item.distractor_weights)), weights=item.distractor_weights)[0]


def _draw_form(by_domain: dict[str, list[Item]], counts: dict[str, int], rng: random.Random) -> list[Item]:
    form = [item for domain, count in counts.items() for item in rng.sample(by_domain[domain], count)]
    rng.shuffle(form)
    return form


def _insert_learners(conn) -> list[int]:
    now = START - timedelta(days=30)
    rows = [
        {
            "email": f"learner{i}@bench.example",
            "display_name": f"Learner {i}",
            "password_hash": "!",
            "is_admin": False,
            "is_active_account": True,
            "created_at": now,
            "session_token": "",
        }
        for i in range(LEARNERS)
    ]
    conn.execute(insert(User.__table__), rows)
    return list(conn.scalars(select(User.id).order_by(User.id)))


def _exam_rows(attempt_id: int, user_id: int, release_id: int, track: dict, form: list[Item], theta, rng):
    """One submitted exam and its responses, as plain dicts for executemany."""
    started = START + timedelta(minutes=attempt_id * 7)
    submitted = started + timedelta(minutes=rng.randint(20, 60))
    responses = []
    for position, item in enumerate(form, start=1):
        chosen = _answer(item, theta, rng)
        responses.append(
            {
                "attempt_id": attempt_id,
                "position": position,
                "question_id": item.question_id,
                "question_version_id": item.version_id,
                "option_order": rng.choice(item.orders),
                "chosen_option": chosen,
                "correct": chosen == item.key,
                "answered_at": submitted,
            }
        )
    score = sum(r["correct"] for r in responses) / len(responses)
    attempt = {
        "id": attempt_id,
        "user_id": user_id,
        "release_id": release_id,
        "mode": "exam",
        "seed": attempt_id,
        "started_at": started,
        "deadline_at": started + timedelta(minutes=track["exam"]["time_limit_minutes"]),
        "submitted_at": submitted,
        "track": track["id"],
        "score": score,
        "passed": score >= track["exam"]["cut_score"],
    }
    return attempt, responses


def _response_table():
    """The response table with option_order untyped, so the pre-serialised JSON text goes in as it is."""
    columns = [column(c.name, c.type) for c in Response.__table__.c if c.name not in ("id", "option_order")]
    return table("response", *columns, column("option_order"))


def generate(release: BankRelease) -> int:
    """Insert the learners, exams and responses; returns the number of responses."""
    rng = random.Random(20260105)
    track = banks.get_track(release)
    by_domain: dict[str, list[Item]] = {}
    for item in _items(banks.release_versions(release), rng):
        by_domain.setdefault(item.domain, []).append(item)
    counts = allocate(track["exam"]["length"], track["blueprint"], {d: len(v) for d, v in by_domain.items()})
    responses_table = _response_table()
    total = 0
    with db.engine.begin() as conn:
        learner_ids = _insert_learners(conn)
        abilities = {user_id: rng.gauss(0.0, 1.0) for user_id in learner_ids}
        for first in range(1, ATTEMPTS + 1, CHUNK_ATTEMPTS):
            attempts, responses = [], []
            for attempt_id in range(first, min(first + CHUNK_ATTEMPTS, ATTEMPTS + 1)):
                user_id = learner_ids[attempt_id % len(learner_ids)]
                form = _draw_form(by_domain, counts, rng)
                attempt, rows = _exam_rows(attempt_id, user_id, release.id, track, form, abilities[user_id], rng)
                attempts.append(attempt)
                responses.extend(rows)
            conn.execute(insert(Attempt.__table__), attempts)
            conn.execute(insert(responses_table), responses)
            total += len(responses)
    return total


def _analyze() -> None:
    """Refresh planner statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) would."""
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _median_ms(call, repeat: int = 3) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        db.session.expire_all()
        start = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, result


def _report_analysis(label: str, bank: Bank, release: BankRelease) -> None:
    ms, items = _median_ms(lambda: item_analysis.release_item_stats(release))
    flags = Counter(flag for item in items for flag in item.flags)
    print(f"[{label}] bank item analysis ({len(items)} versions, exam mode): {ms:.0f} ms median of 3")
    print(f"[{label}]   flags: {dict(sorted(flags.items()))}")
    p_values = [item.p for item in items if item.p is not None]
    print(f"[{label}]   p from {min(p_values):.2f} to {max(p_values):.2f}; n per item ~{items[0].n}")
    ms, _ = _median_ms(lambda: item_analysis.release_item_stats(release, StatsFilter(mode=None)))
    print(f"[{label}] bank item analysis, every mode: {ms:.0f} ms")
    ms, forms = _median_ms(lambda: item_analysis.form_stats(bank))
    for form in forms:
        print(
            f"[{label}] KR-20/SEM per form: {ms:.0f} ms; {form.label}: {form.attempts} attempts, "
            f"k={form.items_per_attempt:.0f} of {form.distinct_items} items, KR-20 {form.kr20:.3f} "
            f"({'approximate' if form.approximate else 'exact'}), SEM {form.sem:.2f}, mean {form.mean:.1f}"
        )
    version = item_analysis.get_version(items[0].version_id)
    ms, _ = _median_ms(lambda: item_analysis.version_item_stats(version))
    print(f"[{label}] one version's statistics (distractor page): {ms:.0f} ms")
    ms, csv_text = _median_ms(lambda: item_analysis.bank_csv(bank))
    print(f"[{label}] CSV export ({len(csv_text.splitlines()) - 1} rows): {ms:.0f} ms")


def bench_item_analysis(url: str, label: str) -> None:
    """Generate the responses into the (scratch) database at ``url`` and time the analyses."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.drop_all()
        db.create_all()
        release = banks.import_bank(quizbank.load_bank(BANK)).release
        db.session.commit()
        start = time.perf_counter()
        responses = generate(release)
        generated = time.perf_counter() - start
        count = db.session.scalar(select(func.count()).select_from(Response))
        print(f"[{label}] generated {ATTEMPTS:,} exams / {responses:,} responses ({count:,} rows) in {generated:.1f} s")
        start = time.perf_counter()
        _analyze()
        print(f"[{label}] ANALYZE: {time.perf_counter() - start:.1f} s")
        _report_analysis(label, db.session.get(Bank, release.bank_id), release)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def main() -> None:
    """SQLite always; PostgreSQL too when BENCH_DATABASE_URL is set (in a scratch database)."""
    on_each_database(bench_item_analysis)


if __name__ == "__main__":
    main()
