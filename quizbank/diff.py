"""Compare two versions of a bank question by question, by content hash."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class BankDiff:
    """Question ids grouped by what an import of the new side would do to them."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return bool(self.new or self.changed or self.retired)

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("new", "changed", "unchanged", "retired")}

    def lines(self) -> list[str]:
        """Human-readable lines: a summary, then '+ id', '~ id', '- id' for each change."""
        counts = self.counts()
        out = [", ".join(f"{n} {k}" for k, n in counts.items())]
        out += [f"+ {q}" for q in self.new]
        out += [f"~ {q}" for q in self.changed]
        out += [f"- {q}" for q in self.retired]
        return out


def diff_hashes(old: Mapping[str, str], new: Mapping[str, str]) -> BankDiff:
    """Diff two {question id: content hash} maps (old = current state, new = incoming)."""
    result = BankDiff()
    for qid, digest in new.items():
        if qid not in old:
            result.new.append(qid)
        elif old[qid] != digest:
            result.changed.append(qid)
        else:
            result.unchanged.append(qid)
    result.retired = [qid for qid in old if qid not in new]
    for bucket in (result.new, result.changed, result.unchanged, result.retired):
        bucket.sort()
    return result


def bank_hashes(bank) -> dict[str, str]:
    """{question id: content hash} for every question of a loaded Bank."""
    from quizbank.hashing import content_hash, question_content

    return {q.id: content_hash(question_content(s, q)) for s, q in bank.questions()}
