"""Readable codes and secret hashing, written once.

A ``ReadableCode`` describes a family of codes people read aloud or type (certificate codes, organization join
codes): an alphabet without look-alikes, a length, the group size used to show them. Codes are stored in their
canonical form (upper case, no separators) and shown grouped (ABCD-EFGH-JKLM); typed codes are normalised
ignoring case, spaces and dashes (any Unicode dash).

Secrets (invite tokens, join codes, API tokens) are stored only as their SHA-256: ``hash_secret``. They are
high-entropy random values, so a fast hash without salt is enough to make a leaked table useless.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")


@dataclass(frozen=True)
class ReadableCode:
    """A kind of human-readable code: its alphabet, canonical length, shortest accepted length and grouping."""

    alphabet: str
    length: int
    group: int
    min_length: int | None = None  # shortest typed code accepted (chosen codes may be shorter); default: length

    def new(self) -> str:
        """A fresh random code in canonical form."""
        return "".join(secrets.choice(self.alphabet) for _ in range(self.length))

    def normalize(self, raw: str | None) -> str | None:
        """The canonical form of a typed code (case, spaces and dashes ignored), or None if it cannot be one."""
        code = SEPARATORS.sub("", raw or "").upper()
        shortest = self.length if self.min_length is None else self.min_length
        if not shortest <= len(code) <= self.length or any(ch not in self.alphabet for ch in code):
            return None
        return code

    def format(self, code: str) -> str:
        """The canonical code shown in groups: ABCDEFGHJKLM -> ABCD-EFGH-JKLM (group 4)."""
        return "-".join(code[i : i + self.group] for i in range(0, len(code), self.group))


def hash_secret(secret: str) -> str:
    """The stored form of a secret (invite token, join code, API token): its SHA-256 in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(nbytes: int = 32, prefix: str = "") -> str:
    """A random URL-safe secret of nbytes of entropy (about 1.3 characters a byte), after an optional prefix."""
    return prefix + secrets.token_urlsafe(nbytes)
