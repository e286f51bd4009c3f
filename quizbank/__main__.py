"""Command line: ``python -m quizbank validate DIR``, ``audit DIR`` and ``diff OLD NEW``."""

from __future__ import annotations

import argparse
import json
import sys

from quizbank.audit import audit_bank, format_report
from quizbank.diff import bank_hashes, diff_hashes
from quizbank.errors import BankError
from quizbank.loader import load_bank


def _validate(args: argparse.Namespace) -> int:
    try:
        bank = load_bank(args.directory)
    except BankError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    print(
        f"{bank.id} {bank.version}: {len(bank.scenarios)} scenarios, {bank.question_count} questions, "
        f"{len(bank.tracks)} track(s) - OK"
    )
    return 0


def _audit(args: argparse.Namespace) -> int:
    try:
        bank = load_bank(args.directory)
    except BankError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.domain and args.domain not in bank.domains:
        print(f"unknown domain {args.domain!r} (bank.yaml defines: {', '.join(bank.domains)})", file=sys.stderr)
        return 2
    report = audit_bank(bank, domain=args.domain)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(f"{bank.id} {bank.version}" + (f", domain {args.domain}" if args.domain else ""))
        print(format_report(report, verbose=args.verbose))
    return 0 if report.passed else 1


def _diff(args: argparse.Namespace) -> int:
    try:
        old, new = load_bank(args.old), load_bank(args.new)
    except BankError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(diff_hashes(bank_hashes(old), bank_hashes(new)).lines()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quizbank", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check a bank folder, report file:line problems")
    validate.add_argument("directory")
    validate.set_defaults(run=_validate)
    audit = commands.add_parser("audit", help="measure answer cues and item flaws; exit 1 if the gate fails")
    audit.add_argument("directory")
    audit.add_argument("--json", action="store_true", help="machine-readable report")
    audit.add_argument("--domain", help="audit one domain only")
    audit.add_argument("--verbose", action="store_true", help="list every outlier and failure")
    audit.set_defaults(run=_audit)
    diff = commands.add_parser("diff", help="compare two bank folders question by question")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.set_defaults(run=_diff)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
