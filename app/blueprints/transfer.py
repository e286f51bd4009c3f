"""Bank import and export on the web: download a release; upload, preview, then confirm an import."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import FieldList, Form, FormField, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.blueprints.access import add_form_error, bank_or_404, role_required
from app.extensions import db
from app.services import ServiceError, transfer

bp = Blueprint("transfer", __name__, url_prefix="/author/transfer")

FORM_OVERHEAD_BYTES = 1_000_000  # room for the other form fields around the file


@bp.record_once
def _configure_limits(state) -> None:
    """Defaults: 5 MB per bank file; requests a little larger are refused before they are read."""
    config = state.app.config
    config.setdefault("BANK_UPLOAD_MAX_BYTES", transfer.DEFAULT_MAX_UPLOAD_BYTES)
    if config.get("MAX_CONTENT_LENGTH") is None:
        config["MAX_CONTENT_LENGTH"] = config["BANK_UPLOAD_MAX_BYTES"] + FORM_OVERHEAD_BYTES


class UploadForm(FlaskForm):
    file = FileField(
        "Bank file",
        validators=[FileRequired("Choose a file to upload.")],
        description="A .zip of a bank folder (bank.yaml, scenarios/, tracks/), a GIFT .txt or a Moodle XML file.",
    )
    format = SelectField(
        "Format",
        choices=[],
        default=transfer.AUTOMATIC,
        validate_choice=False,  # the service checks it, and accepts the short names older links used
        description="Automatic recognises the format from the file's content, then from its name.",
    )
    bank = SelectField(
        "Merge into bank",
        choices=[],
        description="Question files only (GIFT, Moodle XML, Aiken...): new question ids are added, existing ids "
        "replaced. For a YAML zip, its bank.yaml names the bank.",
    )
    version = StringField(
        "New version",
        validators=[Optional(), Length(max=32)],
        description="Question files only. Leave empty for the next minor version (1.2.0 after 1.1.0).",
    )

    @classmethod
    def for_user(cls, user, **kwargs) -> UploadForm:
        form = cls(**kwargs)
        automatic = SelectChoice(transfer.AUTOMATIC, "Automatic (recognised from the file)")
        form.format.choices = [automatic, *(SelectChoice(k, v) for k, v in transfer.import_formats().items())]
        targets = transfer.importable_banks(user)
        choices = [SelectChoice(b.slug, f"{b.title} (latest {b.releases[-1].version})") for b in targets]
        form.bank.choices = [SelectChoice("", "None (YAML zip)"), *choices]
        return form


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


class CategoryChoiceForm(Form):
    """One unmapped category and the domain chosen for it (a sub-form: the outer form carries the CSRF token)."""

    category = HiddenField()
    domain = SelectField("Domain", choices=[], validate_choice=False)  # the service checks the domain ids


class MappingForm(FlaskForm):
    """A select per category of the upload that names no domain of the bank."""

    mappings = FieldList(FormField(CategoryChoiceForm))

    @classmethod
    def for_plan(cls, plan, **kwargs) -> MappingForm:
        """The form for a preview: one entry per unmapped category, labelled with its path, count and line."""
        if "formdata" not in kwargs:
            kwargs["data"] = {"mappings": [{"category": u.category, "domain": ""} for u in plan.unmapped]}
        form = cls(**kwargs)
        choices = [SelectChoice("", "Choose a domain…")]
        choices += [SelectChoice(ident, f"{name} ({ident})") for ident, name in plan.domains.items()]
        choices.append(SelectChoice(transfer.SKIP, "Skip these questions"))
        for entry, unmapped in zip(form.mappings, plan.unmapped, strict=False):
            entry.domain.choices = choices
            entry.domain.label.text = _category_label(unmapped)
        return form

    def choices(self) -> dict[str, str]:
        """{category path: chosen domain id or SKIP} for every category given a choice."""
        return {e.category.data or "": e.domain.data for e in self.mappings if e.domain.data}


def _category_label(unmapped) -> str:
    name = f"Category “{unmapped.category}”" if unmapped.category else "Questions in no category"
    count = f"{unmapped.count} question{'s' if unmapped.count != 1 else ''}"
    return f"{name} ({count}, first at line {unmapped.line})"


class ExportForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: downloading changes nothing

    version = SelectField("Release", choices=[])
    format = SelectField("Format", choices=[])

    @classmethod
    def for_bank(cls, bank) -> ExportForm:
        form = cls(formdata=None)
        form.version.choices = [SelectChoice(r.version) for r in reversed(bank.releases)]
        form.format.choices = [SelectChoice(k, v) for k, v in transfer.export_formats().items()]
        return form


@bp.app_template_global()
def can_transfer_bank(bank) -> bool:
    """For templates: may the current user export and import this bank?"""
    return current_user.is_authenticated and transfer.can_manage_bank(current_user, bank)


def _upload_folder() -> Path:
    return Path(current_app.config.get("BANK_UPLOAD_DIR") or Path(current_app.instance_path) / "uploads")


def _pending_upload_or_404(token: str):
    """The current user's upload (404 for another user's); None after flashing why, if it expired."""
    try:
        upload = transfer.find_upload(_upload_folder(), token, current_user)
    except ServiceError as exc:
        flash(str(exc), "error")
        return None
    return upload or abort(404)


# Export ------------------------------------------------------------------------------------------------


@bp.route("/banks/<slug>")
@role_required("trainer")
def export(slug: str):
    bank = bank_or_404(slug)
    form = ExportForm.for_bank(bank)
    return render_template("transfer/export.html", bank=bank, form=form, formats=transfer.export_formats())


@bp.route("/banks/<slug>/download")
@role_required("trainer")
def download(slug: str):
    bank = bank_or_404(slug)
    fmt = transfer.export_format(request.args.get("format") or "yaml-zip")
    release = transfer.find_release(bank, request.args.get("version"))
    if release is None or fmt is None:
        abort(404)
    exported = transfer.export_release(release, fmt.name)
    return send_file(
        io.BytesIO(exported.data),
        mimetype=exported.mimetype,
        as_attachment=True,
        download_name=exported.filename,
    )


# Import ------------------------------------------------------------------------------------------------


def _upload_limit() -> int:
    return current_app.config["BANK_UPLOAD_MAX_BYTES"]


def _render_upload(form: UploadForm, status: int = 200):
    form.file.description = f"{form.file.description} At most {transfer.megabytes(_upload_limit())}."
    return render_template("transfer/upload.html", form=form), status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A request over MAX_CONTENT_LENGTH: the upload form with a message, not a bare 413 page."""
    if not (current_user.is_authenticated and current_user.has_role("trainer")):
        return render_template("error.html", error=error, code=413), 413
    form = UploadForm.for_user(current_user, formdata=None)
    form.file.errors = [transfer.too_large_message(_upload_limit())]
    return _render_upload(form, 413)


