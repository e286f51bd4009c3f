"""Register, log in, log out."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import StringField
from wtforms.validators import Length

from app.blueprints.access import add_form_error
from app.blueprints.org import join_code_limit
from app.extensions import db, limiter, login_manager
from app.forms import LoginForm, PostForm, RegisterForm
from app.services import ServiceError, accounts, orgs

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(session_id: str):
    return accounts.load_session_user(session_id)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect).

    Whitespace and control characters are refused: URL parsers drop tabs and newlines, so ``/<TAB>/evil``
    would leave as ``//evil``, and a newline cannot go into the Location header at all.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ch.isspace() or not ch.isprintable() for ch in target)
    ):
        return target
    return url_for("progress.dashboard")


def _login(user) -> None:
    session.clear()  # a fresh session on login defeats session fixation
    accounts.start_session(user)
    db.session.commit()


class RegisterWithCodeForm(RegisterForm):
    join_code = StringField(
        "Join code (optional)",
        validators=[Length(max=40)],
        description="If your organization gave you a join code, enter it to join them now.",
    )


def _join_if_code(user, code: str | None) -> str:
    """Join the organization of a join code typed at registration; the welcome message to show."""
    if not (code or "").strip():
        return "Welcome! Your account is ready."
    membership = orgs.join_with_code(user, code)
    return f"Welcome! Your account is ready and you joined {membership.organization.name}."


@bp.route("/register", methods=["GET", "POST"])
@join_code_limit(skip=lambda: not request.form.get("join_code", "").strip())
def register():
    if current_user.is_authenticated:
        return redirect(url_for("progress.dashboard"))
    form = RegisterWithCodeForm()
    if form.validate_on_submit():
        try:
            user = accounts.register_user(form.email.data, form.display_name.data, form.password.data)
            welcome = _join_if_code(user, form.join_code.data)
        except ServiceError as exc:
            db.session.rollback()  # a wrong join code creates no account
            add_form_error(form, exc)
        else:
            next_url = _safe_next(request.args.get("next"))  # e.g. back to the invite link being accepted
            _login(user)
            login_user(user)
            flash(welcome, "success")
            return redirect(next_url)
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    exempt_when=lambda: not current_app.config.get("RATELIMIT_ENABLED", True),  # per app, not per process
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("progress.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("Email or password is not right.")
        else:
            next_url = _safe_next(request.args.get("next"))
            _login(user)
            login_user(user, remember=form.remember.data)
            return redirect(next_url)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if PostForm().validate_on_submit():
        accounts.end_session(current_user)
        db.session.commit()
        logout_user()
        session.clear()
        flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
