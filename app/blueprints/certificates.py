"""Certificates: learners claim one when ready; anyone verifies a code; site admins list and revoke."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.blueprints.access import add_form_error, role_required
from app.extensions import db, limiter
from app.forms import PostForm
from app.services import ServiceError, banks, certificates, readiness
from app.services.certificates import MAX_REASON_LENGTH, format_code

bp = Blueprint("certificates", __name__)


class RevokeForm(FlaskForm):
    reason = StringField(
        "Reason for revoking",
        validators=[DataRequired("Give a reason for revoking the certificate."), Length(max=MAX_REASON_LENGTH)],
        description="Shown to anyone who verifies this certificate.",
    )


class VerifyForm(FlaskForm):
    code = StringField(
        "Certificate code",
        validators=[DataRequired("Enter the code printed on the certificate."), Length(max=40)],
        description="12 letters and digits, for example ABCD-EFGH-JKLM. Case, dashes and spaces do not matter.",
    )


@bp.app_template_filter("certificate_code")
def _certificate_code(code: str) -> str:
    return format_code(code)


@bp.app_template_filter("certificate_kind")
def _certificate_kind(kind: str) -> str:
    return certificates.kind_label(kind)


def _readiness_status():
    """(track, readiness) for the default bank's first track; either may be None."""
    release = banks.latest_release(current_app.config["DEFAULT_BANK"])
    track = banks.get_track(release) if release else None
    if track is None:
        return None, None
    return track, readiness.evaluate(current_user, release, track)


def _own_certificate_or_404(code: str):
    """The certificate, if the current user holds it or is a site admin (404 otherwise: no existence leak)."""
    certificate = certificates.get_by_code(code)
    if certificate is None or (certificate.user_id != current_user.id and not current_user.is_admin):
        abort(404)
    return certificate


def _verify_url(certificate) -> str:
    return url_for("certificates.verify", code=format_code(certificate.code), _external=True)


def _render_index(form: PostForm, status: int = 200):
    track, status_now = _readiness_status()
    held = certificates.certificates_for(current_user)
    holds_track = track is not None and any(c.is_valid and c.track == track["id"] for c in held)
    return (
        render_template(
            "certificates/index.html",
            track=track,
            readiness=status_now,
            certificates=held,
            holds_track=holds_track,
            form=form,
        ),
        status,
    )


# Learners ----------------------------------------------------------------------------------------------


@bp.route("/certificates")
@login_required
def index():
    return _render_index(PostForm())


@bp.route("/certificates/claim", methods=["POST"])
@login_required
def claim():
    form = PostForm()
    if form.validate_on_submit():
        track, status_now = _readiness_status()
        if status_now is None:
            form.form_errors.append("There is no certification track to claim a certificate for yet.")
            return _render_index(form)
        try:
            certificate = certificates.issue_readiness_certificate(current_user, status_now)
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            flash(f"Your certificate of readiness for {track['title']} is ready.", "success")
            return redirect(url_for(".show", code=format_code(certificate.code)))
    return _render_index(form)


@bp.route("/certificates/<code>")
@login_required
def show(code: str):
    certificate = _own_certificate_or_404(code)
    return render_template("certificates/show.html", certificate=certificate, verify_url=_verify_url(certificate))


@bp.route("/certificates/<code>.pdf")
@login_required
def pdf(code: str):
    certificate = _own_certificate_or_404(code)
    body = certificates.render_pdf(certificate, _verify_url(certificate))
    filename = f"certificate-{format_code(certificate.code)}.pdf"
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


# Public verification -----------------------------------------------------------------------------------


def _verify_limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


@bp.route("/verify")
@limiter.limit(_verify_limit)
def verify_form():
    form = VerifyForm(request.args, meta={"csrf": False})
    if "code" in request.args and form.validate():
        code = certificates.normalize_code(form.code.data)
        if code is not None:
            return redirect(url_for(".verify", code=format_code(code)))
        form.code.errors.append("That is not a certificate code: codes have 12 letters and digits.")
    return render_template("certificates/verify_form.html", form=form)


@bp.route("/verify/<code>")
@limiter.limit(_verify_limit)
def verify(code: str):
    certificate = certificates.get_by_code(code)
    form = VerifyForm(formdata=None, meta={"csrf": False})
    status = 200 if certificate is not None else 404
    return render_template("certificates/verify.html", certificate=certificate, code=code, form=form), status


# Site admins -------------------------------------------------------------------------------------------


def _render_admin(bound: dict[int, RevokeForm] | None = None):
    rows = certificates.list_certificates()
    forms = {c.id: RevokeForm(formdata=None) for c in rows if c.is_valid}
    forms.update(bound or {})
    return render_template("certificates/admin.html", certificates=rows, forms=forms)


@bp.route("/admin/certificates")
@role_required("admin")
def admin_list():
    return _render_admin()


@bp.route("/admin/certificates/<int:certificate_id>/revoke", methods=["POST"])
@role_required("admin")
def revoke(certificate_id: int):
    certificate = certificates.get_certificate(certificate_id) or abort(404)
    if not certificate.is_valid:
        flash(f"Certificate {format_code(certificate.code)} was already revoked; nothing changed.", "info")
        return redirect(url_for(".admin_list"))
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            certificates.revoke(certificate, form.reason.data)
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            flash(f"Certificate {format_code(certificate.code)} revoked.", "success")
            return redirect(url_for(".admin_list"))
    return _render_admin({certificate.id: form})
