"""Access control for every route and every kind of user, plus organization and attempt isolation.

``ROUTES`` says who may use each endpoint. It must name exactly the endpoints in ``app.url_map``, so a
new route fails the suite until someone decides (and tests) who may open it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import url_for
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Attempt,
    Bank,
    Certificate,
    Cohort,
    CohortMember,
    LearnerRecord,
    Organization,
    Question,
    QuestionSet,
    QuestionSetAssignment,
    QuestionVersion,
    Response,
)
from app.services import accounts, certificates, orgs, records
from tests.conftest import get_token, login, post_form

OWN_ATTEMPT = "<a practice attempt of the requesting user>"
OWN_EXAM = "<an open mock exam of the requesting user>"
OWN_CERTIFICATE = "<a certificate held by the requesting user>"
OWN_ORG = "<the acme organization>"
ACME_BANK = "<the mini bank, owned by the acme organization>"
ACME_VERSION = "<a question version of the mini bank, owned by the acme organization>"
ACME_COHORT = "<a cohort of the acme organization>"
ACME_LEARNER = "<a learner of the acme organization>"
ACME_INVITATION = "<an invitation link of the acme organization>"
ACME_INVITE_SECRET = "<the secret of an acme invitation link>"
ACME_SET = "<a practice set on the acme-owned mini bank, assigned to an acme cohort holding the requesting user>"
ACME_SET_ASSIGNMENT = "<the assignment of that set to the cohort>"
OWN_RECORD = "<a returned training record of the requesting user>"
ACME_RECORD = "<a pending supervision record, with a PDF evidence file, of a learner of the acme organization>"
# Evidence files are only for the organization's supervisors, never for site admins as such: this placeholder
# also makes a site admin a supervisor of acme.
ACME_EVIDENCE_RECORD = "<the same, and the requesting site admin is also a supervisor of acme>"
VERIFIERS = ("supervisor", "org_admin")  # verify learners' records of their organization
ATTENDANCE = ("trainer", "org_admin")  # record training attendance in bulk
OWN_EVIDENCE = "<an evidence file of the requesting user>"

# Who may use a route: "everyone"; "guests" (logged-in users are sent to the dashboard);
# "users" (any logged-in user); or a role name ("trainer", "org_admin", "admin"; site admins pass all).
EVERYONE, GUESTS, USERS = "everyone", "guests", "users"
TOKEN = "api token"  # the JSON API: a session never opens it, so every kind of user gets a 401


@dataclass(frozen=True)
class Route:
    who: str
    values: dict = field(default_factory=dict)
    method: str = "GET"
    success: str | None = None  # where an allowed user is redirected (a regex); None means a 200 page


ROUTES = {
    "progress.dashboard": Route(EVERYONE),
    "auth.login": Route(GUESTS),
    "auth.register": Route(GUESTS),
    "auth.logout": Route(USERS, method="POST", success="/login"),
    "practice.start": Route(USERS),
    # A review session of due cards; a new user has none and is sent back to the dashboard.
    "practice.start_review": Route(USERS, method="POST", success=r"/|/practice/\d+/q/1"),
    "practice.resume": Route(USERS, {"attempt_id": OWN_ATTEMPT}, success="/practice/{attempt_id}/q/1"),
    "practice.question": Route(USERS, {"attempt_id": OWN_ATTEMPT, "position": 1}),
    "practice.finish": Route(
        USERS, {"attempt_id": OWN_ATTEMPT}, method="POST", success="/practice/{attempt_id}/summary"
    ),
    "practice.summary": Route(USERS, {"attempt_id": OWN_ATTEMPT}),
    "exams.index": Route(USERS),
    "exams.start": Route(USERS, method="POST", success=r"/exams/\d+"),
    "exams.resume": Route(USERS, {"attempt_id": OWN_EXAM}, success="/exams/{attempt_id}/q/1"),
    "exams.question": Route(USERS, {"attempt_id": OWN_EXAM, "position": 1}),
    "exams.confirm_submit": Route(USERS, {"attempt_id": OWN_EXAM}),
    "exams.review": Route(USERS, {"attempt_id": OWN_EXAM}, success="/exams/{attempt_id}"),  # open until submitted
    "certificates.index": Route(USERS),
    "certificates.claim": Route(USERS, method="POST"),  # not ready yet: the page explains what is missing
    "certificates.show": Route(USERS, {"code": OWN_CERTIFICATE}),
    "certificates.pdf": Route(USERS, {"code": OWN_CERTIFICATE}),
    "certificates.verify_form": Route(EVERYONE),
    "certificates.verify": Route(EVERYONE, {"code": OWN_CERTIFICATE}),
    "certificates.admin_list": Route("admin"),
    "certificates.revoke": Route("admin", {"certificate_id": OWN_CERTIFICATE}, method="POST"),  # no reason: form
    "author.index": Route("trainer"),
    # Trainers of other organizations get 404 for a bank's authoring pages (tests/test_authoring.py).
    "author.bank": Route("trainer", {"slug": ACME_BANK}),
    "author.question": Route("trainer", {"slug": ACME_BANK, "stable_id": "adv-one-q1"}),
    "author.new_question": Route("trainer", {"slug": ACME_BANK}),
    "author.edit_question": Route("trainer", {"slug": ACME_BANK, "stable_id": "adv-one-q1"}),
    "author.release": Route("trainer", {"slug": ACME_BANK}),
    "author.preview": Route("trainer", {"version_id": ACME_VERSION}),
    # No status chosen: back to the question's history with a message.
    "author.change_status": Route(
        "trainer", {"version_id": ACME_VERSION}, method="POST", success="/author/banks/mini/questions/adv-one-q1"
    ),
    "org.index": Route("org_admin"),
    "org.create": Route("admin", method="POST"),  # no fields: the form is shown again with errors
    "org.dashboard": Route("org_admin", {"org_id": OWN_ORG}),
    "org.report_csv": Route("org_admin", {"org_id": OWN_ORG}),
    "org.learner": Route("org_admin", {"org_id": OWN_ORG, "user_id": ACME_LEARNER}),
    "org.members": Route("org_admin", {"org_id": OWN_ORG}),
    # No role chosen: back to the members page with a message.
    "org.change_role": Route(
        "org_admin", {"org_id": OWN_ORG, "user_id": ACME_LEARNER}, method="POST", success=r"/org/\d+/members"
    ),
    "org.remove_member": Route(
        "org_admin", {"org_id": OWN_ORG, "user_id": ACME_LEARNER}, method="POST", success=r"/org/\d+/members"
    ),
    "org.invitations": Route("org_admin", {"org_id": OWN_ORG}),
    "org.create_invitation": Route("org_admin", {"org_id": OWN_ORG}, method="POST"),  # defaults: shows a new link
    "org.revoke_invitation": Route(
        "org_admin",
        {"org_id": OWN_ORG, "invitation_id": ACME_INVITATION},
        method="POST",
        success=r"/org/\d+/invitations",
    ),
    "org.regenerate_join_code": Route("org_admin", {"org_id": OWN_ORG}, method="POST"),  # shows the new code
    "org.cohorts": Route("org_admin", {"org_id": OWN_ORG}),
    "org.create_cohort": Route("org_admin", {"org_id": OWN_ORG}, method="POST"),  # no name: form with errors
    "org.cohort": Route("org_admin", {"org_id": OWN_ORG, "cohort_id": ACME_COHORT}),
    "org.rename_cohort": Route("org_admin", {"org_id": OWN_ORG, "cohort_id": ACME_COHORT}, method="POST"),
    "org.delete_cohort": Route(
        "org_admin", {"org_id": OWN_ORG, "cohort_id": ACME_COHORT}, method="POST", success=r"/org/\d+/cohorts"
    ),
    "org.add_cohort_members": Route("org_admin", {"org_id": OWN_ORG, "cohort_id": ACME_COHORT}, method="POST"),
    "org.remove_cohort_member": Route(
        "org_admin",
        {"org_id": OWN_ORG, "cohort_id": ACME_COHORT, "user_id": ACME_LEARNER},
        method="POST",
        success=r"/org/\d+/cohorts/\d+",
    ),
    # Supervisors of other organizations get 404 for the queue and records (tests/test_verification.py).
    "org.verify_queue": Route(VERIFIERS, {"org_id": OWN_ORG}),
    "org.record": Route(VERIFIERS, {"org_id": OWN_ORG, "record_id": ACME_RECORD}),
    # No decision chosen: the record's page again with the form's errors.
    "org.decide_record": Route(VERIFIERS, {"org_id": OWN_ORG, "record_id": ACME_RECORD}, method="POST"),
    "org.record_evidence": Route(VERIFIERS, {"org_id": OWN_ORG, "record_id": ACME_EVIDENCE_RECORD}),
    "org.training_sessions": Route(ATTENDANCE, {"org_id": OWN_ORG}),
    "org.new_training_session": Route(ATTENDANCE, {"org_id": OWN_ORG}),
    "org.create_training_session": Route(ATTENDANCE, {"org_id": OWN_ORG}, method="POST"),  # no fields: form errors
    "org.join": Route(USERS),
    "org.accept_invitation": Route(USERS, {"secret": ACME_INVITE_SECRET}),
    "admin.index": Route("admin"),
    "admin.calibration_page": Route("admin"),
    "stats.bank": Route("trainer", {"slug": ACME_BANK}),  # trainers of other organizations: 404 (test_item_analysis)
    "stats.bank_csv": Route("trainer", {"slug": ACME_BANK}),
    "stats.forms": Route("trainer", {"slug": ACME_BANK}),
    "stats.version": Route("trainer", {"version_id": ACME_VERSION}),
    "transfer.upload": Route("trainer"),
    # An unknown or expired upload token sends an allowed user back to the upload form.
    "transfer.preview": Route("trainer", {"token": "x" * 43}, success="/author/transfer/"),
    "transfer.mapping": Route("trainer", {"token": "x" * 43}, method="POST", success="/author/transfer/"),
    "transfer.confirm": Route("trainer", method="POST", success="/author/transfer/"),
    "transfer.export": Route("trainer", {"slug": ACME_BANK}),
    "transfer.download": Route("trainer", {"slug": ACME_BANK}),
    "account.index": Route(USERS),
    "account.export": Route(USERS),
    "account.delete": Route(USERS, method="POST"),  # no password: the form is shown again with errors
    "api.openapi": Route(EVERYONE),
    "api.organization": Route(TOKEN),
    "api.learners": Route(TOKEN),
    "api.learner": Route(TOKEN, {"user_id": 1}),
    "api.learner_readiness": Route(TOKEN, {"user_id": 1}),
    "api.learner_pathway": Route(TOKEN, {"user_id": 1}),
    "api_keys.index": Route("org_admin", {"org_id": OWN_ORG}),
    "api_keys.create": Route("org_admin", {"org_id": OWN_ORG}, method="POST"),  # no name: the form is shown again
    "api_keys.revoke": Route("org_admin", {"org_id": OWN_ORG}, method="POST", success="/org/{org_id}/api-tokens"),
    "sets.author_index": Route("trainer"),
    # Trainers of other organizations get 404 for a bank's sets (tests/test_question_sets.py).
    "sets.new": Route("trainer", {"slug": ACME_BANK}),
    "sets.show": Route("trainer", {"set_id": ACME_SET}),
    "sets.edit": Route("trainer", {"set_id": ACME_SET}),
    "sets.archive": Route("trainer", {"set_id": ACME_SET}, method="POST", success="/author/sets/{set_id}"),
    "sets.assign": Route("trainer", {"set_id": ACME_SET}, method="POST"),  # no target: the page shows the error
    "sets.unassign": Route(
        "trainer",
        {"set_id": ACME_SET, "assignment_id": ACME_SET_ASSIGNMENT},
        method="POST",
        success="/author/sets/{set_id}",
    ),
    "sets.index": Route(USERS),
    # Learners start only sets assigned to them (else 404): the placeholder assigns it via a cohort.
    "sets.start": Route(USERS, {"set_id": ACME_SET}, method="POST", success=r"/practice/\d+/q/1"),
    # The learner's own records and pathway: another user's record or evidence answers 404 (tests/test_pathway.py).
    "records.index": Route(USERS),
    "records.new": Route(USERS, {"kind": "training"}),
    "records.show": Route(USERS, {"record_id": OWN_RECORD}),
    "records.correct": Route(USERS, {"record_id": OWN_RECORD}),
    "records.withdraw": Route(USERS, {"record_id": OWN_RECORD}, method="POST", success="/records/"),
    "records.evidence": Route(USERS, {"evidence_id": OWN_EVIDENCE}),
    "pathway.index": Route(USERS),
    "pathway.certification": Route(USERS, method="POST"),  # no fields: the page again with the form's errors
    "pathway.packet_pdf": Route(USERS),
    "pathway.packet_csv": Route(USERS),
}

KINDS = ("anonymous", "trainee", "trainer", "supervisor", "org_admin", "admin")
USER_OPTIONS = {
    "trainee": {},
    "trainer": {"role": "trainer"},
    "supervisor": {"role": "supervisor"},
    "org_admin": {"role": "org_admin"},
    "admin": {"admin": True},
}


def may_access(kind: str, who: str | tuple[str, ...]) -> bool:
    """For a logged-in user of this kind: does the route let them in? (``who`` may list several roles.)"""
    if isinstance(who, tuple):
        return kind == "admin" or kind in who
    return who in (EVERYONE, GUESTS, USERS) or kind == "admin" or kind == who


def start_attempt(client, domain: str = "advocacy") -> int:
    """Start a 5-question practice attempt through the real form; return its id."""
    response = post_form(client, "/practice/", {"domain": domain, "tag": "", "count": "5"})
    assert response.status_code == 302, response.get_data(as_text=True)
    path = urlsplit(response.location).path
    assert path.startswith("/practice/") and path.endswith("/q/1"), path
    return int(path.split("/")[2])


def start_exam(client) -> int:
    """Start a mock exam through the real button; return its id."""
    response = post_form(client, "/exams/start", token_from="/exams/")
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.fullmatch(r"/exams/(\d+)", response.location)
    assert match, response.location
    return int(match.group(1))


def issue_certificate(app, email: str) -> tuple[str, int]:
    """A readiness certificate held by this user; returns its code and id."""
    with app.app_context():
        user = accounts.find_user(email)
        certificate = Certificate(
            code=certificates.new_code(), user_id=user.id, track="basic", holder_name=user.display_name, details={}
        )
        db.session.add(certificate)
        db.session.commit()
        return certificate.code, certificate.id


def logged_in_client(app, make_user, email: str, **options):
    client = app.test_client()
    make_user(email, **options)
    assert login(client, email).status_code == 302
    return client


def organization_id(app, slug: str) -> int:
    with app.app_context():
        org = accounts.get_or_create_organization(slug.title(), slug)
        db.session.commit()
        return org.id


def own_bank(app, slug: str, org_id: int) -> str:
    """Make the organization own the bank; return its slug."""
    with app.app_context():
        db.session.scalar(select(Bank).where(Bank.slug == slug)).organization_id = org_id
        db.session.commit()
    return slug


def acme_value(app, org_id: int, placeholder: str) -> int | str:
    """Create what an ACME_* placeholder names inside the acme organization; return its id (or secret)."""
    with app.app_context():
        organization = db.session.get(Organization, org_id)
        if placeholder == ACME_COHORT:
            value = orgs.create_cohort(organization, "Spring intake").id
        elif placeholder == ACME_LEARNER:
            member = accounts.register_user("member@acme.org", "Morgan Member", "correct-horse-battery")
            value = accounts.add_membership(member, organization, "learner").user_id
        else:
            issued = orgs.create_invitation(organization, None)
            value = issued.invitation.id if placeholder == ACME_INVITATION else issued.secret
        db.session.commit()
        return value


def first_version_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.min(QuestionVersion.id)).join(Question).join(Bank).where(Bank.slug == slug)
        )


def acme_set(app, org_id: int, member_email: str | None) -> tuple[int, int]:
    """A practice set on the acme-owned mini bank assigned to an acme cohort holding this user; (set, assignment)."""
    own_bank(app, "mini", org_id)
    with app.app_context():
        bank = db.session.scalar(select(Bank).where(Bank.slug == "mini"))
        cohort = Cohort(organization_id=org_id, name="Set access")
        rules = {"domain": None, "tags": [], "difficulty": None, "count": 2}
        question_set = QuestionSet(bank_id=bank.id, title="Access set", kind="rules", mode="practice", rules=rules)
        db.session.add_all([cohort, question_set])
        db.session.flush()
        if member_email:
            db.session.add(CohortMember(cohort_id=cohort.id, user_id=accounts.find_user(member_email).id))
        assignment = QuestionSetAssignment(question_set=question_set, organization_id=org_id, cohort_id=cohort.id)
        db.session.add(assignment)
        db.session.commit()
        return question_set.id, assignment.id


def own_record_value(app, email: str, placeholder: str) -> int:
    """A returned training record (OWN_RECORD) or a stored PNG evidence file (OWN_EVIDENCE) of this user."""
    with app.app_context():
        user = accounts.find_user(email)
        if placeholder == OWN_EVIDENCE:
            png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
            value = records.store_evidence(user, png, "scan.png", Path(app.config["EVIDENCE_DIR"])).id
        else:
            record = LearnerRecord(
                user_id=user.id, kind="training", title="Ethics basics", provider="Acme", status="returned",
                started_on=date(2024, 3, 1), hours=2.0, domain_hours={"ethics": 2.0}, comment="Add the certificate",
            )  # fmt: skip
            db.session.add(record)
            db.session.flush()
            value = record.id
        db.session.commit()
        return value


def acme_record(app, org_id: int, supervisor_email: str | None = None) -> int:
    """A pending supervision record with a PDF evidence file of a new acme learner (ACME_RECORD); with
    ``supervisor_email``, that user also becomes a supervisor of acme (ACME_EVIDENCE_RECORD for site admins)."""
    with app.app_context():
        organization = db.session.get(Organization, org_id)
        learner = accounts.register_user("recorded@acme.org", "Rae Recorded", "correct-horse-battery")
        accounts.add_membership(learner, organization, "learner")
        pdf = b"%PDF-1.4\n%%EOF\n"
        evidence = records.store_evidence(learner, pdf, "log.pdf", Path(app.config["EVIDENCE_DIR"]))
        data = records.RecordInput("supervision", "Weekly supervision", "Sue", date(2024, 1, 5), None, 2.0)
        record = records.create_record(learner, data, {}, organization, evidence)
        if supervisor_email:
            accounts.add_membership(accounts.find_user(supervisor_email), organization, "supervisor")
        db.session.commit()
        return record.id


def assert_login_redirect(response, path: str) -> None:
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [path]


def test_route_table_covers_exactly_the_registered_endpoints(app):
    registered = {rule.endpoint: rule.methods for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert set(ROUTES) == set(registered), "every route needs an entry in ROUTES (and no stale entries)"
    for endpoint, route in ROUTES.items():
        assert route.method in registered[endpoint], endpoint


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_route_access_by_kind_of_user(app, client, make_user, mini_release, endpoint, kind):
    route = ROUTES[endpoint]
    org_id = organization_id(app, "acme")
    if kind != "anonymous":
        make_user(f"{kind}@example.org", **USER_OPTIONS[kind])
        assert login(client, f"{kind}@example.org").status_code == 302

    values = dict(route.values)
    if values.get("attempt_id") in (OWN_ATTEMPT, OWN_EXAM):
        owner = client if kind != "anonymous" else logged_in_client(app, make_user, "owner@example.org")
        values["attempt_id"] = (start_attempt if values["attempt_id"] == OWN_ATTEMPT else start_exam)(owner)
    if OWN_CERTIFICATE in values.values():
        holder = f"{kind}@example.org" if kind != "anonymous" else make_user("holder@example.org")
        code, certificate_id = issue_certificate(app, holder)
        values.update({k: code if k == "code" else certificate_id for k, v in values.items() if v == OWN_CERTIFICATE})
    if values.get("slug") == ACME_BANK:
        values["slug"] = own_bank(app, "mini", org_id)
    if values.get("version_id") == ACME_VERSION:
        values["version_id"] = first_version_id(app, own_bank(app, "mini", org_id))
    if values.get("org_id") == OWN_ORG:
        values["org_id"] = org_id
    acme_placeholders = (ACME_COHORT, ACME_LEARNER, ACME_INVITATION, ACME_INVITE_SECRET)
    values.update({k: acme_value(app, org_id, v) for k, v in values.items() if v in acme_placeholders})
    if values.get("set_id") == ACME_SET:
        member = f"{kind}@example.org" if kind != "anonymous" else None
        values["set_id"], assignment_id = acme_set(app, org_id, member)
        values.update({k: assignment_id for k, v in values.items() if v == ACME_SET_ASSIGNMENT})
    if OWN_RECORD in values.values() or OWN_EVIDENCE in values.values():
        owner = f"{kind}@example.org" if kind != "anonymous" else make_user("recorder@example.org")
        own = (OWN_RECORD, OWN_EVIDENCE)
        values.update({k: own_record_value(app, owner, v) for k, v in values.items() if v in own})
    if ACME_RECORD in values.values() or ACME_EVIDENCE_RECORD in values.values():
        also = f"{kind}@example.org" if kind == "admin" and ACME_EVIDENCE_RECORD in values.values() else None
        values["record_id"] = acme_record(app, org_id, also)
    with app.test_request_context():
        path = url_for(endpoint, **values)

    if route.method == "POST":
        token = get_token(client, "/login" if kind == "anonymous" else "/")
        response = client.post(path, data={"csrf_token": token})
    else:
        response = client.get(path)

    if route.who == TOKEN:
        assert response.status_code == 401 and response.is_json
    elif kind == "anonymous":
        if route.who in (EVERYONE, GUESTS):
            assert response.status_code == 200
        else:
            assert_login_redirect(response, path)
    elif route.who == GUESTS:
        assert response.status_code == 302
        assert response.location == "/"
    elif not may_access(kind, route.who):
        assert response.status_code == 403
        assert "does not have access" in response.get_data(as_text=True)
    elif route.success:
        assert response.status_code == 302
        assert re.fullmatch(route.success.format(**values), response.location), response.location
    else:
        assert response.status_code == 200


def test_anonymous_dashboard_is_the_welcome_page_without_member_links(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/login"' in html
    assert 'href="/practice/"' not in html


def test_navigation_links_match_roles(app, make_user):
    trainee = logged_in_client(app, make_user, "trainee@example.org")
    html = trainee.get("/").get_data(as_text=True)
    assert 'href="/practice/"' in html
    assert 'href="/author/"' not in html and 'href="/org/"' not in html and 'href="/admin/"' not in html

    admin = logged_in_client(app, make_user, "root@example.org", admin=True)
    html = admin.get("/").get_data(as_text=True)
    assert 'href="/author/"' in html and 'href="/org/"' in html and 'href="/admin/"' in html


# Organization isolation -------------------------------------------------------------------------------


def test_org_admin_gets_404_for_an_organization_they_do_not_administer(app, make_user):
    client = logged_in_client(app, make_user, "ada@acme.org", role="org_admin", org="acme")
    make_user("gil@globex.org", role="org_admin", org="globex")
    acme, globex = organization_id(app, "acme"), organization_id(app, "globex")

    assert client.get(f"/org/{acme}").status_code == 200
    assert client.get(f"/org/{globex}").status_code == 404


def test_org_admin_gets_404_for_a_missing_organization(app, make_user):
    client = logged_in_client(app, make_user, "ada@acme.org", role="org_admin", org="acme")
    with app.app_context():
        missing = (db.session.scalar(select(func.max(Organization.id))) or 0) + 1000
    assert client.get(f"/org/{missing}").status_code == 404


def test_org_admin_of_one_organization_and_learner_in_another_cannot_open_the_other(app, make_user):
    client = logged_in_client(app, make_user, "ada@acme.org", role="org_admin", org="acme")
    with app.app_context():
        user = accounts.find_user("ada@acme.org")
        accounts.add_membership(user, accounts.get_or_create_organization("Globex", "globex"), "learner")
        db.session.commit()
    globex = organization_id(app, "globex")

    assert client.get(f"/org/{globex}").status_code == 404
    index = client.get("/org/").get_data(as_text=True)
    assert "Acme" in index and "Globex" not in index


def test_org_admin_sees_only_their_own_members(app, make_user):
    client = logged_in_client(app, make_user, "ada@acme.org", role="org_admin", org="acme")
    make_user("ann@acme.org", role="learner", org="acme", name="Annabel Acme")
    make_user("gus@globex.org", role="learner", org="globex", name="Gustav Globex")

    html = client.get(f"/org/{organization_id(app, 'acme')}/members").get_data(as_text=True)
    assert "Annabel Acme" in html
    assert "Gustav Globex" not in html


def test_site_admin_can_open_any_organization(app, make_user):
    make_user("gil@globex.org", role="org_admin", org="globex")
    client = logged_in_client(app, make_user, "root@example.org", admin=True)
    response = client.get(f"/org/{organization_id(app, 'globex')}")
    assert response.status_code == 200
    assert "Globex" in response.get_data(as_text=True)


# Attempt isolation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/q/1", "/summary"])
def test_trainee_cannot_see_another_trainees_attempt(app, make_user, mini_release, suffix):
    owner = logged_in_client(app, make_user, "owner@example.org")
    attempt_id = start_attempt(owner)
    assert owner.get(f"/practice/{attempt_id}{suffix}").status_code in (200, 302)

    intruder = logged_in_client(app, make_user, "intruder@example.org")
    assert intruder.get(f"/practice/{attempt_id}{suffix}").status_code == 404


def test_trainee_cannot_answer_or_finish_another_trainees_attempt(app, make_user, mini_release):
    owner = logged_in_client(app, make_user, "owner@example.org")
    attempt_id = start_attempt(owner)
    intruder = logged_in_client(app, make_user, "intruder@example.org")
    token = get_token(intruder, "/practice/")

    answer = intruder.post(f"/practice/{attempt_id}/q/1", data={"choice": "0", "csrf_token": token})
    finish = intruder.post(f"/practice/{attempt_id}/finish", data={"csrf_token": token})

    assert answer.status_code == 404
    assert finish.status_code == 404
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.submitted_at is None
        answered = select(func.count()).select_from(Response).where(Response.chosen_option.is_not(None))
        assert db.session.scalar(answered) == 0


@pytest.mark.parametrize("suffix", ["", "/q/1", "/submit", "/review"])
def test_trainee_cannot_see_another_trainees_mock_exam(app, make_user, mini_release, suffix):
    owner = logged_in_client(app, make_user, "owner@example.org")
    exam_id = start_exam(owner)
    assert owner.get(f"/exams/{exam_id}{suffix}").status_code in (200, 302)

    intruder = logged_in_client(app, make_user, "intruder@example.org")
    assert intruder.get(f"/exams/{exam_id}{suffix}").status_code == 404


def test_a_practice_attempt_is_not_reachable_as_an_exam_and_vice_versa(app, make_user, mini_release):
    client = logged_in_client(app, make_user, "owner@example.org")
    attempt_id, exam_id = start_attempt(client), start_exam(client)
    assert client.get(f"/exams/{attempt_id}/q/1").status_code == 404
    assert client.get(f"/practice/{exam_id}/q/1").status_code == 404


def test_trainer_cannot_open_a_trainees_attempt(app, make_user, mini_release):
    owner = logged_in_client(app, make_user, "owner@example.org")
    attempt_id = start_attempt(owner)
    trainer = logged_in_client(app, make_user, "trainer@example.org", role="trainer")
    assert trainer.get(f"/practice/{attempt_id}/q/1").status_code == 404


@pytest.mark.parametrize("suffix", ["", ".pdf"])
def test_trainee_cannot_open_another_trainees_certificate_but_anyone_can_verify_it(app, make_user, suffix):
    code, _ = issue_certificate(app, make_user("holder@example.org"))
    intruder = logged_in_client(app, make_user, "intruder@example.org")

    assert intruder.get(f"/certificates/{code}{suffix}").status_code == 404
    assert intruder.get(f"/verify/{code}").status_code == 200
    assert app.test_client().get(f"/verify/{code}").status_code == 200
