"""Immutable value objects for a loaded bank."""

from __future__ import annotations

from dataclasses import dataclass, field

DIFFICULTIES = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool
    rationale: str


@dataclass(frozen=True)
class Question:
    id: str
    stem: str
    difficulty: str
    options: tuple[Option, ...]
    tags: tuple[str, ...] = ()

    @property
    def correct_index(self) -> int:
        return next(i for i, option in enumerate(self.options) if option.correct)


@dataclass(frozen=True)
class Scenario:
    id: str
    domain: str
    text: str
    questions: tuple[Question, ...]
    tags: tuple[str, ...] = ()
    competencies: tuple[str, ...] = ()
    content_note: str = ""

    @property
    def standalone(self) -> bool:
        """A stand-alone (knowledge) item family: questions with no scenario text."""
        return not self.text


@dataclass(frozen=True)
class ExamForm:
    """One shape of a track's mock exam: same blueprint and cut score, its own length and time."""

    id: str
    title: str
    length: int
    time_limit_minutes: int

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "length": self.length,
            "time_limit_minutes": self.time_limit_minutes,
        }


@dataclass(frozen=True)
class Track:
    id: str
    title: str
    exam_length: int
    time_limit_minutes: int
    cut_score: float
    blueprint: dict[str, float]
    readiness: dict[str, float] = field(default_factory=dict)
    forms: tuple[ExamForm, ...] = ()  # further forms beside the default one (exam.length, exam.time_limit_minutes)
    notes: str = ""  # where the blueprint and cut come from, shown with the exam
    requirements: dict = field(default_factory=dict)  # the credential beyond the exam (quizbank.requirements)

    def as_dict(self) -> dict:
        exam: dict = {
            "length": self.exam_length,
            "time_limit_minutes": self.time_limit_minutes,
            "cut_score": self.cut_score,
        }
        if self.forms:  # only when set, so older manifests stay as they were
            exam["forms"] = [f.as_dict() for f in self.forms]
        data = {"id": self.id, "title": self.title, "exam": exam, "blueprint": dict(self.blueprint)}
        data["readiness"] = dict(self.readiness)
        if self.notes:
            data["notes"] = self.notes
        if self.requirements:
            data["requirements"] = self.requirements
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Track:
        """The inverse of as_dict (a release manifest's track)."""
        exam = data["exam"]
        return cls(
            id=data["id"],
            title=data["title"],
            exam_length=exam["length"],
            time_limit_minutes=exam["time_limit_minutes"],
            cut_score=exam["cut_score"],
            blueprint=data["blueprint"],
            readiness=data.get("readiness", {}),
            forms=tuple(ExamForm(**f) for f in exam.get("forms", ())),
            notes=data.get("notes", ""),
            requirements=data.get("requirements", {}),
        )


@dataclass(frozen=True)
class Bank:
    id: str
    title: str
    version: str
    domains: dict[str, str]
    tags: dict[str, str]
    competencies: dict[str, str]
    scenarios: tuple[Scenario, ...]
    tracks: tuple[Track, ...] = ()

    def questions(self):
        """Yield (scenario, question) pairs in bank order."""
        for scenario in self.scenarios:
            for question in scenario.questions:
                yield scenario, question

    @property
    def question_count(self) -> int:
        return sum(len(s.questions) for s in self.scenarios)

    def manifest(self) -> dict:
        """Everything about the bank except its questions (stored with each release)."""
        return {
            "id": self.id,
            "title": self.title,
            "version": self.version,
            "domains": dict(self.domains),
            "tags": dict(self.tags),
            "competencies": dict(self.competencies),
            "tracks": [t.as_dict() for t in self.tracks],
        }
