"""Concurrent simulated learners against the app under gunicorn, compared with a bare one-insert route.

Each learner logs in (not timed), then three timed phases run one after the other, each with the same
number of concurrent learners: start an exam, save every answer (Save and next), submit. The baseline is
``bench.bare`` (a Flask route inserting one row into the same database) driven with the same
concurrency and request count as the save-answer phase. Ratios: endpoint p50 / bare p50 and
bare req/s / endpoint req/s (how many times slower than the bare route). Client and server share the
machine's CPUs, so absolute figures are pessimistic; the ratios are the point.

Every request has a timeout and every phase a deadline; the servers listen on loopback only and are
stopped (terminate, wait) however the run ends.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import func, select, text

import quizbank
from app import create_app
from app.extensions import db
from app.models import Attempt, Response
from app.models.progress import ReadinessSnapshot
from app.services import accounts, banks

ROOT = Path(__file__).resolve().parent.parent
BANK = Path(quizbank.BUNDLED_BANKS) / "peer-specialist"
HOST = "127.0.0.1"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
LEARNERS = int(os.environ.get("BENCH_LEARNERS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
PASSWORD = "bench-password-1"  # noqa: S105 - throwaway accounts in a scratch database
USER_AGENT = "peer-trainer-bench/1"
REQUEST_TIMEOUT = 30.0  # seconds, per request
PHASE_DEADLINE = 90.0  # seconds; learners stop issuing requests after this
STARTUP_TIMEOUT = 30.0
CSRF_PATTERNS = (
    re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"'),
    re.compile(r'name="csrf_token" value="([^"]+)"'),
)
EXAM_LOCATION = re.compile(r"/exams/(\d+)$")


def gunicorn_path() -> str:
    local = ROOT / ".venv" / "bin" / "gunicorn"
    if local.exists():
        return str(local)
    sibling = Path(sys.executable).with_name("gunicorn")
    return str(sibling) if sibling.exists() else (shutil.which("gunicorn") or "gunicorn")


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0: no HTTP response (connection error or timeout)
    location: str
    body: str
    seconds: float


class Client:
    """One browser: a cookie jar and one fresh loopback connection per request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> Reply:
        headers = {"Connection": "close", "User-Agent": USER_AGENT, "Host": f"{HOST}:{self.port}"}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        conn = http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)
        start = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            return Reply(0, "", "", time.perf_counter() - start)
        finally:
            conn.close()
        elapsed = time.perf_counter() - start
        for header in response.headers.get_all("Set-Cookie") or []:
            self._store(header)
        location = urlsplit(response.getheader("Location", "")).path
        return Reply(response.status, location, data.decode("utf-8", "replace"), elapsed)

    def _store(self, header: str) -> None:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        attributes = attributes.lower()
        if not value or "max-age=0" in attributes or "1970" in attributes:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


def csrf_token(html: str) -> str | None:
    for pattern in CSRF_PATTERNS:
        match = pattern.search(html)
        if match:
            return match.group(1)
    return None


# --- phases -------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    unexpected: int = 0  # 2xx/3xx answers that went somewhere the flow did not expect
    wall: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, reply: Reply, expected_location: str | None = None, expected_status: int = 302) -> bool:
        ok = reply.status == expected_status and (expected_location is None or reply.location == expected_location)
        with self.lock:
            self.latencies.append(reply.seconds)
            self.statuses[reply.status] += 1
            if not ok and 200 <= reply.status < 400:
                self.unexpected += 1
        return ok

    @property
    def failed(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 400)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.wall if self.wall else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass
class Learner:
    email: str
    client: Client
    token: str | None = None
    exam_id: int | None = None


def run_phase(phase: Phase, items: list, step: Callable[[object, Phase, float], None]) -> Phase:
    """Run ``step`` for every item with CONCURRENCY threads; the phase's wall time is start to last reply."""
    deadline = time.monotonic() + PHASE_DEADLINE
    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix=phase.name) as pool:
        for future in [pool.submit(step, item, phase, deadline) for item in items]:
            future.result()
    phase.wall = time.perf_counter() - start
    return phase


