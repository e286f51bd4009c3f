"""Site administration."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.blueprints.access import role_required
from app.services import accounts

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@role_required("admin")
def index():
    return render_template("admin/index.html", users=accounts.list_users())
