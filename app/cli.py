"""Flask CLI: ``flask bank validate|import|merge|export|diff``, ``flask users create``, ``flask demo seed``.

The CLI calls the same services as the web app and commits once per command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

import quizbank
from app.extensions import db
from app.services import ServiceError, accounts, banks, calibration, demo, exams, transfer
from quizbank.audit import audit_bank
from quizbank.dump import write_bank

bank_cli = AppGroup("bank", help="Validate, import, export and diff question banks.")
users_cli = AppGroup("users", help="Manage accounts.")
demo_cli = AppGroup("demo", help="Demo data.")
exams_cli = AppGroup("exams", help="Mock exam maintenance.")
stats_cli = AppGroup("stats", help="Item calibration and statistics.")


def _load_or_exit(directory: str) -> quizbank.Bank:
    try:
        return quizbank.load_bank(directory)
    except quizbank.BankError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) found; nothing imported.", err=True)
        sys.exit(1)


@bank_cli.command("validate")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def validate_command(directory: str) -> None:
    """Check a bank folder; print file:line problems, then the item audit's findings as warnings."""
    bank = _load_or_exit(directory)
    click.echo(
        f"{bank.id} {bank.version}: {len(bank.scenarios)} scenarios, {bank.question_count} questions, "
        f"{len(bank.tracks)} track(s) - OK"
    )
    report = audit_bank(bank)
    for failure in report.failures:
        click.echo(f"warning: {failure}", err=True)
    if report.failures:
        click.echo(
            f"{len(report.failures)} item-audit warning(s); `python -m quizbank audit {directory}` explains them",
            err=True,
        )


@bank_cli.command("import")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False), default=quizbank.BUNDLED_BANKS + "/peer-specialist"
)
def import_command(directory: str) -> None:
    """Import a bank folder as a new release (a no-op when nothing changed)."""
    bank = _load_or_exit(directory)
    try:
        report = banks.import_bank(bank)
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}; nothing imported.", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(report.summary())


def _parse_maps(values: tuple[str, ...]) -> dict[str, str]:
    """{category: domain} from repeated --map "Category=domain" values (a click error for a malformed one)."""
    found: dict[str, str] = {}
    for value in values:
        category, sep, domain = value.rpartition("=")
        if not sep or not domain.strip():
            raise click.BadParameter(f"{value!r}: write it as CATEGORY=DOMAIN", param_hint="--map")
        found[category.strip()] = domain.strip()
    return found


def _print_plan(plan: transfer.ImportPlan) -> None:
    """Skipped questions, what is not kept, unmapped categories and problems, each on its own line."""
    for s in plan.skipped:
        click.echo(f"skipped: line {s.line}: {s.kind}: {s.title}: {s.reason}", err=True)
    for line, title, message in plan.notes:
        click.echo(f"not kept: line {line}: {title}: {message}", err=True)
    for u in plan.unmapped:
        name = repr(u.category) if u.category else "(no category)"
        click.echo(
            f"unmapped category {name}: {u.count} question(s), first at line {u.line}; "
            f'add --map "{u.category or ""}=DOMAIN" (or =- to skip them) or --default-domain DOMAIN',
            err=True,
        )
    for error in plan.errors:
        click.echo(error, err=True)


