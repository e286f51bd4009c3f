"""Certification requirements beyond the exam, as data in a track file (``requirements:``).

Validated with ``file:line`` problems like the rest of the bank and stored, as a plain dict, in the release
manifest with the track. The app's pathway service does the arithmetic; this module only checks shape.

    requirements:
      label: IC&RC Peer Recovery baseline. Check your board's current rules.
      education:                 # training hours specific to the domains
        hours: 46                # in total
        domains:                 # minimum hours per domain (any ids: bank domains or others)
          advocacy: {label: Advocacy, hours: 10}
      experience: {hours: 500}   # paid or volunteer work in the domains
      supervision: {hours: 25}   # by the organization's qualified supervisory staff
      attestations:              # statements a supervisor verifies; document: an evidence file is required;
        - id: diploma            # private: its text stays with the learner unless they choose to share it
          label: High school diploma or equivalency
          document: true
      recertification:
        cycle_months: 24
        hours: 20
        domains:
          ethics: {label: Ethical Responsibility, hours: 6}
"""

from __future__ import annotations

from typing import Any

REQUIREMENT_KEYS = {"label", "education", "experience", "supervision", "attestations", "recertification"}
HOURS_KEYS = {"hours", "domains"}
DOMAIN_KEYS = {"label", "hours"}
ATTESTATION_KEYS = {"id", "label", "document", "private"}
RECERT_KEYS = {"cycle_months", "hours", "domains"}
MAX_HOURS = 100_000
MAX_LABEL = 200


def load_requirements(f: Any, data: Any) -> dict:
    """Validate ``data`` (a LineDict under ``requirements:``) and return it as a plain dict.

    ``f`` is the loader's per-file context (``error``, ``check_keys``, ``mapping``, ``sequence``, ``text``,
    ``slug``, ``number``), so problems carry this file's name and line numbers.
    """
    if not data:
        return {}
    f.check_keys(data, REQUIREMENT_KEYS, (), "requirements")
    result: dict = {"label": _label(f, data, "label", required=False)}
    for part in ("education", "experience", "supervision"):
        if part in data:
            result[part] = _hours_block(f, f.mapping(data, part), part, with_domains=part == "education")
    if "attestations" in data:
        result["attestations"] = _attestations(f, f.sequence(data, "attestations"))
    if "recertification" in data:
        block = f.mapping(data, "recertification")
        f.check_keys(block, RECERT_KEYS, ("cycle_months", "hours"), "recertification")
        result["recertification"] = {
            "cycle_months": f.number(block, "cycle_months", int, 1, 240),
            "hours": f.number(block, "hours", float, 0, MAX_HOURS),
            "domains": _domains(f, block),
        }
    return result


def _label(f: Any, mapping: Any, key: str, *, required: bool = True) -> str:
    text = f.text(mapping, key, required=required)
    if len(text) > MAX_LABEL:
        f.error(mapping.line_of(key), f"{key!r} must be at most {MAX_LABEL} characters")
    return text


def _hours_block(f: Any, block: Any, what: str, *, with_domains: bool) -> dict:
    allowed = HOURS_KEYS if with_domains else {"hours"}
    f.check_keys(block, allowed, ("hours",), what)
    result = {"hours": f.number(block, "hours", float, 0, MAX_HOURS)}
    if with_domains:
        result["domains"] = _domains(f, block)
        minimum = sum(d["hours"] for d in result["domains"].values())
        if minimum > result["hours"] + 1e-9:
            f.error(
                block.line_of("hours"),
                f"{what} hours ({result['hours']:g}) are fewer than the domain minimums ({minimum:g})",
            )
    return result


def _domains(f: Any, block: Any) -> dict:
    domains: dict = {}
    raw = f.mapping(block, "domains")
    for domain_id in raw:
        line = raw.line_of(domain_id)
        entry = f.mapping(raw, domain_id)
        if not isinstance(domain_id, str) or not domain_id.replace("-", "").isalnum() or domain_id != domain_id.lower():
            f.error(line, f"domain id {domain_id!r} must be lowercase-kebab-case")
            continue
        f.check_keys(entry, DOMAIN_KEYS, DOMAIN_KEYS, f"domain {domain_id!r}")
        domains[domain_id] = {
            "label": _label(f, entry, "label"),
            "hours": f.number(entry, "hours", float, 0, MAX_HOURS),
        }
    return domains


def _attestations(f: Any, items: Any) -> list[dict]:
    result: list[dict] = []
    for index, raw in enumerate(items):
        line = items.line_of(index)
        if not hasattr(raw, "line_of"):
            f.error(line, "an attestation must be a mapping with id and label")
            continue
        f.check_keys(raw, ATTESTATION_KEYS, ("id", "label"), "attestation")
        entry = {
            "id": f.slug(raw, "id"),
            "label": _label(f, raw, "label"),
            "document": _flag(f, raw, "document"),
            "private": _flag(f, raw, "private"),
        }
        if entry["id"] in {a["id"] for a in result}:
            f.error(raw.line_of("id"), f"attestation id {entry['id']!r} is used twice")
        result.append(entry)
    return result


def _flag(f: Any, mapping: Any, key: str) -> bool:
    value = mapping.get(key, False)
    if not isinstance(value, bool):
        f.error(mapping.line_of(key), f"{key!r} must be true or false")
        return False
    return value
