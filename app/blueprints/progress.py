"""The learner's dashboard: progress, readiness for certification, review queue."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from app.charts import line_chart
from app.extensions import db
from app.forms import PostForm
from app.models.base import utcnow
from app.services import exams, learner_pathway, progress, readiness, scheduler
from app.services.banks import get_track, latest_release

bp = Blueprint("progress", __name__)


@bp.route("/")
def dashboard():
    if not current_user.is_authenticated:
        return render_template("progress/welcome.html")
    release = latest_release(current_app.config["DEFAULT_BANK"])
    if release is None:
        return render_template("progress/dashboard.html", release=None)
    if exams.expire_due(user=current_user):
        db.session.commit()
    track = get_track(release)
    status = readiness.evaluate(current_user, release, track) if track else None
    history = readiness.history(current_user, track["id"]) if track else []
    target = track["readiness"].get("target_probability") if track else None
    return render_template(
        "progress/dashboard.html",
        release=release,
        track=track,
        readiness=status,
        history=history,
        chart=line_chart([s.probability for s in history], target) if history else None,
        target=target,
        domains=progress.domain_progress(current_user, release),
        attempts=progress.recent_attempts(current_user),
        due=scheduler.due_count(current_user.id, release.bank_id, utcnow()),
        reminders=learner_pathway.reminders(current_user, release.tracks),
        form=PostForm(),
    )
