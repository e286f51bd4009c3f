"""The learner's certification pathway: every requirement, the recertification cycle, the application packet.

The track comes from ``?track=`` (the default bank's first track when absent; an unknown id is a 404). The
page shows each requirement with verified, pending and missing hours, the exam readiness from
``readiness.evaluate``, one checklist of what is left, and "Ready to apply" only when every requirement is
verified and exam readiness is met. Once the learner records their certification it shows the current
recertification cycle instead.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.blueprints.access import add_form_error
from app.blueprints.pathway_forms import CertificationForm
from app.extensions import db
from app.services import ServiceError, banks, learner_pathway, packet, pathway, readiness

bp = Blueprint("pathway", __name__, url_prefix="/pathway")


@bp.app_template_filter("long_date")
def _long_date(value: date | None) -> str:
    """A calendar date the en-US way: March 1, 2026."""
    return f"{value:%B} {value.day}, {value.year}" if value else ""


def _release_and_track():
    """(release, track) for ``?track=``; (None, None) without a release or tracks; 404 for an unknown id."""
    release = banks.latest_release(current_app.config["DEFAULT_BANK"])
    if release is None or not release.tracks:
        return release, None
    track = banks.get_track(release, request.args.get("track") or None)
    return release, track or abort(404)


def _checklist(progress: pathway.PathwayProgress, status: readiness.Readiness | None) -> list[str]:
    """What is left: requirements first, then the exam readiness rules not met yet."""
    left = progress.checklist()
    if status is not None:
        left += [f"Exam readiness: {rule.label.rstrip('.')}. {rule.detail}" for rule in status.rules if not rule.met]
    return left


def _render(form: CertificationForm | None = None, status_code: int = 200):
    release, track = _release_and_track()
    if track is None:
        return render_template("pathway/index.html", release=release, track=None), status_code
    progress = pathway.learner_progress(current_user, track)
    status = readiness.evaluate(current_user, release, track)
    certification = pathway.certification_of(current_user, track["id"])
    if form is None:
        form = CertificationForm(obj=certification) if certification else CertificationForm()
    return (
        render_template(
            "pathway/index.html",
            release=release,
            track=track,
            tracks=release.tracks,
            progress=progress,
            readiness=status,
            checklist=_checklist(progress, status),
            ready_to_apply=progress.requirements_met and status.ready,
            certification=certification,
            form=form,
            today=date.today(),
        ),
        status_code,
    )


@bp.route("/")
@login_required
def index():
    return _render()


@bp.route("/certification", methods=["POST"])
@login_required
def certification():
    _, track = _release_and_track()
    if track is None:
        abort(404)
    form = CertificationForm()
    if form.validate_on_submit():
        try:
            learner_pathway.record_certification(
                current_user, track["id"], form.certified_on.data, form.credential_number.data
            )
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            flash("Certification saved: the page now follows your recertification cycle.", "success")
            return redirect(url_for(".index", track=track["id"]))
    return _render(form)


def _packet_or_404() -> packet.Packet:
    release, track = _release_and_track()
    if track is None:
        abort(404)
    private = learner_pathway.private_attestations(learner_pathway.requirement_catalog(release.tracks))
    return packet.build_packet(current_user, track, private)


def _filename(built: packet.Packet, extension: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", built.track_id.lower()).strip("-") or "track"
    return f"application-packet-{slug}-{built.generated_on.isoformat()}.{extension}"


def _download(body: bytes | str, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )


@bp.route("/packet.pdf")
@login_required
def packet_pdf():
    built = _packet_or_404()
    return _download(packet.render_pdf(built), "application/pdf", _filename(built, "pdf"))


@bp.route("/packet.csv")
@login_required
def packet_csv():
    built = _packet_or_404()
    return _download(packet.packet_csv(built), "text/csv", _filename(built, "csv"))
