"""Question sets: trainers build and assign them (/author/sets), learners start what is assigned (/sets)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.blueprints.access import add_form_error, bank_or_404, role_required
from app.extensions import db
from app.forms import PostForm
from app.models import Bank, QuestionSet
from app.services import ServiceError, exams
from app.services import question_sets as sets
from app.services.banks import latest_release
from app.services.permissions import can_manage_bank

bp = Blueprint("sets", __name__)

KIND_CHOICES = [
    SelectChoice("rules", "Rules: draw questions that match a domain, topics and difficulty"),
    SelectChoice("fixed", "Fixed list: exactly the questions ticked below"),
]
MODE_CHOICES = [
    SelectChoice("practice", "Practice: feedback after each question"),
    SelectChoice("exam", "Exam: timed, no feedback until submitted"),
]
ANY_DIFFICULTY = [SelectChoice("", "Any difficulty")] + [SelectChoice(d, d.title()) for d in sets.DIFFICULTIES]


class SetForm(FlaskForm):
    title = StringField("Title", validators=[Length(max=sets.MAX_TITLE_LENGTH)])
    kind = RadioField("Kind of set", choices=KIND_CHOICES, default="rules")
    mode = RadioField("Mode", choices=MODE_CHOICES, default="practice")
    time_limit_minutes = IntegerField(
        "Time limit in minutes", validators=[Optional()], description="Exam sets only: 1 to 300 minutes."
    )
    pass_mark = FloatField(
        "Pass mark", validators=[Optional()], description="Exam sets only: a share from 0.05 to 1, e.g. 0.7 for 70%."
    )
    rule_domain = SelectField("Domain", choices=[], default="")
    rule_tags = SelectMultipleField(
        "Topics (questions with any of these; none ticked means any topic)",
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    rule_difficulty = SelectField("Difficulty", choices=ANY_DIFFICULTY, default="")
    rule_count = IntegerField("Number of questions to draw", validators=[Optional()])
    question_ids = SelectMultipleField("Questions", choices=[], validate_choice=False)
    # Filters only narrow the list shown; they never stop a save.
    filter_domain = SelectField("Show domain", choices=[], default="", validate_choice=False)
    filter_tag = SelectField("Show topic", choices=[], default="", validate_choice=False)
    filter_difficulty = SelectField("Show difficulty", choices=ANY_DIFFICULTY, default="", validate_choice=False)
    filter_text = StringField("Words in the question", validators=[Length(max=100)])
    refresh = SubmitField("Update the list and the match count")
    save = SubmitField("Save set")

    def for_release(self, release) -> SetForm:
        any_domain = [SelectChoice("", "Any domain")] + [SelectChoice(k, v) for k, v in release.domains.items()]
        tags = [SelectChoice(k, v) for k, v in sorted(release.tags.items(), key=lambda kv: kv[1].lower())]
        self.rule_domain.choices = self.filter_domain.choices = any_domain
        self.rule_tags.choices = tags
        self.filter_tag.choices = [SelectChoice("", "Any topic"), *tags]
        return self

    def spec(self) -> sets.SetSpec:
        return sets.SetSpec(
            title=self.title.data or "",
            kind=self.kind.data or "",
            mode=self.mode.data or "",
            question_ids=tuple(self.question_ids.data or ()),
            domain=self.rule_domain.data or None,
            tags=tuple(self.rule_tags.data or ()),
            difficulty=self.rule_difficulty.data or None,
            count=self.rule_count.data,
            time_limit_minutes=self.time_limit_minutes.data,
            pass_mark=self.pass_mark.data,
        )


def set_form_data(question_set: QuestionSet) -> dict:
    rules = question_set.rules or {}
    return {
        "title": question_set.title,
        "kind": question_set.kind,
        "mode": question_set.mode,
        "time_limit_minutes": question_set.time_limit_minutes,
        "pass_mark": question_set.pass_mark,
        "rule_domain": rules.get("domain") or "",
        "rule_tags": rules.get("tags") or [],
        "rule_difficulty": rules.get("difficulty") or "",
        "rule_count": rules.get("count"),
        "question_ids": list(question_set.question_ids or []),
    }


class AssignForm(FlaskForm):
    target = SelectField("Assign to", choices=[], validators=[DataRequired("Choose who gets this set.")])
    due_on = DateField("Due date (optional)", validators=[Optional()], description="Due at the end of that day (UTC).")


# --- helpers ------------------------------------------------------------------------------------------


def _set_or_404(set_id: int) -> tuple[QuestionSet, Bank]:
    """The set and its bank, if the current user may author the bank's sets (404 otherwise)."""
    question_set = db.session.get(QuestionSet, set_id)
    bank = db.session.get(Bank, question_set.bank_id) if question_set else None
    if not can_manage_bank(current_user, bank):
        abort(404)
    return question_set, bank


