"""Import of a 10,000-question bank, and its unchanged re-import (a no-op), on one database.

The bank is generated as a real folder of YAML files (2,500 scenarios x 4 questions) so the timing
covers validation with file:line tracking as well as the database work. Prints figures only.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import quizbank
from app import create_app
from app.extensions import db
from app.services import banks
from quizbank.dump import write_bank
from quizbank.model import Bank, Option, Question, Scenario

SCENARIOS = 2_500
QUESTIONS_PER_SCENARIO = 4
DOMAINS = {"advocacy": "Advocacy", "ethics": "Ethical Responsibility", "mentoring": "Mentoring", "recovery": "Recovery"}
TAGS = {f"topic-{n}": f"Topic {n}" for n in range(40)}


def synthetic_bank(version: str = "1.0.0") -> Bank:
    """A large bank with the shape of the real one (scenario text, 4 options, a rationale each)."""
    scenarios = []
    for s in range(SCENARIOS):
        domain = list(DOMAINS)[s % len(DOMAINS)]
        questions = tuple(
            Question(
                id=f"s{s:05d}-q{q}",
                stem=f"What is the best first action in situation {s}, question {q}?",
                difficulty=("easy", "medium", "hard")[(s + q) % 3],
                options=tuple(
                    Option(f"Option {o} for {s}/{q}: a plausible response.", o == (s + q) % 4, f"Why option {o} is so.")
                    for o in range(4)
                ),
            )
            for q in range(QUESTIONS_PER_SCENARIO)
        )
        scenarios.append(
            Scenario(
                id=f"s{s:05d}",
                domain=domain,
                text=f"Scenario {s}: a person in recovery asks their peer specialist for support with a situation.",
                questions=questions,
                tags=(f"topic-{s % 40}", f"topic-{(s * 7) % 40}") if s % 40 != (s * 7) % 40 else (f"topic-{s % 40}",),
            )
        )
    return Bank("synthetic", "Synthetic bank", version, DOMAINS, TAGS, {}, tuple(scenarios))


def bench_bank_import(url: str, label: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with tempfile.TemporaryDirectory() as tmp, app.app_context():
        db.drop_all()
        db.create_all()
        folder = write_bank(synthetic_bank(), Path(tmp) / "bank")
        start = time.perf_counter()
        bank = quizbank.load_bank(folder)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        report = banks.import_bank(bank)
        db.session.commit()
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = banks.import_bank(quizbank.load_bank(folder))
        db.session.commit()
        reimport = time.perf_counter() - start
        print(
            f"[{label} import] {bank.question_count} questions in {SCENARIOS} files: validate {loaded:.2f} s, "
            f"first import {first:.2f} s ({report.summary()})"
        )
        print(
            f"[{label} import] unchanged re-import incl. validation: {reimport:.2f} s "
            f"({'no-op' if again.release is None else 'NEW RELEASE?'}); DB part {reimport - loaded:.2f} s approx"
        )
        db.drop_all()
        db.engine.dispose()