def log_in(learner: Learner, phase: Phase, deadline: float) -> None:
    reply = learner.client.request("GET", "/login")
    token = csrf_token(reply.body)
    if token is None:
        phase.record(reply, expected_status=200)
        return
    reply = learner.client.request(
        "POST", "/login", {"email": learner.email, "password": PASSWORD, "csrf_token": token}
    )
    if not phase.record(reply):
        return
    reply = learner.client.request("GET", "/exams/")  # the token is per session: fetched once, reused
    if phase.record(reply, expected_status=200):
        learner.token = csrf_token(reply.body)


def start_exam(learner: Learner, phase: Phase, deadline: float) -> None:
    if learner.token is None or time.monotonic() > deadline:
        return
    reply = learner.client.request("POST", "/exams/start", {"csrf_token": learner.token})
    match = EXAM_LOCATION.search(reply.location)
    if phase.record(reply) and match:
        learner.exam_id = int(match.group(1))
    elif reply.status == 302:
        with phase.lock:
            phase.unexpected += 1


def answer_all(length: int, options: int) -> Callable[[Learner, Phase, float], None]:
    def step(learner: Learner, phase: Phase, deadline: float) -> None:
        if learner.exam_id is None:
            return
        rng = random.Random(learner.exam_id)
        base = f"/exams/{learner.exam_id}"
        for position in range(1, length + 1):
            if time.monotonic() > deadline:
                return
            form = {"csrf_token": learner.token, "choice": str(rng.randrange(options)), "go": "next"}
            following = f"{base}/q/{position + 1}" if position < length else f"{base}/submit"
            phase.record(learner.client.request("POST", f"{base}/q/{position}", form), following)

    return step


def submit_exam(learner: Learner, phase: Phase, deadline: float) -> None:
    if learner.exam_id is None or time.monotonic() > deadline:
        return
    base = f"/exams/{learner.exam_id}"
    phase.record(learner.client.request("POST", f"{base}/submit", {"csrf_token": learner.token}), f"{base}/review")


def ping_all(count: int) -> Callable[[Client, Phase, float], None]:
    def step(client: Client, phase: Phase, deadline: float) -> None:
        for _ in range(count):
            if time.monotonic() > deadline:
                return
            phase.record(client.request("POST", "/ping", {}), expected_status=204)

    return step


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def serve(target: str, url: str, log_path: Path) -> Iterator[int]:
    """Run ``target`` under gunicorn on a free loopback port until the block ends; yields the port."""
    port = free_port()
    command = [
        gunicorn_path(),
        "--preload",
        "--workers", str(WORKERS),
        "--worker-class", "gthread",
        "--threads", str(THREADS),
        "--bind", f"{HOST}:{port}",
        "--graceful-timeout", "5",
        "--log-level", "warning",
        target,
    ]  # fmt: skip
    env = {**os.environ, "BENCH_WSGI_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(process, port, log_path)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_until_answering(process: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_tail(log_path)}")
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", "/")
            conn.getresponse().read()
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
        finally:
            conn.close()
    raise RuntimeError(f"gunicorn did not answer within {STARTUP_TIMEOUT:.0f} s:\n{log_tail(log_path)}")


# --- database -----------------------------------------------------------------------------------


def bench_app(url: str):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SECRET_KEY": "bench-load-secret",
        }
    )


def prepare(app, count: int) -> tuple[int, int, list[str]]:
    """Tables, the bundled bank and ``count`` learners; returns (exam length, fewest options, emails)."""
    with app.app_context():
        db.create_all()
        bank = quizbank.load_bank(BANK)
        report = banks.import_bank(bank)
        emails = [f"learner{i:03d}@bench.example.org" for i in range(count)]
        for i, email in enumerate(emails):
            accounts.register_user(email, f"Learner {i}", PASSWORD)
        db.session.commit()
        track = banks.get_track(report.release)
        options = min(len(question.options) for _, question in bank.questions())
        db.engine.dispose()
    return track["exam"]["length"], options, emails


@dataclass
class Check:
    exams: int
    submitted_once: int
    fully_answered: int
    bare_rows: int