def _release_or_404(bank: Bank):
    release = latest_release(bank.slug)
    if release is None:
        abort(404, "This bank has no release yet.")
    return release


def _render_set_form(form: SetForm, bank: Bank, release, question_set: QuestionSet | None = None):
    everything = sets.release_questions(release)
    visible = sets.filter_questions(
        everything,
        domain=form.filter_domain.data or None,
        tag=form.filter_tag.data or None,
        difficulty=form.filter_difficulty.data or None,
        text=form.filter_text.data,
    )
    selected = list(dict.fromkeys(form.question_ids.data or []))
    in_release = {v.question.stable_id for v in everything}
    visible_ids = {v.question.stable_id for v in visible}
    groups = [
        (name, [v for v in visible if v.domain == domain])
        for domain, name in release.domains.items()
        if any(v.domain == domain for v in visible)
    ]
    matches = sets.count_rule_matches(
        release, form.rule_domain.data or None, form.rule_tags.data or (), form.rule_difficulty.data or None
    )
    return render_template(
        "sets/form.html",
        form=form,
        bank=bank,
        release=release,
        question_set=question_set,
        groups=groups,
        selected=set(selected),
        kept_hidden=[i for i in selected if i in in_release and i not in visible_ids],
        gone=[i for i in selected if i not in in_release],
        shown_count=len(visible),
        total_count=len(everything),
        matches=matches,
    )


def _wants_save(form: SetForm) -> bool:
    """True for a valid "Save" submit; a "refresh" submit only redraws the form."""
    return form.validate_on_submit() and not form.refresh.data


def _assign_form(question_set: QuestionSet) -> tuple[AssignForm, dict[str, sets.AssignmentTarget]]:
    targets = {t.value: t for t in sets.assignment_targets(current_user)}
    form = AssignForm()
    form.target.choices = [SelectChoice("", "Choose…")] + [SelectChoice(v, t.label) for v, t in targets.items()]
    return form, targets


def _render_show(question_set: QuestionSet, bank: Bank, assign_form: AssignForm, status: int = 200):
    release = latest_release(bank.slug)
    missing = []
    matches = None
    if release is not None and question_set.kind == "fixed":
        missing = sets.missing_from_release(release, question_set.question_ids)
    elif release is not None:
        rules = question_set.rules
        matches = sets.count_rule_matches(
            release, rules.get("domain"), rules.get("tags") or (), rules.get("difficulty")
        )
    return (
        render_template(
            "sets/show.html",
            question_set=question_set,
            bank=bank,
            release=release,
            missing=missing,
            matches=matches,
            size=sets.set_size(question_set),
            assignments=sets.set_assignments(question_set),
            results=sets.learner_results(question_set),
            assign_form=assign_form,
            post_form=PostForm(),
        ),
        status,
    )


# --- trainer pages ------------------------------------------------------------------------------------


@bp.route("/author/sets/")
@role_required("trainer")
def author_index():
    banks = sets.authorable_banks(current_user)
    return render_template("sets/author_index.html", banks=[(bank, sets.bank_sets(bank)) for bank in banks])


