"""JSON API /api/v1: bearer tokens, organization isolation, pagination, readiness, OpenAPI, JSON errors, token UI."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timedelta

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec
from sqlalchemy import select

from app import create_app
from app.api_spec import build_spec
from app.extensions import db, limiter
from app.models import ApiToken, Certification, Cohort, CohortMember
from app.services import accounts, api_tokens, banks, pathway, practice, readiness, records
from app.services.records import RecordInput
from tests.conftest import TEST_CONFIG, get_token, login, post_form

TOKEN_SHAPE = re.compile(r"pst_[A-Za-z0-9_-]{40}")


# --- Helpers ----------------------------------------------------------------------------------------------


def org_id(app, slug: str = "acme") -> int:
    with app.app_context():
        organization = accounts.get_or_create_organization(slug.title(), slug)
        db.session.commit()
        return organization.id


def new_token(app, slug: str = "acme", name: str = "Reporting") -> str:
    """Create a token for an organization through the service; returns the secret."""
    with app.app_context():
        organization = accounts.get_or_create_organization(slug.title(), slug)
        secret = api_tokens.create_token(organization, name).secret
        db.session.commit()
        return secret


def user_id(app, email: str) -> int:
    with app.app_context():
        return accounts.find_user(email).id


def api(client, path: str, token: str | None = None, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(path, headers=headers)


def error_of(response, status: int) -> dict:
    """Assert a JSON error response with this status; return its ``error`` object."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


def add_cohort(app, name: str, emails: list[str], slug: str = "acme") -> int:
    with app.app_context():
        organization = accounts.get_or_create_organization(slug.title(), slug)
        cohort = Cohort(organization_id=organization.id, name=name)
        db.session.add(cohort)
        db.session.flush()
        db.session.add_all(CohortMember(cohort_id=cohort.id, user_id=accounts.find_user(e).id) for e in emails)
        db.session.commit()
        return cohort.id


def practise(app, email: str, right: bool = True, domain: str | None = None) -> None:
    """Answer a whole practice attempt, all right or all wrong."""
    with app.app_context():
        user = accounts.find_user(email)
        attempt = practice.start_practice(user, banks.latest_release("mini"), domain=domain, count=5, seed=3)
        for response in list(attempt.responses):
            key = response.option_order.index(response.question_version.correct_index)
            practice.answer(attempt, response.position, key if right else (key + 1) % len(response.option_order))
        db.session.commit()


@pytest.fixture
def acme(app, make_user):
    """Acme with an admin, three learners and a trainer; Globex with one learner. Returns an Acme token."""
    make_user("ada@acme.org", role="org_admin", org="acme", name="Ada Admin")
    for email, name in [("cy@acme.org", "Cy"), ("ann@acme.org", "ann"), ("bo@acme.org", "Bo")]:
        make_user(email, role="learner", org="acme", name=name)
    make_user("tia@acme.org", role="trainer", org="acme", name="Tia Trainer")
    make_user("gus@globex.org", role="learner", org="globex", name="Gus Globex")
    return new_token(app, "acme")


def schema_validator(name: str) -> OAS31Validator:
    """A validator for one component schema of the OpenAPI document (references resolved in the document)."""
    spec = build_spec()
    return OAS31Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


# --- Authentication ---------------------------------------------------------------------------------------


