"""Organizations: members and roles, invite links, join codes, cohorts, the cohort readiness report and CSV."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, func, select

from app import create_app
from app.extensions import db, limiter
from app.models import Attempt, BankRelease, Cohort, CohortMember, Invitation, Membership, Organization, Response, User
from app.models.base import utcnow
from app.services import ServiceError, accounts, banks, cohort_report, exams, orgs, practice, readiness
from app.services.demo import DEMO_JOIN_CODE
from tests.conftest import PASSWORD, TEST_CONFIG, get_token, login, post_form

approx = pytest.approx


# --- Helpers ---------------------------------------------------------------------------------------------


def new_user(email: str, name: str | None = None) -> User:
    return accounts.register_user(email, name or email.split("@")[0].title(), PASSWORD)


def member(organization: Organization, email: str, role: str = "learner", name: str | None = None) -> User:
    user = new_user(email, name)
    accounts.add_membership(user, organization, role)
    return user


@pytest.fixture
def acme(db_ctx, mini_release):
    """(organization, its admin, release, track) with the mini bank imported."""
    organization = accounts.get_or_create_organization("Acme", "acme")
    admin = member(organization, "ada@acme.org", "org_admin", "Ada Admin")
    release = db.session.get(BankRelease, mini_release)
    return organization, admin, release, banks.get_track(release, "basic")


def answer_domain(user: User, release: BankRelease, domain: str, pattern: list[bool], when: datetime) -> Attempt:
    """A practice attempt answering every question of a domain at ``when``: right/wrong from ``pattern``."""
    attempt = Attempt(user_id=user.id, release_id=release.id, mode="practice", domain=domain, seed=1, started_at=when)
    db.session.add(attempt)
    for position, version in enumerate(practice.candidate_versions(release, domain, None), start=1):
        right = pattern[(position - 1) % len(pattern)]
        chosen = version.correct_index if right else (version.correct_index + 1) % len(version.options)
        attempt.responses.append(
            Response(
                position=position,
                question_id=version.question_id,
                question_version=version,
                option_order=list(range(len(version.options))),
                chosen_option=chosen,
                correct=right,
                answered_at=when,
            )
        )
    db.session.flush()
    return attempt


def take_exam(user: User, release: BankRelease, passed: bool, when: datetime, track: str = "basic") -> Attempt:
    attempt = Attempt(
        user_id=user.id,
        release_id=release.id,
        mode="exam",
        track=track,
        seed=1,
        started_at=when - timedelta(minutes=5),
        submitted_at=when,
        score=0.9 if passed else 0.4,
        passed=passed,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def history(user: User, release: BankRelease, skill: int, sessions: int, start: datetime) -> None:
    """``sessions`` rounds over both domains; ``skill`` of every 4 answers right."""
    pattern = [index < skill for index in range(4)]
    for session in range(sessions):
        when = start + timedelta(hours=session)
        answer_domain(user, release, "advocacy", pattern, when)
        answer_domain(user, release, "ethics", pattern[::-1], when)


def statements_during(call) -> tuple[int, object]:
    """How many SQL statements ``call`` runs, and its result."""
    seen: list[str] = []

    def count(*args):
        seen.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = call()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen), result


def row_for(report, user: User):
    return next(row for row in report.rows if row.user_id == user.id)


# --- Organizations and members ----------------------------------------------------------------------------


def test_create_organization_names_its_first_admin(db_ctx):
    admin = new_user("olu@example.org")
    organization = orgs.create_organization("  Riverside Recovery ", "Riverside-Recovery", "OLU@example.org ")
    assert (organization.name, organization.slug) == ("Riverside Recovery", "riverside-recovery")
    assert [(m.user_id, m.role) for m in organization.memberships] == [(admin.id, "org_admin")]
    assert orgs.administered_organizations(admin) == [organization]


@pytest.mark.parametrize(
    ("name", "slug", "email", "field", "message"),
    [
        ("Acme", "acme", "ada@acme.org", "slug", "already uses"),
        ("Bravo", "-bravo", "ada@acme.org", "slug", "lower-case"),
        ("Bravo", "bra vo", "ada@acme.org", "slug", "lower-case"),
        ("Bravo", "bravo", "nobody@example.org", "admin_email", "register first"),
        ("  ", "bravo", "ada@acme.org", "name", "name"),
    ],
)
def test_create_organization_refuses_bad_input(acme, name, slug, email, field, message):
    with pytest.raises(ServiceError, match=message) as caught:
        orgs.create_organization(name, slug, email)
    assert caught.value.field == field


def test_only_admin_memberships_count_and_site_admins_see_every_organization(acme):
    organization, admin, *_ = acme
    globex = accounts.get_or_create_organization("Globex", "globex")
    accounts.add_membership(admin, globex, "learner")
    root = accounts.register_user("root@example.org", "Root", PASSWORD, is_admin=True)
    assert orgs.administered_organizations(admin) == [organization]
    assert orgs.administered_organization(admin, globex.id) is None
    assert orgs.administered_organizations(root) == [organization, globex]
    assert orgs.administered_organization(root, globex.id) == globex


def test_change_role_but_never_demote_the_last_admin(acme):
    organization, admin, *_ = acme
    sam = member(organization, "sam@acme.org")
    assert orgs.change_role(orgs.get_membership(organization, sam.id), "trainer").role == "trainer"
    with pytest.raises(ServiceError, match="last organization admin"):
        orgs.change_role(orgs.get_membership(organization, admin.id), "learner")
    with pytest.raises(ServiceError, match="Choose one of"):
        orgs.change_role(orgs.get_membership(organization, sam.id), "owner")
    orgs.change_role(orgs.get_membership(organization, sam.id), "org_admin")
    orgs.change_role(orgs.get_membership(organization, admin.id), "learner")  # another admin exists now
    assert orgs.get_membership(organization, admin.id).role == "learner"


def test_remove_member_keeps_their_history_and_drops_their_cohort_places(acme):
    organization, admin, release, _ = acme
    sam = member(organization, "sam@acme.org")
    answer_domain(sam, release, "advocacy", [True], utcnow())
    cohort = orgs.create_cohort(organization, "Spring")
    orgs.add_to_cohort(cohort, [sam.id])
    other = accounts.get_or_create_organization("Globex", "globex")
    other_cohort = orgs.create_cohort(other, "Globex spring")
    accounts.add_membership(sam, other, "learner")
    orgs.add_to_cohort(other_cohort, [sam.id])

    orgs.remove_member(orgs.get_membership(organization, sam.id))

    assert orgs.get_membership(organization, sam.id) is None
    assert orgs.cohort_members(cohort) == []
    assert orgs.cohort_members(other_cohort) == [sam]  # another organization's cohort is untouched
    assert db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.user_id == sam.id)) == 1
    with pytest.raises(ServiceError, match="last organization admin"):
        orgs.remove_member(orgs.get_membership(organization, admin.id))


def test_members_are_listed_admins_first_then_by_name(acme):
    organization, *_ = acme
    member(organization, "zed@acme.org", name="Zed")
    member(organization, "bo@acme.org", "trainer", name="Bo")
    member(organization, "al@acme.org", name="al")
    assert [m.user.display_name for m in orgs.list_members(organization)] == ["Ada Admin", "Bo", "al", "Zed"]


# --- Invite links -----------------------------------------------------------------------------------------


def test_an_invitation_stores_only_a_hash_of_its_secret(acme):
    organization, admin, *_ = acme
    issued = orgs.create_invitation(organization, admin, role="trainer", email="Kim@Example.org")
    row = db.session.get(Invitation, issued.invitation.id)
    assert row.secret_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert len(issued.secret) >= 40
    stored = [str(value) for value in vars(row).values()]
    assert not any(issued.secret in value for value in stored)
    assert (row.kind, row.role, row.email, row.max_uses, row.uses) == ("link", "trainer", "kim@example.org", 1, 0)
    assert row.expires_at - row.created_at == timedelta(days=orgs.INVITATION_DAYS)


def test_accepting_an_invitation_gives_its_role_and_cohort_once(acme):
    organization, admin, *_ = acme
    cohort = orgs.create_cohort(organization, "Spring")
    issued = orgs.create_invitation(organization, admin, role="trainer", cohort=cohort)
    kim = new_user("kim@example.org")

    membership = orgs.accept_invitation(kim, issued.secret)

    assert (membership.organization_id, membership.role) == (organization.id, "trainer")
    assert orgs.cohort_members(cohort) == [kim]
    assert issued.invitation.uses == 1
    with pytest.raises(ServiceError, match="already been used"):
        orgs.accept_invitation(new_user("lee@example.org"), issued.secret)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("expire", "has expired"),
        ("revoke", "withdrawn"),
        ("use", "already been used"),
        ("email", "different email address"),
        ("unknown", "not valid"),
    ],
)
def test_unusable_invitations_are_refused_with_a_clear_message(acme, change, message):
    organization, admin, *_ = acme
    now = utcnow()
    issued = orgs.create_invitation(organization, admin, email="kim@example.org" if change == "email" else None)
    secret = issued.secret
    if change == "expire":
        now += timedelta(days=orgs.INVITATION_DAYS, seconds=1)
    elif change == "revoke":
        orgs.revoke_invitation(issued.invitation)
    elif change == "use":
        orgs.accept_invitation(new_user("first@example.org"), secret)
    elif change == "unknown":
        secret = secret[:-2] + "xx"
    lee = new_user("lee@example.org")
    with pytest.raises(ServiceError, match=message):
        orgs.accept_invitation(lee, secret, now=now)
    assert orgs.get_membership(organization, lee.id) is None


def test_an_email_restricted_invitation_ignores_case(acme):
    organization, admin, *_ = acme
    issued = orgs.create_invitation(organization, admin, email="kim@example.org")
    assert orgs.accept_invitation(new_user("KIM@Example.ORG"), issued.secret).role == "learner"


def test_accepting_never_lowers_a_role_already_held(acme):
    organization, admin, *_ = acme
    issued = orgs.create_invitation(organization, admin, role="learner")
    assert orgs.accept_invitation(admin, issued.secret).role == "org_admin"
    sam = member(organization, "sam@acme.org")
    assert orgs.accept_invitation(sam, orgs.create_invitation(organization, admin, role="trainer").secret).role == (
        "trainer"
    )


def test_supervisor_is_a_role_between_trainer_and_org_admin(acme):
    organization, admin, *_ = acme
    sam = member(organization, "sam@acme.org")
    assert orgs.accept_invitation(sam, orgs.create_invitation(organization, admin, role="supervisor").secret).role == (
        "supervisor"
    )
    trainer_link = orgs.create_invitation(organization, admin, role="trainer").secret
    assert orgs.accept_invitation(sam, trainer_link).role == "supervisor"  # never lowered
    assert orgs.change_role(orgs.get_membership(organization, sam.id), "learner").role == "learner"
    assert orgs.organization_with_role(sam, organization.id, ("supervisor", "org_admin")) is None
    orgs.change_role(orgs.get_membership(organization, sam.id), "supervisor")
    assert orgs.organization_with_role(sam, organization.id, ("supervisor", "org_admin")) == organization
    assert orgs.administered_organization(sam, organization.id) is None


def test_invitation_options_are_checked(acme):
    organization, admin, *_ = acme
    foreign = orgs.create_cohort(accounts.get_or_create_organization("Globex", "globex"), "Globex spring")
    with pytest.raises(ServiceError, match="another organization"):
        orgs.create_invitation(organization, admin, cohort=foreign)
    with pytest.raises(ServiceError, match="1 to 90 days"):
        orgs.create_invitation(organization, admin, days=0)
    with pytest.raises(ServiceError, match="Choose one of"):
        orgs.create_invitation(organization, admin, role="admin")


def test_invitation_status_follows_its_life(acme):
    organization, admin, *_ = acme
    issued = orgs.create_invitation(organization, admin, days=1)
    invitation = issued.invitation
    assert orgs.invitation_status(invitation) == "active"
    assert orgs.invitation_status(invitation, utcnow() + timedelta(days=2)) == "expired"
    orgs.accept_invitation(new_user("kim@example.org"), issued.secret)
    assert orgs.invitation_status(invitation) == "used"
    orgs.revoke_invitation(invitation)
    assert orgs.invitation_status(invitation) == "revoked"


# --- Join codes -------------------------------------------------------------------------------------------


def test_join_codes_use_an_unambiguous_alphabet_and_forgive_typing():
    codes = {orgs.new_join_code() for _ in range(50)}
    assert len(codes) == 50
    assert all(len(code) == orgs.CODE_LENGTH and set(code) <= set(orgs.CODE_ALPHABET) for code in codes)
    assert not set("0O1IL") & set(orgs.CODE_ALPHABET)
    assert orgs.normalise_code(" abcde-fghjk ") == "ABCDEFGHJK"
    assert orgs.normalise_code("abcde fghjk") == "ABCDEFGHJK"
    assert orgs.format_code("ABCDEFGHJK") == "ABCDE-FGHJK"
    assert orgs.normalise_code("ABCDE-FGHJ0") is None  # 0 is not in the alphabet
    assert orgs.normalise_code("ABC") is None
    assert orgs.normalise_code("") is None


def test_a_join_code_is_many_use_learner_only_and_fills_its_cohort(acme):
    organization, admin, *_ = acme
    cohort = orgs.create_cohort(organization, "Spring")
    issued = orgs.regenerate_join_code(organization, admin, cohort=cohort)
    row = db.session.get(Invitation, issued.invitation.id)
    assert row.secret_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert (row.kind, row.role, row.max_uses) == ("code", "learner", None)
    typed = orgs.format_code(issued.secret).lower()
    joined = [orgs.join_with_code(new_user(f"learner{i}@example.org"), typed) for i in range(3)]
    assert {m.role for m in joined} == {"learner"}
    assert len(orgs.cohort_members(cohort)) == 3
    assert row.uses == 3


def test_regenerating_the_join_code_retires_the_old_one(acme):
    organization, admin, *_ = acme
    old = orgs.regenerate_join_code(organization, admin)
    new = orgs.regenerate_join_code(organization, admin)
    assert orgs.active_join_code(organization) == new.invitation
    with pytest.raises(ServiceError, match="not valid") as caught:
        orgs.join_with_code(new_user("kim@example.org"), old.secret)
    assert caught.value.field == "join_code"
    assert orgs.join_with_code(new_user("lee@example.org"), new.secret).organization_id == organization.id
    orgs.revoke_invitation(new.invitation)
    assert orgs.active_join_code(organization) is None
    with pytest.raises(ServiceError, match="not valid"):
        orgs.join_with_code(new_user("max@example.org"), new.secret)


def test_an_invite_link_secret_is_not_a_join_code_and_vice_versa(acme):
    organization, admin, *_ = acme
    code = orgs.regenerate_join_code(organization, admin, code="PEERWAYS").secret
    with pytest.raises(ServiceError, match="not valid"):
        orgs.accept_invitation(new_user("kim@example.org"), code)
    with pytest.raises(ServiceError, match="join code has 8 to 10"):
        orgs.regenerate_join_code(organization, admin, code="TOO-SHORT-0")


# --- Cohorts ----------------------------------------------------------------------------------------------


def test_cohorts_are_created_renamed_and_listed_with_sizes(acme):
    organization, *_ = acme
    spring = orgs.create_cohort(organization, " Spring ")
    autumn = orgs.create_cohort(organization, "Autumn")
    orgs.add_to_cohort(spring, [member(organization, "sam@acme.org").id, member(organization, "kim@acme.org").id])
    assert [(c.name, size) for c, size in orgs.list_cohorts(organization)] == [("Autumn", 0), ("Spring", 2)]
    with pytest.raises(ServiceError, match="already has this name"):
        orgs.create_cohort(organization, "spring")
    with pytest.raises(ServiceError, match="already has this name"):
        orgs.rename_cohort(autumn, "SPRING")
    assert orgs.rename_cohort(spring, "Spring 2026").name == "Spring 2026"
    assert orgs.rename_cohort(spring, "spring 2026").name == "spring 2026"  # its own name, in another case
    other = accounts.get_or_create_organization("Globex", "globex")
    assert orgs.create_cohort(other, "Autumn").organization_id == other.id  # names are unique per organization


def test_only_learners_of_the_organization_join_its_cohorts(acme):
    organization, admin, *_ = acme
    cohort = orgs.create_cohort(organization, "Spring")
    sam = member(organization, "sam@acme.org")
    outsider = member(accounts.get_or_create_organization("Globex", "globex"), "gus@globex.org")
    for refused in ([outsider.id], [admin.id], [sam.id, outsider.id], []):
        with pytest.raises(ServiceError):
            orgs.add_to_cohort(cohort, refused)
    assert orgs.cohort_members(cohort) == []
    assert orgs.add_to_cohort(cohort, [sam.id]) == 1
    assert orgs.add_to_cohort(cohort, [sam.id]) == 0
    assert orgs.addable_learners(cohort) == []
    assert orgs.remove_from_cohort(cohort, sam.id) is True
    assert orgs.remove_from_cohort(cohort, sam.id) is False
    assert orgs.addable_learners(cohort) == [sam]


def test_deleting_a_cohort_keeps_its_learners_and_detaches_links(acme):
    organization, admin, *_ = acme
    cohort = orgs.create_cohort(organization, "Spring")
    sam = member(organization, "sam@acme.org")
    orgs.add_to_cohort(cohort, [sam.id])
    issued = orgs.create_invitation(organization, admin, cohort=cohort)
    orgs.delete_cohort(cohort)
    assert db.session.scalar(select(func.count()).select_from(Cohort)) == 0
    assert db.session.scalar(select(func.count()).select_from(CohortMember)) == 0
    assert orgs.get_membership(organization, sam.id) is not None
    assert issued.invitation.cohort_id is None
    assert orgs.accept_invitation(new_user("kim@example.org"), issued.secret).role == "learner"


def test_lookups_never_cross_organizations(acme):
    organization, admin, *_ = acme
    globex = accounts.get_or_create_organization("Globex", "globex")
    gus = member(globex, "gus@globex.org")
    cohort = orgs.create_cohort(globex, "Globex spring")
    invitation = orgs.create_invitation(globex, None).invitation
    assert orgs.get_cohort(organization, cohort.id) is None
    assert orgs.get_membership(organization, gus.id) is None
    assert orgs.get_invitation(organization, invitation.id) is None
    assert orgs.get_cohort(globex, cohort.id) == cohort


# --- Cohort readiness report ------------------------------------------------------------------------------


def rule_results(result) -> dict[str, bool]:
    return {rule.key: rule.met for rule in result.rules}


def assert_row_matches_evaluate(row, user, release, track, now=None):
    expected = readiness.evaluate(user, release, track, now, you=False)
    assert row.probability == approx(expected.probability, abs=1e-12)
    assert row.coverage == approx(expected.coverage, abs=1e-12)
    assert row.domains == approx({d.domain: d.mean for d in expected.domains}, abs=1e-12)
    assert list(row.domains) == [d.domain for d in expected.domains]
    assert row.rules == rule_results(expected)
    assert row.ready == expected.ready


def test_each_report_row_equals_readiness_evaluate(acme):
    organization, _, release, track = acme
    start = datetime(2025, 3, 1, 9, 0)
    fresh = member(organization, "fresh@acme.org")
    strong = member(organization, "strong@acme.org")
    weak = member(organization, "weak@acme.org")
    many = member(organization, "many@acme.org")
    history(strong, release, skill=4, sessions=3, start=start)
    take_exam(strong, release, passed=True, when=start + timedelta(days=1))
    history(weak, release, skill=1, sessions=2, start=start)
    take_exam(weak, release, passed=True, when=start)
    take_exam(weak, release, passed=False, when=start + timedelta(days=2))
    for hour in range(20):  # 60 advocacy answers: only the latest 50 count
        answer_domain(many, release, "advocacy", [hour % 3 != 0], start + timedelta(hours=hour))
    answer_domain(many, release, "ethics", [True, False], start)
    take_exam(many, release, passed=True, when=start + timedelta(days=3), track="other")

    report = cohort_report.build_report(organization, release, track)

    assert {row.user_id for row in report.rows} == {fresh.id, strong.id, weak.id, many.id}
    for user in (fresh, strong, weak, many):
        assert_row_matches_evaluate(row_for(report, user), user, release, track)
    assert row_for(report, strong).ready and not row_for(report, weak).ready
    assert row_for(report, many).domains["advocacy"] != row_for(report, strong).domains["advocacy"]
    halfway = start + timedelta(hours=10)
    earlier = cohort_report.build_report(organization, release, track, now=halfway)
    for user in (strong, weak, many):
        assert_row_matches_evaluate(row_for(earlier, user), user, release, track, now=halfway)


def test_report_counts_answers_exams_and_last_activity(acme):
    organization, _, release, track = acme
    sam = member(organization, "sam@acme.org")
    start = datetime(2025, 3, 1, 9, 0)
    history(sam, release, skill=3, sessions=2, start=start)  # 2 x 5 answers, latest at 10:00
    take_exam(sam, release, passed=True, when=start + timedelta(days=1))
    take_exam(sam, release, passed=False, when=start + timedelta(days=2))
    take_exam(sam, release, passed=True, when=start + timedelta(days=3))
    row = row_for(cohort_report.build_report(organization, release, track), sam)
    assert (row.answers, row.exams_passed, row.last_active) == (10, 2, start + timedelta(hours=1))
    assert row.coverage == 1.0


def test_report_lists_only_the_organizations_learners_or_one_cohort(acme):
    organization, admin, release, track = acme
    sam = member(organization, "sam@acme.org")
    kim = member(organization, "kim@acme.org")
    member(organization, "teri@acme.org", "trainer")
    member(accounts.get_or_create_organization("Globex", "globex"), "gus@globex.org")
    cohort = orgs.create_cohort(organization, "Spring")
    orgs.add_to_cohort(cohort, [kim.id])

    everyone = cohort_report.build_report(organization, release, track)
    spring = cohort_report.build_report(organization, release, track, cohort=cohort)

    assert [row.name for row in everyone.rows] == ["Kim", "Sam"]
    assert [row.user_id for row in spring.rows] == [kim.id]
    assert spring.cohort == cohort
    assert sam.id not in {row.user_id for row in spring.rows}


def test_report_flags_stalled_at_risk_and_ready(acme):
    organization, _, release, track = acme
    now = datetime(2025, 6, 1, 12, 0)
    never = member(organization, "never@acme.org")
    quiet = member(organization, "quiet@acme.org")
    struggling = member(organization, "struggling@acme.org")
    beginner = member(organization, "beginner@acme.org")
    ready = member(organization, "ready@acme.org")
    history(quiet, release, skill=3, sessions=1, start=now - timedelta(days=15))
    history(struggling, release, skill=1, sessions=4, start=now - timedelta(days=1))  # 20 answers
    history(beginner, release, skill=1, sessions=3, start=now - timedelta(days=1))  # 15 answers
    history(ready, release, skill=4, sessions=3, start=now - timedelta(days=1))
    take_exam(ready, release, passed=True, when=now - timedelta(hours=1))

    report = cohort_report.build_report(organization, release, track, now=now)
    flags = {row.user_id: row.flags for row in report.rows}

    assert flags[never.id] == ["stalled"]
    assert flags[quiet.id] == ["stalled"]
    assert flags[struggling.id] == ["at_risk"]
    assert row_for(report, struggling).probability < 0.5
    assert flags[beginner.id] == []  # low estimate, but under 20 answers
    assert row_for(report, beginner).probability < 0.5
    assert flags[ready.id] == ["ready"]
    assert report.counts == {"ready": 1, "at_risk": 1, "stalled": 2}


def test_report_sorts_by_any_column_both_ways(acme):
    organization, _, release, track = acme
    start = utcnow() - timedelta(days=1)
    users = {
        skill: member(organization, f"s{skill}@acme.org", name=f"Learner {'CBA'[skill - 1]}") for skill in (1, 2, 3)
    }
    for skill, user in users.items():
        history(user, release, skill=skill, sessions=skill, start=start + timedelta(hours=10 * skill))

    def names(sort: str) -> list[str]:
        return [row.name for row in cohort_report.build_report(organization, release, track, sort=sort).rows]

    assert names("name") == ["Learner A", "Learner B", "Learner C"]
    assert names("-name") == ["Learner C", "Learner B", "Learner A"]
    assert names("probability") == ["Learner C", "Learner B", "Learner A"]
    assert names("-probability") == ["Learner A", "Learner B", "Learner C"]
    assert names("-answers") == names("-last_active") == ["Learner A", "Learner B", "Learner C"]
    assert names("nonsense") == names("name")


def add_learners_with_history(organization, release, indexes: range, start: datetime) -> None:
    for index in indexes:
        user = member(organization, f"bulk{index}@acme.org")
        history(user, release, skill=index % 5, sessions=1 + index % 3, start=start)
        if index % 2:
            take_exam(user, release, passed=bool(index % 4), when=start + timedelta(days=1))


def test_report_runs_the_same_number_of_queries_for_3_and_30_learners(acme):
    organization, _, release, track = acme
    start = utcnow() - timedelta(days=3)
    add_learners_with_history(organization, release, range(3), start)
    cohort_report.build_report(organization, release, track)  # warm the per-calibration cache (2 statements)
    few, small = statements_during(lambda: cohort_report.build_report(organization, release, track))
    add_learners_with_history(organization, release, range(3, 30), start)
    many, large = statements_during(lambda: cohort_report.build_report(organization, release, track))
    assert (len(small.rows), len(large.rows)) == (3, 30)
    assert few == many <= 11  # 8 for readiness, 3 for the pathway (records, certifications, pending records)
    csv_statements, _ = statements_during(lambda: cohort_report.report_csv(large))
    assert csv_statements == 0


def test_csv_has_a_documented_header_and_guards_against_formulas(acme):
    organization, _, release, track = acme
    history(member(organization, "eve@acme.org", name='=HYPERLINK("http://x")'), release, 2, 1, utcnow())
    member(organization, "neg@acme.org", name="-1+2")
    member(organization, "at@acme.org", name="@SUM(A1)")
    member(organization, "ok@acme.org", name="Plain Name")
    report = cohort_report.build_report(organization, release, track)

    rows = list(csv.reader(io.StringIO(cohort_report.report_csv(report))))

    header = rows[0]
    assert header == [
        "name",
        "email",
        "chance_of_passing",
        "probability",
        "proficiency_advocacy",
        "proficiency_ethics",
        "coverage",
        "answers",
        "last_active",
        "mock_exams_passed",
        "ready",
        "stalled",
        "at_risk",
        "education",
        "experience",
        "supervision",
        "attestations_verified",
        "attestations_required",
        "pending_verifications",
        "requirements_met",
        "ready_to_apply",
        "recertification_due",
    ]
    assert [name for name, _ in cohort_report.CSV_COLUMNS] == header[:4] + ["proficiency_<domain>"] + header[6:]
    names = sorted(row[0] for row in rows[1:])
    assert names == sorted(['\'=HYPERLINK("http://x")', "'-1+2", "'@SUM(A1)", "Plain Name"])
    eve = next(row for row in rows[1:] if row[1] == "eve@acme.org")
    eve_row = row_for(report, accounts.find_user("eve@acme.org"))
    assert eve[2] == eve_row.chance and eve[2].endswith(("%", "yet"))
    assert eve[3] == ("" if not eve_row.enough_evidence else f"{eve_row.probability:.3f}")
    assert eve[7] == "5" and eve[10:13] == ["no", "no", "no"]
    assert eve[13:] == ["0.000", "0.000", "0.000", "0", "3", "0", "no", "no", ""]  # no records yet
    assert cohort_report.safe_cell("\tcmd") == "'\tcmd"
    assert cohort_report.safe_cell(0.5) == "0.5"


# --- HTTP: organizations and members ----------------------------------------------------------------------


def client_for(app, email: str):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def org_id_of(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Organization.id).where(Organization.slug == slug))


def user_id_of(app, email: str) -> int:
    with app.app_context():
        return accounts.find_user(email).id


def role_of(app, email: str, slug: str) -> str | None:
    with app.app_context():
        return db.session.scalar(
            select(Membership.role).join(User).join(Organization).where(User.email == email, Organization.slug == slug)
        )


def test_site_admin_creates_an_organization_through_the_form(app, make_user):
    make_user("root@example.org", admin=True)
    make_user("olu@example.org")
    client = client_for(app, "root@example.org")
    refused = post_form(client, "/org/new", {"name": "Riverside", "slug": "Not OK", "admin_email": "olu@example.org"},
                        token_from="/org/")  # fmt: skip
    assert refused.status_code == 200
    assert "lower-case letters" in refused.get_data(as_text=True)

    response = post_form(
        client, "/org/new", {"name": "Riverside", "slug": "riverside", "admin_email": "olu@example.org"},
        token_from="/org/",
    )  # fmt: skip

    assert response.status_code == 302
    assert response.location == f"/org/{org_id_of(app, 'riverside')}"
    assert role_of(app, "olu@example.org", "riverside") == "org_admin"
    assert "Riverside" in client_for(app, "olu@example.org").get("/org/").get_data(as_text=True)


def test_org_admin_changes_roles_but_not_the_last_admins(app, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    make_user("sam@acme.org", role="learner", org="acme", name="Sam Learner")
    client = client_for(app, "ada@acme.org")
    acme = org_id_of(app, "acme")
    members = client.get(f"/org/{acme}/members").get_data(as_text=True)
    assert "Sam Learner" in members and "sam@acme.org" in members

    sam = user_id_of(app, "sam@acme.org")
    response = post_form(
        client, f"/org/{acme}/members/{sam}/role", {"role": "trainer"}, token_from=f"/org/{acme}/members"
    )
    assert response.location == f"/org/{acme}/members"
    assert role_of(app, "sam@acme.org", "acme") == "trainer"
    assert "Sam Learner is now Trainer" in client.get(response.location).get_data(as_text=True)

    ada = user_id_of(app, "ada@acme.org")
    response = post_form(
        client, f"/org/{acme}/members/{ada}/role", {"role": "learner"}, token_from=f"/org/{acme}/members"
    )
    assert "last organization admin" in client.get(response.location).get_data(as_text=True)
    assert role_of(app, "ada@acme.org", "acme") == "org_admin"


def test_org_admin_makes_someone_a_supervisor_on_the_members_page_or_with_an_invitation(app, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    make_user("sam@acme.org", role="learner", org="acme", name="Sam Learner")
    make_user("kim@example.org")
    client = client_for(app, "ada@acme.org")
    acme, sam = org_id_of(app, "acme"), user_id_of(app, "sam@acme.org")
    assert '<option value="supervisor">Supervisor</option>' in client.get(f"/org/{acme}/members").get_data(as_text=True)

    response = post_form(
        client, f"/org/{acme}/members/{sam}/role", {"role": "supervisor"}, token_from=f"/org/{acme}/members"
    )
    assert "Sam Learner is now Supervisor" in client.get(response.location).get_data(as_text=True)
    assert role_of(app, "sam@acme.org", "acme") == "supervisor"

    invitations = client.get(f"/org/{acme}/invitations").get_data(as_text=True)
    assert '<option value="supervisor">Supervisor</option>' in invitations and "supervisors verify" in invitations
    path = create_link(client, acme, role="supervisor")
    kim = client_for(app, "kim@example.org")
    assert post_form(kim, path).status_code == 302
    assert role_of(app, "kim@example.org", "acme") == "supervisor"
    assert kim.get(f"/org/{acme}/verify").status_code == 200
    assert kim.get(f"/org/{acme}/members").status_code == 403


def test_org_admin_removes_a_member_whose_history_stays(app, make_user, mini_release):
    make_user("ada@acme.org", role="org_admin", org="acme")
    make_user("sam@acme.org", role="learner", org="acme")
    with app.app_context():
        sam = accounts.find_user("sam@acme.org")
        answer_domain(sam, db.session.get(BankRelease, mini_release), "ethics", [True], utcnow())
        db.session.commit()
    client = client_for(app, "ada@acme.org")
    acme, sam_id = org_id_of(app, "acme"), user_id_of(app, "sam@acme.org")

    response = post_form(client, f"/org/{acme}/members/{sam_id}/remove", token_from=f"/org/{acme}/members")

    assert response.location == f"/org/{acme}/members"
    assert role_of(app, "sam@acme.org", "acme") is None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt).where(Attempt.user_id == sam_id)) == 1
    assert client.get(f"/org/{acme}/learners/{sam_id}").status_code == 404


# --- HTTP: invitations and join codes ---------------------------------------------------------------------


def create_link(client, org_id: int, **fields) -> str:
    data = {"role": "learner", "cohort": "", "email": "", "days": "14", **fields}
    response = post_form(client, f"/org/{org_id}/invitations", data)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    match = re.search(r'id="secret-link" class="secret-input" value="([^"]+)"', response.get_data(as_text=True))
    assert match
    return urlsplit(match.group(1)).path


def test_invite_link_takes_a_new_person_through_registration_and_back(app, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    admin = client_for(app, "ada@acme.org")
    acme = org_id_of(app, "acme")
    post_form(admin, f"/org/{acme}/cohorts", {"name": "Spring"})
    with app.app_context():
        cohort_id = db.session.scalar(select(Cohort.id))
    path = create_link(admin, acme, role="trainer", cohort=str(cohort_id))
    assert path.startswith("/join/")
    listing = admin.get(f"/org/{acme}/invitations").get_data(as_text=True)
    assert path.removeprefix("/join/") not in listing and "Waiting" in listing

    newcomer = app.test_client()
    response = newcomer.get(path)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.location).query)["next"] == [path]
    login_page = newcomer.get(response.location).get_data(as_text=True)
    register_link = re.search(r'href="(/register\?next=[^"]+)"', login_page).group(1)
    assert parse_qs(urlsplit(register_link).query)["next"] == [path]
    data = {"display_name": "Kim New", "email": "kim@example.org", "password": PASSWORD, "confirm": PASSWORD}
    registered = post_form(newcomer, register_link, data)
    assert registered.status_code == 302 and registered.location == path

    page = newcomer.get(path).get_data(as_text=True)
    assert "Join Acme" in page and "Trainer" in page and "Spring" in page
    accepted = post_form(newcomer, path)
    assert accepted.status_code == 302 and accepted.location == "/"
    assert "You joined Acme as Trainer" in newcomer.get("/").get_data(as_text=True)
    assert role_of(app, "kim@example.org", "acme") == "trainer"
    with app.app_context():
        assert db.session.get(CohortMember, (cohort_id, accounts.find_user("kim@example.org").id)) is not None

    again = app.test_client()
    make_user("lee@example.org")
    login(again, "lee@example.org")
    used = again.get(path)
    assert used.status_code == 410
    assert "already been used" in used.get_data(as_text=True)
    assert "Used" in admin.get(f"/org/{acme}/invitations").get_data(as_text=True)


def test_invitation_pages_explain_why_a_link_cannot_be_used(app, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    make_user("lee@example.org")
    admin = client_for(app, "ada@acme.org")
    acme = org_id_of(app, "acme")
    restricted = create_link(admin, acme, email="kim@example.org")
    revoked = create_link(admin, acme)
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).order_by(Invitation.id.desc()))
        invitation_id = invitation.id
    post_form(admin, f"/org/{acme}/invitations/{invitation_id}/revoke", token_from=f"/org/{acme}/invitations")
    lee = client_for(app, "lee@example.org")

    wrong_email = lee.get(restricted)
    withdrawn = lee.get(revoked)
    unknown = lee.get("/join/not-a-real-secret")

    assert wrong_email.status_code == 403 and "different email address" in wrong_email.get_data(as_text=True)
    assert "kim@example.org" not in wrong_email.get_data(as_text=True)
    assert withdrawn.status_code == 410 and "withdrawn" in withdrawn.get_data(as_text=True)
    assert unknown.status_code == 404 and "not valid" in unknown.get_data(as_text=True)
    token = get_token(lee, "/join")
    assert lee.post(restricted, data={"csrf_token": token}).status_code == 403
    assert role_of(app, "lee@example.org", "acme") is None


def regenerate_code(client, org_id: int, cohort: str = "") -> str:
    response = post_form(
        client, f"/org/{org_id}/join-code", {"cohort": cohort}, token_from=f"/org/{org_id}/invitations"
    )
    assert response.status_code == 200
    return re.search(r"<code>([A-Z0-9-]+)</code>", response.get_data(as_text=True)).group(1)


def test_join_code_page_adds_a_learner_and_regenerating_rotates_it(app, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    make_user("sam@example.org")
    make_user("kim@example.org")
    admin = client_for(app, "ada@acme.org")
    acme = org_id_of(app, "acme")
    code = regenerate_code(admin, acme)
    assert re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", code)
    assert code not in admin.get(f"/org/{acme}/invitations").get_data(as_text=True)

    sam = client_for(app, "sam@example.org")
    wrong = post_form(sam, "/join", {"join_code": "AAAAA-AAAAA"})
    assert wrong.status_code == 200 and "not valid" in wrong.get_data(as_text=True)
    joined = post_form(sam, "/join", {"join_code": code.lower()})
    assert joined.location == "/"
    assert role_of(app, "sam@example.org", "acme") == "learner"

    regenerate_code(admin, acme)
    kim = client_for(app, "kim@example.org")
    assert "not valid" in post_form(kim, "/join", {"join_code": code}).get_data(as_text=True)
    assert role_of(app, "kim@example.org", "acme") is None


def register_form(email: str, code: str) -> dict:
    return {"display_name": "New", "email": email, "password": PASSWORD, "confirm": PASSWORD, "join_code": code}


def test_registering_with_a_join_code_joins_and_a_wrong_code_creates_no_account(app, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    acme = org_id_of(app, "acme")
    admin = client_for(app, "ada@acme.org")
    post_form(admin, f"/org/{acme}/cohorts", {"name": "Spring"})
    with app.app_context():
        cohort_id = db.session.scalar(select(Cohort.id))
    code = regenerate_code(admin, acme, cohort=str(cohort_id))

    wrong = post_form(app.test_client(), "/register", register_form("kim@example.org", "WRONG-CODE2"))
    assert wrong.status_code == 200
    assert "join code is not valid" in wrong.get_data(as_text=True)
    with app.app_context():
        assert accounts.find_user("kim@example.org") is None

    newcomer = app.test_client()
    response = post_form(newcomer, "/register", register_form("kim@example.org", code))
    assert response.status_code == 302
    assert "you joined Acme" in newcomer.get("/").get_data(as_text=True)
    assert role_of(app, "kim@example.org", "acme") == "learner"
    with app.app_context():
        assert db.session.get(CohortMember, (cohort_id, accounts.find_user("kim@example.org").id)) is not None


@pytest.fixture
def rate_limited_app(app):
    """A second app on the same database with rate limits on, and 3 failed join-code attempts a minute."""
    limited = create_app(
        {
            **TEST_CONFIG,
            "RATELIMIT_ENABLED": True,
            "JOIN_RATE_LIMIT": "3 per minute",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        }
    )
    yield limited
    with limited.app_context():
        db.engine.dispose()
    limiter.reset()  # the limiter is shared by every app in the process: undo what create_app switched on
    limiter.init_app(app)
    assert limiter.enabled is False


def test_failed_join_code_attempts_are_rate_limited_across_join_and_register(app, make_user, rate_limited_app):
    make_user("ada@acme.org", role="org_admin", org="acme")
    make_user("sam@example.org")
    with app.app_context():
        organization = db.session.get(Organization, org_id_of(app, "acme"))
        code = orgs.regenerate_join_code(organization, None).secret
        db.session.commit()
    guesser = rate_limited_app.test_client()
    login(guesser, "sam@example.org")
    for guess in ("AAAAAAAAAA", "BBBBBBBBBB"):
        assert post_form(guesser, "/join", {"join_code": guess}).status_code == 200
    assert post_form(guesser, "/logout", token_from="/join").status_code == 302
    assert post_form(guesser, "/register", register_form("x@example.org", "CCCCCCCCCC")).status_code == 200

    blocked = post_form(guesser, "/register", register_form("y@example.org", code))

    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    plain = post_form(guesser, "/register", register_form("z@example.org", ""))  # no code: not limited
    assert plain.status_code == 302
    assert role_of(app, "z@example.org", "acme") is None


def test_successful_joins_do_not_use_up_the_rate_limit(app, make_user, rate_limited_app):
    make_user("ada@acme.org", role="org_admin", org="acme")
    with app.app_context():
        code = orgs.regenerate_join_code(db.session.get(Organization, org_id_of(app, "acme")), None).secret
        db.session.commit()
    classroom = rate_limited_app.test_client()  # one network address for the whole class
    for index in range(5):
        assert post_form(classroom, "/register", register_form(f"pupil{index}@example.org", code)).status_code == 302
        post_form(classroom, "/logout", token_from="/")
    with app.app_context():
        assert len(orgs.organization_learners(db.session.get(Organization, org_id_of(app, "acme")))) == 5


# --- HTTP: cohorts ----------------------------------------------------------------------------------------


def test_cohort_pages_create_fill_rename_empty_and_delete(app, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    make_user("sam@acme.org", role="learner", org="acme", name="Sam Learner")
    make_user("teri@acme.org", role="trainer", org="acme", name="Teri Trainer")
    client = client_for(app, "ada@acme.org")
    acme, sam = org_id_of(app, "acme"), user_id_of(app, "sam@acme.org")

    created = post_form(client, f"/org/{acme}/cohorts", {"name": "Spring"})
    cohort_path = created.location
    assert re.fullmatch(rf"/org/{acme}/cohorts/\d+", cohort_path)
    page = client.get(cohort_path).get_data(as_text=True)
    assert "Sam Learner" in page and "Teri Trainer" not in page  # only learners can be added
    duplicate = post_form(client, f"/org/{acme}/cohorts", {"name": "spring"})
    assert "already has this name" in duplicate.get_data(as_text=True)

    added = post_form(client, f"{cohort_path}/members", {"learners": str(sam)}, token_from=cohort_path)
    assert added.location == cohort_path
    assert "Added 1 learner to Spring" in client.get(cohort_path).get_data(as_text=True)
    renamed = post_form(client, f"{cohort_path}/rename", {"name": "Spring 2026"}, token_from=cohort_path)
    assert renamed.location == cohort_path
    assert "Spring 2026 (1)" in client.get(f"/org/{acme}").get_data(as_text=True)
    removed = post_form(client, f"{cohort_path}/members/{sam}/remove", token_from=cohort_path)
    assert removed.location == cohort_path
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CohortMember)) == 0
    deleted = post_form(client, f"{cohort_path}/delete", token_from=cohort_path)
    assert deleted.location == f"/org/{acme}/cohorts"
    assert client.get(cohort_path).status_code == 404
    assert role_of(app, "sam@acme.org", "acme") == "learner"


# --- HTTP: dashboard, drill-down, CSV ---------------------------------------------------------------------


@pytest.fixture
def acme_with_history(app, make_user, mini_release):
    """Acme with an admin, two learners with history (one in the Spring cohort) and a trainer."""
    make_user("ada@acme.org", role="org_admin", org="acme")
    make_user("sam@acme.org", role="learner", org="acme", name="Sam Strong")
    make_user("wes@acme.org", role="learner", org="acme", name="Wes Weak")
    make_user("teri@acme.org", role="trainer", org="acme", name="Teri Trainer")
    with app.app_context():
        release = db.session.get(BankRelease, mini_release)
        sam, wes = accounts.find_user("sam@acme.org"), accounts.find_user("wes@acme.org")
        start = utcnow() - timedelta(days=1)
        history(sam, release, skill=4, sessions=3, start=start)
        take_exam(sam, release, passed=True, when=start + timedelta(hours=5))
        history(wes, release, skill=1, sessions=4, start=start)
        organization = db.session.get(Organization, org_id_of(app, "acme"))
        cohort = orgs.create_cohort(organization, "Spring")
        orgs.add_to_cohort(cohort, [wes.id])
        readiness.record_snapshot(sam, release, banks.get_track(release), now=start + timedelta(hours=1))
        readiness.record_snapshot(sam, release, banks.get_track(release))
        db.session.commit()
        return organization.id, cohort.id, sam.id, wes.id


def test_dashboard_shows_readiness_per_learner_and_sorts(app, acme_with_history):
    acme, _, sam, wes = acme_with_history
    client = client_for(app, "ada@acme.org")
    html = client.get(f"/org/{acme}").get_data(as_text=True)
    assert "Basic track: 2 learners" in html
    assert "Sam Strong" in html and "Wes Weak" in html and "Teri Trainer" not in html
    assert 'class="badge flag-ready">Ready' in html and 'class="badge flag-at_risk">At risk' in html
    assert f'href="/org/{acme}/learners/{sam}"' in html
    assert html.index("Sam Strong") < html.index("Wes Weak")
    by_chance = client.get(f"/org/{acme}?sort=probability").get_data(as_text=True)
    assert by_chance.index("Wes Weak") < by_chance.index("Sam Strong")
    assert 'aria-sort="ascending"' in by_chance and "sort=-probability" in by_chance


def test_dashboard_pages_long_lists_and_keeps_sort_and_cohort(app, acme_with_history, monkeypatch):
    acme, _, _, _ = acme_with_history
    monkeypatch.setitem(app.config, "ORG_REPORT_PAGE_SIZE", 1)
    client = client_for(app, "ada@acme.org")
    first = client.get(f"/org/{acme}?sort=-name").get_data(as_text=True)
    assert "Wes Weak" in first and "Sam Strong" not in first
    assert "Learners 1–1 of 2 · page 1 of 2" in first
    assert f'href="/org/{acme}?sort=-name&amp;page=2" rel="next"' in first
    second = client.get(f"/org/{acme}?sort=-name&page=2").get_data(as_text=True)
    assert "Sam Strong" in second and "Wes Weak" not in second and 'rel="prev"' in second
    assert "Sam Strong" in client.get(f"/org/{acme}?sort=-name&page=99").get_data(as_text=True)


def test_dashboard_and_csv_filter_by_cohort(app, acme_with_history):
    acme, cohort, _, _ = acme_with_history
    client = client_for(app, "ada@acme.org")
    html = client.get(f"/org/{acme}?cohort={cohort}").get_data(as_text=True)
    assert "Wes Weak" in html and "Sam Strong" not in html
    assert f"/org/{acme}/report.csv?cohort={cohort}" in html
    response = client.get(f"/org/{acme}/report.csv?cohort={cohort}")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [row[0] for row in rows[1:]] == ["Wes Weak"]
    assert response.headers["Content-Disposition"] == f'attachment; filename="acme-readiness-cohort-{cohort}.csv"'
    assert client.get(f"/org/{acme}?cohort=nonsense").status_code == 404


def test_csv_download_matches_the_dashboard(app, acme_with_history):
    acme, _, sam, _ = acme_with_history
    client = client_for(app, "ada@acme.org")
    response = client.get(f"/org/{acme}/report.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="acme-readiness.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["name", "email", "chance_of_passing"]
    assert [(row[0], row[1], row[10]) for row in rows[1:]] == [
        ("Sam Strong", "sam@acme.org", "yes"),
        ("Wes Weak", "wes@acme.org", "no"),
    ]
    with app.app_context():
        release = banks.latest_release("mini")
        expected = readiness.evaluate(db.session.get(User, sam), release, banks.get_track(release))
    assert rows[1][2] == expected.chance
    assert float(rows[1][3]) == approx(expected.probability, abs=5e-4)


def test_drill_down_shows_readiness_history_and_scores_but_no_answers(app, acme_with_history):
    acme, _, sam, _ = acme_with_history
    client = client_for(app, "ada@acme.org")
    response = client.get(f"/org/{acme}/learners/{sam}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sam Strong" in html and "Estimated chance of passing" in html
    assert "interval-chart" in html and "history-chart" in html
    assert "Ethical Responsibility" in html and "80% credible range" in html
    assert "Certification pathway" in html and "0 of 40 hours verified" in html  # the mini track's experience
    assert "5 of 5 correct" in html or "3 of 3 correct" in html
    assert "Mock exam" in html or "mock exam" in html
    with app.app_context():
        rationale = db.session.scalar(select(Response).where(Response.chosen_option.is_not(None)))
        option_texts = [option["text"] for option in rationale.question_version.options]
    assert not any(text in html for text in option_texts)


def test_drill_down_is_only_for_members_of_the_organization(app, acme_with_history, make_user):
    acme, _, _, _ = acme_with_history
    make_user("gus@globex.org", role="learner", org="globex")
    client = client_for(app, "ada@acme.org")
    assert client.get(f"/org/{acme}/learners/{user_id_of(app, 'gus@globex.org')}").status_code == 404
    assert client.get(f"/org/{acme}/learners/{user_id_of(app, 'teri@acme.org')}").status_code == 200


def test_dashboard_without_a_bank_explains_itself(app, make_user):
    make_user("ada@acme.org", role="org_admin", org="acme")
    client = client_for(app, "ada@acme.org")
    acme = org_id_of(app, "acme")
    assert "No question bank has been imported yet" in client.get(f"/org/{acme}").get_data(as_text=True)
    assert client.get(f"/org/{acme}/report.csv").status_code == 404


def test_pages_have_no_inline_scripts_or_styles(app, acme_with_history):
    acme, cohort, sam, _ = acme_with_history
    client = client_for(app, "ada@acme.org")
    for path in (f"/org/{acme}", f"/org/{acme}/members", f"/org/{acme}/invitations", f"/org/{acme}/cohorts",
                 f"/org/{acme}/cohorts/{cohort}", f"/org/{acme}/learners/{sam}", "/join", "/org/"):  # fmt: skip
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html and "style=" not in html, path
        inputs = re.findall(r'<(?:input|select)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html)
        for input_id in inputs:
            assert f'for="{input_id}"' in html, (path, input_id)


# --- Demo ---------------------------------------------------------------------------------------------------


def test_demo_seed_makes_a_cohort_and_a_working_join_code(app, mini_release, make_user):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert DEMO_JOIN_CODE in result.output
    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0  # still one code, one cohort
    with app.app_context():
        cohort = db.session.scalar(select(Cohort))
        assert db.session.scalar(select(func.count()).select_from(Cohort)) == 1
        assert sorted(user.email for user in orgs.cohort_members(cohort)) == [
            "jordan@example.org",
            "priya@example.org",
            "trainee@example.org",
        ]
        active = select(func.count()).select_from(Invitation).where(Invitation.revoked_at.is_(None))
        assert db.session.scalar(active) == 1
    make_user("new@example.org")
    client = client_for(app, "new@example.org")
    assert post_form(client, "/join", {"join_code": DEMO_JOIN_CODE.lower()}).status_code == 302
    assert role_of(app, "new@example.org", "riverside") == "learner"


def test_report_submits_overdue_exams_first_like_the_learners_own_page(acme):
    organization, _, release, track = acme
    sam = member(organization, "sam@acme.org")
    overdue = exams.start_exam(sam, release, track, now=utcnow() - timedelta(hours=2))
    assert overdue.submitted_at is None
    report = cohort_report.build_report(organization, release, track)
    assert overdue.submitted_at == overdue.deadline_at
    assert row_for(report, sam).rules["recent_exams"] is False  # counted, and failed (no answers)
    assert cohort_report.build_report(organization, release, track, now=utcnow() - timedelta(days=1)).rows
