"""JSON API /api/v1: read-only organization data for bearer tokens; every error is JSON.

No cookies are read or set here: a request is authenticated by its token alone, so CSRF does not apply.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime

from flask import Blueprint, current_app, g, jsonify, request
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import HTTPException

from app.api_spec import ERROR_CODES, build_spec
from app.extensions import csrf, db, limiter
from app.models import BankRelease, Membership, Organization
from app.services import ServiceError, api_tokens, exams, pathway, progress, readiness
from app.services.api_tokens import DEFAULT_PER_PAGE, MAX_ID, MAX_PAGE, MAX_PER_PAGE
from app.services.banks import get_track, latest_release

DEFAULT_RATE_LIMIT = "600 per minute"
PUBLIC_ENDPOINTS = {"api.openapi"}
_WHOLE_NUMBER = re.compile(r"[0-9]{1,10}")

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class ApiError(Exception):
    """An error answered as JSON: {"error": {"code", "message", "details"?}}."""

    def __init__(self, status: int, message: str, details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}


def error_response(status: int, message: str, details: dict | None = None, headers: dict | None = None):
    """The JSON error response every /api/ failure uses."""
    body = {"code": ERROR_CODES.get(status, "server_error" if status >= 500 else "bad_request"), "message": message}
    if details:
        body["details"] = details
    response = jsonify(error=body)
    response.status_code = status
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def _http_message(error: HTTPException) -> str:
    status = error.code or 500
    if status == 404:
        return "No such resource."
    if status == 405:
        return f"Method {request.method} is not allowed here; this API is read-only (GET)."
    if status == 429:
        return f"Too many requests: the limit is {error.description}. Retry later."
    if status >= 500:
        return "Something went wrong on our side."
    return error.description or error.name


def http_error_response(error: HTTPException):
    """A werkzeug HTTP error (404, 405, 429, 500...) as a JSON error; used for every path under /api/.

    Flask-Limiter adds Retry-After and the X-RateLimit headers to 429s itself.
    """
    status = error.code or 500
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(status, _http_message(error), headers=headers)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return error_response(error.status, error.message, error.details, error.headers)


bp.register_error_handler(HTTPException, http_error_response)


# --- Authentication and rate limit ------------------------------------------------------------------------


def _bearer_secret() -> str | None:
    """The token from ``Authorization: Bearer <token>``, or None when there is no bearer credential."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _rate_limit_key() -> str:
    """Requests are counted per token (per client address when no token is sent)."""
    secret = _bearer_secret()
    if secret:
        return "api-token:" + hashlib.sha256(secret.encode()).hexdigest()[:32]
    return "api-address:" + get_remote_address()


limiter.shared_limit(  # one budget per token across every endpoint
    lambda: current_app.config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT),
    scope="api",
    key_func=_rate_limit_key,
    exempt_when=lambda: not current_app.config.get("RATELIMIT_ENABLED", True),  # per app, not per process
)(bp)


@bp.before_request
def _require_token():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    secret = _bearer_secret()
    if secret is None:
        raise ApiError(
            401, "Send an API token: Authorization: Bearer <token>.", headers={"WWW-Authenticate": 'Bearer realm="api"'}
        )
    token = api_tokens.authenticate(secret)
    if token is None:
        raise ApiError(
            401,
            "The API token is not valid or has been revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
        )
    g.api_organization_id = token.organization_id
    db.session.commit()  # last_used_at


@bp.after_request
def _finish_response(response):
    """Private data is never cached; Flask's automatic OPTIONS answer becomes a bodiless 204, not empty HTML."""
    response.headers.setdefault("Cache-Control", "no-store")
    if request.method == "OPTIONS" and response.status_code == 200 and not response.get_data():
        response.status_code = 204
        del response.headers["Content-Type"]
    return response


def _organization() -> Organization:
    return db.session.get(Organization, g.api_organization_id)


# --- Query parameters -------------------------------------------------------------------------------------


def _query(allowed: dict[str, tuple[int, int] | None]) -> dict[str, str | int]:
    """Checked query parameters: whole numbers in range where ``allowed`` gives (low, high), text otherwise.

    Unknown or repeated parameters are refused, so a misspelt filter never silently returns everything.
    """
    errors, values = {}, {}
    for name in request.args:
        given = request.args.getlist(name)
        if name not in allowed:
            errors[name] = f"Unknown parameter; this endpoint takes: {', '.join(allowed) or 'none'}."
        elif len(given) > 1:
            errors[name] = "Give this parameter once."
        elif allowed[name] is None:
            values[name] = given[0]
        else:
            low, high = allowed[name]
            if _WHOLE_NUMBER.fullmatch(given[0]) and low <= int(given[0]) <= high:
                values[name] = int(given[0])
            else:
                errors[name] = f"Must be a whole number from {low} to {high}."
    if errors:
        raise ApiError(400, "Some query parameters are not valid.", details=errors)
    return values


def _bad_request(error: ServiceError) -> ApiError:
    details = {error.field: str(error)} if error.field else None
    return ApiError(400, str(error) if not details else "Some query parameters are not valid.", details)


# --- Serialisation ----------------------------------------------------------------------------------------