def test_missing_token_is_401_json_with_a_bearer_challenge(client, acme):
    error = error_of(api(client, "/api/v1/organization"), 401)
    assert error["code"] == "unauthorized"
    assert api(client, "/api/v1/organization").headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token {token}",
        "Bearer {token}x",
        "Bearer {token_short}",
        "Bearer pst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # right shape, never issued
        "Bearer {token_upper}",
        "Bearer {token} {token}",
    ],
)
def test_malformed_or_unknown_tokens_are_401(client, acme, header):
    value = header.format(token=acme, token_short=acme[:-1], token_upper=acme.upper())
    response = client.get("/api/v1/learners", headers={"Authorization": value})
    error = error_of(response, 401)
    assert error["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_scheme_name_is_case_insensitive(client, acme):
    response = client.get("/api/v1/organization", headers={"Authorization": f"bearer {acme}"})
    assert response.status_code == 200


def test_revoked_token_is_401_with_invalid_token_challenge(app, client, acme):
    assert api(client, "/api/v1/organization", acme).status_code == 200
    with app.app_context():
        token = api_tokens.authenticate(acme)
        assert api_tokens.revoke_token(token) is True
        assert api_tokens.revoke_token(token) is False  # already revoked
        db.session.commit()

    response = api(client, "/api/v1/organization", acme)

    assert error_of(response, 401)["message"] == "The API token is not valid or has been revoked."
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_logged_in_session_does_not_open_the_api(app, make_user, acme):
    client = app.test_client()
    make_user("root@example.org", admin=True)
    assert login(client, "root@example.org").status_code == 302
    assert error_of(client.get("/api/v1/organization"), 401)["code"] == "unauthorized"


def test_api_responses_set_no_cookies_even_for_a_logged_in_browser(app, make_user, acme):
    client = app.test_client()
    assert login(client, "ada@acme.org").status_code == 302
    for path in ["/api/v1/organization", "/api/v1/learners", "/api/v1/openapi.json", "/api/v1/nope"]:
        for token in (acme, None):
            response = api(client, path, token)
            assert "Set-Cookie" not in response.headers, path


def test_last_used_at_is_recorded_to_the_minute(app, acme):
    with app.app_context():
        stored = db.session.scalar(select(ApiToken))
        assert stored.last_used_at is None
        start = datetime(2030, 1, 1, 12, 0, 0)
        assert api_tokens.authenticate(acme, now=start).last_used_at == start
        assert api_tokens.authenticate(acme, now=start + timedelta(seconds=30)).last_used_at == start
        later = start + timedelta(minutes=2)
        assert api_tokens.authenticate(acme, now=later).last_used_at == later
        db.session.rollback()


def test_last_used_at_is_saved_by_an_api_request(app, client, acme):
    assert api(client, "/api/v1/organization", acme).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(ApiToken.last_used_at)) is not None


# --- Organization isolation -------------------------------------------------------------------------------


def test_organization_endpoint_describes_the_tokens_own_organization(app, client, acme):
    cohort = add_cohort(app, "Spring intake", ["ann@acme.org", "bo@acme.org"])
    add_cohort(app, "Globex cohort", ["gus@globex.org"], slug="globex")

    body = api(client, "/api/v1/organization", acme).get_json()

    assert body == {
        "id": org_id(app, "acme"),
        "name": "Acme",
        "slug": "acme",
        "members": 5,
        "learners": 3,
        "cohorts": [{"id": cohort, "name": "Spring intake", "members": 2}],
    }


def test_each_token_sees_only_its_own_organization(app, client, acme):
    globex = new_token(app, "globex")

    acme_names = [item["display_name"] for item in api(client, "/api/v1/learners", acme).get_json()["items"]]
    globex_names = [item["display_name"] for item in api(client, "/api/v1/learners", globex).get_json()["items"]]

    assert acme_names == ["Ada Admin", "ann", "Bo", "Cy", "Tia Trainer"]  # by name, case-insensitively
    assert globex_names == ["Gus Globex"]
    assert api(client, "/api/v1/organization", globex).get_json()["slug"] == "globex"


@pytest.mark.parametrize("suffix", ["", "/readiness"])
def test_a_learner_of_another_organization_is_404_like_a_missing_one(app, client, acme, mini_release, suffix):
    gus = user_id(app, "gus@globex.org")
    other = error_of(api(client, f"/api/v1/learners/{gus}{suffix}", acme), 404)
    missing = error_of(api(client, f"/api/v1/learners/{gus + 1000}{suffix}", acme), 404)
    assert other == missing  # nothing tells a stranger from a missing id
    assert api(client, f"/api/v1/learners/{user_id(app, 'cy@acme.org')}{suffix}", acme).status_code == 200


