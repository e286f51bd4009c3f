"""Certificates of readiness: issuing, codes, printable page and PDF, public verification, access, revoking."""

from __future__ import annotations

import re
import zlib
from datetime import datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Certificate
from app.services import ServiceError, accounts, certificates, readiness
from app.services.readiness import DomainEstimate, Readiness, RuleCheck
from tests.conftest import get_token, login, post_form

CLAIM_BUTTON = "Claim my certificate of readiness"


def make_readiness(ready: bool = True, title: str = "Basic track", probability: float = 0.91) -> Readiness:
    domains = [
        DomainEstimate("advocacy", "Advocacy", 0.5, 10, 9, 0.83, 0.7, 0.93),
        DomainEstimate("ethics", "Ethical Responsibility", 0.5, 10, 8, 0.75, 0.6, 0.87),
    ]
    rules = [
        RuleCheck("recent_exams", "Pass a recent mock exam", True, "1 of 1"),
        RuleCheck("probability", "Reach an 80% chance of passing", ready, f"{probability:.0%}"),
    ]
    return Readiness("basic", title, 0.75, probability, 0.8, domains, rules)


@pytest.fixture
def set_readiness(monkeypatch):
    """Make ``readiness.evaluate`` return a Readiness built by make_readiness(**kwargs)."""

    def set_(**kwargs):
        result = make_readiness(**kwargs)
        monkeypatch.setattr(readiness, "evaluate", lambda user, release, track, now=None: result)
        return result

    return set_


def logged_in(app, make_user, email: str, **options):
    client = app.test_client()
    make_user(email, **options)
    assert login(client, email).status_code == 302
    return client


def issue_for(app, email: str, **kwargs) -> str:
    """Issue a certificate to ``email`` through the service; returns its canonical code."""
    with app.app_context():
        certificate = certificates.issue_readiness_certificate(accounts.find_user(email), make_readiness(**kwargs))
        db.session.commit()
        return certificate.code


def revoke_code(app, code: str, reason: str = "Issued in error") -> None:
    with app.app_context():
        certificates.revoke(certificates.get_by_code(code), reason)
        db.session.commit()


def certificate_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Certificate))


def pdf_text(data: bytes) -> bytes:
    """The PDF bytes with every Flate stream decompressed, for searching drawn text."""
    parts = [data]
    for match in re.finditer(rb"/Length (\d+)\b[^>]*>>\s*stream\r?\n", data):
        stream = data[match.end() : match.end() + int(match.group(1))]
        try:
            parts.append(zlib.decompress(stream))
        except zlib.error:
            parts.append(stream)
    return b"\n".join(parts)


def html(response) -> str:
    return response.get_data(as_text=True)


# Codes -------------------------------------------------------------------------------------------------