@bp.route("/author/sets/new/<slug>", methods=["GET", "POST"])
@role_required("trainer")
def new(slug: str):
    bank = bank_or_404(slug)
    release = _release_or_404(bank)
    form = SetForm().for_release(release)
    if _wants_save(form):
        try:
            question_set = sets.create_set(bank, current_user, form.spec())
        except ServiceError as exc:
            _add_problems(form, exc)
        else:
            db.session.commit()
            flash(f"Set “{question_set.title}” created. Assign it to learners below.", "success")
            return redirect(url_for(".show", set_id=question_set.id))
    return _render_set_form(form, bank, release)


@bp.route("/author/sets/<int:set_id>/edit", methods=["GET", "POST"])
@role_required("trainer")
def edit(set_id: int):
    question_set, bank = _set_or_404(set_id)
    release = _release_or_404(bank)
    form = SetForm() if request.method == "POST" else SetForm(data=set_form_data(question_set))
    form.for_release(release)
    if _wants_save(form):
        try:
            sets.update_set(question_set, form.spec())
        except ServiceError as exc:
            _add_problems(form, exc)
        else:
            db.session.commit()
            flash("Set saved.", "success")
            return redirect(url_for(".show", set_id=question_set.id))
    return _render_set_form(form, bank, release, question_set)


def _add_problems(form: FlaskForm, error: ServiceError) -> None:
    for problem in getattr(error, "problems", [error]):
        add_form_error(form, problem)


@bp.route("/author/sets/<int:set_id>")
@role_required("trainer")
def show(set_id: int):
    question_set, bank = _set_or_404(set_id)
    if sets.expire_set_exams(question_set):
        db.session.commit()
    assign_form, _ = _assign_form(question_set)
    return _render_show(question_set, bank, assign_form)


@bp.route("/author/sets/<int:set_id>/archive", methods=["POST"])
@role_required("trainer")
def archive(set_id: int):
    question_set, _ = _set_or_404(set_id)
    if PostForm().validate_on_submit() and sets.archive_set(question_set):
        db.session.commit()
        flash("Set archived: learners no longer see it or start it.", "success")
    return redirect(url_for(".show", set_id=question_set.id))


@bp.route("/author/sets/<int:set_id>/assign", methods=["POST"])
@role_required("trainer")
def assign(set_id: int):
    question_set, bank = _set_or_404(set_id)
    form, targets = _assign_form(question_set)
    if form.validate_on_submit():
        try:
            sets.assign_set(question_set, current_user, targets[form.target.data], form.due_on.data)
        except ServiceError as exc:
            add_form_error(form, exc)
        else:
            db.session.commit()
            flash("Set assigned.", "success")
            return redirect(url_for(".show", set_id=question_set.id))
    return _render_show(question_set, bank, form)


@bp.route("/author/sets/<int:set_id>/assignments/<int:assignment_id>/remove", methods=["POST"])
@role_required("trainer")
def unassign(set_id: int, assignment_id: int):
    question_set, _ = _set_or_404(set_id)
    assignment = sets.get_assignment(question_set, assignment_id) or abort(404)
    if PostForm().validate_on_submit():
        sets.remove_assignment(assignment)
        db.session.commit()
        flash("Assignment removed. Results already recorded stay.", "success")
    return redirect(url_for(".show", set_id=question_set.id))


# --- learner pages ------------------------------------------------------------------------------------


@bp.route("/sets/")
@login_required
def index():
    if exams.expire_due(user=current_user):
        db.session.commit()
    return render_template("sets/index.html", assigned=sets.assigned_sets(current_user), form=PostForm())


@bp.route("/sets/<int:set_id>/start", methods=["POST"])
@login_required
def start(set_id: int):
    question_set = sets.assigned_set(current_user, set_id) or abort(404)
    if not PostForm().validate_on_submit():
        abort(400)
    try:
        started = sets.start_set(current_user, question_set)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    db.session.commit()
    for note in started.notes:
        flash(note, "info")
    attempt = started.attempt
    if attempt.mode == "exam":
        return redirect(url_for("exams.resume", attempt_id=attempt.id))
    if started.resumed:
        return redirect(url_for("practice.resume", attempt_id=attempt.id))
    return redirect(url_for("practice.question", attempt_id=attempt.id, position=1))