def test_a_user_without_membership_is_not_found(app, client, make_user, acme):
    make_user("loner@example.org")
    error_of(api(client, f"/api/v1/learners/{user_id(app, 'loner@example.org')}", acme), 404)


def test_no_email_address_is_ever_exposed(app, client, acme, mini_release):
    practise(app, "ann@acme.org")
    ann = user_id(app, "ann@acme.org")
    for path in [
        "/api/v1/organization",
        "/api/v1/learners",
        f"/api/v1/learners/{ann}",
        f"/api/v1/learners/{ann}/readiness",
    ]:
        text = api(client, path, acme).get_data(as_text=True)
        assert "@" not in text and "email" not in text, path


# --- Learners list ----------------------------------------------------------------------------------------


def test_pagination_walks_every_member_once(client, acme):
    pages = [api(client, f"/api/v1/learners?per_page=2&page={n}", acme).get_json() for n in (1, 2, 3, 4)]

    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    assert {p["per_page"] for p in pages} == {2}
    assert {p["total"] for p in pages} == {5}
    assert [len(p["items"]) for p in pages] == [2, 2, 1, 0]  # past the end: an empty page, not an error
    ids = [item["id"] for p in pages for item in p["items"]]
    assert len(ids) == len(set(ids)) == 5


def test_default_page_size_and_learner_fields(app, client, acme, mini_release):
    practise(app, "cy@acme.org", right=True)
    body = api(client, "/api/v1/learners", acme).get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 5)
    cy = next(item for item in body["items"] if item["display_name"] == "Cy")
    assert cy["id"] == user_id(app, "cy@acme.org")
    assert cy["role"] == "learner"
    assert (cy["answered"], cy["correct"], cy["accuracy"]) == (5, 5, 1.0)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cy["last_activity"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", cy["joined_at"])
    bo = next(item for item in body["items"] if item["display_name"] == "Bo")
    assert (bo["answered"], bo["accuracy"], bo["last_activity"]) == (0, 0.0, None)


def test_cohort_filter_lists_only_that_cohorts_members(app, client, acme):
    cohort = add_cohort(app, "Spring intake", ["bo@acme.org", "cy@acme.org"])
    body = api(client, f"/api/v1/learners?cohort={cohort}", acme).get_json()
    assert body["total"] == 2
    assert [item["display_name"] for item in body["items"]] == ["Bo", "Cy"]


def test_another_organizations_cohort_is_refused_like_a_missing_one(app, client, acme):
    globex_cohort = add_cohort(app, "Globex cohort", ["gus@globex.org"], slug="globex")
    other = error_of(api(client, f"/api/v1/learners?cohort={globex_cohort}", acme), 400)
    missing = error_of(api(client, f"/api/v1/learners?cohort={globex_cohort + 1000}", acme), 400)
    assert other == missing
    assert set(other["details"]) == {"cohort"}


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("page=0", {"page"}),
        ("page=abc", {"page"}),
        ("page=-1", {"page"}),
        ("page=1.5", {"page"}),
        ("page=", {"page"}),
        ("page=" + "9" * 40, {"page"}),
        ("page=100001", {"page"}),
        ("per_page=0", {"per_page"}),
        ("per_page=201", {"per_page"}),
        ("per_page=%EF%BC%91", {"per_page"}),  # a full-width digit one: int() would accept it
        ("per_page=%201", {"per_page"}),
        ("cohort=x", {"cohort"}),
        ("cohort=99999999999999999999", {"cohort"}),
        ("page=1&page=2", {"page"}),
        ("perpage=5", {"perpage"}),
        ("page=0&per_page=999&cohort=", {"page", "per_page", "cohort"}),
    ],
)
def test_bad_query_parameters_are_400_with_details_per_field(client, acme, query, fields):
    error = error_of(api(client, f"/api/v1/learners?{query}", acme), 400)
    assert error["code"] == "bad_request"
    assert set(error["details"]) == fields


