"""Issue 11's target: a 10,000-question GIFT and Moodle XML import preview each under 3 s on SQLite.

The synthetic bank of bench/bank_import.py (2,500 scenarios x 4 questions) is imported into the database,
then exported with quizbank.converters.to_gift and to_moodle_xml. Timed, median of 3 each:

* parse: the registered format's ``parse`` alone (``quizbank.formats.by_name(...).parse``);
* preview service: what GET /author/transfer/preview/<token> runs, ``transfer.find_upload`` then
  ``transfer.plan_import`` against the imported bank (reading the release, parsing, merging, writing and
  re-loading the merged bank as YAML, diffing; a plan with changes is also kept as a YAML zip);
* preview page: the HTTP GET itself through the test client (the service plus the template), once.

Also the issue's pathological GIFT file: 16,000 questions all titled ``::q::`` (new ids q, q-2 ... q-16000),
parsed alone and previewed into the same bank. The exported 10,000-question files are larger than the
5 MB caps (the converters' MAX_IMPORT_BYTES and the upload form's BANK_UPLOAD_MAX_BYTES): both are lifted
for this run only, and the sizes are printed next to the caps. Runs on SQLite, and on PostgreSQL as well
with BENCH_DATABASE_URL. Run alone with ``python -m bench.convert_preview``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import quizbank
from app import create_app
from app.extensions import db
from app.services import accounts, banks, transfer
from bench.bank_import import synthetic_bank
from bench.databases import on_each_database
from quizbank import formats
from quizbank.converters import common, to_gift, to_moodle_xml
from quizbank.dump import write_bank

TARGET_S = 3.0
REPEAT = 3
REPEATED_TITLES = 16_000
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@bench.example", "bench-password-1"
LIFTED_BYTES = 100_000_000
CAP_BYTES = common.MAX_IMPORT_BYTES  # 5 MB, the same as transfer.DEFAULT_MAX_UPLOAD_BYTES


def median_s(call: Callable[[], object], repeat: int = REPEAT) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


@contextmanager
def lifted_import_cap():
    """The converters refuse files over MAX_IMPORT_BYTES (5 MB); the exports here are larger."""
    saved = common.MAX_IMPORT_BYTES
    common.MAX_IMPORT_BYTES = LIFTED_BYTES
    try:
        yield
    finally:
        common.MAX_IMPORT_BYTES = saved


def repeated_titles_gift(count: int = REPEATED_TITLES) -> bytes:
    """The issue's case: every question titled 'q' (as tests/test_rules.py builds it)."""
    question = "::q::Which one? {=Ask first #Consent. ~Decide #No. ~Wait #Too slow.}\n\n"
    return ("$CATEGORY: advocacy\n\n" + question * count).encode("utf-8")


def loaded_synthetic_bank(tmp: Path) -> quizbank.Bank:
    """The synthetic bank written as YAML and loaded back (canonical text, as a real import)."""
    return quizbank.load_bank(write_bank(synthetic_bank(), tmp / "bank"))


def files(bank: quizbank.Bank) -> dict[str, tuple[str, str, bytes]]:
    """{case: (format name, file name, data)}."""
    return {
        f"GIFT, {bank.question_count:,} q": ("gift", "bank.gift.txt", to_gift(bank).encode("utf-8")),
        f"Moodle XML, {bank.question_count:,} q": ("moodle-xml", "bank.xml", to_moodle_xml(bank)),
        f"GIFT, {REPEATED_TITLES:,} x ::q::": ("gift", "titles.gift.txt", repeated_titles_gift()),
    }


def parse_rows(bank: quizbank.Bank, cases: dict[str, tuple[str, str, bytes]]) -> list[tuple[str, str, float, str]]:
    rows = []
    for case, (name, filename, data) in cases.items():
        parse = formats.by_name(name).parse
        seconds, result = median_s(
            lambda parse=parse, data=data, filename=filename: parse(
                data, source=filename, domains=bank.domains, tags=bank.tags
            )
        )
        count = sum(len(s.questions) for s in result.scenarios)
        rows.append((case, "parse", seconds, f"{count:,} questions, {len(result.problems)} problems"))
    return rows


def print_table(label: str, rows: list[tuple[str, str, float, str]]) -> None:
    print(f"[{label} convert preview] {'file':<22} {'step':<16} {'median s':>8}  {'3 s target':<10}  result")
    for case, step, seconds, note in rows:
        verdict = "met" if seconds < TARGET_S else "MISSED"
        print(f"[{label} convert preview] {case:<22} {step:<16} {seconds:>8.2f}  {verdict:<10}  {note}")


def plan_note(plan: transfer.ImportPlan) -> str:
    if plan.errors:
        return f"{len(plan.errors)} errors: {plan.errors[0][:80]}"
    counts = ", ".join(f"{n:,} {what}" for what, n in plan.diff.counts().items() if n) if plan.diff else "no diff"
    return f"{'importable' if plan.can_import else 'nothing to import'}: {counts}"


def bench_convert_preview(url: str, label: str) -> None:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SECRET_KEY": "bench",
            "BANK_UPLOAD_MAX_BYTES": LIFTED_BYTES,
        }
    )
    with tempfile.TemporaryDirectory() as tmp, lifted_import_cap():
        uploads = Path(tmp) / "uploads"
        app.config["BANK_UPLOAD_DIR"] = str(uploads)
        with app.app_context():
            db.drop_all()
            db.create_all()
            bank = loaded_synthetic_bank(Path(tmp))
            banks.import_bank(bank)
            accounts.register_user(ADMIN_EMAIL, "Bench Admin", ADMIN_PASSWORD, is_admin=True)
            db.session.commit()
            cases = files(bank)
            for case, (_, _, data) in cases.items():
                over = len(data) > CAP_BYTES
                print(
                    f"[{label} convert preview] {case}: {len(data) / 1e6:.2f} MB"
                    + (" - over the 5 MB converter and upload caps, lifted for this run" if over else "")
                )
            rows = parse_rows(bank, cases) if label == "sqlite" else []  # no database: once is enough
            user = accounts.find_user(ADMIN_EMAIL)
            tokens = {}
            for case, (name, filename, data) in cases.items():
                token = transfer.save_upload(
                    uploads, user, data=data, filename=filename, fmt=name, bank_slug=bank.id, max_bytes=LIFTED_BYTES
                )
                tokens[case] = token

                def preview(token=token):
                    db.session.expire_all()
                    return transfer.plan_import(transfer.find_upload(uploads, token, user), user)

                seconds, plan = median_s(preview)
                rows.append((case, "preview service", seconds, plan_note(plan)))
            db.session.remove()
        client = app.test_client()
        client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        for case, token in tokens.items():
            path = f"/author/transfer/preview/{token}"
            seconds, response = median_s(lambda path=path: client.get(path), repeat=1)
            size = len(response.get_data())
            rows.append((case, "preview page", seconds, f"HTTP {response.status_code}, {size / 1e6:.2f} MB of HTML"))
        print_table(label, rows)
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


def main() -> None:
    on_each_database(bench_convert_preview)


if __name__ == "__main__":
    main()
