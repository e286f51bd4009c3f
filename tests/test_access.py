"""Access control for every route and every kind of user, plus organization and attempt isolation.

``ROUTES`` says who may use each endpoint. It must name exactly the endpoints in ``app.url_map``, so a
new route fails the suite until someone decides (and tests) who may open it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import url_for
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attempt, Certificate, Organization, Response
from app.services import accounts, certificates
from tests.conftest import get_token, login, post_form

OWN_ATTEMPT = "<a practice attempt of the requesting user>"
OWN_EXAM = "<an open mock exam of the requesting user>"
OWN_CERTIFICATE = "<a certificate held by the requesting user>"
OWN_ORG = "<the acme organization>"

# Who may use a route: "everyone"; "guests" (logged-in users are sent to the dashboard);
# "users" (any logged-in user); or a role name ("trainer", "org_admin", "admin"; site admins pass all).
EVERYONE, GUESTS, USERS = "everyone", "guests", "users"


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
    "author.bank": Route("trainer", {"slug": "mini"}),
    "author.question": Route("trainer", {"slug": "mini", "stable_id": "adv-one-q1"}),
    "org.index": Route("org_admin"),
    "org.learners": Route("org_admin", {"org_id": OWN_ORG}),
    "admin.index": Route("admin"),
}

KINDS = ("anonymous", "trainee", "trainer", "org_admin", "admin")
USER_OPTIONS = {
    "trainee": {},
    "trainer": {"role": "trainer"},
    "org_admin": {"role": "org_admin"},
    "admin": {"admin": True},
}


def may_access(kind: str, who: str) -> bool:
    """For a logged-in user of this kind: does the route let them in?"""
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
    if values.get("org_id") == OWN_ORG:
        values["org_id"] = org_id
    with app.test_request_context():
        path = url_for(endpoint, **values)

    if route.method == "POST":
        token = get_token(client, "/login" if kind == "anonymous" else "/")
        response = client.post(path, data={"csrf_token": token})
    else:
        response = client.get(path)

    if kind == "anonymous":
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

    html = client.get(f"/org/{organization_id(app, 'acme')}").get_data(as_text=True)
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
