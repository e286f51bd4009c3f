"""Who may manage a bank: one rule for editing, statistics, question sets, import and export.

Site admins manage every bank; trainers manage the banks owned by an organization where they hold the trainer
role. A bank owned by no organization (the bundled one, before an organization adopts it) is for site admins.
"""

from __future__ import annotations

from app.models import Bank


def can_manage_bank(user, bank: Bank | None) -> bool:
    """Site admin, or trainer of the organization that owns the bank (False for a missing bank or a guest)."""
    if bank is None:
        return False
    if getattr(user, "is_admin", False):
        return True
    if bank.organization_id is None:
        return False
    memberships = getattr(user, "memberships", None) or ()
    return any(m.role == "trainer" and m.organization_id == bank.organization_id for m in memberships)
