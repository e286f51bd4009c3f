"""Forms of the learner's certification pathway: one record form per kind, and the certification form.

Forms check presence, lengths and number formats; ``records.validate`` (via ``learner_pathway``) enforces
the rules (hours above zero, domain hours that fit the total, known attestations). Training forms are built at
runtime with one hours field per domain of the catalog.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, FloatField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import NumberInput

from app.models.pathway import MAX_STATEMENT, MAX_TITLE
from app.services.learner_pathway import MAX_CREDENTIAL
from app.services.records import MAX_EVIDENCE_BYTES, MAX_HOURS, RecordInput

HOURS_WIDGET = NumberInput(step="any", min=0)
NO_ORGANIZATION = ""


def _hours_field(label: str, *, required: bool = True, description: str = "") -> FloatField:
    presence = InputRequired("Enter the hours.") if required else Optional()
    return FloatField(
        label,
        validators=[presence, NumberRange(0, MAX_HOURS, f"Enter hours from 0 to {MAX_HOURS:g}.")],
        widget=HOURS_WIDGET,
        description=description,
    )


class RecordForm(FlaskForm):
    """Fields every kind of record has: the verifying organization and an optional evidence file."""

    kind = ""
    heading = ""
    organization = SelectField(
        "Organization that verifies it",
        choices=[],
        description="A supervisor of this organization verifies the record or returns it with a comment.",
    )
    evidence = FileField(
        "Evidence file (optional)",
        description=f"A PDF, PNG or JPEG of at most {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB, such as a certificate "
        "of completion. Only you and your organization's supervisors can open it. Leave out diagnoses and "
        "other health details.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.domain_errors: list[str] = []  # problems with the split of hours across domains
        self.has_organizations = False

    def set_organizations(self, organizations) -> None:
        """Offer the learner's organizations (or, without any, a record nobody can verify yet)."""
        choices = [SelectChoice(str(o.id), o.name) for o in organizations]
        self.has_organizations = bool(choices)
        self.organization.choices = choices or [SelectChoice(NO_ORGANIZATION, "No organization yet")]

    def chosen_organization_id(self) -> int | None:
        value = self.organization.data
        return int(value) if value and value.isdigit() else None

    def record_input(self) -> RecordInput:
        raise NotImplementedError

    def prefill_data(self, values: dict) -> dict:
        """Form data for a correction, from ``learner_pathway.prefill``."""
        return {name: values.get(name) for name in ("title", "provider", "started_on", "ended_on", "hours")} | {
            "organization": values.get("organization", "")
        }

    def detail_fields(self) -> list:
        """The kind's own fields, in order (the template renders them, then organization and evidence)."""
        return []


class TrainingForm(RecordForm):
    kind = "training"
    heading = "Training completed"
    title = StringField("Course title", validators=[DataRequired("Enter the course title."), Length(max=MAX_TITLE)])
    provider = StringField("Provider", validators=[DataRequired("Enter who gave the training."), Length(max=MAX_TITLE)])
    started_on = DateField("Date completed", validators=[InputRequired("Enter the date you completed it.")])
    hours = _hours_field("Total hours")
    domain_ids: list[str] = []

    def domain_fields(self) -> list:
        return [self[f"domain_{i}"] for i in range(len(self.domain_ids))]

    def record_input(self) -> RecordInput:
        split = {d: float(f.data) for d, f in zip(self.domain_ids, self.domain_fields(), strict=True) if f.data}
        return RecordInput(
            "training", self.title.data or "", self.provider.data or "", self.started_on.data, None,
            float(self.hours.data or 0), split,
        )  # fmt: skip

    def prefill_data(self, values: dict) -> dict:
        data = super().prefill_data(values)
        split = values.get("domain_hours") or {}
        data.update({f"domain_{i}": split.get(d) for i, d in enumerate(self.domain_ids)})
        return data

    def detail_fields(self) -> list:
        return [self.title, self.provider, self.started_on, self.hours]


def training_form(domains: dict[str, str], **kwargs) -> TrainingForm:
    """A training form with one optional hours field per domain ({id: label})."""

    class Form(TrainingForm):
        pass

    for index, label in enumerate(domains.values()):
        setattr(Form, f"domain_{index}", _hours_field(f"{label} hours", required=False))
    Form.domain_ids = list(domains)
    return Form(**kwargs)


