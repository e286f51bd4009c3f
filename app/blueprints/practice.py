"""Practice mode: choose a domain or topic, answer one question at a time, see every rationale."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.blueprints.access import add_form_error
from app.extensions import db
from app.forms import PostForm, PracticeStartForm, answer_form
from app.services import ServiceError, practice
from app.services.banks import latest_release

bp = Blueprint("practice", __name__, url_prefix="/practice")


def _release_or_404():
    release = latest_release(current_app.config["DEFAULT_BANK"])
    if release is None:
        abort(404, "No question bank has been imported yet.")
    return release


def _attempt_or_404(attempt_id: int):
    attempt = practice.get_attempt(attempt_id, current_user)
    if attempt is None or attempt.mode not in ("practice", "review"):
        abort(404)
    return attempt


@bp.route("/", methods=["GET", "POST"])
@login_required
def start():
    release = _release_or_404()
    form = PracticeStartForm.for_release(release.domains, release.tags)
    if form.validate_on_submit():
        try:
            attempt = practice.start_practice(
                current_user,
                release,
                domain=form.domain.data or None,
                tag=form.tag.data or None,
                count=int(form.count.data),
                adaptive=form.order.data == "adaptive",
            )
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            return redirect(url_for(".question", attempt_id=attempt.id, position=1))
    return render_template("practice/start.html", form=form, release=release)


@bp.route("/review", methods=["POST"])
@login_required
def start_review():
    release = _release_or_404()
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        attempt = practice.start_review(current_user, release)
    except ServiceError as exc:
        flash(str(exc), "info")
        return redirect(url_for("progress.dashboard"))
    db.session.commit()
    return redirect(url_for(".question", attempt_id=attempt.id, position=1))


@bp.route("/<int:attempt_id>")
@login_required
def resume(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    pending = practice.next_unanswered(attempt)
    if attempt.is_submitted or pending is None:
        return redirect(url_for(".summary", attempt_id=attempt.id))
    return redirect(url_for(".question", attempt_id=attempt.id, position=pending.position))


@bp.route("/<int:attempt_id>/q/<int:position>", methods=["GET", "POST"])
@login_required
def question(attempt_id: int, position: int):
    attempt = _attempt_or_404(attempt_id)
    response = practice.get_response(attempt, position) or abort(404)
    form = answer_form(len(response.option_order))
    if form.validate_on_submit():
        try:
            result = practice.answer(attempt, position, int(form.choice.data))
        except ServiceError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            if not result.counted:
                flash("You had already answered this question; your first answer is the one that counts.", "info")
        return redirect(url_for(".question", attempt_id=attempt.id, position=position))
    return render_template(
        "practice/question.html",
        attempt=attempt,
        response=response,
        form=form,
        finish_form=PostForm(),
        next_response=practice.next_unanswered(attempt),
    )


@bp.route("/<int:attempt_id>/finish", methods=["POST"])
@login_required
def finish(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    if PostForm().validate_on_submit():
        practice.finish(attempt)
        db.session.commit()
    return redirect(url_for(".summary", attempt_id=attempt.id))


@bp.route("/<int:attempt_id>/summary")
@login_required
def summary(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    return render_template(
        "practice/summary.html",
        attempt=attempt,
        summary=practice.summarise(attempt),
        finish_form=PostForm(),
    )
