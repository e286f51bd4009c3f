"""Organizations: admins manage members, invitations, join codes and cohorts, and follow their learners'
readiness; learners join with an invite link or the organization's join code.

Every route under /org/<org_id> finds the organization with ``_organization_or_404`` (the current user
must administer it; site admins may open any) and then looks cohorts, members and invitations up
*inside* that organization, so another organization's ids answer 404 (no existence leak).

The certification pathway adds two roles' pages: supervisors (and org admins) verify or return learners'
records in a queue (``_organization_or_404(org_id, VERIFIER_ROLES)``; a record is looked up inside the
organization), and trainers (and org admins) record attendance of a training session in bulk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget, NumberInput

from app.blueprints.access import add_form_error, role_required
from app.charts import line_chart
from app.extensions import db, limiter
from app.forms import PostForm
from app.models import Cohort, LearnerRecord, Organization
from app.models.pathway import MAX_COMMENT, MAX_TITLE, RECORD_KIND_LABELS
from app.models.user import ROLE_LABELS, ROLES
from app.services import ServiceError, cohort_report, exams, orgs, pathway, readiness, records, verification
from app.services.banks import get_track, latest_release

bp = Blueprint("org", __name__)

ROLE_CHOICES = [SelectChoice(role, ROLE_LABELS[role]) for role in ROLES]
ROLE_HELP = (
    "Trainees practice and log their records; trainers edit questions and record training attendance; "
    "supervisors verify or return trainees' training, experience and supervision records; organization "
    "admins manage the organization and can do all of it."
)
VERIFIER_ROLES = records.VERIFIER_ROLES  # supervisors and org admins verify records
ATTENDANCE_ROLES = ("trainer", "org_admin")  # trainers and org admins record training attendance


# Forms -------------------------------------------------------------------------------------------------


class OrganizationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the organization a name."), Length(max=120)])
    slug = StringField(
        "Short name",
        validators=[DataRequired("Give the organization a short name."), Length(max=64)],
        description="Lower-case letters, digits and dashes, for example riverside-recovery.",
    )
    admin_email = EmailField(
        "First organization admin (email)",
        validators=[DataRequired("Name the first admin."), Email(check_deliverability=False), Length(max=254)],
        description="This person must already have an account.",
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class InvitationForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, default="learner", description=ROLE_HELP)
    cohort = SelectField("Cohort (optional)", choices=[], default="")
    email = EmailField(
        "Only for this email (optional)",
        validators=[Optional(), Email(check_deliverability=False), Length(max=254)],
        description="Leave empty to let whoever has the link use it (once).",
    )
    days = IntegerField(
        "Valid for (days)",
        default=orgs.INVITATION_DAYS,
        validators=[Optional(), NumberRange(1, orgs.MAX_INVITATION_DAYS)],
    )


class JoinCodeAdminForm(FlaskForm):
    cohort = SelectField("Cohort for people who join with the code (optional)", choices=[], default="")


class CohortForm(FlaskForm):
    name = StringField("Cohort name", validators=[DataRequired("Give the cohort a name."), Length(max=120)])


class CohortMembersForm(FlaskForm):
    learners = SelectMultipleField(
        "Learners to add", coerce=int, choices=[], widget=ListWidget(prefix_label=False), option_widget=CheckboxInput()
    )


class JoinForm(FlaskForm):
    join_code = StringField(
        "Join code",
        validators=[DataRequired("Enter the join code your organization gave you."), Length(max=40)],
        description="For example ABCDE-FGHJK. Case, spaces and dashes do not matter.",
    )


class DecisionForm(FlaskForm):
    """A supervisor's decision on a pending record: verify, or return with a comment."""

    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice("verify", "Verify: the record is accurate and counts toward the credential"),
            SelectChoice("return", "Return it to the learner to correct"),
        ],
        validators=[InputRequired("Choose whether to verify or return the record.")],
    )
    comment = TextAreaField(
        "Comment",
        validators=[Optional(), Length(max=MAX_COMMENT)],
        description="Required when you return a record: say what needs to change. The learner sees it.",
        render_kw={"rows": 4, "cols": 50},
    )


