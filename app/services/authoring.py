"""Web authoring: edit questions as new immutable versions, move versions through statuses, publish releases.

A QuestionVersion's content never changes: saving an edit adds a new version (status "draft"), and only
the ``status`` of the newest version of a question moves (draft -> review -> published -> retired, review ->
draft, retired -> draft). A release takes, for every question, its newest published version.

Each question carries its own copy of its scenario's text, domain and competencies (that copy is part of
the question's content hash, exactly as in the YAML format where a scenario's fields are copied into each
of its questions). Editing them from one question changes only that question unless the author asks to
apply them to the scenario's other questions, which then get new draft versions of their own.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher

from markupsafe import Markup, escape
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import selectinload

import quizbank
from app.extensions import db
from app.models import Bank, BankRelease, Question, QuestionVersion, QuestionVersionTag, ReleaseItem, User
from app.services import ServiceError
from app.services.banks import latest_release, release_hashes
from app.services.permissions import can_manage_bank
from quizbank import rules
from quizbank.diff import BankDiff, diff_hashes
from quizbank.semver import bump, parse_version

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("review",),
    "review": ("published", "draft"),
    "published": ("retired",),
    "retired": ("draft",),
}
MAX_NOTE_LENGTH = 200
OPTION_LETTERS = "ABCD"  # the editor's option rows


# Who may edit ---------------------------------------------------------------------------------------------


def can_edit(user, bank: Bank) -> bool:
    """Site admins edit every bank; trainers only banks owned by an organization where they are trainers."""
    return can_manage_bank(user, bank)


def editable_banks(user) -> list[Bank]:
    """The banks this user may edit, by title."""
    query = select(Bank).order_by(Bank.title)
    if not user.is_admin:
        org_ids = [m.organization_id for m in user.memberships if m.role == "trainer"]
        query = query.where(Bank.organization_id.in_(org_ids))
    return list(db.session.scalars(query))


# Drafts: what an author typed, before it becomes a version ----------------------------------------------


def clean_text(value: str | None) -> str:
    """Browser line endings to \\n and surrounding whitespace removed, as the YAML loader does."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


@dataclass(frozen=True)
class OptionDraft:
    text: str = ""
    rationale: str = ""
    correct: bool = False

    @property
    def is_blank(self) -> bool:
        return not self.text and not self.rationale and not self.correct


@dataclass(frozen=True)
class QuestionDraft:
    """One question with its scenario fields, as edited in the form. Blank option rows are ignored."""

    question_id: str
    scenario_id: str
    domain: str
    scenario: str
    stem: str
    difficulty: str
    tags: tuple[str, ...] = ()
    competencies: tuple[str, ...] = ()
    options: tuple[OptionDraft, ...] = ()
    content_note: str = ""

    def normalised(self) -> QuestionDraft:
        return replace(
            self,
            question_id=self.question_id.strip(),
            scenario_id=self.scenario_id.strip(),
            domain=self.domain.strip(),
            scenario=clean_text(self.scenario),
            content_note=clean_text(self.content_note),
            stem=clean_text(self.stem),
            difficulty=self.difficulty.strip(),
            tags=tuple(t.strip() for t in self.tags if t.strip()),
            competencies=tuple(c.strip() for c in self.competencies if c.strip()),
            options=tuple(OptionDraft(clean_text(o.text), clean_text(o.rationale), o.correct) for o in self.options),
        )

    @property
    def filled_options(self) -> tuple[OptionDraft, ...]:
        return tuple(o for o in self.options if not o.is_blank)


def draft_from_version(version: QuestionVersion) -> QuestionDraft:
    """The draft an author starts from when editing this version."""
    content = version.content
    return QuestionDraft(
        question_id=version.question.stable_id,
        scenario_id=content["scenario_id"],
        domain=content["domain"],
        scenario=content["scenario"],
        content_note=content.get("content_note", ""),
        stem=content["stem"],
        difficulty=content["difficulty"],
        tags=tuple(content["tags"]),
        competencies=tuple(content["competencies"]),
        options=tuple(OptionDraft(o["text"], o["rationale"], bool(o["correct"])) for o in content["options"]),
    )


