"""The signed-in user's own account: what is stored, download it as JSON, delete the account."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.blueprints.access import add_form_error
from app.extensions import db, limiter
from app.models.base import utcnow
from app.services import ServiceError, privacy

bp = Blueprint("account", __name__, url_prefix="/account")


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        "Your current password", validators=[DataRequired("Enter your password."), Length(max=200)]
    )
    confirm = StringField(
        f"Type {privacy.CONFIRMATION_WORD} to confirm",
        validators=[DataRequired(f"Type {privacy.CONFIRMATION_WORD} to confirm."), Length(max=20)],
        description="This cannot be undone.",
    )


def _render_index(form: DeleteAccountForm):
    return render_template(
        "account/index.html",
        form=form,
        blockers=privacy.deletion_blockers(current_user),
        word=privacy.CONFIRMATION_WORD,
    )


@bp.route("/")
@login_required
def index():
    return _render_index(DeleteAccountForm(formdata=None))


@bp.route("/export")
@login_required
def export():
    body = json.dumps(privacy.export_user_data(current_user), indent=2, ensure_ascii=False)
    filename = f"peer-trainer-my-data-{utcnow():%Y-%m-%d}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


@bp.route("/delete", methods=["POST"])
@login_required
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    exempt_when=lambda: not current_app.config.get("RATELIMIT_ENABLED", True),
)
def delete():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            privacy.delete_account(current_user, form.password.data, form.confirm.data)
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            session.clear()
            logout_user()  # after clear(): it marks a remember-me cookie for removal in the fresh session
            flash("Your account and everything stored about you were deleted.", "success")
            return redirect(url_for("auth.login"))
    return _render_index(form)
