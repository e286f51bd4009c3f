"""The learner's certification pathway: requirement arithmetic (hand-computed), records and evidence over HTTP,
corrections and withdrawal, privacy of statements, the pathway page, certification, reminders and the packet.

Date convention (tested below): a record's date is the calendar date the learner enters, their local date,
with no time zone. A session finished at 11:30 pm in UTC-8 on December 31 is dated December 31 although it was
January 1 in UTC when it was saved; it counts in the cycle containing December 31.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import subprocess
import zlib
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import Certification, EvidenceFile, LearnerRecord, Organization
from app.services import accounts, learner_pathway, readiness, records
from app.services.pathway import RecordValue, add_months, current_cycle, progress_for, value_of
from app.services.readiness import Readiness, RuleCheck
from app.services.records import MAX_EVIDENCE_BYTES
from tests.conftest import get_token, login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%fake but signed\n"
LEARNER = "lee@acme.org"

# The mini bank's track (tests/banks/mini/tracks/basic.yaml), copied here so the arithmetic is visible.
REQUIREMENTS = {
    "label": "A small test credential. Check your board's current rules.",
    "education": {
        "hours": 12,
        "domains": {
            "advocacy": {"label": "Advocacy", "hours": 4},
            "ethics": {"label": "Ethical Responsibility", "hours": 6},
        },
    },
    "experience": {"hours": 40},
    "supervision": {"hours": 5},
    "attestations": [
        {"id": "diploma", "label": "High school diploma or equivalency", "document": True, "private": False},
        {"id": "code-of-ethics", "label": "Signed the code of ethics", "document": False, "private": False},
        {"id": "lived-experience", "label": "Statement of lived experience", "document": False, "private": True},
    ],
    "recertification": {
        "cycle_months": 24,
        "hours": 10,
        "domains": {"ethics": {"label": "Ethical Responsibility", "hours": 3}},
    },
}


def training(hours, split=None, status="verified", on=date(2024, 1, 10)) -> RecordValue:
    return RecordValue("training", status, hours, split or {}, on)


def line(progress, key):
    return next(x for x in progress.hour_lines if x.key == key)


# --- Requirement arithmetic (pure, hand-computed) ------------------------------------------------------------


def test_partial_hours_split_into_verified_pending_and_missing():
    records_ = [
        training(3, {"advocacy": 2, "ethics": 1}),
        training(4, {"advocacy": 3}),  # 1 hour not split by domain: counts toward the total only
        training(5, {"ethics": 5}, status="pending"),
        training(9, {"ethics": 9}, status="returned"),  # returned: neither verified nor pending
        RecordValue("experience", "verified", 12.5, {}, date(2024, 2, 1)),
        RecordValue("supervision", "pending", 2, {}, date(2024, 2, 2)),
    ]
    progress = progress_for(REQUIREMENTS, records_, today=date(2024, 6, 1))

    total = line(progress, "education")
    assert (total.verified, total.pending, total.missing) == (7, 5, 5)  # 3 + 4 verified; 12 - 7 missing
    assert total.share == pytest.approx(7 / 12) and not total.met
    advocacy = line(progress, "education:advocacy")
    assert (advocacy.verified, advocacy.pending, advocacy.missing, advocacy.met) == (5, 0, 0, True)  # 2 + 3 >= 4
    ethics = line(progress, "education:ethics")
    assert (ethics.verified, ethics.pending, ethics.missing) == (1, 5, 5)
    experience = line(progress, "experience")
    assert (experience.verified, experience.missing) == (12.5, 27.5)
    supervision = line(progress, "supervision")
    assert (supervision.verified, supervision.pending, supervision.missing) == (0, 2, 5)
    assert progress.pending == 3  # education total, ethics, supervision have pending hours
    assert not progress.requirements_met
    assert progress.checklist()[:3] == [
        "5 more verified education (all domains) hours",
        "5 more verified education: ethical responsibility hours",
        "27.5 more verified work experience hours",
    ]


def test_superseded_records_do_not_count():
    old = training(10, {"advocacy": 4, "ethics": 6}, status="superseded")
    correction = training(6, {"advocacy": 4, "ethics": 2})
    progress = progress_for(REQUIREMENTS, [old, correction])
    assert line(progress, "education").verified == 6  # not 16
    assert line(progress, "education:ethics").verified == 2
    assert line(progress, "education:ethics").pending == 0


def test_a_domain_minimum_blocks_even_when_the_total_is_met():
    records_ = [
        training(12, {"advocacy": 8, "ethics": 4}),  # total 12 of 12 met; ethics 4 of 6
        RecordValue("experience", "verified", 40, {}, date(2024, 1, 2)),
        RecordValue("supervision", "verified", 5, {}, date(2024, 1, 3)),
        *(
            RecordValue("attestation", "verified", 0, {}, date(2024, 1, 4), a["id"])
            for a in REQUIREMENTS["attestations"]
        ),
    ]
    progress = progress_for(REQUIREMENTS, records_)
    assert line(progress, "education").met
    assert not line(progress, "education:ethics").met
    assert not progress.requirements_met
    assert progress.checklist() == ["2 more verified education: ethical responsibility hours"]

    records_[0] = training(12, {"advocacy": 6, "ethics": 6})
    assert progress_for(REQUIREMENTS, records_).requirements_met


def test_attestation_status_prefers_verified_then_pending_then_returned():
    def status_of(*statuses):
        values = [RecordValue("attestation", s, 0, {}, date(2024, 1, 1), "diploma") for s in statuses]
        return progress_for(REQUIREMENTS, values).attestations[0].status

    assert status_of() == "missing"
    assert status_of("returned") == "returned"
    assert status_of("returned", "pending") == "pending"
    assert status_of("pending", "verified", "returned") == "verified"
    assert status_of("superseded") == "missing"


def test_cycle_boundaries_a_record_on_the_first_day_counts_in_the_new_cycle():
    certified = date(2022, 3, 15)
    records_ = [
        training(4, {"ethics": 1}, on=date(2024, 3, 14)),  # last day of cycle 1
        training(6, {"ethics": 3}, on=date(2024, 3, 15)),  # first day of cycle 2
        training(2, {"ethics": 2}, on=date(2022, 3, 14)),  # before certification: initial requirements only
    ]
    cycle1 = current_cycle(REQUIREMENTS, certified, records_, today=date(2024, 3, 14))
    assert (cycle1.number, cycle1.start, cycle1.end) == (1, date(2022, 3, 15), date(2024, 3, 15))
    assert cycle1.hours.verified == 4 and cycle1.domains[0].verified == 1
    assert cycle1.days_left(date(2024, 3, 14)) == 1

    cycle2 = current_cycle(REQUIREMENTS, certified, records_, today=date(2024, 3, 15))
    assert (cycle2.number, cycle2.start, cycle2.end) == (2, date(2024, 3, 15), date(2026, 3, 15))
    assert cycle2.hours.verified == 6 and cycle2.domains[0].verified == 3
    assert (cycle2.hours.missing, cycle2.domains[0].met, cycle2.met) == (4, True, False)

    progress = progress_for(REQUIREMENTS, records_, certified_on=certified, today=date(2024, 3, 15))
    assert line(progress, "education").verified == 2  # only training dated before the certification


def test_leap_day_certification_keeps_its_anniversary():
    assert add_months(date(2020, 2, 29), 24) == date(2022, 2, 28)  # no Feb 29 in 2022: the month's last day
    assert add_months(date(2020, 2, 29), 48) == date(2024, 2, 29)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), -2) == date(2022, 11, 30)

    certified = date(2020, 2, 29)
    first = current_cycle(REQUIREMENTS, certified, [], today=date(2022, 2, 27))
    assert (first.number, first.start, first.end) == (1, date(2020, 2, 29), date(2022, 2, 28))
    second = current_cycle(REQUIREMENTS, certified, [], today=date(2022, 2, 28))
    assert (second.number, second.start, second.end) == (2, date(2022, 2, 28), date(2024, 2, 29))
    # Counted from the certification date, not from the clipped Feb 28: cycle 3 starts on the leap day again.
    third = current_cycle(REQUIREMENTS, certified, [], today=date(2024, 2, 29))
    assert (third.number, third.start, third.end) == (3, date(2024, 2, 29), date(2026, 2, 28))
    assert current_cycle(REQUIREMENTS, certified, [], today=date(2024, 2, 28)).number == 2


def test_a_cycle_before_the_certification_date_is_the_first_one():
    cycle = current_cycle(REQUIREMENTS, date(2025, 1, 1), [], today=date(2024, 12, 1))
    assert (cycle.number, cycle.start, cycle.end) == (1, date(2025, 1, 1), date(2027, 1, 1))


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 3, 15) - date.resolution * 91, None),
        (date(2026, 3, 15) - date.resolution * 90, 90),
        (date(2026, 3, 15) - date.resolution * 31, 90),
        (date(2026, 3, 15) - date.resolution * 30, 30),
        (date(2026, 3, 14), 30),
    ],
)
def test_reminder_thresholds(today, expected):
    cycle = current_cycle(REQUIREMENTS, date(2024, 3, 15), [], today=today)
    assert cycle.end == date(2026, 3, 15)
    assert cycle.reminder(today) == expected


def test_dates_are_the_learners_calendar_dates_not_utc():
    """Entered at 11:30 pm on Dec 31 in UTC-8 (07:30 UTC on Jan 1): the record is dated Dec 31."""
    certified = date(2022, 1, 1)  # cycle 1 ends (cycle 2 starts) on 2024-01-01
    late_evening = training(3, {"ethics": 3}, on=date(2023, 12, 31))
    assert current_cycle(REQUIREMENTS, certified, [late_evening], today=date(2023, 12, 31)).hours.verified == 3
    assert current_cycle(REQUIREMENTS, certified, [late_evening], today=date(2024, 1, 1)).hours.verified == 0


# --- Catalog ----------------------------------------------------------------------------------------------------


def test_the_catalog_merges_every_tracks_domains_and_attestations():
    one = {"requirements": REQUIREMENTS}
    two = {
        "requirements": {
            "education": {"hours": 5, "domains": {"harm-reduction": {"label": "Harm Reduction", "hours": 5}}},
            "attestations": [{"id": "diploma", "label": "Diploma (other label)", "private": True}],
        }
    }
    catalog = learner_pathway.requirement_catalog([one, two])
    assert learner_pathway.training_domains(catalog) == {
        "advocacy": "Advocacy",
        "ethics": "Ethical Responsibility",
        "harm-reduction": "Harm Reduction",
    }
    diploma = learner_pathway.attestation_spec(catalog, "diploma")
    assert diploma["label"] == "High school diploma or equivalency" and diploma["document"] and diploma["private"]
    assert learner_pathway.private_attestations(catalog) == {"diploma", "lived-experience"}
    data = records.RecordInput("training", "Course", "Org", date(2024, 1, 1), None, 5, {"harm-reduction": 5})
    assert records.validate(data, catalog) == []


# --- HTTP helpers ---------------------------------------------------------------------------------------------


def org_id(app, slug: str = "acme") -> int:
    with app.app_context():
        return db.session.scalar(select(Organization.id).where(Organization.slug == slug))


def client_for(app, make_user, email: str, **options):
    client = app.test_client()
    make_user(email, **options)
    assert login(client, email).status_code == 302
    return client


@pytest.fixture
def learner(app, make_user, mini_release):
    """A logged-in learner of the acme organization."""
    return client_for(app, make_user, LEARNER, role="learner", org="acme")


def post_record(client, kind: str, data: dict, *, url: str | None = None, evidence: tuple[bytes, str] | None = None):
    url = url or f"/records/new/{kind}"
    form = {**data, "csrf_token": get_token(client, url)}
    if evidence is not None:
        form["evidence"] = (io.BytesIO(evidence[0]), evidence[1])
    return client.post(url, data=form, content_type="multipart/form-data")


def training_data(app, **overrides) -> dict:
    data = {
        "title": "Ethics and boundaries",
        "provider": "Acme Training Institute",
        "started_on": "2024-03-01",
        "hours": "6",
        "domain_0": "2",  # advocacy
        "domain_1": "4",  # ethics
        "organization": str(org_id(app)),
    }
    return {**data, **overrides}


def only_record(app, email: str = LEARNER, **where) -> LearnerRecord:
    with app.app_context():
        user = accounts.find_user(email)
        rows = db.session.scalars(
            select(LearnerRecord).where(LearnerRecord.user_id == user.id).filter_by(**where).order_by(LearnerRecord.id)
        ).all()
        assert len(rows) == 1, rows
        db.session.expunge_all()
        return rows[0]


def record_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(LearnerRecord))


def decide(app, record_id: int, supervisor_email: str, verified: bool = True, comment: str | None = None) -> None:
    with app.app_context():
        record = db.session.get(LearnerRecord, record_id)
        records.decide(record, accounts.find_user(supervisor_email), verified, comment)
        db.session.commit()


def html(response) -> str:
    return response.get_data(as_text=True)


def text_of(markup: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


# --- Records over HTTP ----------------------------------------------------------------------------------------


def test_create_a_training_record_with_hours_split_across_domains(app, learner):
    page = html(learner.get("/records/new/training"))
    assert 'enctype="multipart/form-data"' in page
    assert "Advocacy hours" in page and "Ethical Responsibility hours" in page
    assert '<label for="organization">' in page and ">Acme</option>" in page
    assert "nobody can verify this record" not in page

    response = post_record(learner, "training", training_data(app))
    record = only_record(app)
    assert response.status_code == 302 and response.location == f"/records/{record.id}"
    assert (record.kind, record.status, record.title, record.provider) == (
        "training",
        "pending",
        "Ethics and boundaries",
        "Acme Training Institute",
    )
    assert (record.started_on, record.hours, record.domain_hours) == (
        date(2024, 3, 1),
        6.0,
        {"advocacy": 2.0, "ethics": 4.0},
    )
    assert record.organization_id == org_id(app)

    detail = text_of(html(learner.get(f"/records/{record.id}")))
    assert "Waiting for verification" in detail and "Recorded" in detail and "Lee" in detail
    listing = text_of(html(learner.get("/records/")))
    assert "Ethics and boundaries" in listing and "March 1, 2024" in listing


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        (
            "experience",
            {"title": "Peer support volunteer", "provider": "Harbor House", "started_on": "2024-01-01",
             "ended_on": "2024-02-29", "hours": "32.5"},
            {"title": "Peer support volunteer", "provider": "Harbor House", "hours": 32.5,
             "ended_on": date(2024, 2, 29)},
        ),
        (
            "supervision",
            {"provider": "Sam Supervisor", "started_on": "2024-02-05", "hours": "1.5", "title": ""},
            {"title": "Supervision session", "provider": "Sam Supervisor", "hours": 1.5, "ended_on": None},
        ),
        (
            "attestation",
            {"attestation": "code-of-ethics", "started_on": "2024-02-06", "statement": "I signed it."},
            {"attestation": "code-of-ethics", "hours": 0.0, "statement": "I signed it.", "shared": False},
        ),
    ],
)  # fmt: skip
def test_create_experience_supervision_and_attestation_records(app, learner, kind, data, expected):
    response = post_record(learner, kind, {**data, "organization": str(org_id(app))})
    assert response.status_code == 302, text_of(html(response))
    record = only_record(app)
    assert record.kind == kind and record.status == "pending"
    assert {name: getattr(record, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"domain_0": "5", "domain_1": "4"}, "The domain hours (9) add up to more than the total (6)."),
        ({"hours": "0"}, "Enter the hours: more than 0"),
        ({"hours": "lots"}, "Not a valid float value."),
        ({"title": ""}, "Enter the course title."),
        ({"started_on": "2999-01-01"}, "The date cannot be in the future."),
        ({"started_on": "March first"}, "Not a valid date value."),
        ({"organization": "99999"}, "Not a valid choice."),
    ],
)
def test_bad_record_input_gets_a_form_message_not_a_500(app, learner, overrides, message):
    response = post_record(learner, "training", training_data(app, **overrides))
    assert response.status_code == 200
    assert message in html(response)
    assert record_count(app) == 0


def test_another_organizations_id_is_not_offered_or_accepted(app, learner, make_user):
    make_user("gil@globex.org", role="supervisor", org="globex")
    assert ">Globex</option>" not in html(learner.get("/records/new/supervision"))
    data = {"provider": "Gil", "started_on": "2024-01-01", "hours": "1", "organization": str(org_id(app, "globex"))}
    response = post_record(learner, "supervision", data)
    assert response.status_code == 200 and "Not a valid choice." in html(response)
    assert record_count(app) == 0


def test_unknown_kind_is_404(learner):
    assert learner.get("/records/new/diagnosis").status_code == 404


def test_a_learner_without_an_organization_is_told_nobody_can_verify_yet(app, make_user, mini_release):
    client = client_for(app, make_user, "solo@example.org")
    page = text_of(html(client.get("/records/new/training")))
    assert "No organization yet" in page and "nobody can verify this record" in page
    response = post_record(client, "training", training_data(app, organization=""))
    assert response.status_code == 302
    assert only_record(app, "solo@example.org").organization_id is None


# --- Evidence files ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"just some text pretending to be a PDF", "certificate.pdf", "Upload a PDF, PNG or JPEG file."),
        (b"GIF89a" + b"\x00" * 20, "scan.png", "Upload a PDF, PNG or JPEG file."),
        (PDF + b"\x00" * MAX_EVIDENCE_BYTES, "huge.pdf", "Files can be at most 5 MB."),
    ],
)
def test_evidence_of_the_wrong_type_or_too_large_is_refused(app, learner, content, name, message):
    response = post_record(learner, "training", training_data(app), evidence=(content, name))
    assert response.status_code == 200
    assert message in html(response)
    assert record_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EvidenceFile)) == 0


def test_a_request_over_the_upload_limit_shows_the_form_with_a_message(app, learner):
    too_big = PDF + b"\x00" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = post_record(learner, "training", training_data(app), evidence=(too_big, "huge.pdf"))
    assert response.status_code == 413
    assert "Files can be at most 5 MB." in html(response) and 'name="title"' in html(response)


def test_evidence_is_stored_outside_the_web_root_and_served_only_to_the_owner_and_supervisors(app, learner, make_user):
    response = post_record(learner, "training", training_data(app), evidence=(PNG, "../../certificate.png"))
    assert response.status_code == 302
    record = only_record(app)
    with app.app_context():
        evidence = db.session.get(EvidenceFile, record.evidence_id)
        assert (evidence.content_type, evidence.size, evidence.original_name) == (
            "image/png",
            len(PNG),
            "certificate.png",
        )
        path = records.evidence_path(evidence, Path(app.config["EVIDENCE_DIR"]))
    assert path.read_bytes() == PNG
    assert not str(path).startswith(app.static_folder)

    url = f"/records/evidence/{record.evidence_id}"
    assert url in html(learner.get(f"/records/{record.id}"))
    own = learner.get(url)
    assert own.status_code == 200 and own.data == PNG
    assert own.headers["Content-Type"] == "image/png"
    assert own.headers["Content-Disposition"].startswith("attachment")
    assert "no-store" in own.headers["Cache-Control"]

    supervisor = client_for(app, make_user, "sue@acme.org", role="supervisor", org="acme")
    assert supervisor.get(url).status_code == 200
    for email, options in [
        ("kim@acme.org", {"role": "learner", "org": "acme"}),  # another learner of the same organization
        ("tom@acme.org", {"role": "trainer", "org": "acme"}),
        ("gil@globex.org", {"role": "supervisor", "org": "globex"}),  # a supervisor of another organization
    ]:
        assert client_for(app, make_user, email, **options).get(url).status_code == 404, email
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    assert learner.get("/records/evidence/999999").status_code == 404


def test_a_document_attestation_needs_a_file(app, learner):
    data = {"attestation": "diploma", "started_on": "2024-01-05", "organization": str(org_id(app))}
    response = post_record(learner, "attestation", data)
    assert response.status_code == 200
    assert "This attestation needs a document" in html(response)
    assert post_record(learner, "attestation", data, evidence=(PDF, "diploma.pdf")).status_code == 302
    assert only_record(app).evidence_id is not None


# --- Corrections and withdrawal -------------------------------------------------------------------------------------


@pytest.fixture
def supervisor(app, make_user, learner):
    make_user("sue@acme.org", role="supervisor", org="acme", name="Sue Supervisor")
    return "sue@acme.org"


def progress_of(app, email: str = LEARNER):
    with app.app_context():
        from app.services import banks, pathway

        release = banks.latest_release("mini")
        return pathway.learner_progress(accounts.find_user(email), banks.get_track(release))


def test_correcting_a_verified_record_supersedes_it_only_once_the_correction_is_verified(app, learner, supervisor):
    post_record(learner, "training", training_data(app), evidence=(PNG, "certificate.png"))
    original = only_record(app)
    decide(app, original.id, supervisor)

    form = html(learner.get(f"/records/{original.id}/correct"))
    assert 'value="Ethics and boundaries"' in form and 'value="2024-03-01"' in form and 'value="4.0"' in form
    response = post_record(
        learner, "training", training_data(app, hours="8", domain_1="6"), url=f"/records/{original.id}/correct"
    )
    assert response.status_code == 302
    correction = only_record(app, status="pending")
    assert correction.supersedes_id == original.id and correction.hours == 8
    assert correction.evidence_id == original.evidence_id  # no new file: the evidence is kept

    education = line(progress_of(app), "education")
    assert (education.verified, education.pending) == (6, 8)  # the original still counts until then
    # Only one correction at a time.
    again = learner.get(f"/records/{original.id}/correct")
    assert again.status_code == 302 and again.location == f"/records/{original.id}"

    decide(app, correction.id, supervisor)
    assert only_record(app, id=original.id).status == "superseded"
    education = line(progress_of(app), "education")
    assert (education.verified, education.pending) == (8, 0)
    trail = text_of(html(learner.get(f"/records/{original.id}")))
    assert "Superseded" in trail and f"Replaced by record {correction.id}" in trail and "Sue Supervisor" in trail
    assert "Correct this record" not in trail and "Withdraw" not in trail


def test_a_returned_record_can_be_corrected_and_shows_the_comment(app, learner, supervisor):
    post_record(learner, "training", training_data(app))
    record = only_record(app)
    decide(app, record.id, supervisor, verified=False, comment="Please attach the certificate.")
    page = text_of(html(learner.get(f"/records/{record.id}")))
    assert "Returned" in page and "Please attach the certificate." in page and "Correct this record" in page
    assert "Please attach the certificate." in text_of(html(learner.get(f"/records/{record.id}/correct")))
    response = post_record(
        learner, "training", training_data(app), url=f"/records/{record.id}/correct", evidence=(PDF, "c.pdf")
    )
    assert response.status_code == 302
    assert only_record(app, status="pending").supersedes_id == record.id


def test_a_pending_record_cannot_be_corrected_but_can_be_withdrawn(app, learner):
    post_record(learner, "training", training_data(app))
    record = only_record(app)
    response = learner.get(f"/records/{record.id}/correct")
    assert response.status_code == 302 and response.location == f"/records/{record.id}"
    token = get_token(learner, f"/records/{record.id}")
    response = learner.post(f"/records/{record.id}/withdraw", data={"csrf_token": token})
    assert response.status_code == 302 and response.location == "/records/"
    assert record_count(app) == 0


def test_a_verified_record_cannot_be_withdrawn(app, learner, supervisor):
    post_record(learner, "training", training_data(app))
    record = only_record(app)
    decide(app, record.id, supervisor)
    token = get_token(learner, f"/records/{record.id}")
    response = learner.post(f"/records/{record.id}/withdraw", data={"csrf_token": token}, follow_redirects=True)
    assert "Only your own records that are not verified can be withdrawn." in html(response)
    assert only_record(app).status == "verified"


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("get", "/correct"), ("post", "/correct"), ("post", "/withdraw")]
)
def test_another_learners_record_is_404(app, learner, make_user, method, suffix):
    post_record(learner, "training", training_data(app))
    record = only_record(app)
    intruder = client_for(app, make_user, "kim@acme.org", role="supervisor", org="acme")
    token = get_token(intruder, "/records/")
    response = getattr(intruder, method)(f"/records/{record.id}{suffix}", data={"csrf_token": token})
    assert response.status_code == 404
    assert record_count(app) == 1


def test_a_late_evening_entry_keeps_the_learners_date(app, make_user, mini_release):
    """11:30 pm on Dec 31 in UTC-8 is 07:30 UTC on Jan 1: the record is dated Dec 31 and counts there."""
    with time_machine.travel(datetime(2024, 1, 1, 7, 30, tzinfo=UTC), tick=False):
        client = client_for(app, make_user, LEARNER, role="learner", org="acme")
        make_user("sue@acme.org", role="supervisor", org="acme")
        response = post_record(client, "training", training_data(app, started_on="2023-12-31"))
        assert response.status_code == 302
        record = only_record(app)
        assert record.started_on == date(2023, 12, 31) and record.created_at.date() == date(2024, 1, 1)
        decide(app, record.id, "sue@acme.org")
    with app.app_context():
        value = value_of(db.session.get(LearnerRecord, record.id))
    assert current_cycle(REQUIREMENTS, date(2022, 1, 1), [value], today=date(2023, 12, 31)).hours.verified == 6
    assert current_cycle(REQUIREMENTS, date(2022, 1, 1), [value], today=date(2024, 1, 1)).hours.verified == 0


# --- Privacy of statements ---------------------------------------------------------------------------------------

STATEMENT = "My own words about what helped me, kept private."


def add_statement(app, learner, shared: bool) -> LearnerRecord:
    data = {"attestation": "lived-experience", "started_on": "2024-01-05", "statement": STATEMENT}
    if shared:
        data["shared"] = "y"
    response = post_record(learner, "attestation", {**data, "organization": str(org_id(app))})
    assert response.status_code == 302
    return only_record(app, kind="attestation")


@pytest.mark.parametrize("shared", [False, True])
def test_a_private_statement_is_shown_to_supervisors_only_when_shared(app, learner, supervisor, shared):
    record = add_statement(app, learner, shared)
    assert record.shared is shared
    page = text_of(html(learner.get(f"/records/{record.id}")))
    assert STATEMENT in page  # the learner always sees their own words
    assert ("Shared with your organization" in page) is shared
    with app.app_context():
        row = db.session.get(LearnerRecord, record.id)
        private = {"lived-experience"}
        assert records.visible_statement(row, accounts.find_user(supervisor), private) == (
            STATEMENT if shared else None
        )
        assert records.visible_statement(row, accounts.find_user(LEARNER), private) == STATEMENT


def test_the_attestation_form_marks_private_and_document_attestations(app, learner):
    form = html(learner.get("/records/new/attestation"))
    assert "Statement of lived experience (private)" in form
    assert "High school diploma or equivalency (needs a document)" in form
    assert "Do not include diagnoses" in form


# --- Pathway page, certification, reminders -------------------------------------------------------------------------


def fake_readiness(ready: bool) -> Readiness:
    rules = [RuleCheck("probability", "Reach a 60% chance of passing", ready, "now 72%" if ready else "now 40%")]
    return Readiness("basic", "Basic track", 0.75, 0.72 if ready else 0.4, 0.8, [], rules, evidence=50, required=3)


@pytest.fixture
def exam_ready(monkeypatch):
    def set_(ready: bool):
        monkeypatch.setattr(readiness, "evaluate", lambda *args, **kwargs: fake_readiness(ready))

    return set_


def complete_requirements(app, email: str = LEARNER, supervisor_email: str = "sue@acme.org") -> None:
    """Verified records meeting every requirement of the mini track."""
    with app.app_context():
        user = accounts.find_user(email)
        organization = db.session.get(Organization, org_id(app))
        catalog = REQUIREMENTS
        attestations = [a["id"] for a in catalog["attestations"]]
        inputs = [
            records.RecordInput(
                "training", "Core course", "Acme", date(2024, 1, 8), None, 12, {"advocacy": 5, "ethics": 7}
            ),
            records.RecordInput("experience", "Peer volunteer", "Harbor", date(2024, 1, 1), date(2024, 3, 1), 40),
            records.RecordInput("supervision", "Supervision session", "Sam", date(2024, 2, 1), None, 5),
            *(records.RecordInput("attestation", started_on=date(2024, 1, 2), attestation=a) for a in attestations),
        ]
        supervisor = accounts.find_user(supervisor_email)
        for data in inputs:
            record = records.create_record(user, data, catalog, organization)
            records.decide(record, supervisor, True)
        db.session.commit()


def test_the_pathway_page_shows_every_requirement_and_what_is_left(app, learner, supervisor, exam_ready):
    exam_ready(True)
    post_record(learner, "training", training_data(app))
    decide(app, only_record(app).id, supervisor)
    post_record(learner, "training", training_data(app, title="Advocacy 101", hours="3", domain_0="3", domain_1=""))
    page = text_of(html(learner.get("/pathway/")))
    assert "A small test credential. Check your board's current rules." in page
    assert "Not yet: 6 of 12 hours verified, 3 waiting for verification, 6 missing." in page  # education total
    assert "Education: Advocacy" in page and "Met: 2 of 4" not in page
    assert "Not yet: 2 of 4 hours verified, 3 waiting for verification, 2 missing." in page  # advocacy
    assert "Not yet: 4 of 6 hours verified, 2 missing." in page  # ethics
    assert "Not ready to apply yet" in page and "Ready to apply Every" not in page
    assert "6 more verified education (all domains) hours" in page
    assert "High school diploma or equivalency (not yet recorded)" in page
    assert "Estimated chance of passing" in page


def test_ready_to_apply_needs_every_requirement_verified_and_exam_readiness(app, learner, supervisor, exam_ready):
    complete_requirements(app)
    exam_ready(False)
    page = text_of(html(learner.get("/pathway/")))
    assert "Not ready to apply yet" in page
    assert "Exam readiness: Reach a 60% chance of passing. now 40%" in page
    exam_ready(True)
    page = text_of(html(learner.get("/pathway/")))
    assert "Ready to apply Every requirement is verified" in page

    with app.app_context():  # one requirement back to pending: it no longer counts
        record = db.session.scalar(select(LearnerRecord).where(LearnerRecord.kind == "supervision"))
        record.status = "pending"
        db.session.commit()
    page = text_of(html(learner.get("/pathway/")))
    assert "Not ready to apply yet" in page and "5 more verified supervision hours" in page


def test_unknown_track_is_404(learner):
    assert learner.get("/pathway/?track=nope").status_code == 404
    assert learner.get("/pathway/packet.pdf?track=nope").status_code == 404


def certify(client, certified_on: str, number: str = "PRS-12345"):
    token = get_token(client, "/pathway/")
    return client.post(
        "/pathway/certification?track=basic",
        data={"certified_on": certified_on, "credential_number": number, "csrf_token": token},
    )


def logged_in_again(app, email: str = LEARNER):
    """A fresh session: after travelling back in time, older session cookies carry a future timestamp (invalid)."""
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def test_recording_a_certification_switches_to_the_recertification_cycle(app, learner, supervisor):
    with time_machine.travel(datetime(2025, 6, 15, 18, 0, tzinfo=UTC), tick=False):
        learner = logged_in_again(app)
        response = certify(learner, "2024-03-01")
        assert response.status_code == 302 and response.location == "/pathway/?track=basic"
        post_record(
            learner, "training", training_data(app, started_on="2024-03-01", hours="4", domain_0="", domain_1="2")
        )
        decide(app, only_record(app).id, supervisor)
        page = text_of(html(learner.get("/pathway/")))
    assert "Certified on March 1, 2024, credential number PRS-12345" in page
    assert "Due date March 1, 2026 (259 days left)" in page  # June 15, 2025 -> March 1, 2026
    assert "Continuing education" in page and "Not yet: 4 of 10 hours verified, 6 missing." in page
    assert (
        "Continuing education: Ethical Responsibility" in page and "Not yet: 2 of 3 hours verified, 1 missing." in page
    )
    assert "Not ready to apply yet" not in page
    assert "Initial certification requirements" in page

    with time_machine.travel(datetime(2025, 6, 15, 18, 0, tzinfo=UTC), tick=False):
        assert certify(logged_in_again(app), "2024-03-02", "PRS-99").status_code == 302  # editable; still one row
    with app.app_context():
        rows = db.session.scalars(select(Certification)).all()
        assert [(r.track, r.certified_on, r.credential_number) for r in rows] == [("basic", date(2024, 3, 2), "PRS-99")]


@pytest.mark.parametrize(
    ("certified_on", "number", "message"),
    [("", "PRS-1", "Enter the date you were certified."), ("2999-01-01", "PRS-1", "cannot be in the future"),
     ("2024-01-01", "", "Enter your credential number."), ("2024-01-01", "X" * 65, "Field cannot be longer")],
)  # fmt: skip
def test_bad_certification_input_gets_a_message(app, learner, certified_on, number, message):
    response = certify(learner, certified_on, number)
    assert response.status_code == 200 and message in html(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Certification)) == 0


@pytest.mark.parametrize(
    ("certified_on", "reminder"),
    [
        ("2023-10-15", None),  # due 2025-10-15: 122 days
        ("2023-09-13", "Recertification due in 90 days"),  # due 2025-09-13: 15 + 31 + 31 + 13 = 90
        ("2023-08-14", "Recertification due in 60 days"),  # due 2025-08-14: 15 + 31 + 14
        ("2023-07-05", "Recertification due in 20 days"),  # due 2025-07-05: 15 + 5
    ],
)
def test_the_dashboard_reminds_90_and_30_days_before_the_due_date(app, learner, certified_on, reminder):
    with time_machine.travel(datetime(2025, 6, 15, 12, 0, tzinfo=UTC), tick=False):
        learner = logged_in_again(app)
        assert certify(learner, certified_on).status_code == 302
        page = html(learner.get("/"))
    assert 'href="/pathway/"' in page
    if reminder is None:
        assert "Recertification due" not in page
    else:
        assert reminder in text_of(page)
        assert ("flash-error" in page) is (reminder.endswith("20 days"))


def test_reminders_only_for_certified_tracks(app, learner):
    with app.app_context():
        from app.services import banks

        tracks = banks.latest_release("mini").tracks
        user = accounts.find_user(LEARNER)
        assert learner_pathway.reminders(user, tracks, today=date(2025, 6, 15)) == []
        learner_pathway.record_certification(user, "basic", date(2023, 7, 5), "N-1", today=date(2025, 6, 15))
        found = learner_pathway.reminders(user, tracks, today=date(2025, 6, 15))
        assert [(r.track_id, r.due, r.days_left, r.threshold) for r in found] == [("basic", date(2025, 7, 5), 20, 30)]
        db.session.rollback()


# --- Application packet ----------------------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    """The PDF's text: pdftotext (poppler-utils) when installed, else the strings fpdf2 drew in its content streams."""
    assert data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        done = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)  # noqa: S603, S607
        return " ".join(done.stdout.decode("utf-8").split())
    parts = []
    for match in re.finditer(rb"/Length (\d+)\b[^>]*>>\s*stream\r?\n", data):
        stream = data[match.end() : match.end() + int(match.group(1))]
        with contextlib.suppress(zlib.error):
            stream = zlib.decompress(stream)
        parts += [m.decode("latin-1") for m in re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", stream)]
    return " ".join(" ".join(parts).split())


@pytest.fixture
def packet_records(app, learner, supervisor):
    """One verified training, one pending training, a verified private statement (not shared)."""
    post_record(learner, "training", training_data(app))
    decide(app, only_record(app).id, supervisor)
    post_record(learner, "training", training_data(app, title="Pending workshop", provider="Nowhere Yet"))
    record = add_statement(app, learner, shared=False)
    decide(app, record.id, supervisor)
    return learner


def test_packet_pdf_lists_verified_records_only_without_the_private_statement(app, packet_records):
    response = packet_records.get("/pathway/packet.pdf")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="application-packet-basic-')
    assert "no-store" in response.headers["Cache-Control"]
    text = pdf_text(response.data)
    for expected in [
        "Certification application packet",
        "Basic track",
        "Check your board's current rules",
        "Lee",
        LEARNER,
        "Ethics and boundaries",
        "Acme Training Institute",
        "2024-03-01",
        "Sue Supervisor",
        "Advocacy 2",
        "Statement of lived experience",
        "Private statement (not shared)",
    ]:
        assert expected in text, expected
    assert "Pending workshop" not in text and "Nowhere Yet" not in text
    assert STATEMENT not in text and "kept private" not in text


def test_packet_includes_a_private_statement_the_learner_shared(app, learner, supervisor):
    record = add_statement(app, learner, shared=True)
    decide(app, record.id, supervisor)
    assert "kept private" in pdf_text(learner.get("/pathway/packet.pdf").data)
    assert STATEMENT in learner.get("/pathway/packet.csv").get_data(as_text=True)


def test_packet_csv_lists_verified_hours_by_domain(app, packet_records):
    response = packet_records.get("/pathway/packet.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Application packet", "Basic track"]
    assert rows[1] == ["Learner", "Lee"] and rows[2] == ["Email", LEARNER]
    assert rows[3] == ["Requirements", "A small test credential. Check your board's current rules."]
    header_at = rows.index([]) + 1
    header = rows[header_at]
    assert header[:6] == [
        "Kind",
        "Date",
        "Title or attestation",
        "Provider, employer or supervisor",
        "Organization",
        "Hours",
    ]
    table = [dict(zip(header, row, strict=True)) for row in rows[header_at + 1 :]]
    assert [r["Kind"] for r in table] == ["Training", "Attestations"]
    course = table[0]
    assert (course["Title or attestation"], course["Provider, employer or supervisor"]) == (
        "Ethics and boundaries",
        "Acme Training Institute",
    )
    assert (course["Date"], course["Hours"], course["Advocacy hours"], course["Ethical Responsibility hours"]) == (
        "2024-03-01",
        "6",
        "2",
        "4",
    )
    assert course["Other or not split hours"] == "0" and course["Verified by"] == "Sue Supervisor"
    assert course["Organization"] == "Acme"
    statement = table[1]
    assert statement["Title or attestation"] == "Statement of lived experience"
    assert statement["Statement"] == "(private, not shared)"
    assert "Pending workshop" not in response.get_data(as_text=True)


def test_packet_csv_cells_cannot_run_as_formulas(app, learner, supervisor):
    post_record(learner, "training", training_data(app, title="=HYPERLINK(1)", provider="@provider"))
    decide(app, only_record(app).id, supervisor)
    body = learner.get("/pathway/packet.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in body and "'@provider" in body


def test_packet_for_a_learner_with_no_records(learner):
    assert "No verified records." in pdf_text(learner.get("/pathway/packet.pdf").data)
    assert learner.get("/pathway/packet.csv").status_code == 200


def test_without_a_bank_the_pages_explain_and_the_packet_is_404(app, make_user):
    client = client_for(app, make_user, "early@example.org")
    assert "There is no certification track yet" in html(client.get("/pathway/"))
    assert client.get("/pathway/packet.pdf").status_code == 404
    assert client.get("/pathway/packet.csv").status_code == 404
    assert client.get("/records/new/training").status_code == 200
    assert "Choose one" in html(client.get("/records/new/attestation"))
