"""Site administration."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.blueprints.access import role_required
from app.services import accounts, calibration

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@role_required("admin")
def index():
    return render_template("admin/index.html", users=accounts.list_users())


@bp.route("/calibration")
@role_required("admin")
def calibration_page():
    return render_template(
        "admin/calibration.html",
        live=calibration.live_calibration(),
        calibrations=calibration.latest_per_bank(),
        min_evidence=calibration.MIN_STATED_EVIDENCE,
        caution_pairs=calibration.LIVE_CAUTION_PAIRS,
        min_item_responses=calibration.MIN_RESPONSES_FOR_DATA,
    )
