"""Organization isolation (IDOR): every org route, built from app.url_map, refuses other organizations' ids.

An org admin of Acme asking for Bravo's organization, cohort, learner or invitation ids - in any mix with
Acme's own - gets 404 (no existence leak), sees none of Bravo's data, and changes nothing of Bravo's.
Learners and trainers of Acme get 403 on every org admin route (trainers may record training attendance).
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from pathlib import Path

import pytest
from flask import current_app, url_for
from sqlalchemy import select

from app.extensions import db
from app.models import BankRelease, Cohort, CohortMember, Invitation, LearnerRecord, Membership, Organization, User
from app.models.base import utcnow
from app.services import accounts, orgs, records
from tests.conftest import PASSWORD, get_token, login
from tests.test_orgs import history

# Routes any logged-in user may use (joining); they take no organization id.
USER_FACING = {"org.join", "org.accept_invitation"}
# Organization routes without an organization in the URL.
NO_ORG_ID = {"org.index": "GET", "org.create": "POST"}
# Routes that also take ?cohort=<id>.
COHORT_QUERY = {"org.dashboard", "org.report_csv"}
ID_ARGS = ("cohort_id", "user_id", "invitation_id", "record_id")
# Routes trainers of the organization may use (bulk training attendance); every other org route is 403 for them.
TRAINER_ROUTES = {"org.training_sessions", "org.new_training_session", "org.create_training_session"}
PDF = b"%PDF-1.4\n% an evidence file\n%%EOF\n"
BRAVO_TEXT = ("Bravo Org", "Bertha Bravo", "bertha@bravo.org", "Bravo cohort", "bob@bravo.org", "bravo-only@")
FORM_DATA = {
    "role": "org_admin",
    "name": "Hijacked",
    "learners": "",
    "cohort": "",
    "email": "",
    "days": "14",
    "join_code": "",
}


def org_routes(app) -> dict[str, tuple[str, set[str]]]:
    """{endpoint: (method, URL arguments)} for every org admin route."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("org.") and rule.endpoint not in USER_FACING:
            method = "POST" if "POST" in rule.methods else "GET"
            routes[rule.endpoint] = (method, set(rule.arguments))
    return routes


def admin_routes_with_ids(app) -> list[str]:
    """Org admin routes taking an organization id; the ones that remove or delete things come last."""

    def destructive_last(endpoint: str) -> tuple:
        action = endpoint.removeprefix("org.")
        return (action.startswith(("remove_", "delete_")), action.startswith("delete_"), action)

    return sorted((e for e, (_, args) in org_routes(app).items() if "org_id" in args), key=destructive_last)


def make_org(slug: str, name: str, admin_email: str, learner_email: str, learner_name: str, cohort_name: str) -> dict:
    organization = accounts.get_or_create_organization(name, slug)
    admin = accounts.register_user(admin_email, f"{name} admin", PASSWORD)
    accounts.add_membership(admin, organization, "org_admin")
    learner = accounts.register_user(learner_email, learner_name, PASSWORD)
    accounts.add_membership(learner, organization, "learner")
    cohort = orgs.create_cohort(organization, cohort_name)
    orgs.add_to_cohort(cohort, [learner.id])
    invitation = orgs.create_invitation(organization, admin, email=f"{slug}-only@{slug}.org").invitation
    orgs.regenerate_join_code(organization, admin, cohort=cohort)
    evidence = records.store_evidence(learner, PDF, "log.pdf", Path(current_app.config["EVIDENCE_DIR"]))
    supervision = records.RecordInput("supervision", "Weekly supervision", "Sue", date(2024, 1, 5), None, 2.0)
    record = records.create_record(learner, supervision, {}, organization, evidence)
    return {
        "org_id": organization.id,
        "cohort_id": cohort.id,
        "user_id": learner.id,
        "invitation_id": invitation.id,
        "record_id": record.id,
    }


@pytest.fixture
def two_orgs(app, mini_release):
    """Acme (admin, learner, trainer, cohort, invitation) and Bravo (the same, with practice history)."""
    with app.app_context():
        acme = make_org("acme", "Acme", "ada@acme.org", "sam@acme.org", "Sam Acme", "Alpha cohort")
        bravo = make_org("bravo", "Bravo Org", "bob@bravo.org", "bertha@bravo.org", "Bertha Bravo", "Bravo cohort")
        organization = db.session.get(Organization, acme["org_id"])
        for email, role in (("teri@acme.org", "trainer"), ("lea@acme.org", "learner")):
            accounts.add_membership(accounts.register_user(email, email, PASSWORD), organization, role)
        release = db.session.get(BankRelease, mini_release)
        history(db.session.get(User, bravo["user_id"]), release, skill=3, sessions=2, start=utcnow())
        db.session.commit()
    return acme, bravo


def bravo_state(app, bravo: dict) -> tuple:
    """Everything an Acme admin could try to change at Bravo."""
    org = bravo["org_id"]
    queries = (
        select(Organization.name).where(Organization.id == org),
        select(Membership.user_id, Membership.role).where(Membership.organization_id == org),
        select(Cohort.id, Cohort.name).where(Cohort.organization_id == org),
        select(CohortMember.cohort_id, CohortMember.user_id).join(Cohort).where(Cohort.organization_id == org),
        select(Invitation.id, Invitation.revoked_at, Invitation.uses, Invitation.cohort_id).where(
            Invitation.organization_id == org
        ),
        select(LearnerRecord.id, LearnerRecord.status, LearnerRecord.comment).where(
            LearnerRecord.organization_id == org
        ),
    )
    with app.app_context():
        return tuple(sorted(db.session.execute(query).all()) for query in queries)