def test_highest_allowed_page_and_size_work(client, acme):
    body = api(client, "/api/v1/learners?page=100000&per_page=200", acme).get_json()
    assert (body["page"], body["per_page"], body["total"], body["items"]) == (100000, 200, 5, [])


# --- One learner ------------------------------------------------------------------------------------------


def test_learner_progress_per_domain(app, client, acme, mini_release):
    practise(app, "ann@acme.org", right=True, domain="advocacy")
    practise(app, "ann@acme.org", right=False, domain="ethics")
    ann = user_id(app, "ann@acme.org")

    body = api(client, f"/api/v1/learners/{ann}", acme).get_json()

    assert (body["id"], body["display_name"], body["role"]) == (ann, "ann", "learner")
    assert (body["answered"], body["correct"]) == (5, 3)
    assert body["release"] == {"bank": "mini", "version": "1.0.0"}
    by_domain = {d["domain"]: d for d in body["domains"]}
    assert list(by_domain) == ["advocacy", "ethics"]
    assert by_domain["advocacy"] == {
        "domain": "advocacy",
        "name": "Advocacy",
        "answered": 3,
        "correct": 3,
        "accuracy": 1.0,
        "seen": 3,
        "total": 3,
        "coverage": 1.0,
    }
    assert (by_domain["ethics"]["answered"], by_domain["ethics"]["correct"]) == (2, 0)
    assert by_domain["ethics"]["coverage"] == 1.0


def test_learner_progress_without_an_imported_bank_has_no_domains(app, client, acme):
    body = api(client, f"/api/v1/learners/{user_id(app, 'bo@acme.org')}", acme).get_json()
    assert body["release"] is None and body["domains"] == []


def test_readiness_payload_equals_readiness_evaluate(app, client, acme, mini_release):
    practise(app, "cy@acme.org", right=True)
    practise(app, "cy@acme.org", right=False, domain="ethics")
    cy = user_id(app, "cy@acme.org")

    body = api(client, f"/api/v1/learners/{cy}/readiness", acme).get_json()

    with app.app_context():
        release = banks.latest_release("mini")
        expected = readiness.evaluate(accounts.find_user("cy@acme.org"), release, banks.get_track(release), you=False)
    assert body["learner_id"] == cy
    assert body["probability"] == expected.probability
    assert body["ready"] is expected.ready
    assert body["coverage"] == expected.coverage
    assert body["track"] == {"id": expected.track_id, "title": expected.track_title, "cut_score": expected.cut_score}
    assert body["rules"] == [{"key": r.key, "label": r.label, "met": r.met, "detail": r.detail} for r in expected.rules]
    assert body["domains"] == [
        {
            "domain": d.domain,
            "name": d.name,
            "weight": d.weight,
            "mean": d.mean,
            "low": d.low,
            "high": d.high,
            "answered": d.answered,
            "correct": d.correct,
        }
        for d in expected.domains
    ]
    # 7 answers, but only first-time answers count, within each domain's window (bank size - 1): 2 + 1.
    assert sum(d["answered"] for d in body["domains"]) == body["evidence"] == expected.evidence == 3
    assert body["chance"] == expected.chance and body["enough_evidence"] is expected.enough_evidence


def test_readiness_track_parameter(app, client, acme, mini_release):
    cy = user_id(app, "cy@acme.org")
    assert api(client, f"/api/v1/learners/{cy}/readiness?track=basic", acme).get_json()["track"]["id"] == "basic"
    error = error_of(api(client, f"/api/v1/learners/{cy}/readiness?track=advanced", acme), 400)
    assert error["details"] == {"track": "Unknown track; choose one of: basic."}


def test_readiness_without_an_imported_bank_is_404(app, client, acme):
    error = error_of(api(client, f"/api/v1/learners/{user_id(app, 'cy@acme.org')}/readiness", acme), 404)
    assert "track" in error["message"]


