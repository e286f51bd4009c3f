"""Organization admins create, list and revoke their organization's API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from app.blueprints.access import add_form_error, role_required
from app.extensions import db
from app.models import Organization
from app.services import ServiceError, api_tokens
from app.services.api_tokens import MAX_ID, NAME_MAX_LENGTH

bp = Blueprint("api_keys", __name__, url_prefix=f"/org/<int(max={MAX_ID}):org_id>/api-tokens")


class CreateTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired("Give the token a name."), Length(max=NAME_MAX_LENGTH)],
        description="Say which system will use it, for example “Reporting dashboard”.",
    )


class RevokeTokenForm(FlaskForm):
    token_id = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9]{1,10}$")])


def _organization_or_404(org_id: int) -> Organization:
    """The organization, if the current user administers it (404 otherwise: no existence leak)."""
    organization = db.session.get(Organization, org_id)
    if organization is None:
        abort(404)
    if not current_user.is_admin and organization not in current_user.organizations_where("org_admin"):
        abort(404)
    return organization


def _index_page(organization: Organization, form: CreateTokenForm):
    return render_template(
        "api_keys/index.html",
        organization=organization,
        form=form,
        revoke_form=RevokeTokenForm(),
        tokens=api_tokens.list_tokens(organization),
    )


@bp.get("")
@role_required("org_admin")
def index(org_id: int):
    return _index_page(_organization_or_404(org_id), CreateTokenForm())


@bp.post("")
@role_required("org_admin")
def create(org_id: int):
    organization = _organization_or_404(org_id)
    form = CreateTokenForm()
    if form.validate_on_submit():
        try:
            created = api_tokens.create_token(organization, form.name.data, created_by=current_user)
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            # The secret is shown on this response only (never stored, never put in the session cookie).
            response = make_response(
                render_template("api_keys/created.html", organization=organization, created=created)
            )
            response.headers["Cache-Control"] = "no-store"
            return response
    return _index_page(organization, form)


@bp.post("/revoke")
@role_required("org_admin")
def revoke(org_id: int):
    organization = _organization_or_404(org_id)
    form = RevokeTokenForm()
    token = api_tokens.get_token(organization, int(form.token_id.data)) if form.validate_on_submit() else None
    if token is None:
        flash("That token could not be found. Reload the page and try again.", "error")
    elif api_tokens.revoke_token(token):
        db.session.commit()
        flash(f"Token “{token.name}” is revoked: systems using it can no longer reach the API.", "success")
    else:
        flash(f"Token “{token.name}” was already revoked.", "info")
    return redirect(url_for(".index", org_id=organization.id))
