"""Load and validate a bank folder, collecting every problem as ``file:line: message``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from quizbank import rules
from quizbank.errors import BankError, Problem
from quizbank.model import DIFFICULTIES, Bank, ExamForm, Option, Question, Scenario, Track
from quizbank.requirements import load_requirements
from quizbank.semver import parse_version
from quizbank.yamlsrc import LineDict, LineList, load_yaml

SLUG = rules.SLUG
MAX_FILE_BYTES = 1_000_000

BANK_KEYS = {"id", "title", "version", "domains", "tags", "competencies"}
SCENARIO_KEYS = {"id", "domain", "tags", "competencies", "content_note", "scenario", "questions"}
MAX_CONTENT_NOTE = rules.MAX_CONTENT_NOTE
QUESTION_KEYS = {"id", "stem", "difficulty", "tags", "options"}
OPTION_KEYS = {"text", "correct", "rationale"}
TRACK_KEYS = {"id", "title", "exam", "blueprint", "readiness", "notes", "requirements"}
EXAM_KEYS = {"length", "time_limit_minutes", "cut_score", "forms"}
FORM_KEYS = {"id", "title", "length", "time_limit_minutes"}
DEFAULT_FORM = "short"
MAX_TRACK_NOTES = 2000
READINESS_KEYS = {"min_recent_exams", "domain_floor", "min_coverage", "target_probability"}


class _File:
    """Validation context for one YAML file: typed getters that record problems with lines."""

    def __init__(self, path: Path, display: str, problems: list[Problem]):
        self.path = path
        self.display = display
        self.problems = problems

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.display, line, message))

    def parse(self) -> LineDict | None:
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                self.error(1, f"file is larger than {MAX_FILE_BYTES} bytes")
                return None
            data = load_yaml(self.path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            self.error(1, "file is not UTF-8 text")
            return None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = mark.line + 1 if mark else 1
            reason = getattr(exc, "problem", None) or str(exc)
            self.error(line, f"invalid YAML: {reason}")
            return None
        if not isinstance(data, LineDict):
            self.error(1, "expected a mapping at the top of the file")
            return None
        return data

    def check_keys(self, mapping: LineDict, allowed: set[str], required: Iterable[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.error(mapping.line_of(key), f"unknown key {key!r} in {what}")
        for key in required:
            if key not in mapping:
                self.error(mapping.line, f"{what} is missing required key {key!r}")

    def text(self, mapping: LineDict, key: str, *, required: bool = True) -> str:
        value = mapping.get(key)
        if value is None:
            if required and key in mapping:
                self.error(mapping.line_of(key), f"{key!r} must not be empty")
            return ""
        if not isinstance(value, str):
            self.error(mapping.line_of(key), f"{key!r} must be text, got {_kind(value)} (quote it)")
            return ""
        if required and not value.strip():
            self.error(mapping.line_of(key), f"{key!r} must not be empty")
        return value.strip()

    def slug(self, mapping: LineDict, key: str) -> str:
        value = self.text(mapping, key)
        if value and not SLUG.match(value):
            self.error(mapping.line_of(key), f"{key!r} must be lowercase-kebab-case, got {value!r}")
        return value

    def mapping(self, mapping: LineDict, key: str) -> LineDict:
        value = mapping.get(key)
        if value is None:
            return LineDict()
        if not isinstance(value, LineDict):
            self.error(mapping.line_of(key), f"{key!r} must be a mapping, got {_kind(value)}")
            return LineDict()
        return value

    def sequence(self, mapping: LineDict, key: str) -> LineList:
        value = mapping.get(key)
        if value is None:
            return LineList()
        if not isinstance(value, LineList):
            self.error(mapping.line_of(key), f"{key!r} must be a list, got {_kind(value)}")
            return LineList()
        return value

    def vocabulary_list(self, mapping: LineDict, key: str, vocabulary: dict[str, str]) -> tuple[str, ...]:
        items = self.sequence(mapping, key)
        seen: list[str] = []
        for index, item in enumerate(items):
            line = items.line_of(index)
            if not isinstance(item, str):
                self.error(line, f"{key} entries must be text, got {_kind(item)}")
            elif item not in vocabulary:
                self.error(line, f"unknown {key[:-1] if key.endswith('s') else key} {item!r} (not in bank.yaml)")
            elif item in seen:
                self.error(line, f"{key} lists {item!r} twice")
            else:
                seen.append(item)
        return tuple(seen)

    def number(self, mapping: LineDict, key: str, kind: type, low: float, high: float) -> Any:
        value = mapping.get(key)
        line = mapping.line_of(key)
        if key not in mapping:
            return kind(low)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind is int and not isinstance(value, int))
        ):
            self.error(line, f"{key!r} must be {'a whole number' if kind is int else 'a number'}")
            return kind(low)
        if not low <= value <= high:
            self.error(line, f"{key!r} must be between {low} and {high}, got {value}")
        return kind(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, LineDict):
        return "a mapping"
    if isinstance(value, LineList):
        return "a list"
    if value is None:
        return "nothing"
    return type(value).__name__


def _string_map(f: _File, mapping: LineDict, key: str, *, slug_keys: bool = True) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, label in f.mapping(mapping, key).items():
        line = mapping[key].line_of(name)
        if not isinstance(name, str) or (slug_keys and not SLUG.match(name)):
            f.error(line, f"{key} key {name!r} must be lowercase-kebab-case")
        elif not isinstance(label, str) or not label.strip():
            f.error(line, f"{key} entry {name!r} needs a display name")
        else:
            result[name] = label.strip()
    return result


def _load_manifest(f: _File) -> dict[str, Any] | None:
    data = f.parse()
    if data is None:
        return None
    f.check_keys(data, BANK_KEYS, ("id", "title", "version", "domains", "tags"), "bank.yaml")
    version = data.get("version")
    if "version" in data and (not isinstance(version, str) or parse_version(version) is None):
        f.error(data.line_of("version"), f"version must be semver text like '1.2.0' (quote it), got {version!r}")
    domains = _string_map(f, data, "domains")
    if "domains" in data and not domains:
        f.error(data.line_of("domains"), "at least one domain is required")
    return {
        "id": f.slug(data, "id"),
        "title": f.text(data, "title"),
        "version": version if isinstance(version, str) else "",
        "domains": domains,
        "tags": _string_map(f, data, "tags"),
        "competencies": _string_map(f, data, "competencies"),
    }


def _reported(mapping: LineDict, key: str) -> bool:
    """True when the loader already reported this key: missing (a required key) or not text."""
    value = mapping.get(key)
    return key not in mapping or (value is not None and not isinstance(value, str))


def _rule_problems(f: _File, problems: list[rules.ItemProblem], lines: dict[str, int], reported: set[str]) -> None:
    """Report the item rules' problems at their fields' lines, except for fields already reported."""
    for problem in problems:
        if problem.field not in reported:
            f.error(lines.get(problem.field, lines["*"]), problem.message)


def _load_option(f: _File, raw: Any, line: int) -> tuple[Option | None, set[str]]:
    """The option (None when it is not a mapping) and its parts whose problems are already reported."""
    if not isinstance(raw, LineDict):
        f.error(line, f"an option must be a mapping with text, rationale and optional correct, got {_kind(raw)}")
        return None, {"text", "rationale"}
    f.check_keys(raw, OPTION_KEYS, ("text", "rationale"), "option")
    correct = raw.get("correct", False)
    if not isinstance(correct, bool):
        f.error(raw.line_of("correct"), "'correct' must be true or false")
        correct = False
    reported = {key for key in ("text", "rationale") if _reported(raw, key)}
    option = Option(
        text=f.text(raw, "text", required=False), correct=correct, rationale=f.text(raw, "rationale", required=False)
    )
    return option, reported


def _question_lines(raw: LineDict, raw_options: LineList) -> dict[str, int]:
    """{rule field: line} for a question mapping and its options ('*' is the question's own line)."""
    lines = {
        "*": raw.line,
        "question_id": raw.line_of("id"),
        "stem": raw.line_of("stem"),
        "difficulty": raw.line_of("difficulty"),
        rules.OPTIONS: raw.line_of("options"),
        rules.KEY: raw.line_of("options"),
    }
    for index, item in enumerate(raw_options):
        for part in ("text", "rationale"):
            own = item.line_of(part) if isinstance(item, LineDict) else raw_options.line_of(index)
            lines[rules.option_field(index, part)] = own
    return lines


def _load_question(f: _File, raw: Any, line: int, manifest: dict) -> Question | None:
    """One question mapping: its keys and types here, its content by the item rules (quizbank.rules)."""
    if not isinstance(raw, LineDict):
        f.error(line, f"a question must be a mapping, got {_kind(raw)}")
        return None
    f.check_keys(raw, QUESTION_KEYS, ("id", "stem", "difficulty", "options"), "question")
    difficulty = raw.get("difficulty")
    raw_options = f.sequence(raw, "options")
    loaded = [_load_option(f, item, raw_options.line_of(i)) for i, item in enumerate(raw_options)]
    placeholders = [o or Option(text="", correct=False, rationale="") for o, _ in loaded]
    question = Question(
        id=f.text(raw, "id", required=False),
        stem=f.text(raw, "stem", required=False),
        difficulty=difficulty if difficulty in DIFFICULTIES else "medium",
        options=tuple(o for o, _ in loaded if o is not None),
        tags=f.vocabulary_list(raw, "tags", manifest["tags"]),
    )
    problems = rules.check_question(question.stem, difficulty, placeholders, question.id)
    _rule_problems(f, problems, _question_lines(raw, raw_options), _question_reported(raw, loaded))
    return question


def _question_reported(raw: LineDict, loaded: list[tuple[Option | None, set[str]]]) -> set[str]:
    """Rule fields of a question whose problem the loader already reported (missing keys, values not text)."""
    reported = {rules.option_field(i, part) for i, (_, parts) in enumerate(loaded) for part in parts}
    reported |= {field for field, key in (("question_id", "id"), ("stem", "stem")) if _reported(raw, key)}
    if "difficulty" not in raw:
        reported.add("difficulty")
    if "options" not in raw:
        reported |= {rules.OPTIONS, rules.KEY}
    return reported


def _load_scenario(f: _File, manifest: dict) -> tuple[Scenario, dict[str, int]] | None:
    data = f.parse()
    if data is None:
        return None
    f.check_keys(data, SCENARIO_KEYS, ("id", "domain", "questions"), "scenario")
    domain = f.text(data, "domain")
    if domain and domain not in manifest["domains"]:
        known = ", ".join(manifest["domains"]) or "none"
        f.error(data.line_of("domain"), f"unknown domain {domain!r} (bank.yaml defines: {known})")
    raw_questions = f.sequence(data, "questions")
    if "questions" in data and not raw_questions:
        f.error(data.line_of("questions"), "a scenario needs at least one question")
    lines: dict[str, int] = {}
    questions = []
    for index, raw in enumerate(raw_questions):
        question = _load_question(f, raw, raw_questions.line_of(index), manifest)
        if question is not None:
            questions.append(question)
            lines[question.id] = raw.line_of("id") if isinstance(raw, LineDict) else raw_questions.line_of(index)
    scenario = Scenario(
        id=f.text(data, "id", required=False),
        domain=domain,
        text=f.text(data, "scenario"),
        content_note=f.text(data, "content_note"),
        questions=tuple(questions),
        tags=f.vocabulary_list(data, "tags", manifest["tags"]),
        competencies=f.vocabulary_list(data, "competencies", manifest["competencies"]),
    )
    _check_scenario_rules(f, data, scenario)
    lines[f"scenario:{scenario.id}"] = data.line_of("id")
    if "scenario" not in data and len(raw_questions) > 1:
        f.error(data.line_of("questions"), "a stand-alone item file (no 'scenario' text) holds exactly one question")
    return scenario, lines


def _check_scenario_rules(f: _File, data: LineDict, scenario: Scenario) -> None:
    """The item rules for the scenario's own fields (id, text, content note), at their lines."""
    lines = {
        "*": data.line,
        "scenario_id": data.line_of("id"),
        "scenario": data.line_of("scenario"),
        "content_note": data.line_of("content_note"),
    }
    reported = {field for field, key in (("scenario_id", "id"),) if _reported(data, key)}
    problems = rules.check_scenario(scenario.text, scenario.content_note, scenario.id)
    _rule_problems(f, problems, lines, reported)


def _load_track(f: _File, manifest: dict) -> Track | None:
    data = f.parse()
    if data is None:
        return None
    f.check_keys(data, TRACK_KEYS, ("id", "title", "exam", "blueprint"), "track")
    exam = f.mapping(data, "exam")
    if "exam" in data:
        f.check_keys(exam, EXAM_KEYS, EXAM_KEYS - {"forms"}, "exam")
    notes = f.text(data, "notes")
    if len(notes) > MAX_TRACK_NOTES:
        f.error(data.line_of("notes"), f"'notes' must be at most {MAX_TRACK_NOTES} characters")
    readiness = f.mapping(data, "readiness")
    f.check_keys(readiness, READINESS_KEYS, (), "readiness")
    blueprint: dict[str, float] = {}
    raw_blueprint = f.mapping(data, "blueprint")
    total = 0.0
    for domain in raw_blueprint:
        weight = f.number(raw_blueprint, domain, float, 0.0, 1.0)
        total += weight
        if domain not in manifest["domains"]:
            f.error(raw_blueprint.line_of(domain), f"blueprint names unknown domain {domain!r}")
        else:
            blueprint[domain] = weight
    if blueprint and abs(total - 1.0) > 1e-6:
        f.error(data.line_of("blueprint"), f"blueprint weights must sum to 1.0, got {total:.3f}")
    return Track(
        id=f.slug(data, "id"),
        title=f.text(data, "title"),
        exam_length=f.number(exam, "length", int, 1, 500),
        time_limit_minutes=f.number(exam, "time_limit_minutes", int, 1, 600),
        cut_score=f.number(exam, "cut_score", float, 0.0, 1.0),
        blueprint=blueprint,
        readiness={
            "min_recent_exams": f.number(readiness, "min_recent_exams", int, 0, 50),
            "domain_floor": f.number(readiness, "domain_floor", float, 0.0, 1.0),
            "min_coverage": f.number(readiness, "min_coverage", float, 0.0, 1.0),
            "target_probability": f.number(readiness, "target_probability", float, 0.0, 1.0),
        },
        forms=_load_forms(f, exam),
        notes=notes,
        requirements=load_requirements(f, f.mapping(data, "requirements")),
    )


def _load_forms(f: _File, exam: LineDict) -> tuple[ExamForm, ...]:
    """Further exam forms: each with its own id, title, length and time limit (the blueprint is shared)."""
    raw_forms = f.sequence(exam, "forms")
    forms: list[ExamForm] = []
    for index, raw in enumerate(raw_forms):
        line = raw_forms.line_of(index)
        if not isinstance(raw, LineDict):
            f.error(
                line, f"an exam form must be a mapping with id, title, length and time_limit_minutes, got {_kind(raw)}"
            )
            continue
        f.check_keys(raw, FORM_KEYS, FORM_KEYS, "exam form")
        form = ExamForm(
            id=f.slug(raw, "id"),
            title=f.text(raw, "title"),
            length=f.number(raw, "length", int, 1, 500),
            time_limit_minutes=f.number(raw, "time_limit_minutes", int, 1, 600),
        )
        if form.id in {DEFAULT_FORM, *(existing.id for existing in forms)}:
            f.error(raw.line_of("id"), f"exam form id {form.id!r} is used twice ({DEFAULT_FORM!r} is the default form)")
        forms.append(form)
    return tuple(forms)


def _check_unique_ids(scenarios: list[tuple[Scenario, dict[str, int], str]], problems: list[Problem]) -> None:
    first_seen: dict[str, str] = {}
    for scenario, lines, display in scenarios:
        ids = [(f"scenario:{scenario.id}", scenario.id)] + [(q.id, q.id) for q in scenario.questions]
        for key, ident in ids:
            if not ident:
                continue
            where = f"{display}:{lines.get(key, 1)}"
            if ident in first_seen:
                problems.append(
                    Problem(display, lines.get(key, 1), f"id {ident!r} is already used at {first_seen[ident]}")
                )
            else:
                first_seen[ident] = where


def load_bank(directory: str | Path) -> Bank:
    """Load and validate a bank folder; raise BankError listing every problem found."""
    root = Path(directory)
    problems: list[Problem] = []
    manifest_path = root / "bank.yaml"
    if not manifest_path.is_file():
        raise BankError([Problem(str(manifest_path), 0, "bank.yaml not found")])
    manifest = _load_manifest(_File(manifest_path, str(manifest_path), problems))
    if manifest is None:
        raise BankError(problems)
    scenarios: list[tuple[Scenario, dict[str, int], str]] = []
    for path in sorted((root / "scenarios").glob("*.y*ml")):
        f = _File(path, str(path), problems)
        loaded = _load_scenario(f, manifest)
        if loaded is not None:
            scenario, lines = loaded
            if scenario.id and path.stem != scenario.id:
                f.error(lines[f"scenario:{scenario.id}"], f"file name must match the scenario id ({scenario.id}.yaml)")
            scenarios.append((scenario, lines, str(path)))
    if not scenarios and not problems:
        problems.append(Problem(str(root / "scenarios"), 0, "no scenario files found"))
    _check_unique_ids(scenarios, problems)
    tracks = []
    for path in sorted((root / "tracks").glob("*.y*ml")):
        track = _load_track(_File(path, str(path), problems), manifest)
        if track is not None:
            tracks.append(track)
    if problems:
        raise BankError(problems)
    return Bank(
        scenarios=tuple(sorted((s for s, _, _ in scenarios), key=lambda s: s.id)),
        tracks=tuple(tracks),
        **manifest,
    )