def add_records(app, email: str, *entries: tuple[RecordInput, bool]) -> None:
    """Records of this Acme learner; Ada (Acme's admin) verifies those marked True, the rest stay pending."""
    with app.app_context():
        organization = accounts.get_or_create_organization("Acme", "acme")
        learner, ada = accounts.find_user(email), accounts.find_user("ada@acme.org")
        requirements = banks.get_track(banks.latest_release("mini"))["requirements"]
        for data, verified in entries:
            record = records.create_record(learner, data, requirements, organization)
            if verified:
                records.decide(record, ada, True)
        db.session.commit()


PRIVATE_TEXT = "My own words about my lived experience."


def test_pathway_payload_lists_every_requirement_line_and_never_a_statement(app, client, acme, mini_release):
    add_records(
        app,
        "cy@acme.org",
        (RecordInput("training", "Ethics basics", "Acme", date(2024, 3, 1), None, 4.0, {"ethics": 3.0}), True),
        (RecordInput("supervision", "Weekly", "Sue", date(2024, 3, 2), None, 2.0), False),
        (RecordInput("attestation", "", "", date(2024, 3, 3), None, 0.0, {}, "lived-experience", PRIVATE_TEXT), True),
    )
    cy = user_id(app, "cy@acme.org")

    response = api(client, f"/api/v1/learners/{cy}/pathway", acme)

    body = response.get_json()
    schema_validator("Pathway").validate(body)
    assert PRIVATE_TEXT not in json.dumps(body)
    lines = {line["key"]: line for line in body["requirements"]}
    assert list(lines) == ["education", "education:advocacy", "education:ethics", "experience", "supervision"]
    assert lines["education"] == {
        "key": "education",
        "label": "Education (all domains)",
        "required": 12.0,
        "verified": 4.0,
        "pending": 0.0,
        "missing": 8.0,
        "met": False,
    }
    assert (lines["education:ethics"]["verified"], lines["education:ethics"]["missing"]) == (3.0, 3.0)
    assert (lines["education:advocacy"]["verified"], lines["education:advocacy"]["missing"]) == (0.0, 4.0)
    assert (lines["supervision"]["verified"], lines["supervision"]["pending"], lines["supervision"]["missing"]) == (
        0.0,
        2.0,
        5.0,
    )
    assert {a["key"]: (a["status"], a["private"]) for a in body["attestations"]} == {
        "diploma": ("missing", False),
        "code-of-ethics": ("missing", False),
        "lived-experience": ("verified", True),
    }
    assert (body["requirements_met"], body["exam_ready"], body["ready_to_apply"]) == (False, False, False)
    assert body["track"] == {"id": "basic", "title": "Basic track"} and body["cycle"] is None
    assert "8 more verified education (all domains) hours" in body["left"]
    with app.app_context():
        learner = accounts.find_user("cy@acme.org")
        expected = pathway.learner_progress(learner, banks.get_track(banks.latest_release("mini")))
    assert [line["verified"] for line in body["requirements"]] == [line.verified for line in expected.hour_lines]
    assert body["left"] == expected.checklist()


def test_pathway_of_a_certified_learner_has_the_recertification_cycle(app, client, acme, mini_release):
    today = date.today()
    certified_on = pathway.add_months(today, -24) + timedelta(days=20)
    with app.app_context():
        learner = accounts.find_user("cy@acme.org")
        db.session.add(
            Certification(user_id=learner.id, track="basic", certified_on=certified_on, credential_number="9")
        )
        db.session.commit()
    ce = RecordInput("training", "Ethics refresher", "Acme", today - timedelta(days=3), None, 4.0, {"ethics": 3.0})
    add_records(app, "cy@acme.org", (ce, True))

    body = api(client, f"/api/v1/learners/{user_id(app, 'cy@acme.org')}/pathway", acme).get_json()

    schema_validator("Pathway").validate(body)
    cycle = body["cycle"]
    due = pathway.add_months(certified_on, 24)
    assert (cycle["number"], cycle["start"], cycle["due"]) == (1, certified_on.isoformat(), due.isoformat())
    assert cycle["days_left"] == (due - today).days and cycle["reminder_days"] == 30
    assert [(line["key"], line["verified"], line["met"]) for line in cycle["requirements"]] == [
        ("recertification", 4.0, False),
        ("recertification:ethics", 3.0, True),
    ]
    assert cycle["met"] is False
    # Training after the certification date counts toward the cycle, not the initial education hours.
    assert body["requirements"][0]["verified"] == 0.0