class ExperienceForm(RecordForm):
    kind = "experience"
    heading = "Work experience"
    title = StringField(
        "Role", validators=[DataRequired("Enter your role, for example Peer support volunteer."), Length(max=MAX_TITLE)]
    )
    provider = StringField(
        "Where you worked", validators=[DataRequired("Enter the employer or program."), Length(max=MAX_TITLE)]
    )
    started_on = DateField("From", validators=[InputRequired("Enter the first day of the period.")])
    ended_on = DateField("To (optional)", validators=[Optional()], description="Leave empty if it is ongoing.")
    hours = _hours_field("Hours in this period", description="Paid or volunteer hours in the peer recovery domains.")

    def record_input(self) -> RecordInput:
        return RecordInput(
            "experience", self.title.data or "", self.provider.data or "", self.started_on.data, self.ended_on.data,
            float(self.hours.data or 0),
        )  # fmt: skip

    def detail_fields(self) -> list:
        return [self.title, self.provider, self.started_on, self.ended_on, self.hours]


SUPERVISION_TITLE = "Supervision session"


class SupervisionForm(RecordForm):
    kind = "supervision"
    heading = "Supervision session"
    provider = StringField(
        "Supervisor", validators=[DataRequired("Enter your supervisor's name."), Length(max=MAX_TITLE)]
    )
    started_on = DateField("Date", validators=[InputRequired("Enter the date of the session.")])
    hours = _hours_field("Hours")
    title = StringField(
        "Topic (optional)", validators=[Optional(), Length(max=MAX_TITLE)], description="For example Boundaries."
    )

    def record_input(self) -> RecordInput:
        title = (self.title.data or "").strip() or SUPERVISION_TITLE
        return RecordInput(
            "supervision", title, self.provider.data or "", self.started_on.data, None, float(self.hours.data or 0)
        )

    def prefill_data(self, values: dict) -> dict:
        data = super().prefill_data(values)
        data["title"] = "" if values.get("title") == SUPERVISION_TITLE else values.get("title")
        return data

    def detail_fields(self) -> list:
        return [self.provider, self.started_on, self.hours, self.title]


class AttestationForm(RecordForm):
    kind = "attestation"
    heading = "Attestation"
    attestation = SelectField("Attestation", choices=[], validators=[DataRequired("Choose an attestation.")])
    started_on = DateField("Date", validators=[InputRequired("Enter the date you made or signed it.")])
    statement = TextAreaField(
        "Statement (optional)",
        validators=[Optional(), Length(max=MAX_STATEMENT)],
        description="Write in your own words. Do not include diagnoses, treatment or other health details.",
    )
    shared = BooleanField(
        "Share this statement with my organization's supervisors",
        description="For private attestations (such as a lived-experience statement) the text stays with you "
        "unless you tick this; supervisors still see that you made the attestation.",
    )

    def set_attestations(self, attestations: list[dict]) -> None:
        def label(spec: dict) -> str:
            flags = (("private", spec.get("private")), ("needs a document", spec.get("document")))
            notes = [note for note, on in flags if on]
            return f"{spec['label']} ({', '.join(notes)})" if notes else spec["label"]

        self.attestation.choices = [SelectChoice("", "Choose one")] + [
            SelectChoice(spec["id"], label(spec)) for spec in attestations
        ]

    def record_input(self) -> RecordInput:
        return RecordInput(
            "attestation", "", "", self.started_on.data, None, 0.0, {}, self.attestation.data or None,
            (self.statement.data or "").strip() or None, bool(self.shared.data),
        )  # fmt: skip

    def prefill_data(self, values: dict) -> dict:
        return {
            "attestation": values.get("attestation"),
            "started_on": values.get("started_on"),
            "statement": values.get("statement"),
            "shared": values.get("shared"),
            "organization": values.get("organization", ""),
        }

    def detail_fields(self) -> list:
        return [self.attestation, self.started_on, self.statement]


FORMS = {"training": TrainingForm, "experience": ExperienceForm, "supervision": SupervisionForm}


def record_form(kind: str, catalog: dict, domains: dict[str, str], organizations, **kwargs) -> RecordForm:
    """The form for one kind of record, with its choices filled in."""
    if kind == "training":
        form = training_form(domains, **kwargs)
    elif kind == "attestation":
        form = AttestationForm(**kwargs)
        form.set_attestations(catalog.get("attestations", []))
    else:
        form = FORMS[kind](**kwargs)
    form.set_organizations(organizations)
    return form


class CertificationForm(FlaskForm):
    certified_on = DateField("Date certified", validators=[InputRequired("Enter the date you were certified.")])
    credential_number = StringField(
        "Credential number",
        validators=[DataRequired("Enter your credential number."), Length(max=MAX_CREDENTIAL)],
        description="As printed on your credential. It starts your recertification cycle.",
    )
