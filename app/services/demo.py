"""Demo data: an organization with a trainer, a supervisor, an org admin, a site admin and trainees with history."""

from __future__ import annotations

import random

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Cohort, Organization, User
from app.services import ServiceError, accounts, calibration, exams, orgs, practice
from app.services.banks import get_track, latest_release

DEMO_PASSWORD = "practice-peer-2026"  # noqa: S105 - public demo accounts, printed by make run
DEMO_ORG = ("Riverside Recovery Community", "riverside")
DEMO_USERS = [
    ("Site admin", "admin@example.org", "Alex Admin", None, True),
    ("Organization admin", "orgadmin@example.org", "Olu Okafor", "org_admin", False),
    ("Trainer", "trainer@example.org", "Teresa Lopez", "trainer", False),
    ("Supervisor", "supervisor@example.org", "Marcus Bell", "supervisor", False),
    ("Trainee", "trainee@example.org", "Sam Rivera", "learner", False),
    ("Trainee", "jordan@example.org", "Jordan Lee", "learner", False),
    ("Trainee", "priya@example.org", "Priya Natarajan", "learner", False),
]
# How well each demo trainee answers (chance of picking the key), practice sets and mock exams taken.
DEMO_HISTORY = {
    "trainee@example.org": (0.75, 6, 1),
    "jordan@example.org": (0.55, 3, 0),
    "priya@example.org": (0.85, 8, 2),
}
DEMO_COHORT = "Spring 2026 cohort"
DEMO_JOIN_CODE = "PEERWAYS"  # the demo organization's join code (new joiners land in the demo cohort)


def seed_demo() -> list[tuple[str, str]]:
    """Create the demo accounts and history; running it again changes nothing. Returns (role, email)."""
    release = latest_release(current_app.config["DEFAULT_BANK"])
    if release is None:
        raise ServiceError("Import a bank first: flask bank import")
    organization = accounts.get_or_create_organization(*DEMO_ORG)
    if release.bank.organization_id is None:
        release.bank.organization_id = organization.id  # the demo trainer can edit the bundled bank
    created = False
    for _, email, name, role, is_admin in DEMO_USERS:
        if accounts.find_user(email) is not None:
            continue
        created = True
        user = accounts.register_user(email, name, DEMO_PASSWORD, is_admin=is_admin)
        if role:
            accounts.add_membership(user, organization, role)
        if email in DEMO_HISTORY:
            _practice_history(user, release, *DEMO_HISTORY[email])
    _demo_cohort_and_code(organization)
    if created:
        calibration.calibrate_bank(release.bank)  # the demo history informs the item difficulties
    return [(label, email) for label, email, *_ in DEMO_USERS] + [("Join code", DEMO_JOIN_CODE)]


def _demo_cohort_and_code(organization: Organization) -> None:
    """The demo trainees in a cohort, and a join code for it (both made once)."""
    cohort = db.session.scalar(
        select(Cohort).where(Cohort.organization_id == organization.id, Cohort.name == DEMO_COHORT)
    )
    if cohort is None:
        cohort = orgs.create_cohort(organization, DEMO_COHORT)
        trainees = [user.id for user in orgs.organization_learners(organization) if user.email in DEMO_HISTORY]
        if trainees:
            orgs.add_to_cohort(cohort, trainees)
    if orgs.active_join_code(organization) is None:
        orgs.regenerate_join_code(organization, None, cohort=cohort, code=DEMO_JOIN_CODE)


def _practice_history(user: User, release, skill: float, sessions: int, mock_exams: int) -> None:
    rng = random.Random(user.email)  # noqa: S311 - demo data
    domains = list(release.domains)
    for index in range(sessions):
        attempt = practice.start_practice(
            user, release, domain=domains[index % len(domains)], count=10, seed=rng.randrange(2**31)
        )
        for response in attempt.responses:
            practice.answer(attempt, response.position, _demo_choice(response, skill, rng))
    track = get_track(release)
    for _ in range(mock_exams if track else 0):
        attempt = exams.start_exam(user, release, track, seed=rng.randrange(2**31))
        for response in attempt.responses:
            exams.save_answer(attempt, response.position, _demo_choice(response, skill, rng))
        exams.submit(attempt)


def _demo_choice(response, skill: float, rng: random.Random) -> int:
    """The shown position a learner of this skill picks: the key with probability ``skill``."""
    key = response.question_version.correct_index
    wrong = [i for i in response.option_order if i != key]
    choice = key if rng.random() < skill else rng.choice(wrong)
    return response.option_order.index(choice)
