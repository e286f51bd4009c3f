"""Certificates of readiness: issue from a readiness estimate, look up by code, revoke, render as PDF.

A certificate is a snapshot: the track title, readiness probability and per-domain means are copied into
``details`` when it is issued, so later bank or score changes never alter an issued certificate.
Codes are 12 characters from an alphabet without look-alikes (no 0/O/1/I), stored without dashes and
shown grouped (ABCD-EFGH-JKLM); look-ups ignore case, dashes and spaces.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Certificate, User
from app.models.base import utcnow
from app.services import ServiceError
from app.services.codes import ReadableCode
from app.services.readiness import chance_text

if TYPE_CHECKING:
    from app.services.readiness import Readiness

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: no 0, O, 1 or I
CODE_LENGTH = 12
CODE_GROUP = 4
CODES = ReadableCode(CODE_ALPHABET, CODE_LENGTH, CODE_GROUP)
MAX_REASON_LENGTH = 200
KIND_LABELS = {"readiness": "Certificate of readiness", "completion": "Certificate of completion"}


# Codes -------------------------------------------------------------------------------------------------


def new_code() -> str:
    """A fresh random code (canonical form: 12 upper-case characters, no dashes)."""
    return CODES.new()


def normalize_code(raw: str | None) -> str | None:
    """The canonical form of a typed code (case, dashes and spaces ignored), or None if it cannot be one."""
    return CODES.normalize(raw)


def format_code(code: str) -> str:
    """ABCDEFGHJKLM → ABCD-EFGH-JKLM."""
    return CODES.format(code)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, f"Certificate ({kind})")


def _unused_code() -> str:
    for _ in range(10):
        code = new_code()
        if db.session.scalar(select(Certificate.id).where(Certificate.code == code)) is None:
            return code
    raise RuntimeError("could not find an unused certificate code")  # 32**12 codes: practically unreachable


# Queries -----------------------------------------------------------------------------------------------


def get_by_code(code: str | None) -> Certificate | None:
    """The certificate with this code (typed in any case, with or without dashes and spaces), or None."""
    canonical = normalize_code(code)
    if canonical is None:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code == canonical))


def get_certificate(certificate_id: int) -> Certificate | None:
    return db.session.get(Certificate, certificate_id)


def certificates_for(user: User) -> list[Certificate]:
    """The user's certificates, newest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user.id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def list_certificates() -> list[Certificate]:
    """Every certificate with its holder's account, newest first (site admins)."""
    return list(
        db.session.scalars(
            select(Certificate)
            .options(selectinload(Certificate.user))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def valid_certificate(user: User, track_id: str, kind: str = "readiness") -> Certificate | None:
    """The user's unrevoked certificate of this kind for a track, if they hold one."""
    return db.session.scalars(
        select(Certificate)
        .where(
            Certificate.user_id == user.id,
            Certificate.track == track_id,
            Certificate.kind == kind,
            Certificate.revoked_at.is_(None),
        )
        .order_by(Certificate.id)
        .limit(1)
    ).first()


# Commands ----------------------------------------------------------------------------------------------


def _snapshot(readiness: Readiness) -> dict:
    return {
        "track_title": readiness.track_title,
        "cut_score": readiness.cut_score,
        "probability": round(readiness.probability, 4),
        "chance": readiness.chance,
        "coverage": round(readiness.coverage, 4),
        "domains": [
            {
                "domain": d.domain,
                "name": d.name,
                "weight": d.weight,
                "answered": d.answered,
                "correct": d.correct,
                "mean": round(d.mean, 4),
                "low": round(d.low, 4),
                "high": round(d.high, 4),
            }
            for d in readiness.domains
        ],
        "rules": [{"key": r.key, "label": r.label, "met": r.met, "detail": r.detail} for r in readiness.rules],
    }


def issue_readiness_certificate(user: User, readiness: Readiness, now: datetime | None = None) -> Certificate:
    """Issue a certificate of readiness for ``readiness.track_id``; the user's existing valid one if they hold it.

    Raises ServiceError when the readiness rules are not all met.
    """
    if not readiness.ready:
        unmet = [r.label for r in readiness.rules if not r.met]
        detail = f" Still to do: {'; '.join(unmet)}." if unmet else ""
        raise ServiceError(f"You have not met the readiness standard for {readiness.track_title} yet.{detail}")
    # Serialise concurrent claims by the same user (a row lock on PostgreSQL; SQLite locks the database).
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    existing = valid_certificate(user, readiness.track_id)
    if existing is not None:
        return existing
    certificate = Certificate(
        code=_unused_code(),
        user_id=user.id,
        track=readiness.track_id,
        kind="readiness",
        holder_name=user.display_name[:80],
        details=_snapshot(readiness),
        issued_at=now or utcnow(),
    )
    db.session.add(certificate)
    db.session.flush()
    return certificate


def revoke(certificate: Certificate, reason: str | None, now: datetime | None = None) -> Certificate:
    """Revoke a certificate with a reason; revoking a revoked certificate changes nothing."""
    if certificate.revoked_at is not None:
        return certificate
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Give a reason for revoking the certificate.", field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise ServiceError(f"Keep the reason under {MAX_REASON_LENGTH} characters.", field="reason")
    certificate.revoked_at = now or utcnow()
    certificate.revoked_reason = reason
    db.session.flush()
    return certificate


# PDF ---------------------------------------------------------------------------------------------------

_TYPOGRAPHIC = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2026": "..."}
    | {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Œ": "OE", "œ": "oe", "€": "EUR"}
)  # letters that do not decompose into an ASCII base letter


def latin1(text: str) -> str:
    """Text the core PDF fonts can draw: keep Latin-1 (é, ñ, ü), strip other accents (ł→l), else '?'."""
    out = []
    for ch in unicodedata.normalize("NFC", str(text).translate(_TYPOGRAPHIC)):
        try:
            ch.encode("latin-1")
        except UnicodeEncodeError:
            ascii_form = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
            ch = ascii_form or "?"
        out.append(ch)
    return "".join(out)


def _date(value: datetime) -> str:
    return f"{value.day} {value.strftime('%B %Y')}"


def render_pdf(certificate: Certificate, verify_url: str) -> bytes:
    """A one-page landscape PDF of the certificate; a revoked certificate is marked REVOKED."""
    from fpdf import FPDF

    details = certificate.details or {}
    track_title = details.get("track_title") or certificate.track
    code = format_code(certificate.code)

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 20, 20)
    pdf.set_title(latin1(f"{kind_label(certificate.kind)} {code}"))
    pdf.set_creator("Peer Specialist Trainer")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_draw_color(31, 95, 139)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, pdf.w - 26, pdf.h - 26)

    def line(text: str, size: float, style: str = "", height: float | None = None, gap: float = 0) -> None:
        text = latin1(text)
        pdf.set_font("Helvetica", style, size)
        while size > 9 and pdf.get_string_width(text) > width:
            size -= 1
            pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, height or size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
        if gap:
            pdf.ln(gap)

    pdf.set_y(30)
    pdf.set_text_color(31, 95, 139)
    line(kind_label(certificate.kind), 30, "B", gap=6)
    pdf.set_text_color(29, 36, 51)
    line("This certifies that", 14, gap=3)
    line(certificate.holder_name, 28, "B", gap=4)
    line("has met the readiness standard of the practice track", 14, gap=2)
    line(track_title, 20, "B", gap=4)
    probability = details.get("probability")
    if isinstance(probability, int | float):
        line(f"Estimated chance of reaching the pass mark: {chance_text(probability)}", 12, gap=2)
    line(f"Issued on {_date(certificate.issued_at)}", 12, gap=8)

    pdf.set_font("Courier", "B", 16)
    pdf.cell(width, 8, f"Certificate code: {code}", align="C", new_x="LMARGIN", new_y="NEXT")
    line(f"Verify at {verify_url}", 10, gap=4)
    pdf.set_text_color(91, 100, 117)
    line("Issued by a training tool for practice; this is not an official certification credential.", 9)

    if certificate.revoked_at is not None:
        pdf.set_text_color(168, 50, 31)
        pdf.set_draw_color(168, 50, 31)
        pdf.set_line_width(1.5)
        pdf.set_y(pdf.h - 62)
        pdf.rect(pdf.l_margin + width / 4, pdf.get_y() - 2, width / 2, 30)
        line("REVOKED", 34, "B", height=14)
        reason = certificate.revoked_reason or ""
        line(f"on {_date(certificate.revoked_at)}: {reason}", 10)

    return bytes(pdf.output())