def _timestamp(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def _learner(row: api_tokens.LearnerRow) -> dict:
    return {
        "id": row.user_id,
        "display_name": row.display_name,
        "role": row.role,
        "joined_at": _timestamp(row.joined_at),
        "last_activity": _timestamp(row.last_activity),
        "answered": row.answered,
        "correct": row.correct,
        "accuracy": row.accuracy,
    }


def _domain_progress(item: progress.DomainProgress) -> dict:
    return {
        "domain": item.domain,
        "name": item.name,
        "answered": item.answered,
        "correct": item.correct,
        "accuracy": item.accuracy,
        "seen": item.seen,
        "total": item.total,
        "coverage": item.coverage,
    }


def _readiness(user_id: int, result: readiness.Readiness) -> dict:
    return {
        "learner_id": user_id,
        "probability": result.probability,
        "chance": result.chance,
        "evidence": result.evidence,
        "enough_evidence": result.enough_evidence,
        "ready": result.ready,
        "coverage": result.coverage,
        "track": {"id": result.track_id, "title": result.track_title, "cut_score": result.cut_score},
        "rules": [{"key": r.key, "label": r.label, "met": r.met, "detail": r.detail} for r in result.rules],
        "domains": [
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
            for d in result.domains
        ],
    }


def _hours_line(line: pathway.HoursLine) -> dict:
    return {
        "key": line.key,
        "label": line.label,
        "required": line.required,
        "verified": line.verified,
        "pending": line.pending,
        "missing": line.missing,
        "met": line.met,
    }


def _cycle(cycle: pathway.Cycle | None, today) -> dict | None:
    if cycle is None:
        return None
    return {
        "number": cycle.number,
        "start": cycle.start.isoformat(),
        "due": cycle.end.isoformat(),
        "days_left": cycle.days_left(today),
        "reminder_days": cycle.reminder(today),
        "met": cycle.met,
        "requirements": [_hours_line(line) for line in (cycle.hours, *cycle.domains)],
    }


def _pathway(user_id: int, track: dict, status: pathway.PathwayProgress, exam: readiness.Readiness, today) -> dict:
    return {
        "learner_id": user_id,
        "track": {"id": track["id"], "title": track["title"]},
        "label": status.label,
        "requirements": [_hours_line(line) for line in status.hour_lines],
        "attestations": [
            {
                "key": a.key,
                "label": a.label,
                "status": a.status,
                "document": a.document,
                "private": a.private,
                "met": a.met,
            }
            for a in status.attestations
        ],
        "requirements_met": status.requirements_met,
        "exam_ready": exam.ready,
        "ready_to_apply": status.requirements_met and exam.ready,
        "left": status.checklist(),
        "cycle": _cycle(status.cycle, today),
    }


# --- Endpoints --------------------------------------------------------------------------------------------


def _member_or_404(user_id: int) -> Membership:
    membership = api_tokens.find_member(_organization(), user_id)
    if membership is None:
        raise ApiError(404, "No learner with this id in your organization.")
    return membership


def _release() -> BankRelease | None:
    return latest_release(current_app.config["DEFAULT_BANK"])


@bp.get("/openapi.json")
def openapi():
    _query({})
    response = jsonify(build_spec())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/organization")
def organization():
    _query({})
    overview = api_tokens.organization_overview(_organization())
    org = overview.organization
    return jsonify(
        id=org.id,
        name=org.name,
        slug=org.slug,
        members=overview.members,
        learners=overview.learners,
        cohorts=[{"id": c.id, "name": c.name, "members": c.members} for c in overview.cohorts],
    )


@bp.get("/learners")
def learners():
    params = _query({"cohort": (1, MAX_ID), "page": (1, MAX_PAGE), "per_page": (1, MAX_PER_PAGE)})
    try:
        page = api_tokens.learner_page(
            _organization(),
            page=params.get("page", 1),
            per_page=params.get("per_page", DEFAULT_PER_PAGE),
            cohort_id=params.get("cohort"),
        )
    except ServiceError as exc:
        raise _bad_request(exc) from exc
    return jsonify(page=page.page, per_page=page.per_page, total=page.total, items=[_learner(r) for r in page.items])


@bp.get(f"/learners/<int(max={MAX_ID}):user_id>")
def learner(user_id: int):
    _query({})
    membership = _member_or_404(user_id)
    release = _release()
    domains = progress.domain_progress(membership.user, release) if release is not None else []
    return jsonify(
        **_learner(api_tokens.learner_row(membership)),
        release={"bank": release.bank.slug, "version": release.version} if release is not None else None,
        domains=[_domain_progress(d) for d in domains],
    )


def _release_and_track(track_id: str | None) -> tuple[BankRelease, dict]:
    """The current release and the asked-for track (the first by default); 404 without one, 400 if unknown."""
    release = _release()
    if release is None or not release.tracks:
        raise ApiError(404, "No certification track is available yet.")
    track = get_track(release, track_id)
    if track is None:
        known = ", ".join(t["id"] for t in release.tracks)
        raise ApiError(
            400, "Some query parameters are not valid.", {"track": f"Unknown track; choose one of: {known}."}
        )
    return release, track


def _exam_readiness(membership: Membership, release: BankRelease, track: dict) -> readiness.Readiness:
    if exams.expire_due(user=membership.user):  # as the learner's own pages and the org reports do
        db.session.commit()
    return readiness.evaluate(membership.user, release, track, you=False)


@bp.get(f"/learners/<int(max={MAX_ID}):user_id>/readiness")
def learner_readiness(user_id: int):
    params = _query({"track": None})
    membership = _member_or_404(user_id)
    release, track = _release_and_track(params.get("track"))
    return jsonify(_readiness(user_id, _exam_readiness(membership, release, track)))


@bp.get(f"/learners/<int(max={MAX_ID}):user_id>/pathway")
def learner_pathway(user_id: int):
    params = _query({"track": None})
    membership = _member_or_404(user_id)
    release, track = _release_and_track(params.get("track"))
    exam = _exam_readiness(membership, release, track)
    today = date.today()
    status = pathway.learner_progress(membership.user, track, today)
    return jsonify(_pathway(user_id, track, status, exam, today))
