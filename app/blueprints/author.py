"""Trainer workbench: banks, question editing (new immutable versions), statuses, diffs, preview and releases.

Only trainers of a bank's owning organization and site admins may open a bank's pages (others get 404);
users who are trainers nowhere get 403 from role_required.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.blueprints.access import add_form_error, bank_or_404, role_required
from app.extensions import db
from app.models import Bank, QuestionVersion
from app.services import ServiceError, authoring, banks
from app.services.permissions import can_manage_bank
from quizbank.model import DIFFICULTIES

bp = Blueprint("author", __name__, url_prefix="/author")

OPTION_ROWS = 4
STATUS_ACTIONS = {
    ("draft", "review"): "Send to review",
    ("review", "published"): "Publish",
    ("review", "draft"): "Back to draft",
    ("published", "retired"): "Retire",
    ("retired", "draft"): "Revive as draft",
}


# Forms ----------------------------------------------------------------------------------------------------


class CheckboxListField(SelectMultipleField):
    """Checkboxes for a vocabulary; values are checked by the service (unknown ones get a message)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, validate_choice=False, **kwargs)


class OptionForm(Form):
    text = TextAreaField("Text", validators=[Optional(), Length(max=2000)])
    rationale = TextAreaField("Rationale", validators=[Optional(), Length(max=2000)])


class QuestionForm(FlaskForm):
    question_id = StringField(
        "Question id", validators=[Length(max=120)], description="Lowercase-kebab-case, unique in the bank."
    )
    scenario_id = StringField(
        "Scenario id",
        validators=[Length(max=120)],
        description="An existing scenario id adds the question to that scenario; a new id starts a new scenario.",
    )
    domain = SelectField("Domain", choices=[], validate_choice=False)
    competencies = CheckboxListField("Competencies")
    scenario = TextAreaField(
        "Scenario text",
        validators=[Length(max=10_000)],
        description="Leave empty for a stand-alone knowledge item (a scenario with this one question).",
    )
    content_note = StringField(
        "Content note",
        validators=[Length(max=120)],
        description="Shown before the scenario when it mentions e.g. suicide, self-harm, child abuse or violence.",
    )
    apply_to_scenario = BooleanField("Also apply the scenario text, domain and competencies to its other questions")
    stem = TextAreaField("Question", validators=[Length(max=2000)])
    difficulty = SelectField("Difficulty", choices=[SelectChoice(d, d.capitalize()) for d in DIFFICULTIES])
    tags = CheckboxListField("Topic tags")
    options = FieldList(FormField(OptionForm), min_entries=OPTION_ROWS, max_entries=OPTION_ROWS)
    key = RadioField(
        "Correct answer", choices=[str(i) for i in range(OPTION_ROWS)], validate_choice=False, validators=[Optional()]
    )
    change_note = StringField(
        "Change note", validators=[Length(max=authoring.MAX_NOTE_LENGTH)], description="What changed, and why."
    )
    base_number = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.option_errors: list[str] = []  # count and distinct-text messages, shown above the options

    def set_vocabulary(self, vocab: authoring.Vocabulary) -> None:
        self.domain.choices = [SelectChoice("", "Choose a domain")] + [
            SelectChoice(k, v) for k, v in vocab.domains.items()
        ]
        self.tags.choices = [SelectChoice(k, v) for k, v in sorted(vocab.tags.items(), key=lambda kv: kv[1].lower())]
        self.competencies.choices = [SelectChoice(k, f"{k}: {v}") for k, v in vocab.competencies.items()]

    def to_draft(self, question_id: str = "", scenario_id: str = "") -> authoring.QuestionDraft:
        return authoring.QuestionDraft(
            question_id=self.question_id.data or question_id,
            scenario_id=self.scenario_id.data or scenario_id,
            domain=self.domain.data or "",
            scenario=self.scenario.data or "",
            content_note=self.content_note.data or "",
            stem=self.stem.data or "",
            difficulty=self.difficulty.data or "",
            tags=tuple(self.tags.data or ()),
            competencies=tuple(self.competencies.data or ()),
            options=tuple(
                authoring.OptionDraft(row.text.data or "", row.rationale.data or "", str(i) == self.key.data)
                for i, row in enumerate(self.options)
            ),
        )

    def show_errors(self, errors: dict[str, list[str]]) -> None:
        """Attach the service's messages to their fields (option rows as options-<row>-text|rationale)."""
        for name, messages in errors.items():
            target = self._field_named(name)
            if name == "options":
                self.option_errors.extend(messages)
            elif target is None:
                self.form_errors.extend(messages)
            else:
                target.errors = [*target.errors, *messages]

    def _field_named(self, name: str):
        if name.startswith("options-"):
            _, row, part = name.split("-", 2)
            return getattr(self.options[int(row)], part, None)
        return getattr(self, name, None) if name != "options" else None


