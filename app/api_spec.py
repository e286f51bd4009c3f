"""The OpenAPI 3.1 document of the JSON API (/api/v1), built in code so it cannot drift from the constants."""

from __future__ import annotations

from copy import deepcopy
from functools import cache

from app.models.user import ROLES
from app.services.api_tokens import DEFAULT_PER_PAGE, MAX_ID, MAX_PAGE, MAX_PER_PAGE

API_PREFIX = "/api/v1"
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "server_error",
}

_INTEGER = {"type": "integer"}
_COUNT = {"type": "integer", "minimum": 0}
_SHARE = {"type": "number", "minimum": 0, "maximum": 1}
_STRING = {"type": "string"}
_TIMESTAMP = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with a Z suffix."}


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _object(properties: dict, description: str | None = None) -> dict:
    """A closed object schema: every property required, nothing else allowed (the tests rely on it)."""
    schema = {"type": "object", "required": list(properties), "properties": properties, "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


def _schemas() -> dict:
    learner = {
        "id": _INTEGER,
        "display_name": _STRING,
        "role": {"type": "string", "enum": list(ROLES)},
        "joined_at": _TIMESTAMP,
        "last_activity": {**_TIMESTAMP, "type": ["string", "null"], "description": "Time of the latest answer."},
        "answered": _COUNT,
        "correct": _COUNT,
        "accuracy": {**_SHARE, "description": "correct / answered (0 when nothing is answered)."},
    }
    return {
        "Error": _object(
            {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "additionalProperties": False,
                    "properties": {
                        "code": {"type": "string", "enum": list(ERROR_CODES.values())},
                        "message": _STRING,
                        "details": {
                            "type": "object",
                            "description": "Per-parameter messages, for 400 responses.",
                            "additionalProperties": _STRING,
                        },
                    },
                }
            },
            "Every error response has this shape.",
        ),
        "Cohort": _object({"id": _INTEGER, "name": _STRING, "members": _COUNT}),
        "Organization": _object(
            {
                "id": _INTEGER,
                "name": _STRING,
                "slug": _STRING,
                "members": {**_COUNT, "description": "Members in any role."},
                "learners": {**_COUNT, "description": "Members whose role is learner."},
                "cohorts": {"type": "array", "items": _ref("schemas", "Cohort")},
            }
        ),
        "Learner": _object(learner, "A member of the token's organization. Email addresses are never exposed."),
        "LearnerPage": _object(
            {
                "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                "total": _COUNT,
                "items": {"type": "array", "items": _ref("schemas", "Learner")},
            }
        ),
        "DomainProgress": _object(
            {
                "domain": _STRING,
                "name": _STRING,
                "answered": _COUNT,
                "correct": _COUNT,
                "accuracy": _SHARE,
                "seen": {**_COUNT, "description": "Distinct questions of this domain answered."},
                "total": {**_COUNT, "description": "Questions of this domain in the current release."},
                "coverage": {**_SHARE, "description": "seen / total."},
            }
        ),
        "Release": _object({"bank": _STRING, "version": _STRING}),
        "LearnerProgress": _object(
            {
                **learner,
                "release": {"oneOf": [_ref("schemas", "Release"), {"type": "null"}]},
                "domains": {"type": "array", "items": _ref("schemas", "DomainProgress")},
            }
        ),
        "Track": _object({"id": _STRING, "title": _STRING, "cut_score": _SHARE}),
        "RuleCheck": _object({"key": _STRING, "label": _STRING, "met": {"type": "boolean"}, "detail": _STRING}),
        "DomainEstimate": _object(
            {
                "domain": _STRING,
                "name": _STRING,
                "weight": _SHARE,
                "mean": {**_SHARE, "description": "Posterior mean proficiency."},
                "low": {**_SHARE, "description": "Lower end of the 80% credible interval."},
                "high": {**_SHARE, "description": "Upper end of the 80% credible interval."},
                "answered": _COUNT,
                "correct": _COUNT,
            }
        ),
        "Readiness": _object(
            {
                "learner_id": _INTEGER,
                "probability": {
                    **_SHARE,
                    "description": "Estimated chance of reaching the pass mark on a fresh exam of the track's "
                    "longest form (meaningful once enough_evidence is true).",
                },
                "chance": {
                    "type": "string",
                    "description": 'The probability as pages show it: "63%", "over 99%", "under 1%" or '
                    '"not enough answers yet" (never 0% or 100%).',
                },
                "evidence": {**_COUNT, "description": "First-time (independent) answers behind the estimate."},
                "enough_evidence": {"type": "boolean", "description": "True once there are enough first-time answers."},
                "ready": {"type": "boolean", "description": "True when every rule is met."},
                "coverage": {**_SHARE, "description": "Share of the release's questions answered at least once."},
                "track": _ref("schemas", "Track"),
                "rules": {"type": "array", "items": _ref("schemas", "RuleCheck")},
                "domains": {"type": "array", "items": _ref("schemas", "DomainEstimate")},
            }
        ),
        **_pathway_schemas(),
    }


