"""Timed mock exams drawn to the track blueprint: no feedback until submit, then a full review."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.forms import PostForm, answer_form
from app.services import ServiceError, exams, practice
from app.services.banks import get_track, latest_release

bp = Blueprint("exams", __name__, url_prefix="/exams")

EXPIRED_MESSAGE = "Time is up. Your exam was submitted with the answers you had saved."
NAVIGATION = {"next": 1, "prev": -1}


def _release_and_track():
    release = latest_release(current_app.config["DEFAULT_BANK"])
    track = get_track(release) if release else None
    if track is None:
        abort(404, "No certification track has been imported yet.")
    return release, track


def _exam_or_404(attempt_id: int):
    attempt = practice.get_attempt(attempt_id, current_user)
    if attempt is None or attempt.mode != "exam":
        abort(404)
    return attempt


def _expire_if_due(attempt) -> bool:
    """Submit an exam whose time is up; True if that happened now."""
    if not attempt.is_submitted and exams.is_expired(attempt):
        exams.submit(attempt)
        db.session.commit()
        flash(EXPIRED_MESSAGE, "info")
        return True
    return False


@bp.route("/")
@login_required
def index():
    release, track = _release_and_track()
    if exams.expire_due(user=current_user):
        db.session.commit()
    return render_template(
        "exams/index.html",
        track=track,
        forms=exams.exam_forms(track),
        release=release,
        current=exams.open_exam(current_user, track["id"]),
        past=exams.past_exams(current_user, track["id"]),
        form=PostForm(),
    )


@bp.route("/start", methods=["POST"])
@bp.route("/start/<form_id>", methods=["POST"])
@login_required
def start(form_id: str = exams.DEFAULT_FORM):
    release, track = _release_and_track()
    if not PostForm().validate_on_submit():
        abort(400)
    if exams.exam_form(track, form_id) is None:
        abort(404)
    try:
        attempt = exams.start_exam(current_user, release, track, form_id=form_id)
    except ServiceError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    db.session.commit()
    return redirect(url_for(".resume", attempt_id=attempt.id))


@bp.route("/<int:attempt_id>")
@login_required
def resume(attempt_id: int):
    attempt = _exam_or_404(attempt_id)
    if _expire_if_due(attempt) or attempt.is_submitted:
        return redirect(url_for(".review", attempt_id=attempt.id))
    pending = practice.next_unanswered(attempt)
    return redirect(url_for(".question", attempt_id=attempt.id, position=pending.position if pending else 1))


@bp.route("/<int:attempt_id>/q/<int:position>", methods=["GET", "POST"])
@login_required
def question(attempt_id: int, position: int):
    attempt = _exam_or_404(attempt_id)
    if _expire_if_due(attempt) or attempt.is_submitted:
        return redirect(url_for(".review", attempt_id=attempt.id))
    response = practice.get_response(attempt, position) or abort(404)
    form = answer_form(len(response.option_order), required=False)
    if form.validate_on_submit():
        if form.choice.data is not None:
            outcome = exams.save_answer(attempt, position, int(form.choice.data))
            db.session.commit()
            if outcome != "saved":
                flash(EXPIRED_MESSAGE if outcome == "expired" else "This exam was already submitted.", "info")
                return redirect(url_for(".review", attempt_id=attempt.id))
        return redirect(_after_save(attempt, position, form.go.data))
    if request.method == "GET" and response.is_answered:
        form.choice.data = str(response.option_order.index(response.chosen_option))
    return render_template(
        "exams/question.html",
        attempt=attempt,
        response=response,
        form=form,
        seconds_left=exams.seconds_left(attempt),
    )


def _after_save(attempt, position: int, go: str | None) -> str:
    if go == "submit":
        return url_for(".confirm_submit", attempt_id=attempt.id)
    target = position + NAVIGATION.get(go or "next", 1)
    if 1 <= target <= len(attempt.responses):
        return url_for(".question", attempt_id=attempt.id, position=target)
    return url_for(".confirm_submit", attempt_id=attempt.id)


@bp.route("/<int:attempt_id>/submit", methods=["GET", "POST"])
@login_required
def confirm_submit(attempt_id: int):
    attempt = _exam_or_404(attempt_id)
    if _expire_if_due(attempt) or attempt.is_submitted:
        return redirect(url_for(".review", attempt_id=attempt.id))
    form = PostForm()
    if form.validate_on_submit():
        exams.submit(attempt)
        db.session.commit()
        return redirect(url_for(".review", attempt_id=attempt.id))
    unanswered = [r for r in attempt.responses if not r.is_answered]
    return render_template(
        "exams/submit.html",
        attempt=attempt,
        unanswered=unanswered,
        form=form,
        seconds_left=exams.seconds_left(attempt),
    )


@bp.route("/<int:attempt_id>/review")
@login_required
def review(attempt_id: int):
    attempt = _exam_or_404(attempt_id)
    _expire_if_due(attempt)
    if not attempt.is_submitted:
        flash("The review opens when you submit the exam.", "info")
        return redirect(url_for(".resume", attempt_id=attempt.id))
    track = get_track(attempt.release, attempt.track) if attempt.track else None
    return render_template(
        "exams/review.html",
        attempt=attempt,
        track=track,
        cut_score=exams.exam_terms(attempt).cut_score,
        domains=exams.domain_scores(attempt),
    )