@bank_cli.command("merge")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--bank", "slug", required=True, help="Slug of the bank to merge the questions into.")
@click.option("--format", "fmt", default="", help="gift, moodle-xml, aiken, qti21... (default: recognised).")
@click.option("--version", "version", default="", help="Version of the new release (default: the next minor).")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="CATEGORY=DOMAIN",
    help='Put a category (its path or one segment) in a domain: --map "Legal issues=advocacy"; "=-" skips it. '
    "Repeatable; remembered for the bank after a successful import.",
)
@click.option("--default-domain", default=None, help="The domain of questions whose category maps nowhere.")
def merge_command(
    file: str, slug: str, fmt: str, version: str, maps: tuple[str, ...], default_domain: str | None
) -> None:
    """Merge a GIFT, Moodle XML, Aiken or QTI FILE into bank SLUG as a new release (as the web import does)."""
    category_map = _parse_maps(maps)
    path = Path(file)
    plan = transfer.plan_merge_file(
        path.read_bytes(),
        filename=path.name,
        bank_slug=slug,
        fmt=fmt,
        version=version,
        category_map=category_map,
        default_domain=default_domain,
    )
    _print_plan(plan)
    if plan.errors or plan.bank is None:
        click.echo(f"{len(plan.errors)} problem(s) found; nothing imported.", err=True)
        sys.exit(1)
    try:
        report = transfer.merge_file(plan, slug, category_map)
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}; nothing imported.", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(report.summary())


@bank_cli.command("diff")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def diff_command(directory: str) -> None:
    """Show what importing DIRECTORY would change against the latest release."""
    bank = _load_or_exit(directory)
    click.echo("\n".join(banks.diff_bank(bank).lines()))


@bank_cli.command("export")
@click.argument("slug")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--version", "version", default=None, help="Release version (default: the latest).")
def export_command(slug: str, directory: str, version: str | None) -> None:
    """Write a release of bank SLUG to DIRECTORY in the YAML bank format."""
    bank_row = banks.get_bank(slug)
    releases = bank_row.releases if bank_row else []
    release = next((r for r in reversed(releases) if version in (None, r.version)), None)
    if release is None:
        click.echo(f"error: no release {version or ''} of bank {slug!r}".replace("  ", " "), err=True)
        sys.exit(1)
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        click.echo(f"error: {directory} is not empty", err=True)
        sys.exit(1)
    write_bank(banks.release_to_bank(release), target)
    click.echo(f"exported {slug} {release.version} to {directory}")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Make a site administrator.")
@click.option("--org", default=None, help="Organization slug to join (created if missing).")
@click.option("--role", type=click.Choice(["learner", "trainer", "org_admin"]), default="learner")
def create_user_command(email: str, name: str, password: str, admin: bool, org: str | None, role: str) -> None:
    """Create an account, optionally with a role in an organization."""
    try:
        user = accounts.register_user(email, name, password, is_admin=admin)
        if org:
            accounts.add_membership(user, accounts.get_or_create_organization(org, org), role)
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"created {user.email}")


@demo_cli.command("seed")
def seed_command() -> None:
    """Create a demo organization, trainer, org admin and trainees with some history."""
    try:
        logins = demo.seed_demo()
    except ServiceError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for role, email in logins:
        click.echo(f"  {role:<20} {email}")


@exams_cli.command("expire")
def expire_command() -> None:
    """Submit every mock exam whose deadline has passed (run from cron; pages also do it lazily)."""
    count = exams.expire_due()
    db.session.commit()
    click.echo(f"{count} exam(s) submitted")


@stats_cli.command("calibrate")
@click.option("--bank", "slug", default=None, help="Bank slug (default: every bank).")
def calibrate_command(slug: str | None) -> None:
    """Recalibrate item difficulties and the population prior from everyone's first-time answers."""
    selected = [banks.get_bank(slug)] if slug else banks.all_banks()
    if slug and selected[0] is None:
        click.echo(f"error: no bank {slug!r}", err=True)
        sys.exit(1)
    for bank in selected:
        row = calibration.calibrate_bank(bank)
        pop = row.population
        click.echo(
            f"{bank.slug}: {len(row.items)} item versions from {row.responses} first-time answers of "
            f"{row.learners} learners; population mean {pop['mean']:.2f}, sd {pop['general_sd']:.2f} "
            f"(+{pop['domain_sd']:.2f} per domain){'' if pop['learners'] else ' (defaults: too few learners)'}"
        )
    db.session.commit()


def register_cli(app: Flask) -> None:
    for group in (bank_cli, users_cli, demo_cli, exams_cli, stats_cli):
        app.cli.add_command(group)
