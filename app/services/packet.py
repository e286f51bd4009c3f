"""The application packet: the learner's verified records for one track, as a PDF (fpdf2) and as CSV.

Only verified records are listed, with their dates, providers, hours by the track's domains and who verified
them. A private attestation's statement (such as a lived-experience statement) appears only when the learner
chose to share it; otherwise the packet says that it was made and verified, never its text.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from app.models import LearnerRecord, User
from app.services.certificates import latin1
from app.services.cohort_report import safe_cell
from app.services.learner_pathway import certifications_of, training_domains
from app.services.pathway import HoursLine, PathwayProgress, learner_progress, records_of

KIND_TITLES = {
    "training": "Training",
    "experience": "Work experience",
    "supervision": "Supervision",
    "attestation": "Attestations",
}
APP_NAME = "Peer Specialist Trainer"
ATTESTATION_WORDS = {"verified": "verified", "pending": "waiting", "returned": "returned", "missing": "not recorded"}


@dataclass(frozen=True)
class PacketLine:
    """One verified record as the packet shows it."""

    record: LearnerRecord
    label: str  # the title, or the attestation's label in the track
    verified_by: str
    verified_on: date | None
    statement: str | None  # None: no statement, or a private one not shared
    withheld: bool = False  # a private statement exists but is not shared

    @property
    def period(self) -> str:
        start = self.record.started_on.isoformat()
        end = self.record.ended_on
        return f"{start} to {end.isoformat()}" if end and end != self.record.started_on else start


@dataclass(frozen=True)
class Packet:
    """Everything the PDF and the CSV show."""

    learner_name: str
    learner_email: str
    track_id: str
    track_title: str
    label: str
    generated_on: date
    progress: PathwayProgress
    domains: dict[str, str]  # the track's domains, as columns {id: label}
    lines: dict[str, list[PacketLine]] = field(default_factory=dict)  # by kind
    credential_number: str | None = None
    certified_on: date | None = None

    def domain_hours(self, line: PacketLine) -> list[float]:
        """Hours per track domain, then the rest (other domains or not split by domain)."""
        split = [float(line.record.domain_hours.get(d, 0.0)) for d in self.domains]
        return [*split, max(0.0, float(line.record.hours) - sum(split))]


def _line(record: LearnerRecord, attestations: dict[str, dict], private_ids: set[str]) -> PacketLine:
    label = record.title
    if record.kind == "attestation":
        label = attestations.get(record.attestation, {}).get("label", record.attestation or "")
    private = record.attestation in private_ids and not record.shared
    statement = None if private else record.statement
    verifier = record.decided_by.display_name if record.decided_by else ""
    decided = record.decided_at.date() if record.decided_at else None
    return PacketLine(record, label, verifier, decided, statement, withheld=private and bool(record.statement))


def build_packet(user: User, track: dict, private_ids: set[str], today: date | None = None) -> Packet:
    """The learner's verified records for ``track`` (``private_ids``: attestations whose text stays private)."""
    today = today or date.today()
    requirements = track.get("requirements") or {}
    attestations = {a["id"]: a for a in requirements.get("attestations", ())}
    lines: dict[str, list[PacketLine]] = {kind: [] for kind in KIND_TITLES}
    for record in sorted(records_of(user), key=lambda r: (r.started_on, r.id)):
        if record.status != "verified":
            continue
        if record.kind == "attestation" and record.attestation not in attestations:
            continue  # another track's attestation
        lines[record.kind].append(_line(record, attestations, private_ids))
    certification = certifications_of(user).get(track["id"])
    return Packet(
        learner_name=user.display_name,
        learner_email=user.email,
        track_id=track["id"],
        track_title=track["title"],
        label=requirements.get("label", ""),
        generated_on=today,
        progress=learner_progress(user, track, today),
        domains=training_domains(requirements),
        lines=lines,
        credential_number=certification.credential_number if certification else None,
        certified_on=certification.certified_on if certification else None,
    )


def _hours(value: float) -> str:
    return f"{value:g}"


def _requirement_rows(packet: Packet) -> list[HoursLine]:
    cycle = packet.progress.cycle
    return [*packet.progress.hour_lines, *((cycle.hours, *cycle.domains) if cycle else ())]


# --- CSV ----------------------------------------------------------------------------------------------------


def csv_header(packet: Packet) -> list[str]:
    domains = [f"{label} hours" for label in packet.domains.values()]
    return [
        "Kind",
        "Date",
        "Title or attestation",
        "Provider, employer or supervisor",
        "Organization",
        "Hours",
        *domains,
        "Other or not split hours",
        "Verified by",
        "Verified on",
        "Statement",
        "Record",
    ]


def csv_rows(packet: Packet) -> list[list[str]]:
    """A short heading block (learner, track, rules label), a blank row, then one row per verified record."""
    rows: list[list[object]] = [
        ["Application packet", packet.track_title],
        ["Learner", packet.learner_name],
        ["Email", packet.learner_email],
        ["Requirements", packet.label],
        ["Generated on", packet.generated_on.isoformat()],
    ]
    if packet.credential_number:
        rows.append(["Credential", f"{packet.credential_number} (certified {packet.certified_on.isoformat()})"])
    rows += [[], csv_header(packet)]
    for kind, lines in packet.lines.items():
        for line in lines:
            record = line.record
            hours = packet.domain_hours(line) if kind == "training" else ["" for _ in range(len(packet.domains) + 1)]
            statement = "(private, not shared)" if line.withheld else (line.statement or "")
            rows.append(
                [
                    KIND_TITLES[kind],
                    line.period,
                    line.label,
                    record.provider,
                    record.organization.name if record.organization else "",
                    "" if kind == "attestation" else _hours(record.hours),
                    *(_hours(h) if h != "" else "" for h in hours),
                    line.verified_by,
                    line.verified_on.isoformat() if line.verified_on else "",
                    statement,
                    record.id,
                ]
            )
    return [[safe_cell(cell) for cell in row] for row in rows]