def _form_data(draft: authoring.QuestionDraft, base_number: int | None = None) -> dict:
    options = [{"text": o.text, "rationale": o.rationale} for o in draft.options]
    options += [{"text": "", "rationale": ""}] * (OPTION_ROWS - len(options))
    key = next((str(i) for i, o in enumerate(draft.options) if o.correct), None)
    return {
        "question_id": draft.question_id,
        "scenario_id": draft.scenario_id,
        "domain": draft.domain,
        "competencies": list(draft.competencies),
        "scenario": draft.scenario,
        "content_note": draft.content_note,
        "stem": draft.stem,
        "difficulty": draft.difficulty,
        "tags": list(draft.tags),
        "options": options,
        "key": key,
        "base_number": "" if base_number is None else str(base_number),
    }


def _question_form(bank: Bank, draft: authoring.QuestionDraft | None, base_number: int | None = None) -> QuestionForm:
    """The editor, filled from ``draft`` on GET; a POST is read from the request alone (absent = empty)."""
    data = _form_data(draft, base_number) if draft is not None and request.method == "GET" else None
    form = QuestionForm(data=data)
    form.set_vocabulary(authoring.vocabulary(bank))
    return form


class StatusForm(FlaskForm):
    status = StringField("Status")


class ReleaseForm(FlaskForm):
    version = StringField("Version", validators=[Length(max=32)], description="Semantic version, major.minor.patch.")
    note = StringField(
        "Release note", validators=[Length(max=authoring.MAX_NOTE_LENGTH)], description="What trainees will notice."
    )


# Lookups that hide banks the user cannot edit -------------------------------------------------------------


def _question_or_404(bank: Bank, stable_id: str):
    question = banks.get_question(bank, stable_id)
    if question is None or not question.versions:
        abort(404)
    return question


def _version_or_404(version_id: int) -> QuestionVersion:
    version = db.session.get(QuestionVersion, version_id)
    if version is None or not can_manage_bank(current_user, version.question.bank):
        abort(404)
    return version


def _question_url(question) -> str:
    return url_for(".question", slug=question.bank.slug, stable_id=question.stable_id)


# Pages ----------------------------------------------------------------------------------------------------


@bp.route("/")
@role_required("trainer")
def index():
    return render_template("author/index.html", banks=authoring.editable_banks(current_user))


@bp.route("/banks/<slug>")
@role_required("trainer")
def bank(slug: str):
    bank = bank_or_404(slug)
    release = bank.releases[-1] if bank.releases else None
    in_release = {v.question_id: v for v in banks.release_versions(release)} if release else {}
    return render_template(
        "author/bank.html",
        bank=bank,
        release=release,
        versions=authoring.newest_versions(bank),
        in_release=in_release,
    )


@bp.route("/banks/<slug>/questions/<stable_id>")
@role_required("trainer")
def question(slug: str, stable_id: str):
    bank = bank_or_404(slug)
    question = _question_or_404(bank, stable_id)
    by_number = {v.number: v for v in question.versions}
    newest = question.latest
    right = by_number.get(request.args.get("b", type=int)) or newest
    left = by_number.get(request.args.get("a", type=int)) or by_number.get(right.number - 1)
    return render_template(
        "author/question.html",
        bank=bank,
        question=question,
        authors=authoring.version_authors(question.versions),
        transitions=authoring.allowed_transitions(newest),
        status_actions=STATUS_ACTIONS,
        status_form=StatusForm(),
        left=left,
        right=right,
        diff=authoring.compare_versions(left, right) if left is not None and left.id != right.id else None,
    )


