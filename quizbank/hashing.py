"""Canonical question content and its SHA-256 hash."""

from __future__ import annotations

import hashlib
import json

from quizbank.model import Question, Scenario


def question_content(scenario: Scenario, question: Question) -> dict:
    """The canonical content of one question: everything a learner sees or is scored on."""
    content = {
        "scenario_id": scenario.id,
        "scenario": scenario.text,
        "domain": scenario.domain,
        "competencies": sorted(scenario.competencies),
        "tags": sorted(set(scenario.tags) | set(question.tags)),
        "stem": question.stem,
        "difficulty": question.difficulty,
        "options": [{"text": o.text, "correct": o.correct, "rationale": o.rationale} for o in question.options],
    }
    if scenario.content_note:  # only when set, so items without a note keep their hashes
        content["content_note"] = scenario.content_note
    return content


def content_hash(content: dict) -> str:
    """SHA-256 hex digest of the canonical JSON of question content."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