def packet_csv(packet: Packet) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(csv_rows(packet))
    return buffer.getvalue()


# --- PDF ----------------------------------------------------------------------------------------------------


def render_pdf(packet: Packet) -> bytes:
    """A US Letter PDF: who, which track, the requirement summary, then every verified record by kind."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="Letter")
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_title(latin1(f"Application packet: {packet.track_title}"))
    pdf.set_author(latin1(packet.learner_name))
    pdf.set_creator(APP_NAME)
    pdf.add_page()
    _pdf_heading(pdf, packet)
    _pdf_summary(pdf, packet)
    for kind, lines in packet.lines.items():
        _pdf_section(pdf, packet, kind, lines)
    pdf.ln(4)
    pdf.set_font("Helvetica", "I", 8)
    pdf.multi_cell(
        0, 4, latin1(f"Generated by {APP_NAME} on {packet.generated_on.isoformat()}. {packet.label}"), new_x="LMARGIN"
    )
    return bytes(pdf.output())


def _text(pdf, text: str, size: float = 10, style: str = "", height: float = 5) -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.multi_cell(0, height, latin1(text), new_x="LMARGIN", new_y="NEXT")


def _pdf_heading(pdf, packet: Packet) -> None:
    _text(pdf, "Certification application packet", 18, "B", 9)
    _text(pdf, packet.track_title, 13, "B", 7)
    if packet.label:
        _text(pdf, packet.label, 9, "I", 4.5)
    pdf.ln(2)
    _text(pdf, f"Learner: {packet.learner_name}")
    _text(pdf, f"Email: {packet.learner_email}")
    if packet.credential_number:
        _text(pdf, f"Credential number: {packet.credential_number}, certified {packet.certified_on.isoformat()}")
    _text(pdf, f"Generated on {packet.generated_on.isoformat()}. Only verified records are listed.", 9)
    pdf.ln(3)


def _pdf_table(pdf, header: list[str], rows: list[list[str]], widths: tuple[float, ...]) -> None:
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(col_widths=widths, first_row_as_headings=True, line_height=4.5) as table:
        for values in [header, *rows]:
            row = table.row()
            for value in values:
                row.cell(latin1(str(value)))
    pdf.ln(3)


def _pdf_summary(pdf, packet: Packet) -> None:
    _text(pdf, "Requirements", 12, "B", 7)
    rows = [
        [line.label, _hours(line.required), _hours(line.verified), _hours(line.missing)]
        for line in _requirement_rows(packet)
    ]
    rows += [[a.label, "", ATTESTATION_WORDS.get(a.status, a.status), ""] for a in packet.progress.attestations]
    _pdf_table(pdf, ["Requirement", "Required hours", "Verified", "Missing"], rows, (100, 25, 30, 25))


def _pdf_section(pdf, packet: Packet, kind: str, lines: list[PacketLine]) -> None:
    _text(pdf, KIND_TITLES[kind], 12, "B", 7)
    if not lines:
        _text(pdf, "No verified records.", 9)
        pdf.ln(2)
        return
    if kind == "attestation":
        rows = [[ln.label, ln.period, _statement_text(ln), ln.verified_by, _on(ln)] for ln in lines]
        _pdf_table(pdf, ["Attestation", "Date", "Statement", "Verified by", "Verified on"], rows, (60, 22, 40, 38, 24))
        for ln in lines:  # statements can be long: paragraphs below the table, which may break across pages
            if ln.statement:
                _text(pdf, f"Statement: {ln.label}", 10, "B")
                _text(pdf, ln.statement, 9, height=4.5)
                pdf.ln(2)
        return
    if kind == "training":
        rows = [[ln.period, ln.label, ln.record.provider, _split(packet, ln), ln.verified_by, _on(ln)] for ln in lines]
        header = ["Date", "Course", "Provider", "Hours by domain", "Verified by", "Verified on"]
        _pdf_table(pdf, header, rows, (22, 40, 32, 46, 24, 20))
        return
    who = "Employer" if kind == "experience" else "Supervisor"
    rows = [[ln.period, ln.label, ln.record.provider, _hours(ln.record.hours), ln.verified_by, _on(ln)] for ln in lines]
    header = ["Date", "Role or topic", who, "Hours", "Verified by", "Verified on"]
    _pdf_table(pdf, header, rows, (36, 40, 36, 16, 34, 22))


def _on(line: PacketLine) -> str:
    return line.verified_on.isoformat() if line.verified_on else ""


def _statement_text(line: PacketLine) -> str:
    if line.withheld:
        return "Private statement (not shared)"
    return "Below" if line.statement else "None"


def _split(packet: Packet, line: PacketLine) -> str:
    """ "6 total: Advocacy 2, Ethical Responsibility 4" (domains with hours only)."""
    hours = packet.domain_hours(line)
    parts = [f"{label} {_hours(h)}" for label, h in zip(packet.domains.values(), hours, strict=False) if h]
    if hours[-1]:
        parts.append(f"other {_hours(hours[-1])}")
    return f"{_hours(line.record.hours)} total: " + ", ".join(parts) if parts else _hours(line.record.hours)
