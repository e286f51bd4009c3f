"""Organization admins: their learners' progress."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from app.blueprints.access import role_required
from app.extensions import db
from app.models import Organization
from app.services import progress

bp = Blueprint("org", __name__, url_prefix="/org")


def _organization_or_404(org_id: int) -> Organization:
    """The organization, if the current user administers it (404 otherwise: no existence leak)."""
    organization = db.session.get(Organization, org_id)
    if organization is None:
        abort(404)
    if not current_user.is_admin and organization not in current_user.organizations_where("org_admin"):
        abort(404)
    return organization


@bp.route("/")
@role_required("org_admin")
def index():
    return render_template("org/index.html", organizations=current_user.organizations_where("org_admin"))


@bp.route("/<int:org_id>")
@role_required("org_admin")
def learners(org_id: int):
    organization = _organization_or_404(org_id)
    return render_template(
        "org/learners.html", organization=organization, learners=progress.organization_learners(organization)
    )
