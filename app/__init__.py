"""Application factory."""

from __future__ import annotations

from flask import Flask, abort, render_template, request
from werkzeug.routing import IntegerConverter

from app.config import build_config
from app.extensions import csrf, db, limiter, login_manager, migrate

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` URL parts that fit a database integer: a huge id is a 404, never an overflow 500."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, CLI, error pages."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(build_config(app.instance_path))
    app.config.update(overrides or {})
    app.url_map.converters["int"] = BoundedIntConverter
    _init_extensions(app)
    _register_blueprints(app)
    _register_error_pages(app)
    _register_security_headers(app)
    _register_input_guard(app)
    _register_template_globals(app)
    from app.cli import register_cli

    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    from app import models  # noqa: F401 - register the models on the metadata

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.session_protection = "strong"


def _register_blueprints(app: Flask) -> None:
    from app.blueprints import (
        account,
        admin,
        api,
        api_keys,
        auth,
        author,
        certificates,
        exams,
        org,
        pathway,
        practice,
        progress,
        records,
        sets,
        stats,
        transfer,
    )

    for module in (
        auth,
        practice,
        exams,
        progress,
        author,
        org,
        admin,
        certificates,
        account,
        api,
        api_keys,
        transfer,
        stats,
        sets,
        pathway,
        records,
    ):
        app.register_blueprint(module.bp)


def _register_error_pages(app: Flask) -> None:
    def render_error(error):
        code = getattr(error, "code", 500) or 500
        if request.path.startswith("/api/"):  # unknown API paths and methods answer JSON too
            from app.blueprints.api import http_error_response

            return http_error_response(error)
        return render_template("error.html", error=error, code=code), code

    for code in (400, 403, 404, 405, 429, 500):
        app.register_error_handler(code, render_error)


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _register_template_globals(app: Flask) -> None:
    from app.models.user import ROLE_LABELS
    from app.services.readiness import MIN_EVIDENCE, chance_text

    app.jinja_env.globals["role_labels"] = ROLE_LABELS
    app.jinja_env.filters["chance_text"] = chance_text
    app.jinja_env.globals["min_evidence"] = MIN_EVIDENCE


def _register_input_guard(app: Flask) -> None:
    """Refuse NUL characters in form input with a 400: databases reject them (PostgreSQL with a 500).

    The JSON API validates its own parameters and answers with its JSON error format.
    """

    @app.before_request
    def reject_nul_characters():
        if request.blueprint == "api":
            return
        values = [request.full_path, *request.args.values()]
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype != "application/json":
            values += request.form.values()
        if any("\x00" in value for value in values):
            abort(400, "The request contains a NUL character.")


_wsgi_app: Flask | None = None


def __getattr__(name: str) -> Flask:
    """``gunicorn app:app`` finds this package (it shadows app.py), so serve its WSGI app from here too."""
    global _wsgi_app
    if name != "app":
        raise AttributeError(f"module 'app' has no attribute {name!r}")
    if _wsgi_app is None:
        _wsgi_app = create_app()
    return _wsgi_app