def draft_content(draft: QuestionDraft) -> dict:
    """Canonical content of a (valid) draft, built with quizbank's own dataclasses and function."""
    options = tuple(quizbank.Option(o.text, o.correct, o.rationale) for o in draft.filled_options)
    question = quizbank.Question(
        id=draft.question_id, stem=draft.stem, difficulty=draft.difficulty, options=options, tags=draft.tags
    )
    scenario = quizbank.Scenario(
        id=draft.scenario_id,
        domain=draft.domain,
        text=draft.scenario,
        questions=(question,),
        competencies=draft.competencies,
        content_note=draft.content_note,
    )
    return quizbank.question_content(scenario, question)


# The bank's vocabulary and ids ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Domains, tags and competencies of a bank, from its latest release's manifest."""

    domains: dict[str, str]
    tags: dict[str, str]
    competencies: dict[str, str]


def vocabulary(bank: Bank) -> Vocabulary:
    """The bank's vocabulary (its latest release's manifest)."""
    release = latest_release(bank.slug)
    if release is None:
        raise ServiceError("This bank has no release yet: import it first.")
    manifest = release.manifest
    return Vocabulary(dict(manifest["domains"]), dict(manifest["tags"]), dict(manifest.get("competencies", {})))


def newest_versions(bank: Bank) -> list[QuestionVersion]:
    """The newest version of every question of the bank, by domain then question id."""
    newest = (
        select(QuestionVersion.question_id, func.max(QuestionVersion.number).label("number"))
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(Question.bank_id == bank.id)
        .group_by(QuestionVersion.question_id)
        .subquery()
    )
    query = (
        select(QuestionVersion)
        .join(
            newest,
            and_(QuestionVersion.question_id == newest.c.question_id, QuestionVersion.number == newest.c.number),
        )
        .join(Question, Question.id == QuestionVersion.question_id)
        .options(selectinload(QuestionVersion.question))
        .order_by(QuestionVersion.domain, Question.stable_id)
    )
    return list(db.session.scalars(query))


def scenario_questions(bank: Bank, scenario_id: str) -> list[QuestionVersion]:
    """Newest versions of the questions whose content belongs to this scenario."""
    return [v for v in newest_versions(bank) if v.content["scenario_id"] == scenario_id]


def scenario_draft(bank: Bank, scenario_id: str) -> QuestionDraft | None:
    """A draft for a new question in an existing scenario: its scenario fields filled in, the rest empty."""
    siblings = scenario_questions(bank, scenario_id)
    if not siblings:
        return None
    content = siblings[0].content
    return QuestionDraft(
        question_id="",
        scenario_id=scenario_id,
        domain=content["domain"],
        scenario=content["scenario"],
        stem="",
        difficulty="medium",
        competencies=tuple(content["competencies"]),
    )


# Validation (the loader's rules, with a message per form field) ------------------------------------------


