"""``reconcile``: an aggregator's transaction list against our records (docs/hub88.md, "Reconciliation").

Exit 0 when every transaction of the period is equal on both sides, 1 on any difference, 2 on
bad input (an option, the file, the list's format), each error on one line.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from wallet_store import errors as E
from wallet_store import reconciliation as rc
from wallet_store import reports
from wallet_store.domain import reconcile as core
from wallet_store.domain import reconcile_ours as render
from wallet_store.ports import WalletStore

from .common import CliError, Parser, _settings, _with_store


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    rc_ = sub.add_parser(
        "reconcile",
        help="compare an aggregator's transaction list with our records; exit 1 on any difference",
        description="Exit 0 when everything matches, 1 on any difference, 2 on bad input.",
    )
    rc_.add_argument("--database", help="sqlite:///PATH or postgresql://... (env GW_DATABASE_URL)")
    rc_.add_argument("--aggregator", required=True, choices=["groove", "hub88"])
    rc_.add_argument("--file", required=True, help="the aggregator's list (JSON or CSV, see docs/hub88.md)")
    rc_.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD (UTC) or ISO 8601 with a timezone")
    rc_.add_argument("--to", dest="end", required=True, help="exclusive; same forms as --from")
    rc_.add_argument("--format", choices=["json", "csv"], help="the file's format (default: by its extension)")
    rc_.add_argument("--operator", help="only this operator's records (default: all)")
    rc_.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    rc_.add_argument("--all", action="store_true", help="--json: list the equal transactions too")
    rc_.set_defaults(fn=cmd_reconcile)


def _read_file(path: str) -> str:
    try:
        if os.path.getsize(path) > core.MAX_TEXT:
            raise CliError(f"--file {path}: larger than {core.MAX_TEXT} bytes", 2)
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except OSError as exc:
        raise CliError(f"--file {path}: {exc.strerror or exc}", 2) from None
    except UnicodeDecodeError:
        raise CliError(f"--file {path}: not UTF-8 text", 2) from None


def cmd_reconcile(args: argparse.Namespace) -> int:
    settings = _settings(args)
    fmt: rc.Format = args.format or ("csv" if args.file.lower().endswith(".csv") else "json")
    try:
        aggregator = rc.check_aggregator(args.aggregator)
        start = reports.parse_instant(args.start, "--from")
        end = reports.parse_instant(args.end, "--to")
        operator = reports.check_operator(args.operator) if args.operator else None
        theirs = rc.parse_list(_read_file(args.file), aggregator, fmt)

        async def run(store: WalletStore) -> core.Report:
            return await rc.reconcile(store, aggregator, theirs, start, end, operator)

        report = asyncio.run(_with_store(settings, run, read_only=True))
    except E.StoreUnavailable:
        raise
    except E.WalletError as exc:
        raise CliError(exc.message, 2) from None
    if args.json:
        from groove_adapter.jsonout import dumps

        print(dumps(render.report_json(report, aggregator, start, end, all_lines=args.all)))
    else:
        print(render.report_text(report, aggregator, start, end))
    return 0 if report.ok else 1