def _pathway_schemas() -> dict:
    hours = {"type": "number", "minimum": 0}
    return {
        "RequirementLine": _object(
            {
                "key": {
                    "type": "string",
                    "description": 'education, "education:<domain>", experience, supervision, recertification or '
                    '"recertification:<domain>".',
                },
                "label": _STRING,
                "required": {**hours, "description": "Hours the credential asks for."},
                "verified": {**hours, "description": "Hours of verified records (only these count)."},
                "pending": {**hours, "description": "Hours of records waiting for a supervisor."},
                "missing": {**hours, "description": "required - verified, never below 0."},
                "met": {"type": "boolean"},
            },
            "One hours requirement: a total or one domain's minimum.",
        ),
        "AttestationStatus": _object(
            {
                "key": _STRING,
                "label": _STRING,
                "status": {"type": "string", "enum": ["verified", "pending", "returned", "missing"]},
                "document": {"type": "boolean", "description": "An evidence file is required."},
                "private": {
                    "type": "boolean",
                    "description": "Its statement stays with the learner unless they share it (never in the API).",
                },
                "met": {"type": "boolean"},
            }
        ),
        "RecertificationCycle": _object(
            {
                "number": {"type": "integer", "minimum": 1},
                "start": {"type": "string", "format": "date"},
                "due": {"type": "string", "format": "date", "description": "The first day of the next cycle."},
                "days_left": {"type": "integer", "description": "Days until the due date (negative once past)."},
                "reminder_days": {
                    "type": ["integer", "null"],
                    "enum": [90, 30, None],
                    "description": "90 or 30 once the due date is that close, else null.",
                },
                "met": {"type": "boolean"},
                "requirements": {"type": "array", "items": _ref("schemas", "RequirementLine")},
            },
            "The current recertification cycle, once the learner recorded their certification.",
        ),
        "Pathway": _object(
            {
                "learner_id": _INTEGER,
                "track": _object({"id": _STRING, "title": _STRING}),
                "label": {"type": "string", "description": "The track's note on its requirements."},
                "requirements": {"type": "array", "items": _ref("schemas", "RequirementLine")},
                "attestations": {"type": "array", "items": _ref("schemas", "AttestationStatus")},
                "requirements_met": {"type": "boolean", "description": "Every hours line and attestation is verified."},
                "exam_ready": {"type": "boolean", "description": "Every exam readiness rule is met (see /readiness)."},
                "ready_to_apply": {"type": "boolean", "description": "requirements_met and exam_ready."},
                "left": {"type": "array", "items": _STRING, "description": "What is left, in plain words."},
                "cycle": {"oneOf": [_ref("schemas", "RecertificationCycle"), {"type": "null"}]},
            },
            "Progress toward the credential beyond the exam. Statements and evidence files are never included.",
        ),
    }