class DraftInvalid(ServiceError):
    """A draft broke one or more rules; ``errors`` maps form field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        first = next(iter(errors.values()))[0]
        super().__init__(first)
        self.errors = errors


def validate_draft(bank: Bank, draft: QuestionDraft, *, is_new: bool) -> dict[str, list[str]]:
    """Every rule the draft breaks, as {field name: messages}; empty when it is valid.

    The item rules are quizbank.rules (the YAML loader's and the converters' too); then the bank's own:
    unique ids, the vocabulary, stand-alone items. Field names: question_id, scenario_id, domain, tags,
    competencies, scenario, content_note, stem, difficulty, options (count and distinct texts), key (exactly
    one correct), options-<row>-text|rationale.
    """
    errors: dict[str, list[str]] = defaultdict(list)
    vocab = vocabulary(bank)
    _check_item_rules(draft, errors, is_new=is_new)
    if is_new:
        _check_new_ids(bank, draft, errors)
    _check_scenario_fields(draft, vocab, errors)
    _check_standalone(bank, draft, errors)
    _check_vocabulary_list(draft.tags, vocab.tags, "tag", "tags", errors)
    return dict(errors)


def _check_item_rules(draft: QuestionDraft, errors: dict, *, is_new: bool) -> None:
    """quizbank.rules on the draft's filled option rows; option problems go to their row's fields.

    Ids are checked only for a new question (an edit keeps the question's ids).
    """
    rows = [row for row, o in enumerate(draft.options) if not o.is_blank]
    problems = rules.check_item(
        stem=draft.stem,
        difficulty=draft.difficulty,
        options=draft.filled_options,
        scenario=draft.scenario,
        content_note=draft.content_note,
        question_id=draft.question_id if is_new else None,
        scenario_id=draft.scenario_id if is_new else None,
    )
    for problem in problems:
        option = rules.parse_option_field(problem.field)
        name = f"options-{rows[option[0]]}-{option[1]}" if option else problem.field
        errors[name].append(problem.message)


def _check_new_ids(bank: Bank, draft: QuestionDraft, errors: dict) -> None:
    """Ids (checked by the item rules) are unique in the bank; scenarios and questions share one namespace."""
    question_ids = set(db.session.scalars(select(Question.stable_id).where(Question.bank_id == bank.id)))
    scenario_ids = {v.content["scenario_id"] for v in newest_versions(bank)}
    if "question_id" not in errors:
        if draft.question_id in question_ids:
            errors["question_id"].append(f"Id {draft.question_id!r} is already used by a question in this bank.")
        elif draft.question_id in scenario_ids:
            errors["question_id"].append(f"Id {draft.question_id!r} is already used by a scenario in this bank.")
    if "scenario_id" not in errors:
        if draft.scenario_id in question_ids:
            errors["scenario_id"].append(f"Id {draft.scenario_id!r} is already used by a question in this bank.")
        elif draft.scenario_id == draft.question_id:
            errors["scenario_id"].append("The scenario id must differ from the question id.")


def _check_scenario_fields(draft: QuestionDraft, vocab: Vocabulary, errors: dict) -> None:
    if not draft.domain:
        errors["domain"].append("Choose a domain.")
    elif draft.domain not in vocab.domains:
        errors["domain"].append(f"Unknown domain {draft.domain!r} (the bank defines: {', '.join(vocab.domains)}).")
    _check_vocabulary_list(draft.competencies, vocab.competencies, "competency", "competencies", errors)


def _check_standalone(bank: Bank, draft: QuestionDraft, errors: dict) -> None:
    """A stand-alone item (no scenario text) is a family of its own: no other question shares its scenario id."""
    if draft.scenario or not draft.scenario_id:
        return
    others = [v for v in scenario_questions(bank, draft.scenario_id) if v.question.stable_id != draft.question_id]
    if others:
        errors["scenario"].append(
            "Write the scenario text: this scenario has other questions, and only a stand-alone item "
            "(a scenario with one question) may leave it empty."
        )


def _check_vocabulary_list(values, known: dict[str, str], what: str, name: str, errors: dict) -> None:
    seen: set[str] = set()
    for value in values:
        if value not in known:
            errors[name].append(f"Unknown {what} {value!r} (not in the bank's vocabulary).")
        elif value in seen:
            errors[name].append(f"{what.capitalize()} {value!r} is listed twice.")
        seen.add(value)


def _check_note(note: str | None) -> str:
    note = clean_text(note)
    if not note:
        raise ServiceError("Describe the change in a short note.", field="change_note")
    if len(note) > MAX_NOTE_LENGTH:
        raise ServiceError(f"Keep the note to {MAX_NOTE_LENGTH} characters.", field="change_note")
    return note


# Saving: always a new version ------------------------------------------------------------------------------


@dataclass
class SaveResult:
    """What a save did: the new version (None when the content was unchanged) and sibling versions created."""

    question: Question
    version: QuestionVersion | None
    siblings: list[QuestionVersion] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.version is not None or bool(self.siblings)


def create_question(
    bank: Bank, draft: QuestionDraft, author: User, note: str | None, *, apply_to_scenario: bool = False
) -> SaveResult:
    """Add a new question to the bank as version 1 (draft)."""
    draft = draft.normalised()
    errors = validate_draft(bank, draft, is_new=True)
    if errors:
        raise DraftInvalid(errors)
    note = _check_note(note)
    content = draft_content(draft)
    siblings = _sibling_updates(bank, None, content) if apply_to_scenario else []
    question = Question(bank=bank, stable_id=draft.question_id)
    db.session.add(question)
    version = _add_version(question, content, author, note)
    return SaveResult(question, version, _save_siblings(siblings, draft.question_id, author, note))


def save_question(
    question: Question,
    draft: QuestionDraft,
    author: User,
    note: str | None,
    *,
    base_number: int | None = None,
    apply_to_scenario: bool = False,
) -> SaveResult:
    """Save an edit of a question as a new draft version; unchanged content creates nothing.

    ``base_number`` is the version the author started from: if someone saved a newer one meanwhile,
    the save is refused instead of silently overwriting their work. Ids cannot change.
    """
    newest = question.latest
    if base_number is not None and base_number != newest.number:
        raise ServiceError(
            f"Version {newest.number} of this question was saved while you were editing. "
            "Open the editor again to start from the newest version."
        )
    draft = replace(draft.normalised(), question_id=question.stable_id, scenario_id=newest.content["scenario_id"])
    errors = validate_draft(question.bank, draft, is_new=False)
    if errors:
        raise DraftInvalid(errors)
    content = draft_content(draft)
    changed = quizbank.content_hash(content) != newest.content_hash
    siblings = _sibling_updates(question.bank, question, content) if apply_to_scenario else []
    if not changed and not siblings:
        return SaveResult(question, None)
    note = _check_note(note)
    version = _add_version(question, content, author, note) if changed else None
    return SaveResult(question, version, _save_siblings(siblings, question.stable_id, author, note))


def _add_version(question: Question, content: dict, author: User, note: str) -> QuestionVersion:
    number = (question.versions[-1].number if question.versions else 0) + 1
    version = QuestionVersion(
        question=question,
        number=number,
        content=content,
        content_hash=quizbank.content_hash(content),
        status="draft",
        created_by_id=author.id,
        change_note=note,
        domain=content["domain"],
        difficulty=content["difficulty"],
    )
    version.tag_rows = [QuestionVersionTag(tag=tag) for tag in content["tags"]]
    db.session.add(version)
    db.session.flush()
    return version


def _sibling_updates(bank: Bank, question: Question | None, content: dict) -> list[tuple[Question, dict]]:
    """(question, new content) for the scenario's other live questions whose scenario fields differ."""
    updates = []
    for version in scenario_questions(bank, content["scenario_id"]):
        if (question is not None and version.question_id == question.id) or version.status == "retired":
            continue
        draft = replace(
            draft_from_version(version),
            scenario=content["scenario"],
            content_note=content.get("content_note", ""),
            domain=content["domain"],
            competencies=tuple(content["competencies"]),
        )
        new_content = draft_content(draft)
        if quizbank.content_hash(new_content) != version.content_hash:
            updates.append((version.question, new_content))
    return updates


def _save_siblings(updates, source_id: str, author: User, note: str) -> list[QuestionVersion]:
    sibling_note = f"Scenario updated from {source_id}: {note}"[:MAX_NOTE_LENGTH]
    return [_add_version(question, content, author, sibling_note) for question, content in updates]


# Statuses -----------------------------------------------------------------------------------------------


def allowed_transitions(version: QuestionVersion) -> tuple[str, ...]:
    """The statuses this version may move to now (none unless it is its question's newest version)."""
    if version.question.latest.id != version.id:
        return ()
    return TRANSITIONS.get(version.status, ())


def change_status(version: QuestionVersion, status: str) -> QuestionVersion:
    """Move the newest version of a question to another status, if the lifecycle allows it."""
    if version.question.latest.id != version.id:
        raise ServiceError(
            f"Only the newest version (version {version.question.latest.number}) of a question can change status."
        )
    if status not in TRANSITIONS.get(version.status, ()):
        raise ServiceError(f"A {version.status} version cannot become {status or 'that'}.")
    moved = db.session.execute(
        update(QuestionVersion)
        .where(QuestionVersion.id == version.id, QuestionVersion.status == version.status)
        .values(status=status)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(version)
    if not moved:
        raise ServiceError("Someone else changed this version's status meanwhile; check it and try again.")
    return version


# Releases ------------------------------------------------------------------------------------------------


def release_candidates(bank: Bank) -> dict[str, QuestionVersion]:
    """{question id: its newest published version}, leaving out retired questions and never-published ones.

    A question is retired when its newest version is retired.
    """
    questions = db.session.scalars(
        select(Question).where(Question.bank_id == bank.id).options(selectinload(Question.versions))
    )
    candidates = {}
    for question in questions:
        if not question.versions or question.latest.status == "retired":
            continue
        published = [v for v in question.versions if v.status == "published"]
        if published:
            candidates[question.stable_id] = published[-1]
    return candidates


@dataclass
class ReleasePlan:
    """What publishing a release now would contain, compared with the latest release."""

    latest: BankRelease
    candidates: dict[str, QuestionVersion]
    diff: BankDiff

    @property
    def next_version(self) -> str:
        return bump(self.latest.version, "minor")


def plan_release(bank: Bank) -> ReleasePlan:
    """The release that "Publish a release" would create now."""
    latest = latest_release(bank.slug)
    if latest is None:
        raise ServiceError("This bank has no release yet: import it first.")
    candidates = release_candidates(bank)
    new_hashes = {stable_id: v.content_hash for stable_id, v in candidates.items()}
    return ReleasePlan(latest, candidates, diff_hashes(release_hashes(latest), new_hashes))


def publish_release(bank: Bank, version: str, note: str | None, author: User | None = None) -> BankRelease:
    """Create a release of every question's newest published version; trainees get it at once.

    The manifest is copied from the latest release with the new version; ``counts`` holds the diff
    against that release; ``note`` and ``author`` are kept on the release. Refused when nothing changed or the
    version is not a greater semver.
    """
    plan = plan_release(bank)
    if not plan.diff.has_changes:
        raise ServiceError(
            f"Nothing has changed since release {plan.latest.version}: publish some question versions first."
        )
    _check_release_version(version, plan.latest.version)
    note = clean_text(note)
    if not note:
        raise ServiceError("Describe this release in a short note.", field="note")
    if len(note) > MAX_NOTE_LENGTH:
        raise ServiceError(f"Keep the note to {MAX_NOTE_LENGTH} characters.", field="note")
    manifest = {**copy.deepcopy(plan.latest.manifest), "version": version.strip()}
    release = BankRelease(
        bank=bank,
        version=version.strip(),
        manifest=manifest,
        counts=plan.diff.counts(),
        note=note,
        created_by_id=author.id if author is not None else None,
    )
    db.session.add(release)
    db.session.flush()
    db.session.add_all(ReleaseItem(release_id=release.id, question_version_id=v.id) for v in plan.candidates.values())
    db.session.flush()
    return release


def _check_release_version(version: str, latest: str) -> None:
    parsed = parse_version(version)
    if parsed is None:
        raise ServiceError(f"Use a version like {bump(latest, 'minor')} (major.minor.patch).", field="version")
    if parsed <= (parse_version(latest) or (0, 0, 0)):
        raise ServiceError(
            f"The version must be greater than the latest release {latest} (for example {bump(latest, 'minor')}).",
            field="version",
        )


# History and side-by-side diff ----------------------------------------------------------------------------


def version_authors(versions: list[QuestionVersion]) -> dict[int, str]:
    """{user id: display name} for the authors of these versions (imported versions have none)."""
    ids = {v.created_by_id for v in versions if v.created_by_id is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


@dataclass(frozen=True)
class DiffRow:
    """One field of two versions side by side; ``old``/``new`` are escaped HTML with <del>/<ins> marks."""

    label: str
    old: Markup
    new: Markup
    changed: bool


_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(old: str, new: str) -> tuple[Markup, Markup]:
    """Both texts escaped, with removed words wrapped in <del> on the old side and added ones in <ins>."""
    old_tokens, new_tokens = _TOKENS.findall(old), _TOKENS.findall(new)
    old_out, new_out = [], []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old_tokens, new_tokens, autojunk=False).get_opcodes():
        removed, added = "".join(old_tokens[i1:i2]), "".join(new_tokens[j1:j2])
        if tag == "equal":
            old_out.append(escape(removed))
            new_out.append(escape(added))
            continue
        if removed:
            old_out.append(Markup("<del>{}</del>").format(removed))
        if added:
            new_out.append(Markup("<ins>{}</ins>").format(added))
    return Markup("").join(old_out), Markup("").join(new_out)


def compare_versions(old: QuestionVersion, new: QuestionVersion) -> list[DiffRow]:
    """Every field of two versions side by side, changed rows marked, with a word-level diff."""
    rows = []
    for label, before, after in _field_pairs(old.content, new.content):
        old_html, new_html = word_diff(before, after)
        rows.append(DiffRow(label, old_html, new_html, before != after))
    return rows


def _field_pairs(a: dict, b: dict):
    yield "Scenario id", a["scenario_id"], b["scenario_id"]
    yield "Domain", a["domain"], b["domain"]
    yield "Competencies", ", ".join(a["competencies"]), ", ".join(b["competencies"])
    yield "Scenario", a["scenario"], b["scenario"]
    yield "Question", a["stem"], b["stem"]
    yield "Difficulty", a["difficulty"], b["difficulty"]
    yield "Tags", ", ".join(a["tags"]), ", ".join(b["tags"])
    for row in range(max(len(a["options"]), len(b["options"]))):
        letter = OPTION_LETTERS[row] if row < len(OPTION_LETTERS) else str(row + 1)
        before, after = _option(a, row), _option(b, row)
        yield f"Option {letter} text", before["text"], after["text"]
        yield f"Option {letter} correct", before["correct"], after["correct"]
        yield f"Option {letter} rationale", before["rationale"], after["rationale"]


def _option(content: dict, row: int) -> dict[str, str]:
    if row >= len(content["options"]):
        return {"text": "", "correct": "", "rationale": ""}
    option = content["options"][row]
    return {
        "text": option["text"],
        "correct": "correct" if option["correct"] else "no",
        "rationale": option["rationale"],
    }


# Preview ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewAnswer:
    """Stands in for a Response on the preview page: options in their authored order, nothing saved."""

    version: QuestionVersion
    chosen_option: int | None = None

    def shown_options(self) -> list[tuple[int, dict]]:
        return list(enumerate(self.version.options))

    @property
    def is_answered(self) -> bool:
        return self.chosen_option is not None

    @property
    def correct(self) -> bool:
        return self.chosen_option == self.version.correct_index


def preview_answer(version: QuestionVersion, choice: str | None) -> PreviewAnswer:
    """The preview state for an optional chosen option (a position in the shown order); bad input is ignored."""
    if choice is None or not choice.isdigit() or int(choice) >= len(version.options):
        return PreviewAnswer(version)
    return PreviewAnswer(version, int(choice))
