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


@dataclass(frozen=True)
class Track:
    id: str
    title: str
    exam_length: int
    time_limit_minutes: int
    cut_score: float
    blueprint: dict[str, float]
    readiness: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "exam": {
                "length": self.exam_length,
                "time_limit_minutes": self.time_limit_minutes,
                "cut_score": self.cut_score,
            },
            "blueprint": dict(self.blueprint),
            "readiness": dict(self.readiness),
        }


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