def test_pathway_follows_the_readiness_endpoints_rules(app, client, acme, mini_release):
    cy, gus = user_id(app, "cy@acme.org"), user_id(app, "gus@globex.org")
    assert api(client, f"/api/v1/learners/{cy}/pathway?track=basic", acme).get_json()["track"]["id"] == "basic"
    error = error_of(api(client, f"/api/v1/learners/{cy}/pathway?track=advanced", acme), 400)
    assert error["details"] == {"track": "Unknown track; choose one of: basic."}
    error_of(api(client, f"/api/v1/learners/{gus}/pathway", acme), 404)
    error_of(api(client, f"/api/v1/learners/{cy}/pathway"), 401)


def test_pathway_without_an_imported_bank_is_404(app, client, acme):
    error = error_of(api(client, f"/api/v1/learners/{user_id(app, 'cy@acme.org')}/pathway", acme), 404)
    assert "track" in error["message"]


# --- JSON errors everywhere under /api/ ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope",
        "/api/v1/learners/abc",
        "/api/v1/learners/-1",
        "/api/v1/learners/1.5",
        "/api/v1/learners/99999999999999999999",
        "/api/v1/learners/2147483648/readiness",
        "/api/v1/organization/",
        "/api/v2/organization",
        "/api/",
    ],
)
def test_unknown_api_paths_are_json_404s(client, acme, path):
    assert error_of(api(client, path, acme), 404)["code"] == "not_found"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_are_json_405s_and_need_no_csrf_token(client, acme, method):
    response = getattr(client, method)("/api/v1/learners", headers={"Authorization": f"Bearer {acme}"}, data={"a": 1})
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_endpoints_without_parameters_refuse_unexpected_ones(client, acme):
    error = error_of(api(client, "/api/v1/organization?debug=1", acme), 400)
    assert error["details"] == {"debug": "Unknown parameter; this endpoint takes: none."}


def test_an_unexpected_failure_is_a_json_500(app, client, acme, monkeypatch):
    def explode(organization):
        raise RuntimeError("boom")

    monkeypatch.setattr(api_tokens, "organization_overview", explode)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    error = error_of(api(client, "/api/v1/organization", acme), 500)
    assert error == {"code": "server_error", "message": "Something went wrong on our side."}


@pytest.fixture
def rate_limited_app(app):
    """A second app on the same database with an API limit of 3 requests per minute per token."""
    limited = create_app(
        {
            **TEST_CONFIG,
            "RATELIMIT_ENABLED": True,
            "API_RATE_LIMIT": "3 per minute",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        }
    )
    yield limited
    with limited.app_context():
        db.engine.dispose()
    # The limiter is one object shared by every app in the process: undo what create_app switched on.
    limiter.reset()
    limiter.init_app(app)
    assert limiter.enabled is False


def test_rate_limit_is_per_token_and_answers_json_429(app, acme, rate_limited_app):
    other = new_token(app, "acme", "Second system")
    client = rate_limited_app.test_client()
    for _ in range(3):
        assert api(client, "/api/v1/organization", acme).status_code == 200

    response = api(client, "/api/v1/learners", acme)

    assert error_of(response, 429)["code"] == "rate_limited"
    assert "Retry-After" in response.headers
    assert api(client, "/api/v1/organization", other).status_code == 200


# --- OpenAPI document -------------------------------------------------------------------------------------


