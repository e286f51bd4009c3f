"""WTForms forms. Forms validate input; services enforce the rules."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional

from app.services.accounts import MIN_PASSWORD_LENGTH
from app.services.practice import PRACTICE_SIZES


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me logged in on this device")


class RegisterForm(FlaskForm):
    display_name = StringField("Display name", validators=[DataRequired(), Length(max=80)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")])


class PostForm(FlaskForm):
    """A form with no fields: a CSRF-protected button (log out, finish)."""


class PracticeStartForm(FlaskForm):
    domain = SelectField("Domain", choices=[])
    tag = SelectField("Topic", choices=[])
    count = SelectField(
        "Number of questions",
        choices=[SelectChoice(str(n)) for n in PRACTICE_SIZES],
        default=str(PRACTICE_SIZES[1]),
    )
    order = SelectField(
        "Which questions first",
        choices=[
            SelectChoice("least-seen", "Least seen first"),
            SelectChoice("adaptive", "Matched to my level (most informative first)"),
        ],
        default="least-seen",
        description="Matched to my level picks, among the questions you have seen least, those whose difficulty is "
        "closest to your estimated ability in each domain: they tell you (and the estimate) the most.",
    )

    @classmethod
    def for_release(cls, domains: dict[str, str], tags: dict[str, str], **kwargs) -> PracticeStartForm:
        form = cls(**kwargs)
        form.domain.choices = [SelectChoice("", "Any domain")] + [SelectChoice(k, v) for k, v in domains.items()]
        by_label = sorted(tags.items(), key=lambda kv: kv[1].lower())
        form.tag.choices = [SelectChoice("", "Any topic")] + [SelectChoice(k, v) for k, v in by_label]
        return form


def answer_form(option_count: int, *, required: bool = True, **kwargs) -> FlaskForm:
    """A radio form whose values are positions in the shown order (never the answer key).

    Exams may move on without answering (``required=False``); practice needs an answer.
    """
    presence = InputRequired("Choose one of the options.") if required else Optional()

    class AnswerForm(FlaskForm):
        choice = RadioField(
            "Your answer",
            choices=[SelectChoice(str(i)) for i in range(option_count)],
            validators=[presence],
        )
        go = HiddenField()

    return AnswerForm(**kwargs)
