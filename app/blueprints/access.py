"""Role checks for routes, and the bank loader every bank page uses."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.models import Bank
from app.services import ServiceError, banks
from app.services.permissions import can_manage_bank


def role_required(*roles: str):
    """Allow logged-in users holding any of ``roles`` (site admins always pass); others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not any(current_user.has_role(role) for role in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def bank_or_404(slug: str) -> Bank:
    """The bank with this slug if the current user may manage it (site admin or trainer of its organization).

    A bank the user may not manage answers 404 like a missing one, so its existence is not revealed.
    """
    bank = banks.get_bank(slug)
    if not can_manage_bank(current_user, bank):
        abort(404)
    return bank


def add_form_error(form, error: ServiceError) -> None:
    """Show a service's refusal on the field it names, or at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))