def test_openapi_document_is_public_and_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    validate_spec(spec)
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/openapi.json"]["get"]["security"] == []
    assert "Error" in spec["components"]["schemas"]


def openapi_path(rule: str) -> str:
    """/api/v1/learners/<int(max=...):user_id> -> /learners/{user_id}"""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule).removeprefix("/api/v1")


def test_openapi_documents_exactly_the_api_routes_and_their_parameters(app):
    spec = build_spec()
    routes = {openapi_path(rule.rule): rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert set(routes) == set(spec["paths"])
    parameters = spec["components"]["parameters"]
    for path, rule in routes.items():
        operations = {method.lower() for method in rule.methods - {"HEAD", "OPTIONS"}}
        assert set(spec["paths"][path]) == operations, path
        documented = {parameters[p["$ref"].rsplit("/", 1)[1]]["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert set(rule.arguments) <= documented, path


def test_openapi_query_parameters_match_what_each_endpoint_accepts(client, acme, mini_release):
    spec = build_spec()
    parameters = spec["components"]["parameters"]
    for path, item in spec["paths"].items():
        names = [parameters[p["$ref"].rsplit("/", 1)[1]] for p in item["get"]["parameters"]]
        concrete = "/api/v1" + path.replace("{user_id}", "1")
        error = api(client, concrete + "?undocumented=1", acme).get_json()["error"]
        assert set(error["details"]) == {"undocumented"}, path
        accepted = {p["name"] for p in names if p["in"] == "query"}
        listed = set(re.findall(r"[a-z_]+", error["details"]["undocumented"].split(":", 1)[1])) - {"none"}
        assert listed == accepted, path


def test_responses_match_their_documented_schemas(app, client, acme, mini_release):
    practise(app, "cy@acme.org")
    cy = user_id(app, "cy@acme.org")
    cohort = add_cohort(app, "Spring", ["cy@acme.org"])
    cases = {
        "/api/v1/organization": "Organization",
        f"/api/v1/learners?cohort={cohort}&per_page=3": "LearnerPage",
        f"/api/v1/learners/{cy}": "LearnerProgress",
        f"/api/v1/learners/{cy}/readiness": "Readiness",
        f"/api/v1/learners/{cy}/pathway": "Pathway",
        "/api/v1/learners?page=0": "Error",
        f"/api/v1/learners/{cy + 999}": "Error",
    }
    for path, schema in cases.items():
        schema_validator(schema).validate(api(client, path, acme).get_json())
    schema_validator("Error").validate(api(client, "/api/v1/organization").get_json())


def test_schema_validation_catches_a_leaked_field():
    leaked = {
        "id": 1,
        "display_name": "Ann",
        "role": "learner",
        "joined_at": "2030-01-01T00:00:00Z",
        "last_activity": None,
        "answered": 0,
        "correct": 0,
        "accuracy": 0.0,
        "email": "ann@acme.org",
    }
    assert not schema_validator("Learner").is_valid(leaked)
    del leaked["email"]
    assert schema_validator("Learner").is_valid(leaked)


# --- Token management UI ----------------------------------------------------------------------------------


def admin_client(app, email: str = "ada@acme.org"):
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def test_org_admin_creates_a_token_that_is_shown_once_and_stored_only_as_a_hash(app, acme):
    client = admin_client(app)
    url = f"/org/{org_id(app)}/api-tokens"

    response = post_form(client, url, {"name": "  Reporting dashboard "})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secrets_shown = set(TOKEN_SHAPE.findall(html))
    assert len(secrets_shown) == 1
    secret = secrets_shown.pop()
    with app.app_context():
        stored = db.session.scalar(select(ApiToken).where(ApiToken.name == "Reporting dashboard"))
        assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert stored.prefix == secret[:12]
        assert stored.created_by_id == user_id(app, "ada@acme.org")
        columns = [str(getattr(stored, c.key)) for c in ApiToken.__table__.columns]
        assert not any(secret in value for value in columns)
    index = client.get(url).get_data(as_text=True)
    assert secret not in index and secret[:12] in index and "Reporting dashboard" in index
    assert api(client, "/api/v1/organization", secret).get_json()["slug"] == "acme"


def test_creating_a_token_needs_a_name(app, acme):
    client = admin_client(app)
    url = f"/org/{org_id(app)}/api-tokens"
    response = post_form(client, url, {"name": "   "})
    assert response.status_code == 200
    assert "Give the token a name" in response.get_data(as_text=True)
    assert not TOKEN_SHAPE.search(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(ApiToken.name).where(ApiToken.name != "Reporting")) is None


def test_token_forms_still_need_a_csrf_token(app, acme):
    client = admin_client(app)
    url = f"/org/{org_id(app)}/api-tokens"
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))

    created = client.post(url, data={"name": "No CSRF"})
    revoked = client.post(f"{url}/revoke", data={"token_id": str(token_id)})

    assert created.status_code == 400
    assert revoked.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ApiToken.id).where(ApiToken.name == "No CSRF")) is None
        assert db.session.get(ApiToken, token_id).revoked_at is None
    assert api(client, "/api/v1/organization", acme).status_code == 200


