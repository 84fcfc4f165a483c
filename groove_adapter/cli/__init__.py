"""``groove-wallet`` command line: serve, migrate, demo, add-player, open-session, audit, report, certify, simulate,
hub88, hub88-sign."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from wallet_store import errors as E

from . import reconcile
from .checks import cmd_audit, cmd_migrate_data, cmd_report
from .clients import cmd_certify, cmd_simulate
from .common import MAX_SESSION_TTL, CliError, Parser, _redacted_database, _ttl
from .data import cmd_add_player, cmd_demo, cmd_open_session
from .hub88 import add_commands as add_hub88_commands
from .serve import cmd_migrate, cmd_serve

__all__ = ["CliError", "_redacted_database", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="groove-wallet", description="Operator-side seamless wallet")
    sub = p.add_subparsers(dest="command", required=True)

    def db(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--database", help="sqlite:///PATH or postgresql://... (env GW_DATABASE_URL)")

    s = sub.add_parser("serve", help="run the HTTP service")
    db(s)
    s.add_argument("--host", help="bind address (env GW_HOST, default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (env GW_PORT, default 8080)")
    s.add_argument("--admin-token", help="Bearer token for /admin (env GW_ADMIN_TOKEN)")
    s.set_defaults(fn=cmd_serve)

    m = sub.add_parser("migrate", help="apply pending schema migrations")
    db(m)
    m.set_defaults(fn=cmd_migrate)

    d = sub.add_parser("demo", help="create demo operator, players and sessions; print curl lines")
    db(d)
    d.add_argument("--admin-token", help=argparse.SUPPRESS)
    d.add_argument("--host", help="the address serve will bind (default 127.0.0.1)")
    d.add_argument("--port", type=int, help="the port serve will bind: refused before loading anything when busy")
    d.add_argument("--base-url", help="URL printed in the curl lines (default http://HOST:PORT)")
    d.set_defaults(fn=cmd_demo)

    a = sub.add_parser("add-player", help="create a player with a wallet")
    db(a)
    a.add_argument("--operator", required=True)
    a.add_argument("--account")
    a.add_argument("--name", required=True)
    a.add_argument("--email")
    a.add_argument("--country", required=True)
    a.add_argument("--city", required=True)
    a.add_argument("--currency")
    a.add_argument("--real")
    a.add_argument("--bonus")
    a.set_defaults(fn=cmd_add_player)

    o = sub.add_parser("open-session", help="open a game session and print its id")
    db(o)
    o.add_argument("--account", required=True)
    o.add_argument("--game")
    o.add_argument("--currency")
    o.add_argument("--ttl", type=_ttl, help=f"seconds, 1..{MAX_SESSION_TTL} (default GW_SESSION_TTL_SECONDS)")
    o.set_defaults(fn=cmd_open_session)

    au = sub.add_parser("audit", help="check that balances equal the journal; exit 1 on drift")
    db(au)
    au.add_argument(
        "--expect-head",
        metavar="FILE",
        help="also require each wallet's journal to still hold the (seq, hash) exported in FILE",
    )
    au.add_argument(
        "--write-head",
        metavar="FILE",
        help="after a clean audit, export every wallet's (seq, hash) to FILE (keep it off the database host)",
    )
    au.set_defaults(fn=cmd_audit)

    rp = sub.add_parser("report", help="regulator reports: open-rounds, liability, statement (JSON or CSV)")
    rsub = rp.add_subparsers(dest="report", required=True)

    def fmt(sp: argparse.ArgumentParser) -> None:
        db(sp)
        sp.add_argument("--format", choices=["json", "csv"], default="json")

    ro = rsub.add_parser("open-rounds", help="rounds with a wager and no completed result, older than N seconds")
    fmt(ro)
    ro.add_argument("--older-than", default="3600", help="seconds (default 3600)")
    ro.add_argument("--operator", help="only this operator's players")
    rl = rsub.add_parser("liability", help="player funds at the end of a month (UTC) by operator and currency")
    fmt(rl)
    rl.add_argument("--month", required=True, help="YYYY-MM, a month that has ended")
    rl.add_argument("--operator", help="only this operator")
    rs = rsub.add_parser("statement", help="every movement of one player's wallets in [from, to)")
    fmt(rs)
    rs.add_argument("--account", required=True)
    rs.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD (UTC) or ISO 8601 with a timezone")
    rs.add_argument("--to", dest="end", required=True, help="exclusive; same forms as --from")
    rs.add_argument("--currency", help="only this wallet")
    rp.set_defaults(fn=cmd_report)
    reconcile.add_parser(sub)  # reconcile: an aggregator's list against our records

    md = sub.add_parser("migrate-data", help="copy operators, players, wallets and journal to an empty store")
    md.add_argument("--from", dest="source", required=True, help="source store, sqlite:///PATH")
    md.add_argument("--to", dest="target", required=True, help="target store, postgresql://... (empty)")
    md.add_argument("--operator", help="migrate only this operator (default: all)")
    md.set_defaults(fn=cmd_migrate_data)

    ce = sub.add_parser(
        "certify",
        help="play the aggregator against a /groove (or /hub88) endpoint; report every protocol rule as pass/fail",
        description="Exit 0 when no scenario failed, 1 when one did, 2 when setup failed.",
    )
    ce.add_argument("--url", help="the wallet's /groove endpoint, e.g. https://wallet.example/groove")
    ce.add_argument(
        "--protocol",
        choices=["groove", "hub88"],
        default="groove",
        help="hub88: --url is the Hub88 prefix, --account/--session a player and its token (see docs/hub88.md)",
    )
    ce.add_argument("--hub88-key", help="hub88: PEM private key signing as Hub88 (the wallet holds its public half)")
    ce.add_argument("--secret", help="the operator's X-Groove-Signature secret (signature scenarios need it)")
    ce.add_argument(
        "--signature-scheme",
        choices=["concat", "pairs"],
        default="concat",
        help="how to sign (the operator's signature_scheme; with --admin-token, the one it is created with)",
    )
    ce.add_argument("--account", help="a funded test account (at least 20 spendable)")
    ce.add_argument("--session", help="a live game session of --account")
    ce.add_argument("--second-account", help="another account of the same operator")
    ce.add_argument("--second-session", help="a live game session of --second-account")
    ce.add_argument("--expired-session", help="an expired game session of --account")
    ce.add_argument("--frbid", help="a free-round award id of --account")
    ce.add_argument("--admin-token", help="set everything up through this service's admin API instead")
    ce.add_argument("--admin-url", help="admin API base URL (default: the --url's origin)")
    ce.add_argument("--currency", default="EUR", help="currency of the operator created through the admin API")
    ce.add_argument("--game", default="80102", help="gameid / nogsgameid to play")
    ce.add_argument("--device", default="desktop", choices=["desktop", "mobile"])
    ce.add_argument("--apiversion", default="1.2")
    ce.add_argument("--concurrency", type=int, default=20, help="copies sent at once in the concurrency scenarios")
    ce.add_argument("--timeout", type=float, default=15.0, help="seconds per request")
    ce.add_argument("--only", action="append", metavar="PATTERN", help="run matching scenario ids (glob or prefix)")
    ce.add_argument("--format", choices=["text", "json", "junit"], default="text")
    ce.add_argument("--output", help="write the report to this file instead of stdout")
    ce.add_argument("--verbose", action="store_true", help="text: show the exchanges of passing scenarios too")
    ce.add_argument("--require-all", action="store_true", help="exit 1 when a scenario was skipped")
    ce.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ce.set_defaults(fn=cmd_certify)

    si = sub.add_parser(
        "simulate",
        help="simulated aggregator load; checks every player's balance against what it expects",
        description="Sets up its own operator and players through the admin API. Exit 0 when every balance matched.",
    )
    si.add_argument("--url", required=True, help="the wallet's /groove endpoint")
    si.add_argument(
        "--protocol",
        choices=["groove", "hub88", "mixed"],
        default="groove",
        help="hub88: Hub88 requests only; mixed: Groove and Hub88 rounds on the same players (docs/hub88.md)",
    )
    si.add_argument("--hub88-url", help="the wallet's Hub88 prefix (default: the --url's origin + /hub88)")
    si.add_argument("--hub88-key", help="PEM private key signing as Hub88 (default: a fresh key pair)")
    si.add_argument("--admin-token", required=True, help="admin API token (players and sessions are created there)")
    si.add_argument("--admin-url", help="admin API base URL (default: the --url's origin)")
    si.add_argument("--players", type=int, default=10)
    si.add_argument("--rounds", type=int, default=50, help="game rounds per player")
    si.add_argument("--concurrency", type=int, default=32, help="players playing at the same time")
    si.add_argument("--seed", type=int, help="random seed (a run is reproducible per player)")
    si.add_argument("--game", default="80102")
    si.add_argument("--currency", default="EUR")
    si.add_argument("--timeout", type=float, default=15.0, help="seconds per request")
    si.add_argument("--unsigned", action="store_true", help="create the operator without a signing secret")
    si.add_argument("--signature-scheme", choices=["concat", "pairs"], default="concat", help="the operator's scheme")
    si.add_argument("--format", choices=["text", "json"], default="text")
    si.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    si.set_defaults(fn=cmd_simulate)

    add_hub88_commands(sub, db)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    fn: Callable[[argparse.Namespace], int] = args.fn
    try:
        return fn(args)
    except CliError as exc:
        print(f"groove-wallet: {exc.message}", file=sys.stderr)
        return exc.code
    except E.StoreUnavailable as exc:  # e.g. migrate-data: PostgreSQL unreachable
        print(f"groove-wallet: {exc.message}", file=sys.stderr)
        return 1
