"""The learner's records toward a credential (training, experience, supervision, attestations) and evidence files.

Every record page loads the record with ``_own_record_or_404``: learners see only their own records here
(supervisors work from their verification queue). Evidence files are served by ``evidence`` to their owner
and to supervisors of an organization holding a record with the file, and to nobody else (404).
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from app.blueprints.access import add_form_error
from app.blueprints.pathway_forms import RecordForm, record_form
from app.extensions import db
from app.forms import PostForm
from app.models import EvidenceFile, Organization
from app.models.pathway import RECORD_KIND_LABELS, RECORD_KINDS
from app.services import ServiceError, banks, learner_pathway, pathway, records
from app.services.learner_pathway import RecordRejected, Upload
from app.services.records import MAX_EVIDENCE_BYTES

bp = Blueprint("records", __name__, url_prefix="/records")

STATUS_LABELS = {
    "pending": "Waiting for verification",
    "verified": "Verified",
    "returned": "Returned",
    "superseded": "Superseded",
}
ACTION_LABELS = {
    "created": "Recorded",
    "corrected": "Recorded as a correction",
    "verified": "Verified",
    "returned": "Returned",
    "superseded": "Superseded",
    "attendance": "Attendance recorded by a trainer",
}


@bp.app_template_filter("record_kind")
def _record_kind(kind: str) -> str:
    return RECORD_KIND_LABELS.get(kind, kind)


@bp.app_template_filter("record_status")
def _record_status(status: str) -> str:
    return STATUS_LABELS.get(status, status)


@bp.app_template_filter("record_action")
def _record_action(action: str) -> str:
    return ACTION_LABELS.get(action, action.replace("_", " ").capitalize())


def _catalog() -> dict:
    """Every track's domains and attestations of the default bank's latest release (empty without one)."""
    release = banks.latest_release(current_app.config["DEFAULT_BANK"])
    return learner_pathway.requirement_catalog(release.tracks if release else [])


def _evidence_root() -> Path:
    return Path(current_app.config["EVIDENCE_DIR"])


def _own_record_or_404(record_id: int):
    return learner_pathway.own_record(current_user, record_id) or abort(404)


def _form(kind: str, catalog: dict, **kwargs) -> RecordForm:
    organizations = learner_pathway.organizations_of(current_user)
    return record_form(kind, catalog, learner_pathway.training_domains(catalog), organizations, **kwargs)


def _upload(form: RecordForm) -> Upload | None:
    """The uploaded file, read up to one byte over the limit (the service says it is too large)."""
    storage = form.evidence.data
    if not storage or not getattr(storage, "filename", ""):
        return None
    return Upload(storage.read(MAX_EVIDENCE_BYTES + 1), storage.filename)


def _render_form(form: RecordForm, catalog: dict, corrects=None, status: int = 200):
    private = learner_pathway.private_attestations(catalog)
    return (
        render_template("records/form.html", form=form, corrects=corrects, private_ids=private, kind=form.kind),
        status,
    )


def _show_problem(form: RecordForm, problem: ServiceError) -> None:
    """A service problem on its field; domain-hour problems beside the domain fields."""
    if problem.field == "domain_hours":
        form.domain_errors.append(str(problem))
    else:
        add_form_error(form, problem)


def _submit(form: RecordForm, catalog: dict, corrects=None):
    """Validate the form, make the one service call, commit and redirect; or show the form with its problems."""
    if form.validate_on_submit():
        organization_id = form.chosen_organization_id()
        organization = db.session.get(Organization, organization_id) if organization_id else None
        try:
            record = learner_pathway.submit_record(
                current_user, form.record_input(), catalog, organization, _upload(form), _evidence_root(), corrects
            )
        except RecordRejected as exc:
            for problem in exc.problems:
                _show_problem(form, problem)
        except ServiceError as exc:
            _show_problem(form, exc)
        else:
            db.session.commit()
            flash(f"{RECORD_KIND_LABELS[record.kind]} recorded: it is waiting for verification.", "success")
            return redirect(url_for(".show", record_id=record.id))
    return _render_form(form, catalog, corrects)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A request over MAX_CONTENT_LENGTH: the form again with a message on the file field, not a bare 413."""
    kind = (request.view_args or {}).get("kind")
    if not current_user.is_authenticated or kind not in RECORD_KINDS:
        return render_template("error.html", error=error, code=413), 413
    catalog = _catalog()
    form = _form(kind, catalog, formdata=None)
    form.evidence.errors = [f"Files can be at most {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB."]
    return _render_form(form, catalog, status=413)


@bp.route("/")
@login_required
def index():
    own = pathway.records_of(current_user)
    labels = learner_pathway.attestation_labels(_catalog())
    return render_template("records/index.html", records=own, kinds=RECORD_KIND_LABELS, attestation_labels=labels)


@bp.route("/new/<kind>", methods=["GET", "POST"])
@login_required
def new(kind: str):
    if kind not in RECORD_KINDS:
        abort(404)
    catalog = _catalog()
    return _submit(_form(kind, catalog), catalog)


@bp.route("/<int:record_id>")
@login_required
def show(record_id: int):
    record = _own_record_or_404(record_id)
    catalog = _catalog()
    return render_template(
        "records/show.html",
        action_labels=ACTION_LABELS,
        attestation_labels=learner_pathway.attestation_labels(catalog),
        record=record,
        corrections=learner_pathway.corrections_of(record),
        can_correct=learner_pathway.can_correct(record),
        can_withdraw=learner_pathway.can_withdraw(record),
        private_ids=learner_pathway.private_attestations(catalog),
        form=PostForm(),
    )


@bp.route("/<int:record_id>/correct", methods=["GET", "POST"])
@login_required
def correct(record_id: int):
    record = _own_record_or_404(record_id)
    if not learner_pathway.can_correct(record):
        flash("Only verified or returned records can be corrected, once at a time.", "info")
        return redirect(url_for(".show", record_id=record.id))
    catalog = _catalog()
    form = _form(record.kind, catalog)
    if request.method == "GET":
        form.process(data=form.prefill_data(learner_pathway.prefill(record)))
    return _submit(form, catalog, corrects=record)


@bp.route("/<int:record_id>/withdraw", methods=["POST"])
@login_required
def withdraw(record_id: int):
    record = _own_record_or_404(record_id)
    form = PostForm()
    if form.validate_on_submit():
        try:
            records.withdraw(record, current_user)
        except ServiceError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".show", record_id=record.id))
        db.session.commit()
        flash("The record was withdrawn.", "success")
        return redirect(url_for(".index"))
    flash("The form expired. Please try again.", "error")
    return redirect(url_for(".show", record_id=record.id))


@bp.route("/evidence/<int:evidence_id>")
@login_required
def evidence(evidence_id: int):
    row = db.session.get(EvidenceFile, evidence_id)
    if row is None or not records.can_see_evidence(current_user, row):
        abort(404)
    path = records.evidence_path(row, _evidence_root())
    if not path.is_file():
        abort(404)
    response = send_file(
        path, mimetype=row.content_type, as_attachment=True, download_name=row.original_name, max_age=0, etag=False
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