@bp.route("/banks/<slug>/new-question", methods=["GET", "POST"])
@role_required("trainer")
def new_question(slug: str):
    bank = bank_or_404(slug)
    scenario_id = request.args.get("scenario", "")
    form = _question_form(bank, authoring.scenario_draft(bank, scenario_id) if scenario_id else None)
    if form.validate_on_submit():
        saved = _save(
            form,
            lambda: authoring.create_question(
                bank,
                form.to_draft(),
                current_user,
                form.change_note.data,
                apply_to_scenario=form.apply_to_scenario.data,
            ),
        )
        if saved is not None:
            return saved
    siblings = authoring.scenario_questions(bank, form.scenario_id.data) if form.scenario_id.data else []
    return render_template("author/edit.html", bank=bank, form=form, question=None, siblings=siblings)


@bp.route("/banks/<slug>/questions/<stable_id>/edit", methods=["GET", "POST"])
@role_required("trainer")
def edit_question(slug: str, stable_id: str):
    bank = bank_or_404(slug)
    question = _question_or_404(bank, stable_id)
    newest = question.latest
    scenario_id = newest.content["scenario_id"]
    form = _question_form(bank, authoring.draft_from_version(newest), newest.number)
    if form.validate_on_submit():
        saved = _save(
            form,
            lambda: authoring.save_question(
                question,
                form.to_draft(question.stable_id, scenario_id),
                current_user,
                form.change_note.data,
                base_number=_int_or_none(form.base_number.data),
                apply_to_scenario=form.apply_to_scenario.data,
            ),
        )
        if saved is not None:
            return saved
    siblings = [v for v in authoring.scenario_questions(bank, scenario_id) if v.question_id != question.id]
    return render_template("author/edit.html", bank=bank, form=form, question=question, siblings=siblings)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _save(form: QuestionForm, save: Callable[[], authoring.SaveResult]):
    """Run one save and commit it; a redirect on success, None when the form must be shown again."""
    try:
        result = save()
        db.session.commit()
    except authoring.DraftInvalid as exc:
        form.show_errors(exc.errors)
        return None
    except ServiceError as exc:
        add_form_error(form, exc)
        return None
    except IntegrityError:  # two saves of the same question (or the same new id) at the same moment
        db.session.rollback()
        form.form_errors.append(
            "Someone saved this question at the same moment, so nothing was saved. "
            "Open the editor again to start from the newest version."
        )
        return None
    question = result.question
    if not result.changed:
        flash(f"Nothing changed: version {question.latest.number} already has this content, so no version was made.")
        return redirect(_question_url(question))
    parts = [f"Saved version {result.version.number} of {question.stable_id} as a draft."] if result.version else []
    if result.siblings:
        ids = ", ".join(v.question.stable_id for v in result.siblings)
        parts.append(f"New draft versions for the scenario's other questions: {ids}.")
    flash(" ".join(parts), "success")
    return redirect(_question_url(question))


@bp.route("/versions/<int:version_id>/status", methods=["POST"])
@role_required("trainer")
def change_status(version_id: int):
    version = _version_or_404(version_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        authoring.change_status(version, form.status.data or "")
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Version {version.number} is now {version.status}.", "success")
    return redirect(_question_url(version.question))


@bp.route("/versions/<int:version_id>/preview")
@role_required("trainer")
def preview(version_id: int):
    version = _version_or_404(version_id)
    return render_template(
        "author/preview.html",
        version=version,
        bank=version.question.bank,
        preview=authoring.preview_answer(version, request.args.get("choice")),
        show_key=request.args.get("key") == "1",
    )


@bp.route("/banks/<slug>/release", methods=["GET", "POST"])
@role_required("trainer")
def release(slug: str):
    bank = bank_or_404(slug)
    try:
        plan = authoring.plan_release(bank)
    except ServiceError as exc:
        abort(404, str(exc))
    form = ReleaseForm(data={"version": plan.next_version} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            created = authoring.publish_release(bank, form.version.data or "", form.note.data, current_user)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            add_form_error(form, exc)
        except IntegrityError:
            db.session.rollback()
            form.version.errors = [*form.version.errors, "That version was just published by someone else."]
        else:
            counts = ", ".join(f"{created.counts[k]} {k}" for k in ("new", "changed", "unchanged", "retired"))
            flash(f"Release {created.version} published ({counts}). Practice and exams now use it.", "success")
            return redirect(url_for(".bank", slug=bank.slug))
    return render_template("author/release.html", bank=bank, plan=plan, form=form)
