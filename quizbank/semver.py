"""Minimal semantic-version parsing and ordering."""

from __future__ import annotations

import re

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """Return (major, minor, patch) for 'X.Y.Z', or None if it is not plain semver."""
    match = _SEMVER.match(text.strip()) if isinstance(text, str) else None
    return tuple(int(part) for part in match.groups()) if match else None  # type: ignore[return-value]


def bump(version: str, part: str = "minor") -> str:
    """Return the next version: part is 'major', 'minor' or 'patch'."""
    major, minor, patch = parse_version(version) or (0, 0, 0)
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"