def test_org_admin_revokes_a_token_and_the_api_refuses_it(app, acme):
    client = admin_client(app)
    url = f"/org/{org_id(app)}/api-tokens"
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))

    response = post_form(client, f"{url}/revoke", {"token_id": str(token_id)}, token_from=url)

    assert response.status_code == 302 and response.location == url
    assert "is revoked" in client.get(url).get_data(as_text=True)
    error_of(api(client, "/api/v1/organization", acme), 401)


def test_org_admin_cannot_revoke_another_organizations_token(app, make_user, acme):
    make_user("gil@globex.org", role="org_admin", org="globex")
    client = admin_client(app, "gil@globex.org")
    globex_url = f"/org/{org_id(app, 'globex')}/api-tokens"
    with app.app_context():
        acme_token = db.session.scalar(select(ApiToken.id))

    response = post_form(client, f"{globex_url}/revoke", {"token_id": str(acme_token)}, token_from=globex_url)

    assert response.status_code == 302
    assert "could not be found" in client.get(globex_url).get_data(as_text=True)
    assert api(client, "/api/v1/organization", acme).status_code == 200


@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("post", ""), ("post", "/revoke")])
def test_org_admin_of_another_organization_gets_404(app, make_user, acme, method, suffix):
    make_user("gil@globex.org", role="org_admin", org="globex")
    client = admin_client(app, "gil@globex.org")
    token = get_token(client, f"/org/{org_id(app, 'globex')}/api-tokens")
    url = f"/org/{org_id(app)}/api-tokens{suffix}"
    data = {"csrf_token": token, "name": "Sneaky", "token_id": "1"}
    response = client.get(url) if method == "get" else client.post(url, data=data)
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(ApiToken.id).where(ApiToken.name == "Sneaky")) is None


@pytest.mark.parametrize("email", ["cy@acme.org", "tia@acme.org"])
def test_learners_and_trainers_of_the_organization_get_403(app, acme, email):
    client = admin_client(app, email)
    assert client.get(f"/org/{org_id(app)}/api-tokens").status_code == 403


def test_site_admin_manages_any_organizations_tokens(app, make_user, acme):
    make_user("root@example.org", admin=True)
    client = admin_client(app, "root@example.org")
    url = f"/org/{org_id(app, 'globex')}/api-tokens"
    response = post_form(client, url, {"name": "Globex exports"})
    secret = TOKEN_SHAPE.search(response.get_data(as_text=True)).group(0)
    assert api(client, "/api/v1/organization", secret).get_json()["slug"] == "globex"


def test_missing_organization_is_404(app, acme):
    client = admin_client(app)
    assert client.get(f"/org/{org_id(app) + 1000}/api-tokens").status_code == 404
    assert client.get("/org/99999999999/api-tokens").status_code == 404
