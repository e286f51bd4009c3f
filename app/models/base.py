"""Shared column helpers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON

# Plain JSON on every database: PostgreSQL's JSONB would reorder object keys, and the order of a
# bank's domains and blueprint is meaningful. Nothing queries inside these documents.
JSONType = JSON()


def utcnow() -> datetime:
    """Naive UTC now: every timestamp in the database is naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