def check(app, length: int) -> Check:
    """Count, in the database, what the run left behind."""
    with app.app_context():
        exams = db.session.scalars(select(Attempt).where(Attempt.mode == "exam")).all()
        answered = dict(
            db.session.execute(
                select(Response.attempt_id, func.count())
                .where(Response.chosen_option.is_not(None))
                .group_by(Response.attempt_id)
            ).all()
        )
        snapshots = dict(
            db.session.execute(
                select(ReadinessSnapshot.attempt_id, func.count())
                .where(ReadinessSnapshot.attempt_id.is_not(None))
                .group_by(ReadinessSnapshot.attempt_id)
            ).all()
        )
        per_user = Counter(exam.user_id for exam in exams)
        submitted_once = sum(
            1
            for exam in exams
            if exam.submitted_at is not None
            and exam.score is not None
            and snapshots.get(exam.id) == 1
            and per_user[exam.user_id] == 1
        )
        fully_answered = sum(1 for exam in exams if answered.get(exam.id) == length)
        bare_rows = db.session.execute(text("SELECT count(*) FROM bench_ping")).scalar_one()
        db.session.remove()
        db.engine.dispose()
    return Check(len(exams), submitted_once, fully_answered, bare_rows)


# --- report -------------------------------------------------------------------------------------


def line(label: str, phase: Phase, bare: Phase | None = None) -> str:
    p50, p99 = phase.percentile(0.5) * 1000, phase.percentile(0.99) * 1000
    out = f"[{label}] {phase.name:<12} p50 {p50:7.2f} ms, p99 {p99:7.2f} ms, {phase.rps:6.0f} req/s"
    out += f" ({phase.requests} req)"
    if bare is not None and bare.latencies and phase.latencies and phase.rps:
        out += f"  vs bare: p50 x{p50 / (bare.percentile(0.5) * 1000):.1f}, throughput /{bare.rps / phase.rps:.1f}"
    return out


def header() -> str:
    return (
        f"[load] gunicorn --workers {WORKERS} --worker-class gthread --threads {THREADS} on {HOST}; "
        f"{CONCURRENCY} concurrent learners, {LEARNERS} exams; client on the same {os.cpu_count()} CPUs"
    )


def bench_load(url: str, label: str) -> None:
    """Load-test the exam flow on the database at ``url`` (which should be empty) and print the figures."""
    label = f"{label} load"
    print(header())
    app = bench_app(url)
    length, options, emails = prepare(app, LEARNERS)
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "gunicorn.log"
        with serve("bench.wsgi:app", url, log_path) as port:
            learners = [Learner(email, Client(port)) for email in emails]
            login = run_phase(Phase("login"), learners, log_in)
            start = run_phase(Phase("start exam"), learners, start_exam)
            save = run_phase(Phase("save answer"), learners, answer_all(length, options))
            submit = run_phase(Phase("submit"), learners, submit_exam)
        with serve("bench.bare:app", url, log_path) as port:
            per_client = length  # same shape as save-answer: one client per learner, one POST per answer
            bare = run_phase(Phase("bare insert"), [Client(port) for _ in learners], ping_all(per_client))
        errors = log_tail(log_path, 10) if any(p.failed for p in (login, start, save, submit, bare)) else ""
    result = check(app, length)
    print(f"[{label}] {length} answers per exam, {save.requests} saves, bare route: same concurrency and count")
    for phase in (start, save, submit):
        print(line(label, phase, bare))
    print(line(label, bare))
    failed = sum(p.failed for p in (login, start, save, submit, bare))
    unexpected = sum(p.unexpected for p in (login, start, save, submit, bare))
    print(
        f"[{label}] check: {result.submitted_once}/{LEARNERS} exams submitted exactly once, "
        f"{result.fully_answered}/{LEARNERS} with all {length} answers saved ({result.exams} exams in the database), "
        f"bare rows {result.bare_rows}/{bare.requests}; "
        f"non-2xx/3xx responses: {failed}, unexpected redirects: {unexpected}"
    )
    if failed:
        statuses = Counter()
        for phase in (login, start, save, submit, bare):
            statuses.update({f"{phase.name} {s}": n for s, n in phase.statuses.items() if not 200 <= s < 400})
        print(f"[{label}] failures: {dict(statuses)}")
        if errors:
            print(f"[{label}] gunicorn log tail:\n{errors}")