def _parameters() -> dict:
    def query(name: str, description: str, schema: dict) -> dict:
        return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}

    return {
        "UserId": {
            "name": "user_id",
            "in": "path",
            "required": True,
            "description": "A member of the token's organization (404 for anyone else).",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        },
        "Cohort": query(
            "cohort", "Only members of this cohort of your organization.", {"type": "integer", "minimum": 1}
        ),
        "Page": query("page", "Page number.", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
        "PerPage": query(
            "per_page",
            "Items per page.",
            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
        ),
        "Track": query("track", "A certification track id (default: the bank's first track).", _STRING),
    }


def _responses() -> dict:
    def error(description: str) -> dict:
        return {"description": description, "content": {"application/json": {"schema": _ref("schemas", "Error")}}}

    return {
        "BadRequest": error("A query parameter is not valid; details name each one."),
        "Unauthorized": {
            **error("The bearer token is missing, malformed, unknown or revoked."),
            "headers": {"WWW-Authenticate": {"schema": _STRING, "description": 'Bearer realm="api"'}},
        },
        "NotFound": error("No such resource in the token's organization."),
        "RateLimited": error("Too many requests for this token; retry later."),
    }


def _operation(operation_id: str, summary: str, schema: str | dict, parameters: list[str], errors: list[str]) -> dict:
    """A GET operation answering ``schema`` (a component name, or an inline schema) or the listed errors."""
    body = _ref("schemas", schema) if isinstance(schema, str) else schema
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [_ref("parameters", name) for name in parameters],
            "responses": {
                "200": {
                    "description": summary,
                    "content": {"application/json": {"schema": body}},
                },
                **{code: _ref("responses", name) for code, name in _error_responses(errors).items()},
            },
        }
    }


def _error_responses(names: list[str]) -> dict[str, str]:
    codes = {"BadRequest": "400", "Unauthorized": "401", "NotFound": "404", "RateLimited": "429"}
    return {codes[name]: name for name in names}


def _paths() -> dict:
    authed = ["Unauthorized", "RateLimited"]
    learner = ["Unauthorized", "NotFound", "RateLimited"]
    openapi = _operation(
        "getOpenApi", "This OpenAPI document (no token needed).", {"type": "object"}, [], ["RateLimited"]
    )
    openapi["get"]["security"] = []  # public
    return {
        "/organization": _operation("getOrganization", "The token's organization.", "Organization", [], authed),
        "/learners": _operation(
            "listLearners",
            "The organization's members, by name, a page at a time.",
            "LearnerPage",
            ["Cohort", "Page", "PerPage"],
            ["BadRequest", *authed],
        ),
        "/learners/{user_id}": _operation(
            "getLearner", "One member's progress per domain.", "LearnerProgress", ["UserId"], learner
        ),
        "/learners/{user_id}/readiness": _operation(
            "getLearnerReadiness",
            "One member's certification readiness.",
            "Readiness",
            ["UserId", "Track"],
            ["BadRequest", *learner],
        ),
        "/learners/{user_id}/pathway": _operation(
            "getLearnerPathway",
            "One member's certification pathway: every requirement, attestations, recertification cycle.",
            "Pathway",
            ["UserId", "Track"],
            ["BadRequest", *learner],
        ),
        "/openapi.json": openapi,
    }


@cache
def _spec() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Peer Specialist Trainer API",
            "version": "1.0.0",
            "description": (
                "Read-only access to one organization's learners and their progress. Create a token under "
                "Organization → API tokens and send it as `Authorization: Bearer <token>`. A token only ever "
                'sees its own organization. Errors are JSON: `{"error": {"code", "message", "details"?}}`.'
            ),
        },
        "servers": [{"url": API_PREFIX}],
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An organization API token (pst_…)."}
            },
            "schemas": _schemas(),
            "parameters": _parameters(),
            "responses": _responses(),
        },
    }


def build_spec() -> dict:
    """The OpenAPI 3.1 document as a fresh dict (callers may change their copy)."""
    return deepcopy(_spec())
