"""The README's production command: `gunicorn app:app` must find a WSGI app (the app/ package shadows app.py)."""

from __future__ import annotations

import importlib

import pytest
from flask import Flask


def test_gunicorn_target_app_colon_app_is_a_flask_app():
    package = importlib.import_module("app")
    assert isinstance(package.app, Flask)
    assert package.app is package.app  # created once
    with pytest.raises(AttributeError):
        package.nonexistent  # noqa: B018 - the attribute access is the test