def id_mixes(args: set[str], acme: dict, bravo: dict):
    """Every assignment of Acme's or Bravo's ids to the route's arguments that uses at least one of Bravo's."""
    unknown = args - {"org_id", *ID_ARGS}
    assert not unknown, f"teach this test about route arguments {unknown}"
    names = sorted(args)
    for owners in itertools.product((acme, bravo), repeat=len(names)):
        if any(owner is bravo for owner in owners):
            yield {name: owner[name] for name, owner in zip(names, owners, strict=True)}


def call(client, app, endpoint: str, method: str, values: dict, token: str, query: dict | None = None):
    with app.test_request_context():
        path = url_for(endpoint, **values, **(query or {}))
    if method == "POST":
        return client.post(path, data={**FORM_DATA, "csrf_token": token})
    return client.get(path)


def test_every_org_route_is_covered(app):
    org_endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("org.")}
    assert org_endpoints == set(admin_routes_with_ids(app)) | set(NO_ORG_ID) | USER_FACING
    assert len(admin_routes_with_ids(app)) >= 15


def test_org_admin_gets_404_for_every_mix_of_another_organizations_ids(app, two_orgs):
    acme, bravo = two_orgs
    client = app.test_client()
    assert login(client, "ada@acme.org").status_code == 302
    token = get_token(client, "/org/")
    before = bravo_state(app, bravo)
    checked = 0
    for endpoint in admin_routes_with_ids(app):
        method, args = org_routes(app)[endpoint]
        for values in id_mixes(args, acme, bravo):
            response = call(client, app, endpoint, method, values, token)
            assert response.status_code == 404, (endpoint, values, response.status_code)
            html = response.get_data(as_text=True)
            assert not any(text in html for text in BRAVO_TEXT), (endpoint, values)
            checked += 1
        if endpoint in COHORT_QUERY:
            own = {"org_id": acme["org_id"]}
            response = call(client, app, endpoint, method, own, token, {"cohort": bravo["cohort_id"]})
            assert response.status_code == 404, endpoint
    assert checked >= 30
    assert bravo_state(app, bravo) == before


def test_org_admin_routes_work_with_their_own_ids(app, two_orgs):
    """The same requests with Acme's ids are not refused (so the 404s above are about ownership)."""
    acme, bravo = two_orgs
    client = app.test_client()
    login(client, "ada@acme.org")
    token = get_token(client, "/org/")
    for endpoint in admin_routes_with_ids(app):
        method, args = org_routes(app)[endpoint]
        response = call(client, app, endpoint, method, {name: acme[name] for name in args}, token)
        assert response.status_code in (200, 302), (endpoint, response.status_code)
        assert not any(text in response.get_data(as_text=True) for text in BRAVO_TEXT), endpoint


def test_org_admin_pages_without_ids_show_nothing_of_another_organization(app, two_orgs):
    client = app.test_client()
    login(client, "ada@acme.org")
    html = client.get("/org/").get_data(as_text=True)
    assert "Acme" in html and not any(text in html for text in BRAVO_TEXT)
    token = get_token(client, "/org/")
    data = {"name": "X", "slug": "x", "admin_email": "ada@acme.org", "csrf_token": token}
    assert client.post("/org/new", data=data).status_code == 403


@pytest.mark.parametrize("email", ["sam@acme.org", "teri@acme.org"])
def test_learners_and_trainers_get_403_on_every_org_admin_route(app, two_orgs, email):
    acme, _ = two_orgs
    client = app.test_client()
    assert login(client, email).status_code == 302
    token = get_token(client, "/join")
    for endpoint, (method, args) in sorted(org_routes(app).items()):
        response = call(client, app, endpoint, method, {name: acme[name] for name in args}, token)
        if email == "teri@acme.org" and endpoint in TRAINER_ROUTES:
            assert response.status_code == 200, endpoint  # the form with its errors, or the list
            continue
        assert response.status_code == 403, (endpoint, response.status_code)
        assert "does not have access" in response.get_data(as_text=True)


def test_form_fields_cannot_reach_another_organizations_learners_or_cohorts(app, two_orgs):
    acme, bravo = two_orgs
    client = app.test_client()
    login(client, "ada@acme.org")
    cohort_path = f"/org/{acme['org_id']}/cohorts/{acme['cohort_id']}"
    token = get_token(client, cohort_path)
    before = bravo_state(app, bravo)
    with app.app_context():
        links_before = db.session.scalar(select(db.func.count()).select_from(Invitation))

    add = client.post(f"{cohort_path}/members", data={"learners": str(bravo["user_id"]), "csrf_token": token})
    invite = client.post(
        f"/org/{acme['org_id']}/invitations",
        data={"role": "learner", "cohort": str(bravo["cohort_id"]), "days": "14", "csrf_token": token},
    )
    code = client.post(
        f"/org/{acme['org_id']}/join-code", data={"cohort": str(bravo["cohort_id"]), "csrf_token": token}
    )

    for response in (add, invite, code):
        assert response.status_code == 200
        assert re.search(r"[Nn]ot a valid choice", response.get_data(as_text=True))
        assert not any(text in response.get_data(as_text=True) for text in BRAVO_TEXT)
    with app.app_context():
        assert db.session.get(CohortMember, (acme["cohort_id"], bravo["user_id"])) is None
        assert db.session.scalar(select(db.func.count()).select_from(Invitation)) == links_before
    assert bravo_state(app, bravo) == before
