"""Write a bank back to the YAML folder format (the inverse of load_bank)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from quizbank.model import Bank, Option, Question, Scenario


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # libyaml's emitter when present
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def _dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def scenario_from_contents(contents: Iterable[tuple[str, dict]]) -> Scenario:
    """Rebuild a Scenario from (question id, canonical content) pairs of one scenario.

    Tags shared by every question go on the scenario, the rest on each question, so that
    loading the written file yields the same canonical content (and the same hashes).
    """
    pairs = list(contents)
    first = pairs[0][1]
    shared = set.intersection(*(set(c["tags"]) for _, c in pairs))
    questions = tuple(
        Question(
            id=qid,
            stem=c["stem"],
            difficulty=c["difficulty"],
            options=tuple(Option(o["text"], bool(o["correct"]), o["rationale"]) for o in c["options"]),
            tags=tuple(sorted(set(c["tags"]) - shared)),
        )
        for qid, c in pairs
    )
    return Scenario(
        id=first["scenario_id"],
        domain=first["domain"],
        text=first["scenario"],
        questions=questions,
        tags=tuple(sorted(shared)),
        competencies=tuple(first["competencies"]),
        content_note=first.get("content_note", ""),
    )


def _question_dict(question: Question) -> dict:
    data: dict = {"id": question.id, "stem": question.stem, "difficulty": question.difficulty}
    if question.tags:
        data["tags"] = list(question.tags)
    data["options"] = [_option_dict(o) for o in question.options]
    return data


def _option_dict(option: Option) -> dict:
    data: dict = {"text": option.text}
    if option.correct:
        data["correct"] = True
    data["rationale"] = option.rationale
    return data


def scenario_yaml(scenario: Scenario) -> str:
    data: dict = {"id": scenario.id, "domain": scenario.domain, "tags": list(scenario.tags)}
    if scenario.competencies:
        data["competencies"] = list(scenario.competencies)
    if scenario.content_note:
        data["content_note"] = scenario.content_note
    if scenario.text:
        data["scenario"] = scenario.text
    data["questions"] = [_question_dict(q) for q in scenario.questions]
    return _dump(data)


def manifest_yaml(bank: Bank) -> str:
    manifest = bank.manifest()
    manifest.pop("tracks")
    return _dump(manifest)


def write_bank(bank: Bank, directory: str | Path) -> Path:
    """Write bank.yaml, scenarios/*.yaml and tracks/*.yaml into directory (created if missing)."""
    root = Path(directory)
    (root / "scenarios").mkdir(parents=True, exist_ok=True)
    (root / "tracks").mkdir(exist_ok=True)
    (root / "bank.yaml").write_text(manifest_yaml(bank), encoding="utf-8")
    for scenario in bank.scenarios:
        (root / "scenarios" / f"{scenario.id}.yaml").write_text(scenario_yaml(scenario), encoding="utf-8")
    for track in bank.tracks:
        (root / "tracks" / f"{track.id}.yaml").write_text(_dump(track.as_dict()), encoding="utf-8")
    return root