def test_codes_use_an_unambiguous_alphabet_and_are_shown_grouped():
    codes = {certificates.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 12
        assert not set(code) & set("0O1I")
        assert set(code) <= set(certificates.CODE_ALPHABET)
    assert certificates.format_code("ABCDEFGHJKLM") == "ABCD-EFGH-JKLM"


@pytest.mark.parametrize(
    "typed", ["ABCD-EFGH-JKLM", "abcd-efgh-jklm", "abcdefghjklm", " abcd efgh jklm ", "AbCd\u2013EfGh-JkLm"]
)
def test_typed_codes_normalise_ignoring_case_dashes_and_spaces(typed):
    assert certificates.normalize_code(typed) == "ABCDEFGHJKLM"


@pytest.mark.parametrize("typed", ["", None, "ABCD-EFGH-JKL", "ABCD-EFGH-JKLMN", "ABCD-EFGH-JKL0", "OBCD-EFGH-JKLM"])
def test_malformed_codes_do_not_normalise(typed):
    assert certificates.normalize_code(typed) is None


# Service -----------------------------------------------------------------------------------------------


def test_issue_is_refused_when_not_ready(db_ctx, make_user):
    user = accounts.find_user(make_user("ana@example.org"))
    with pytest.raises(ServiceError, match="not met the readiness standard"):
        certificates.issue_readiness_certificate(user, make_readiness(ready=False))
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_issue_snapshots_the_readiness_and_does_not_duplicate(db_ctx, make_user):
    user = accounts.find_user(make_user("ana@example.org", name="Ana Lima"))
    issued_at = datetime(2025, 3, 4, 10, 30)
    first = certificates.issue_readiness_certificate(user, make_readiness(), now=issued_at)

    assert first.track == "basic" and first.kind == "readiness" and first.holder_name == "Ana Lima"
    assert first.issued_at == issued_at
    assert first.details["track_title"] == "Basic track"
    assert first.details["probability"] == pytest.approx(0.91)
    assert {d["domain"]: d["mean"] for d in first.details["domains"]} == {"advocacy": 0.83, "ethics": 0.75}

    user.display_name = "Ana Renamed"
    again = certificates.issue_readiness_certificate(user, make_readiness(title="Renamed track", probability=0.99))
    db.session.commit()
    assert again.id == first.id
    db.session.expire_all()
    stored = certificates.get_by_code(first.code)
    assert stored.holder_name == "Ana Lima"
    assert stored.details["track_title"] == "Basic track"
    assert stored.details["probability"] == pytest.approx(0.91)
    assert certificates.certificates_for(user) == [stored]


def test_after_revoking_a_new_certificate_can_be_issued(db_ctx, make_user):
    user = accounts.find_user(make_user("ana@example.org"))
    first = certificates.issue_readiness_certificate(user, make_readiness())
    certificates.revoke(first, "Mistake")
    second = certificates.issue_readiness_certificate(user, make_readiness())
    assert second.id != first.id and second.code != first.code
    assert [c.id for c in certificates.list_certificates()] == sorted([first.id, second.id], reverse=True)


def test_revoke_requires_a_reason_and_is_idempotent(db_ctx, make_user):
    user = accounts.find_user(make_user("ana@example.org"))
    certificate = certificates.issue_readiness_certificate(user, make_readiness())
    for reason in ("", "   ", None):
        with pytest.raises(ServiceError) as refused:
            certificates.revoke(certificate, reason)
        assert refused.value.field == "reason"
    assert certificate.is_valid

    when = datetime(2025, 5, 1, 9, 0)
    certificates.revoke(certificate, "  Exam misconduct ", now=when)
    certificates.revoke(certificate, "Another reason", now=datetime(2025, 6, 1))
    certificates.revoke(certificate, "")
    assert certificate.revoked_at == when
    assert certificate.revoked_reason == "Exam misconduct"
    assert not certificate.is_valid


def test_lookup_ignores_case_dashes_and_spaces(db_ctx, make_user):
    user = accounts.find_user(make_user("ana@example.org"))
    code = certificates.issue_readiness_certificate(user, make_readiness()).code
    grouped = certificates.format_code(code)
    for typed in (code, grouped, grouped.lower(), f"  {grouped.replace('-', ' ').lower()} "):
        assert certificates.get_by_code(typed).code == code
    assert certificates.get_by_code("ABCD-EFGH-JKLM" if code != "ABCDEFGHJKLM" else "ABCD-EFGH-JKLN") is None
    assert certificates.get_by_code("not a code") is None


@pytest.mark.parametrize("name", ["José Ñúñez", "Zoë Łukasiewicz “Zo” – 王", "A" * 80])
def test_pdf_renders_any_holder_name(db_ctx, make_user, name):
    user = accounts.find_user(make_user("ana@example.org", name=name))
    certificate = certificates.issue_readiness_certificate(user, make_readiness())
    data = certificates.render_pdf(certificate, "https://example.org/verify/ABCD-EFGH-JKLM")
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert certificates.latin1(name).encode("latin-1")[:40] in text
    assert certificates.format_code(certificate.code).encode() in text
    assert b"REVOKED" not in text


def test_pdf_of_a_revoked_certificate_is_marked_revoked(db_ctx, make_user):
    user = accounts.find_user(make_user("ana@example.org", name="José Ñúñez"))
    certificate = certificates.issue_readiness_certificate(user, make_readiness())
    certificates.revoke(certificate, "Issued in error")
    text = pdf_text(certificates.render_pdf(certificate, "https://example.org/verify/x"))
    assert b"REVOKED" in text and b"Issued in error" in text
    assert "José Ñúñez".encode("latin-1") in text


def test_latin1_keeps_accents_and_replaces_the_rest():
    assert certificates.latin1("José Ñúñez") == "José Ñúñez"
    assert certificates.latin1("Łukasz “Zo” – 王") == 'Lukasz "Zo" - ?'


# Claiming over HTTP ------------------------------------------------------------------------------------


def test_certificates_page_needs_login(client):
    response = client.get("/certificates")
    assert response.status_code == 302 and "/login" in response.location


def test_claim_is_refused_when_not_ready(app, make_user, mini_release):
    client = logged_in(app, make_user, "ana@example.org")  # no answers yet: the real evaluate says not ready
    page = html(client.get("/certificates"))
    assert "Readiness for Basic track" in page
    assert "Not yet" in page
    assert CLAIM_BUTTON not in page

    response = post_form(client, "/certificates/claim", token_from="/certificates")
    assert response.status_code == 200
    assert "You have not met the readiness standard for Basic track yet" in html(response)
    assert certificate_count(app) == 0


def test_claim_when_ready_issues_one_certificate(app, make_user, mini_release, set_readiness):
    set_readiness(ready=True)
    client = logged_in(app, make_user, "ana@example.org", name="Ana Lima")
    page = html(client.get("/certificates"))
    assert CLAIM_BUTTON in page
    assert 'action="/certificates/claim"' in page

    response = post_form(client, "/certificates/claim", token_from="/certificates")
    assert response.status_code == 302
    with app.app_context():
        certificate = db.session.scalars(select(Certificate)).one()
        code, grouped = certificate.code, certificates.format_code(certificate.code)
        assert certificate.holder_name == "Ana Lima" and certificate.track == "basic"
    assert response.location == f"/certificates/{grouped}"

    page = html(client.get("/certificates"))
    assert grouped in page
    assert CLAIM_BUTTON not in page  # already held: no second button

    again = post_form(client, "/certificates/claim", token_from="/certificates")
    assert again.status_code == 302 and again.location == f"/certificates/{grouped}"
    assert certificate_count(app) == 1
    with app.app_context():
        assert db.session.scalars(select(Certificate)).one().code == code


def test_claim_without_csrf_token_is_rejected(app, make_user, mini_release, set_readiness):
    set_readiness(ready=True)
    client = logged_in(app, make_user, "ana@example.org")
    assert client.post("/certificates/claim").status_code == 400
    assert certificate_count(app) == 0


# Printable page and PDF --------------------------------------------------------------------------------


def test_printable_page_and_pdf_for_the_holder(app, make_user):
    client = logged_in(app, make_user, "jose@example.org", name="José Ñúñez")
    code = issue_for(app, "jose@example.org")
    grouped = certificates.format_code(code)

    page = client.get(f"/certificates/{grouped}")
    assert page.status_code == 200
    text = html(page)
    assert "José Ñúñez" in text and "Basic track" in text and grouped in text
    assert f"/verify/{grouped}" in text
    assert 'style="' not in text and "<script" not in text

    pdf = client.get(f"/certificates/{grouped.lower()}.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["Content-Type"] == "application/pdf"
    disposition = pdf.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and f'filename="certificate-{grouped}.pdf"' in disposition
    assert pdf.data.startswith(b"%PDF")
    assert f"http://localhost/verify/{grouped}".encode() in pdf_text(pdf.data)


def test_revoked_certificate_page_and_pdf_say_revoked(app, make_user):
    client = logged_in(app, make_user, "ana@example.org")
    code = issue_for(app, "ana@example.org")
    revoke_code(app, code, "Issued in error")
    grouped = certificates.format_code(code)

    assert "This certificate was revoked" in html(client.get(f"/certificates/{grouped}"))
    assert b"REVOKED" in pdf_text(client.get(f"/certificates/{grouped}.pdf").data)


@pytest.mark.parametrize("suffix", ["", ".pdf"])
def test_another_trainee_gets_404_for_someone_elses_certificate(app, make_user, suffix):
    make_user("owner@example.org")
    grouped = certificates.format_code(issue_for(app, "owner@example.org"))
    intruder = logged_in(app, make_user, "intruder@example.org")
    trainer = logged_in(app, make_user, "trainer@example.org", role="trainer")
    admin = logged_in(app, make_user, "root@example.org", admin=True)

    assert intruder.get(f"/certificates/{grouped}{suffix}").status_code == 404
    assert trainer.get(f"/certificates/{grouped}{suffix}").status_code == 404
    assert admin.get(f"/certificates/{grouped}{suffix}").status_code == 200
    anonymous = app.test_client().get(f"/certificates/{grouped}{suffix}")
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_unknown_certificate_page_is_404(app, make_user):
    client = logged_in(app, make_user, "ana@example.org")
    assert client.get("/certificates/ABCD-EFGH-JKLM").status_code == 404
    assert client.get("/certificates/ABCD-EFGH-JKLM.pdf").status_code == 404
    assert client.get("/certificates/nonsense").status_code == 404


# Public verification -----------------------------------------------------------------------------------


def test_verify_a_valid_certificate_without_logging_in(app, make_user):
    make_user("ana@example.org", name="Ana Lima")
    code = issue_for(app, "ana@example.org")
    grouped = certificates.format_code(code)
    client = app.test_client()

    for typed in (grouped, grouped.lower(), code.lower(), f"{code[:6]}-{code[6:]}".lower()):
        response = client.get(f"/verify/{typed}")
        assert response.status_code == 200, typed
        text = html(response)
        assert "Valid certificate" in text and "Ana Lima" in text and "Basic track" in text
        assert "ana@example.org" not in text


def test_verify_an_unknown_code_is_a_404_page(client):
    response = client.get("/verify/ABCD-EFGH-JKLM")
    assert response.status_code == 404
    assert "No such certificate" in html(response)
    assert client.get("/verify/not-a-code").status_code == 404


def test_verify_a_revoked_certificate_shows_date_and_reason(app, make_user):
    make_user("ana@example.org", name="Ana Lima")
    code = issue_for(app, "ana@example.org")
    revoke_code(app, code, "Issued in error")
    text = html(app.test_client().get(f"/verify/{code.lower()}"))
    assert "Revoked certificate" in text and "Issued in error" in text and "Ana Lima" in text
    assert "Valid certificate" not in text


def test_verify_form_redirects_to_the_code(app, make_user, client):
    page = html(client.get("/verify"))
    assert 'for="code">Certificate code</label>' in page
    assert 'method="get"' in page

    make_user("ana@example.org")
    code = issue_for(app, "ana@example.org")
    grouped = certificates.format_code(code)
    response = client.get("/verify", query_string={"code": f" {grouped.lower().replace('-', ' ')} "})
    assert response.status_code == 302 and response.location == f"/verify/{grouped}"

    empty = client.get("/verify", query_string={"code": ""})
    assert empty.status_code == 200 and "Enter the code printed on the certificate" in html(empty)
    malformed = client.get("/verify", query_string={"code": "hello"})
    assert malformed.status_code == 200 and "not a certificate code" in html(malformed)


# Site admins -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"role": "trainer"}, {"role": "org_admin"}])
def test_only_site_admins_can_list_and_revoke(app, make_user, options):
    make_user("owner@example.org")
    code = issue_for(app, "owner@example.org")
    with app.app_context():
        certificate_id = certificates.get_by_code(code).id
    client = logged_in(app, make_user, "someone@example.org", **options)

    assert client.get("/admin/certificates").status_code == 403
    token = get_token(client, "/certificates")
    response = client.post(f"/admin/certificates/{certificate_id}/revoke", data={"reason": "x", "csrf_token": token})
    assert response.status_code == 403
    with app.app_context():
        assert certificates.get_by_code(code).is_valid

    anonymous = app.test_client().get("/admin/certificates")
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_admin_lists_and_revokes_with_a_reason(app, make_user):
    make_user("ana@example.org", name="Ana Lima")
    code = issue_for(app, "ana@example.org")
    grouped = certificates.format_code(code)
    with app.app_context():
        certificate_id = certificates.get_by_code(code).id
    admin = logged_in(app, make_user, "root@example.org", admin=True)
    url = f"/admin/certificates/{certificate_id}/revoke"

    page = html(admin.get("/admin/certificates"))
    assert grouped in page and "Ana Lima" in page and "ana@example.org" in page
    assert f'<label for="reason-{certificate_id}">Reason for revoking</label>' in page
    assert f'id="reason-{certificate_id}"' in page

    refused = post_form(admin, url, {"reason": "   "}, token_from="/admin/certificates")
    assert refused.status_code == 200
    assert "Give a reason for revoking the certificate." in html(refused)
    with app.app_context():
        assert certificates.get_by_code(code).is_valid

    done = post_form(admin, url, {"reason": "Issued in error"}, token_from="/admin/certificates")
    assert done.status_code == 302 and done.location == "/admin/certificates"
    with app.app_context():
        certificate = certificates.get_by_code(code)
        revoked_at = certificate.revoked_at
        assert certificate.revoked_reason == "Issued in error" and revoked_at is not None

    again = post_form(
        admin, url, {"reason": "Second thoughts"}, token_from="/admin/certificates", follow_redirects=True
    )
    assert "already revoked" in html(again)
    with app.app_context():
        certificate = certificates.get_by_code(code)
        assert certificate.revoked_reason == "Issued in error" and certificate.revoked_at == revoked_at

    page = html(admin.get("/admin/certificates"))
    assert "Revoked" in page and f'id="reason-{certificate_id}"' not in page


def test_revoking_a_missing_certificate_is_404(app, make_user):
    admin = logged_in(app, make_user, "root@example.org", admin=True)
    response = post_form(admin, "/admin/certificates/999999/revoke", {"reason": "x"}, token_from="/admin/certificates")
    assert response.status_code == 404
