"""Item analysis for trainers: per-form item statistics, distractors, form reliability, CSV export.

Only trainers of the organization that owns a bank (and site admins) see its statistics; for anyone
else the bank and its versions do not exist (404). Every figure comes from ``services.item_analysis``;
the routes read the filters, make one service call and render.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.blueprints.access import bank_or_404, role_required
from app.models import Bank, QuestionVersion
from app.services import item_analysis
from app.services.item_analysis import StatsFilter
from app.services.permissions import can_manage_bank

bp = Blueprint("stats", __name__, url_prefix="/author/stats")

MODE_CHOICES = [
    SelectChoice("forms", "Forms: mock exams and question sets"),
    SelectChoice("exam", "Exam mode only"),
    SelectChoice("practice", "Practice sessions"),
    SelectChoice("review", "Spaced review sessions"),
    SelectChoice("all", "Every attempt"),
]
ATTEMPT_CHOICES = [
    SelectChoice("first", "First attempt of each learner"),
    SelectChoice("last", "Last attempt of each learner"),
    SelectChoice("all", "Every attempt"),
]
FILTER_KEYS = ("mode", "attempts", "since", "until")


class StatsFilterForm(FlaskForm):
    """GET filters shared by every stats page (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    mode = SelectField(
        "Attempts from",
        choices=MODE_CHOICES,
        default="forms",
        description="Each form (a question set, or a track's mock exam of one length) is analysed on its own.",
    )
    attempts = SelectField(
        "Per learner and form",
        choices=ATTEMPT_CHOICES,
        default="first",
        description="First attempts are free of practice effects from retaking the same form.",
    )
    since = DateField("Submitted from", validators=[Optional()])
    until = DateField("Submitted until", validators=[Optional()])

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            field.errors.append("The end date must not be before the start date.")


def _filters() -> tuple[StatsFilterForm, StatsFilter]:
    """The filter form from the query string and the filter it describes (defaults when invalid)."""
    form = StatsFilterForm(formdata=request.args)
    if not form.validate():
        return form, StatsFilter()
    mode = None if form.mode.data == "all" else form.mode.data
    return form, StatsFilter(mode=mode, since=form.since.data, until=form.until.data, attempts=form.attempts.data)


def _filter_args() -> dict[str, str]:
    """The current filter query parameters, to carry over into links."""
    return {key: request.args[key] for key in FILTER_KEYS if request.args.get(key)}


def _version_or_404(version_id: int) -> QuestionVersion:
    version = item_analysis.get_version(version_id)
    if version is None or not can_manage_bank(current_user, version.question.bank):
        abort(404)
    return version


@bp.app_template_global("can_view_item_stats")
def can_view_item_stats(bank: Bank) -> bool:
    return current_user.is_authenticated and can_manage_bank(current_user, bank)


@bp.route("/banks/<slug>")
@role_required("trainer")
def bank(slug: str):
    bank = bank_or_404(slug)
    form, filters = _filters()
    overview = item_analysis.bank_overview(bank, replace(filters, form=request.args.get("form") or None))
    items = overview.selected.items + overview.unseen if overview.selected else []
    sort = request.args.get("sort") if request.args.get("sort") in item_analysis.SORT_KEYS else None
    descending = request.args.get("order") == "desc"
    return render_template(
        "stats/bank.html",
        bank=bank,
        release=bank.releases[-1] if bank.releases else None,
        overview=overview,
        items=item_analysis.sort_items(items, sort, descending),
        form=form,
        filters=filters,
        filter_args=_filter_args(),
        sort=sort,
        descending=descending,
        rules=item_analysis.RULES,
        csv_columns=item_analysis.CSV_COLUMNS,
    )


@bp.route("/banks/<slug>.csv")
@role_required("trainer")
def bank_csv(slug: str):
    bank = bank_or_404(slug)
    _, filters = _filters()
    name = f"{bank.slug}-item-stats-{filters.mode or 'all'}-{filters.attempts}.csv"
    return Response(
        item_analysis.bank_csv(bank, filters),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/banks/<slug>/forms")
@role_required("trainer")
def forms(slug: str):
    bank = bank_or_404(slug)
    form, filters = _filters()
    return render_template(
        "stats/forms.html",
        bank=bank,
        forms=item_analysis.form_stats(bank, filters),
        form=form,
        filters=filters,
        filter_args=_filter_args(),
        rules=item_analysis.RULES,
    )


@bp.route("/versions/<int:version_id>")
@role_required("trainer")
def version(version_id: int):
    version = _version_or_404(version_id)
    form, filters = _filters()
    bank = version.question.bank
    release = bank.releases[-1] if bank.releases else None
    return render_template(
        "stats/version.html",
        bank=bank,
        version=version,
        question=version.question,
        domains=release.domains if release else {},
        reports=item_analysis.version_item_stats(version, filters),
        form=form,
        filters=filters,
        filter_args=_filter_args(),
        rules=item_analysis.RULES,
    )