HOURS_WIDGET = NumberInput(step="any", min=0)


class TrainingSessionForm(FlaskForm):
    """A course with its hours per domain and the learners who attended (domain fields are added at runtime)."""

    title = StringField("Course title", validators=[DataRequired("Enter the course title."), Length(max=MAX_TITLE)])
    provider = StringField(
        "Provider",
        validators=[DataRequired("Enter who gave the training."), Length(max=MAX_TITLE)],
        description="As it should appear on the learners' applications.",
    )
    held_on = DateField("Date held", validators=[InputRequired("Enter the date of the session.")])
    attendees = SelectMultipleField(
        "Learners who attended",
        coerce=int,
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    domain_ids: list[str] = []

    def domain_fields(self) -> list:
        return [self[f"domain_{index}"] for index in range(len(self.domain_ids))]

    def domain_hours(self) -> dict[str, float]:
        return {d: float(f.data) for d, f in zip(self.domain_ids, self.domain_fields(), strict=True) if f.data}


def training_session_form(domains: dict[str, str], learners, **kwargs) -> TrainingSessionForm:
    """The attendance form with one hours field per domain ({id: label}) and the organization's learners."""

    class Form(TrainingSessionForm):
        pass

    for index, label in enumerate(domains.values()):
        field = FloatField(
            f"{label} hours",
            validators=[Optional(), NumberRange(0, records.MAX_HOURS, f"Enter hours from 0 to {records.MAX_HOURS:g}.")],
            widget=HOURS_WIDGET,
        )
        setattr(Form, f"domain_{index}", field)
    Form.domain_ids = list(domains)
    form = Form(**kwargs)
    form.attendees.choices = _learner_choices(learners)
    return form


def _cohort_choices(organization: Organization) -> list[SelectChoice]:
    return [SelectChoice("", "No cohort")] + [
        SelectChoice(str(c.id), c.name) for c, _ in orgs.list_cohorts(organization)
    ]


def _learner_choices(users) -> list[SelectChoice]:
    return [SelectChoice(user.id, user.display_name) for user in users]


def _chosen_cohort(organization: Organization, value: str | None) -> Cohort | None:
    return orgs.get_cohort(organization, int(value)) if value else None


# Rate limit for join codes -----------------------------------------------------------------------------


def join_code_limit(skip=None):
    """Failed join-code attempts per client address, one budget shared by /join and registration.

    Only failures count (a success redirects), so a class joining from one network is not blocked.
    ``skip`` exempts requests that carry no code. Per-app RATELIMIT_ENABLED is honoured.
    """
    return limiter.shared_limit(
        lambda: current_app.config.get("JOIN_RATE_LIMIT", "10 per minute"),
        scope="join-code",
        methods=["POST"],
        exempt_when=lambda: not current_app.config.get("RATELIMIT_ENABLED", True) or bool(skip and skip()),
        deduct_when=lambda response: response.status_code != 302,
    )


# Look-ups (404 outside the current user's organizations) ------------------------------------------------


def _organization_or_404(org_id: int, roles: tuple[str, ...] = ("org_admin",)) -> Organization:
    """The organization, if the current user holds one of ``roles`` there (by default: administers it);
    404 otherwise (no existence leak). Site admins may open any."""
    organization = orgs.organization_with_role(current_user, org_id, roles)
    if organization is None:
        abort(404)
    return organization


def _record_or_404(organization: Organization, record_id: int) -> LearnerRecord:
    record = verification.organization_record(organization, record_id)
    if record is None:
        abort(404)
    return record


def _cohort_or_404(organization: Organization, cohort_id: int) -> Cohort:
    cohort = orgs.get_cohort(organization, cohort_id)
    if cohort is None:
        abort(404)
    return cohort


def _membership_or_404(organization: Organization, user_id: int):
    membership = orgs.get_membership(organization, user_id)
    if membership is None:
        abort(404)
    return membership


def _cohort_filter(organization: Organization) -> Cohort | None:
    """The ?cohort= of the request (404 if it is not this organization's), or None."""
    raw = request.args.get("cohort", "")
    if not raw:
        return None
    if not raw.isdigit():
        abort(404)
    return _cohort_or_404(organization, int(raw))


def _pathway_filter() -> str | None:
    """The ?pathway= of the request (a cohort_report.PATHWAY_FILTERS key; 404 for anything else), or None."""
    raw = request.args.get("pathway", "")
    if not raw:
        return None
    if raw not in cohort_report.PATHWAY_FILTERS:
        abort(404)
    return raw


def _release_and_track():
    release = latest_release(current_app.config["DEFAULT_BANK"])
    return release, (get_track(release) if release else None)


NAV_LINKS = (  # (endpoint, label, roles that may open it)
    ("org.dashboard", "Readiness", ("org_admin",)),
    ("org.members", "Members", ("org_admin",)),
    ("org.invitations", "Invitations", ("org_admin",)),
    ("org.cohorts", "Cohorts", ("org_admin",)),
    ("org.verify_queue", "Verify records", VERIFIER_ROLES),
    ("org.training_sessions", "Training sessions", ATTENDANCE_ROLES),
    ("api_keys.index", "API tokens", ("org_admin",)),
)


def _nav_links(organization: Organization) -> list[tuple[str, str]]:
    """The organization's sub-navigation entries the current user may open (site admins: all)."""
    if current_user.is_admin:
        role = "org_admin"
    else:
        membership = orgs.get_membership(organization, current_user.id)
        role = membership.role if membership else None
    return [(endpoint, label) for endpoint, label, roles in NAV_LINKS if role in roles]


# Organizations -----------------------------------------------------------------------------------------


def _render_index(form: OrganizationForm, status: int = 200):
    organizations = orgs.administered_organizations(current_user)
    return render_template("org/index.html", organizations=organizations, form=form), status


@bp.route("/org/")
@role_required("org_admin")
def index():
    return _render_index(OrganizationForm())


@bp.route("/org/new", methods=["POST"])
@role_required("admin")
def create():
    form = OrganizationForm()
    if form.validate_on_submit():
        try:
            organization = orgs.create_organization(form.name.data, form.slug.data, form.admin_email.data)
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            flash(f"{organization.name} was created.", "success")
            return redirect(url_for(".dashboard", org_id=organization.id))
    return _render_index(form, 200)


# Readiness dashboard, drill-down, CSV ------------------------------------------------------------------


def _report(organization: Organization, cohort: Cohort | None, pathway: str | None = None):
    release, track = _release_and_track()
    if track is None:
        return release, None
    sort = request.args.get("sort", "name")
    report = cohort_report.build_report(organization, release, track, cohort=cohort, sort=sort, pathway_filter=pathway)
    db.session.commit()  # the report submits overdue exams first, as the learner's own pages do
    return release, report


@dataclass(frozen=True)
class Page:
    number: int
    count: int
    rows: list
    first: int  # 1-based position of the first row shown
    total: int


def _page(rows: list) -> Page:
    """The ?page= slice of the report's rows (ORG_REPORT_PAGE_SIZE per page; out-of-range pages clamp)."""
    size = current_app.config.get("ORG_REPORT_PAGE_SIZE", 100)
    count = max(1, -(-len(rows) // size))
    number = min(max(request.args.get("page", 1, type=int), 1), count)
    start = (number - 1) * size
    return Page(number, count, rows[start : start + size], start + 1, len(rows))


@bp.route("/org/<int:org_id>")
@role_required("org_admin")
def dashboard(org_id: int):
    organization = _organization_or_404(org_id)
    cohort = _cohort_filter(organization)
    pathway = _pathway_filter()
    release, report = _report(organization, cohort, pathway)
    return render_template(
        "org/dashboard.html",
        organization=organization,
        cohort=cohort,
        cohorts=orgs.list_cohorts(organization),
        release=release,
        report=report,
        page=_page(report.rows) if report else None,
        sort=request.args.get("sort", "name"),
        pathway=pathway,
        pathway_filters=cohort_report.PATHWAY_FILTERS,
        flag_help=cohort_report.FLAG_HELP,
        csv_columns=cohort_report.CSV_COLUMNS,
    )


@bp.route("/org/<int:org_id>/report.csv")
@role_required("org_admin")
def report_csv(org_id: int):
    organization = _organization_or_404(org_id)
    cohort = _cohort_filter(organization)
    pathway = _pathway_filter()
    _, report = _report(organization, cohort, pathway)
    if report is None:
        abort(404, "No certification track is available yet, so there is no readiness report.")
    slug = re.sub(r"[^a-z0-9-]", "", organization.slug.lower()) or "organization"
    name = (
        f"{slug}-readiness" + (f"-cohort-{cohort.id}" if cohort else "") + (f"-{pathway}" if pathway else "") + ".csv"
    )
    return Response(
        cohort_report.report_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.route("/org/<int:org_id>/learners/<int:user_id>")
@role_required("org_admin")
def learner(org_id: int, user_id: int):
    organization = _organization_or_404(org_id)
    membership = _membership_or_404(organization, user_id)
    release, track = _release_and_track()
    if exams.expire_due(user=membership.user):  # overdue exams count here as on the learner's own page
        db.session.commit()
    status = readiness.evaluate(membership.user, release, track, you=False) if track else None
    history = readiness.history(membership.user, track["id"]) if track else []
    target = track["readiness"].get("target_probability") if track else None
    return render_template(
        "org/learner.html",
        organization=organization,
        membership=membership,
        learner=membership.user,
        release=release,
        readiness=status,
        history=history,
        chart=line_chart([s.probability for s in history], target) if history else None,
        target=target,
        attempts=cohort_report.recent_attempt_scores(membership.user),
        cohorts=orgs.user_cohorts(organization, membership.user),
        pathway=pathway.learner_progress(membership.user, track) if track and track.get("requirements") else None,
    )


# Members -----------------------------------------------------------------------------------------------


@bp.route("/org/<int:org_id>/members")
@role_required("org_admin")
def members(org_id: int):
    organization = _organization_or_404(org_id)
    return render_template(
        "org/members.html",
        organization=organization,
        members=orgs.list_members(organization),
        form=PostForm(),
    )


def _back_to_members(organization: Organization):
    """The members page, or the dashboard if the current user no longer administers the organization."""
    if orgs.administered_organization(current_user, organization.id) is None:
        return redirect(url_for("progress.dashboard"))
    return redirect(url_for(".members", org_id=organization.id))


@bp.route("/org/<int:org_id>/members/<int:user_id>/role", methods=["POST"])
@role_required("org_admin")
def change_role(org_id: int, user_id: int):
    organization = _organization_or_404(org_id)
    membership = _membership_or_404(organization, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose a role from the list.", "error")
        return _back_to_members(organization)
    try:
        orgs.change_role(membership, form.role.data)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"{membership.user.display_name} is now {ROLE_LABELS[membership.role]}.", "success")
    return _back_to_members(organization)


@bp.route("/org/<int:org_id>/members/<int:user_id>/remove", methods=["POST"])
@role_required("org_admin")
def remove_member(org_id: int, user_id: int):
    organization = _organization_or_404(org_id)
    membership = _membership_or_404(organization, user_id)
    name = membership.user.display_name
    if PostForm().validate_on_submit():
        try:
            orgs.remove_member(membership)
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"{name} was removed from {organization.name}. Their own practice history is kept.", "success")
    return _back_to_members(organization)


# Invitations and the join code -------------------------------------------------------------------------


def _render_invitations(organization, form=None, code_form=None, status: int = 200):
    choices = _cohort_choices(organization)
    form = form or InvitationForm()
    code_form = code_form or JoinCodeAdminForm()
    form.cohort.choices = code_form.cohort.choices = choices
    return (
        render_template(
            "org/invitations.html",
            organization=organization,
            form=form,
            code_form=code_form,
            invitations=orgs.list_invitations(organization),
            join_code=orgs.active_join_code(organization),
            status_of=orgs.invitation_status,
            cohort_names={int(choice.value): choice.label for choice in choices if choice.value},
            revoke_form=PostForm(),
        ),
        status,
    )


def _render_secret(organization: Organization, issued: orgs.IssuedSecret):
    """The new link or code, shown this once (never cached)."""
    invitation = issued.invitation
    if invitation.kind == "code":
        shown, join_url = orgs.format_code(issued.secret), url_for(".join", _external=True)
    else:
        shown, join_url = url_for(".accept_invitation", secret=issued.secret, _external=True), None
    response = current_app.make_response(
        render_template(
            "org/secret.html",
            organization=organization,
            invitation=invitation,
            shown=shown,
            join_url=join_url,
            cohort=db.session.get(Cohort, invitation.cohort_id) if invitation.cohort_id else None,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/org/<int:org_id>/invitations")
@role_required("org_admin")
def invitations(org_id: int):
    return _render_invitations(_organization_or_404(org_id))


@bp.route("/org/<int:org_id>/invitations", methods=["POST"])
@role_required("org_admin")
def create_invitation(org_id: int):
    organization = _organization_or_404(org_id)
    form = InvitationForm()
    form.cohort.choices = _cohort_choices(organization)
    if form.validate_on_submit():
        try:
            issued = orgs.create_invitation(
                organization,
                current_user,
                role=form.role.data,
                cohort=_chosen_cohort(organization, form.cohort.data),
                email=form.email.data,
                days=form.days.data or orgs.INVITATION_DAYS,
            )
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            return _render_secret(organization, issued)
    return _render_invitations(organization, form=form)


@bp.route("/org/<int:org_id>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@role_required("org_admin")
def revoke_invitation(org_id: int, invitation_id: int):
    organization = _organization_or_404(org_id)
    invitation = orgs.get_invitation(organization, invitation_id)
    if invitation is None:
        abort(404)
    if PostForm().validate_on_submit():
        orgs.revoke_invitation(invitation)
        db.session.commit()
        flash("The join code was revoked." if invitation.kind == "code" else "The invitation was revoked.", "success")
    return redirect(url_for(".invitations", org_id=organization.id))


@bp.route("/org/<int:org_id>/join-code", methods=["POST"])
@role_required("org_admin")
def regenerate_join_code(org_id: int):
    organization = _organization_or_404(org_id)
    form = JoinCodeAdminForm()
    form.cohort.choices = _cohort_choices(organization)
    if form.validate_on_submit():
        issued = orgs.regenerate_join_code(
            organization, current_user, cohort=_chosen_cohort(organization, form.cohort.data)
        )
        db.session.commit()
        return _render_secret(organization, issued)
    return _render_invitations(organization, code_form=form)


# Cohorts -----------------------------------------------------------------------------------------------


def _render_cohorts(organization: Organization, form: CohortForm | None = None):
    return render_template(
        "org/cohorts.html",
        organization=organization,
        cohorts=orgs.list_cohorts(organization),
        form=form or CohortForm(),
    )


@bp.route("/org/<int:org_id>/cohorts")
@role_required("org_admin")
def cohorts(org_id: int):
    return _render_cohorts(_organization_or_404(org_id))


@bp.route("/org/<int:org_id>/cohorts", methods=["POST"])
@role_required("org_admin")
def create_cohort(org_id: int):
    organization = _organization_or_404(org_id)
    form = CohortForm()
    if form.validate_on_submit():
        try:
            cohort = orgs.create_cohort(organization, form.name.data)
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            flash(f"Cohort {cohort.name} was created. Add learners to it below.", "success")
            return redirect(url_for(".cohort", org_id=organization.id, cohort_id=cohort.id))
    return _render_cohorts(organization, form)


def _render_cohort(organization: Organization, cohort: Cohort, rename_form=None, add_form=None):
    add_form = add_form or CohortMembersForm()
    addable = orgs.addable_learners(cohort)
    add_form.learners.choices = _learner_choices(addable)
    return render_template(
        "org/cohort.html",
        organization=organization,
        cohort=cohort,
        members=orgs.cohort_members(cohort),
        rename_form=rename_form or CohortForm(name=cohort.name),
        add_form=add_form,
        form=PostForm(),
    )


@bp.route("/org/<int:org_id>/cohorts/<int:cohort_id>")
@role_required("org_admin")
def cohort(org_id: int, cohort_id: int):
    organization = _organization_or_404(org_id)
    return _render_cohort(organization, _cohort_or_404(organization, cohort_id))


@bp.route("/org/<int:org_id>/cohorts/<int:cohort_id>/rename", methods=["POST"])
@role_required("org_admin")
def rename_cohort(org_id: int, cohort_id: int):
    organization = _organization_or_404(org_id)
    cohort = _cohort_or_404(organization, cohort_id)
    form = CohortForm()
    if form.validate_on_submit():
        try:
            orgs.rename_cohort(cohort, form.name.data)
        except ServiceError as exc:
            db.session.rollback()
            add_form_error(form, exc)
        else:
            db.session.commit()
            flash("The cohort was renamed.", "success")
            return redirect(url_for(".cohort", org_id=organization.id, cohort_id=cohort.id))
    return _render_cohort(organization, cohort, rename_form=form)


@bp.route("/org/<int:org_id>/cohorts/<int:cohort_id>/delete", methods=["POST"])
@role_required("org_admin")
def delete_cohort(org_id: int, cohort_id: int):
    organization = _organization_or_404(org_id)
    cohort = _cohort_or_404(organization, cohort_id)
    if not PostForm().validate_on_submit():
        return redirect(url_for(".cohort", org_id=organization.id, cohort_id=cohort.id))
    name = cohort.name
    orgs.delete_cohort(cohort)
    db.session.commit()
    flash(f"Cohort {name} was deleted; its learners are still in the organization.", "success")
    return redirect(url_for(".cohorts", org_id=organization.id))


@bp.route("/org/<int:org_id>/cohorts/<int:cohort_id>/members", methods=["POST"])
@role_required("org_admin")
def add_cohort_members(org_id: int, cohort_id: int):
    organization = _organization_or_404(org_id)
    cohort = _cohort_or_404(organization, cohort_id)
    form = CohortMembersForm()
    form.learners.choices = _learner_choices(orgs.addable_learners(cohort))
    if form.validate_on_submit():
        try:
            added = orgs.add_to_cohort(cohort, form.learners.data or [])
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            flash(f"Added {added} learner{'s' if added != 1 else ''} to {cohort.name}.", "success")
            return redirect(url_for(".cohort", org_id=organization.id, cohort_id=cohort.id))
    return _render_cohort(organization, cohort, add_form=form)


@bp.route("/org/<int:org_id>/cohorts/<int:cohort_id>/members/<int:user_id>/remove", methods=["POST"])
@role_required("org_admin")
def remove_cohort_member(org_id: int, cohort_id: int, user_id: int):
    organization = _organization_or_404(org_id)
    cohort = _cohort_or_404(organization, cohort_id)
    _membership_or_404(organization, user_id)
    if PostForm().validate_on_submit() and orgs.remove_from_cohort(cohort, user_id):
        db.session.commit()
        flash("The learner was taken out of the cohort.", "success")
    return redirect(url_for(".cohort", org_id=organization.id, cohort_id=cohort.id))


# Verification of learner records (supervisors and org admins) ------------------------------------------


def _tracks() -> list[dict]:
    release = latest_release(current_app.config["DEFAULT_BANK"])
    return list(release.tracks) if release else []


def _record_context(tracks: list[dict]) -> dict:
    """What the queue and record pages need to describe records: labels and which statements are private."""
    return {
        "domain_labels": {
            domain: label
            for track in reversed(tracks)
            for domain, label in verification.domain_labels(track.get("requirements") or {}).items()
        },
        "attestation_labels": verification.attestation_labels(tracks),
        "private_ids": verification.private_attestations(tracks),
        "visible_statement": records.visible_statement,
        "status_labels": RECORD_STATUS_LABELS,
        "event_labels": RECORD_EVENT_LABELS,
    }


RECORD_STATUS_LABELS = {
    "pending": "Waiting for verification",
    "verified": "Verified",
    "returned": "Returned to the learner",
    "superseded": "Replaced by a correction",
}
RECORD_EVENT_LABELS = {
    "created": "Submitted",
    "corrected": "Submitted as a correction",
    "verified": "Verified",
    "returned": "Returned",
    "superseded": "Replaced by a correction",
    "attendance": "Attendance recorded",
}


@bp.route("/org/<int:org_id>/verify")
@role_required(*VERIFIER_ROLES)
def verify_queue(org_id: int):
    organization = _organization_or_404(org_id, VERIFIER_ROLES)
    return render_template(
        "org/verify.html",
        organization=organization,
        nav_links=_nav_links(organization),
        pending=records.pending_for(current_user, organization),
        decided=verification.recent_decisions(organization),
        **_record_context(_tracks()),
    )


def _render_record(organization: Organization, record: LearnerRecord, form: DecisionForm | None = None, status=200):
    older, newer = record.supersedes, verification.superseded_by(record)
    return (
        render_template(
            "org/record.html",
            organization=organization,
            nav_links=_nav_links(organization),
            record=record,
            supersedes=older if older is not None and older.organization_id == organization.id else None,
            superseded_by=newer if newer is not None and newer.organization_id == organization.id else None,
            own=record.user_id == current_user.id,
            can_verify=records.can_verify(current_user, record),
            form=form or DecisionForm(),
            **_record_context(_tracks()),
        ),
        status,
    )


@bp.route("/org/<int:org_id>/records/<int:record_id>")
@role_required(*VERIFIER_ROLES)
def record(org_id: int, record_id: int):
    organization = _organization_or_404(org_id, VERIFIER_ROLES)
    return _render_record(organization, _record_or_404(organization, record_id))


@bp.route("/org/<int:org_id>/records/<int:record_id>/decide", methods=["POST"])
@role_required(*VERIFIER_ROLES)
def decide_record(org_id: int, record_id: int):
    organization = _organization_or_404(org_id, VERIFIER_ROLES)
    record = _record_or_404(organization, record_id)
    form = DecisionForm()
    if record.user_id == current_user.id:
        form.form_errors.append("You cannot verify or return your own records; another supervisor decides them.")
        return _render_record(organization, record, form, 403)
    if form.validate_on_submit():
        verified = form.decision.data == "verify"
        try:
            records.decide(record, current_user, verified, form.comment.data)
        except ServiceError as exc:
            db.session.rollback()
            add_form_error(form, exc)
        else:
            db.session.commit()
            outcome = "verified" if verified else "returned to the learner"
            flash(f"{RECORD_KIND_LABELS[record.kind]} record of {record.user.display_name} {outcome}.", "success")
            return redirect(url_for(".verify_queue", org_id=organization.id))
    return _render_record(organization, record, form)


@bp.route("/org/<int:org_id>/records/<int:record_id>/evidence")
@role_required(*VERIFIER_ROLES)
def record_evidence(org_id: int, record_id: int):
    """The record's evidence file, as a download, for the organization's supervisors (never site admins)."""
    organization = _organization_or_404(org_id, VERIFIER_ROLES)
    record = _record_or_404(organization, record_id)
    evidence = record.evidence
    if evidence is None or not records.can_see_evidence(current_user, evidence):
        abort(404)
    path = records.evidence_path(evidence, Path(current_app.config["EVIDENCE_DIR"]))
    if not path.is_file():
        abort(404)
    response = send_file(
        path, mimetype=evidence.content_type, as_attachment=True, download_name=evidence.original_name, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


# Training sessions: bulk attendance (trainers and org admins) -------------------------------------------


def _attendance_form(organization: Organization, track: dict | None, **kwargs) -> TrainingSessionForm:
    domains = verification.domain_labels((track or {}).get("requirements") or {})
    return training_session_form(domains, orgs.organization_learners(organization), **kwargs)


@bp.route("/org/<int:org_id>/training-sessions")
@role_required(*ATTENDANCE_ROLES)
def training_sessions(org_id: int):
    organization = _organization_or_404(org_id, ATTENDANCE_ROLES)
    return render_template(
        "org/training_sessions.html",
        organization=organization,
        nav_links=_nav_links(organization),
        sessions=verification.training_sessions(organization),
    )


def _render_new_session(organization: Organization, track: dict | None, form: TrainingSessionForm):
    return render_template(
        "org/training_session_new.html",
        organization=organization,
        nav_links=_nav_links(organization),
        track=track,
        form=form,
    )


@bp.route("/org/<int:org_id>/training-sessions/new")
@role_required(*ATTENDANCE_ROLES)
def new_training_session(org_id: int):
    organization = _organization_or_404(org_id, ATTENDANCE_ROLES)
    _, track = _release_and_track()
    return _render_new_session(organization, track, _attendance_form(organization, track, provider=organization.name))


@bp.route("/org/<int:org_id>/training-sessions/new", methods=["POST"])
@role_required(*ATTENDANCE_ROLES)
def create_training_session(org_id: int):
    organization = _organization_or_404(org_id, ATTENDANCE_ROLES)
    _, track = _release_and_track()
    form = _attendance_form(organization, track)
    if track is None:
        form.form_errors.append("There is no certification track yet, so training hours cannot be recorded.")
    elif form.validate_on_submit():
        attendees = verification.chosen_learners(orgs.organization_learners(organization), form.attendees.data or [])
        try:
            session = records.record_attendance(
                organization,
                current_user,
                form.title.data,
                form.provider.data,
                form.held_on.data,
                form.domain_hours(),
                attendees,
                track.get("requirements") or {},
            )
        except ServiceError as exc:
            db.session.rollback()
            add_form_error(form, _on_form_field(exc))
        else:
            db.session.commit()
            flash(
                f"Attendance of {session.title} recorded: {len(attendees)} verified training "
                f"record{'s' if len(attendees) != 1 else ''}.",
                "success",
            )
            return redirect(url_for(".training_sessions", org_id=organization.id))
    return _render_new_session(organization, track, form)


def _on_form_field(error: ServiceError) -> ServiceError:
    """A record service error placed on the attendance form's field (the date, or the form for the hours)."""
    fields = {"started_on": "held_on", "hours": None, "domain_hours": None}
    return ServiceError(str(error), fields.get(error.field, error.field)) if error.field in fields else error


# Joining (any logged-in user) --------------------------------------------------------------------------


def _joined(membership) -> Response:
    db.session.commit()
    flash(f"You joined {membership.organization.name} as {ROLE_LABELS[membership.role]}.", "success")
    return redirect(url_for("progress.dashboard"))


@bp.route("/join", methods=["GET", "POST"])
@login_required
@join_code_limit()
def join():
    form = JoinForm()
    if form.validate_on_submit():
        try:
            membership = orgs.join_with_code(current_user, form.join_code.data)
        except ServiceError as exc:
            db.session.rollback()
            add_form_error(form, exc)
        else:
            return _joined(membership)
    return render_template("org/join.html", form=form)


@bp.route("/join/<secret>", methods=["GET", "POST"])
@login_required
def accept_invitation(secret: str):
    form = PostForm()
    invitation = orgs.find_invitation(secret)
    try:
        orgs.check_invitation(invitation, current_user)
        if form.validate_on_submit():
            return _joined(orgs.accept_invitation(current_user, secret))
    except ServiceError as exc:
        db.session.rollback()
        status = 404 if invitation is None else 403 if str(exc) == orgs.WRONG_EMAIL else 410
        return render_template("org/accept.html", invitation=None, problem=str(exc)), status
    cohort = db.session.get(Cohort, invitation.cohort_id) if invitation.cohort_id else None
    return render_template("org/accept.html", invitation=invitation, cohort=cohort, problem=None, form=form)
