"""``audit``, ``report``, ``migrate-data``: read-only checks, regulator reports, moving stores."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from wallet_store import errors as E
from wallet_store.audit import HeadFileError, read_heads, run_audit, write_heads
from wallet_store.factory import make_store
from wallet_store.model import SystemClock
from wallet_store.ports import WalletStore

from .common import (
    _ensure_dir,
    _settings,
    _validated,
    _with_store,
)


def cmd_audit(args: argparse.Namespace) -> int:
    """Exit 0: OK; 1: drift (nothing written); 2: a head file that cannot be read."""
    settings = _settings(args)
    expect = None
    if args.expect_head:
        try:
            expect = read_heads(Path(args.expect_head))
        except HeadFileError as exc:
            print(f"groove-wallet: {exc}", file=sys.stderr)
            return 2
    report = asyncio.run(_with_store(settings, lambda store: run_audit(store, expect), read_only=True))
    print(report.text())
    if expect is not None:
        print(f"audit: checked against the exported heads of {len(expect)} wallets in {args.expect_head}")
    if not report.ok:
        return 1
    if args.write_head:
        write_heads(Path(args.write_head), report.heads)
        print(f"audit: wrote the heads of {len(report.heads)} wallets to {args.write_head}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Print a report (see wallet_store/reports.py) as JSON or CSV on stdout."""
    from groove_adapter.jsonout import dumps
    from wallet_store import reports

    settings = _settings(args)
    now = SystemClock().now()
    try:
        fmt = reports.parse_format(args.format)
        op = reports.check_operator(args.operator) if getattr(args, "operator", None) else None
        if args.report == "open-rounds":
            older_than = reports.parse_seconds(args.older_than, "--older-than")
        elif args.report == "liability":
            month = reports.parse_month(args.month)[0]
        else:
            account = reports.check_account(args.account)
            start = reports.parse_instant(args.start, "--from")
            end = reports.parse_instant(args.end, "--to")
            currency = reports.check_currency(args.currency) if args.currency else None

        async def build(store: WalletStore) -> reports.Report:
            if args.report == "open-rounds":
                return await reports.open_rounds(store, now=now, older_than=older_than, operator_id=op)
            if args.report == "liability":
                return await reports.liability(store, month=month, now=now, operator_id=op)
            return await reports.statement(store, account_id=account, start=start, end=end, currency=currency)

        report = asyncio.run(_with_store(settings, build, read_only=True))
    except E.WalletError as exc:
        print(f"groove-wallet: {exc.message}", file=sys.stderr)
        return 2
    if fmt == "csv":
        sys.stdout.write(reports.to_csv(report.columns, report.rows()))
    else:
        print(dumps(report.to_json()))
    return 0


def cmd_migrate_data(args: argparse.Namespace) -> int:
    from wallet_store.migrate_data import MigrationRefused, migrate_data

    source_settings = _validated({"database_url": args.source})
    target_settings = _validated({"database_url": args.target})
    if source_settings.is_sqlite and not os.path.exists(source_settings.sqlite_path):
        print(f"groove-wallet: no such SQLite file: {source_settings.sqlite_path}", file=sys.stderr)
        return 2

    async def run_migration() -> str:
        source = make_store(source_settings)
        target = make_store(target_settings)
        await source.open()
        try:
            _ensure_dir(target_settings)
            await target.open()
            try:
                report = await migrate_data(source, target, args.operator)
                audit = await run_audit(target)
            finally:
                await target.close()
        finally:
            await source.close()
        if not audit.ok:
            raise MigrationRefused("audit of the target failed:\n" + audit.text())
        return report.text() + "\n" + audit.text()

    try:
        print(asyncio.run(run_migration()))
    except E.WalletError as exc:
        print(f"groove-wallet: {exc}", file=sys.stderr)
        return 2
    return 0
