"""Exam blueprints: how many questions each domain gets in an exam of a given length."""

from __future__ import annotations

import math


def allocate(length: int, blueprint: dict[str, float], available: dict[str, int] | None = None) -> dict[str, int]:
    """Questions per domain: largest-remainder rounding of weight x length, ties by blueprint order.

    With ``available`` (questions per domain in the bank), a domain short of questions gives its
    remaining places to the others, in blueprint order.
    """
    total_weight = sum(blueprint.values())
    if length <= 0 or total_weight <= 0:
        return {domain: 0 for domain in blueprint}
    quotas = {domain: weight * length / total_weight for domain, weight in blueprint.items()}
    counts = {domain: math.floor(quota + 1e-9) for domain, quota in quotas.items()}
    order = list(blueprint)
    by_remainder = sorted(order, key=lambda d: (-(quotas[d] - counts[d]), order.index(d)))
    for domain in by_remainder[: length - sum(counts.values())]:
        counts[domain] += 1
    if available is None:
        return counts
    capped = {d: min(n, available.get(d, 0)) for d, n in counts.items()}
    shortfall = length - sum(capped.values())
    for domain in order:
        extra = min(shortfall, available.get(domain, 0) - capped[domain])
        capped[domain] += extra
        shortfall -= extra
    return capped
