"""The learner's dashboard."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from app.services import progress
from app.services.banks import latest_release

bp = Blueprint("progress", __name__)


@bp.route("/")
def dashboard():
    if not current_user.is_authenticated:
        return render_template("progress/welcome.html")
    release = latest_release(current_app.config["DEFAULT_BANK"])
    domains = progress.domain_progress(current_user, release) if release else []
    return render_template(
        "progress/dashboard.html",
        release=release,
        domains=domains,
        attempts=progress.recent_attempts(current_user),
    )
