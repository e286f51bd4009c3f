"""Trainer workbench (read side): banks, releases, questions with their answer keys and versions."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from app.blueprints.access import role_required
from app.services import banks

bp = Blueprint("author", __name__, url_prefix="/author")


@bp.route("/")
@role_required("trainer")
def index():
    return render_template("author/index.html", banks=banks.list_banks())


@bp.route("/banks/<slug>")
@role_required("trainer")
def bank(slug: str):
    bank = banks.get_bank(slug) or abort(404)
    release = bank.releases[-1] if bank.releases else None
    versions = banks.release_versions(release) if release else []
    return render_template("author/bank.html", bank=bank, release=release, versions=versions)


@bp.route("/banks/<slug>/questions/<stable_id>")
@role_required("trainer")
def question(slug: str, stable_id: str):
    bank = banks.get_bank(slug) or abort(404)
    question = banks.get_question(bank, stable_id) or abort(404)
    return render_template("author/question.html", bank=bank, question=question)