@bp.route("/", methods=["GET", "POST"])
@role_required("trainer")
def upload():
    form = UploadForm.for_user(current_user)
    if form.validate_on_submit():
        limit = _upload_limit()
        try:
            token = transfer.save_upload(
                _upload_folder(),
                current_user,
                data=form.file.data.stream.read(limit + 1),
                filename=form.file.data.filename or "",
                fmt=form.format.data,
                bank_slug=form.bank.data or "",
                version=form.version.data or "",
                max_bytes=limit,
            )
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            return redirect(url_for(".preview", token=token))
    return _render_upload(form)


def _render_preview(plan, form: ConfirmForm, mapping_form: MappingForm | None = None):
    label = transfer.format_label(plan.upload.fmt)
    mapping_form = mapping_form or MappingForm.for_plan(plan)
    return render_template("transfer/preview.html", plan=plan, form=form, mapping_form=mapping_form, format_label=label)


@bp.route("/preview/<token>")
@role_required("trainer")
def preview(token: str):
    upload = _pending_upload_or_404(token)
    if upload is None:
        return redirect(url_for(".upload"))
    plan = transfer.plan_import(upload, current_user)
    return _render_preview(plan, ConfirmForm(token=token))


@bp.route("/preview/<token>/mapping", methods=["POST"])
@role_required("trainer")
def mapping(token: str):
    """Remember where the upload's unmapped categories go in its bank, then show the preview again (PRG)."""
    upload = _pending_upload_or_404(token)
    if upload is None:
        return redirect(url_for(".upload"))
    form = MappingForm()
    if not form.validate_on_submit():
        flash("The category mapping was not accepted (the form expired); choose the domains again.", "error")
        return redirect(url_for(".preview", token=token))
    try:
        count = transfer.remember_mapping(transfer.mapping_bank(upload, current_user), current_user, form.choices())
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".preview", token=token))
    db.session.commit()
    if count:
        flash(
            f"{count} categor{'ies' if count != 1 else 'y'} mapped; the bank remembers them for later uploads.",
            "success",
        )
    else:
        flash("Choose a domain, or “Skip these questions”, for at least one category.", "error")
    return redirect(url_for(".preview", token=token))


@bp.route("/confirm", methods=["POST"])
@role_required("trainer")
def confirm():
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("The confirmation was not accepted; upload the file again.", "error")
        return redirect(url_for(".upload"))
    upload = _pending_upload_or_404(form.token.data)
    if upload is None:
        return redirect(url_for(".upload"))
    try:
        report = transfer.confirm_import(upload, current_user)
    except ServiceError as exc:
        db.session.rollback()
        plan = transfer.plan_import(upload, current_user)
        form.form_errors.append(str(exc))
        return _render_preview(plan, form)
    db.session.commit()
    transfer.discard_upload(_upload_folder(), upload.token)
    flash(report.summary(), "success")
    return redirect(url_for("author.bank", slug=report.bank_slug))
