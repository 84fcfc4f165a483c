"""``groove-wallet`` command line: serve, migrate, demo, add-player, open-session, audit, report, certify, simulate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import re
import secrets
import socket
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import SecretStr, ValidationError

from config import Settings
from wallet_store import errors as E
from wallet_store import money
from wallet_store.audit import HeadFileError, read_heads, run_audit, write_heads
from wallet_store.factory import make_store
from wallet_store.model import Operator, SystemClock
from wallet_store.ports import WalletStore
from wallet_store.rest_service import RestService
from wallet_store.service import WalletService

T = TypeVar("T")

MAX_SESSION_TTL = 30 * 86400  # open-session --ttl: at most 30 days (Settings.session_ttl_seconds' bound)


class CliError(Exception):
    """Reported as one line, ``groove-wallet: <message>``; exit 1 (runtime) or 2 (usage)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (``groove-wallet: ...``), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            2,
            f"groove-wallet: {self.prog.removeprefix('groove-wallet').strip() or 'usage'}: {message}"
            f" (see {self.prog} --help)\n",
        )


DEMO_OPERATOR = "11"
DEMO_PLAYERS: list[dict[str, Any]] = [
    {
        "account_id": "5179068",
        "name": "Demo Player",
        "email": "demo.player@example.com",
        "country": "MT",
        "city": "Valletta",
        "real": "100",
        "bonus": "50",
    },
    {
        "account_id": "5179069",
        "name": "Bonus Only",
        "email": "bonus.only@example.com",
        "country": "GB",
        "city": "London",
        "real": "0",
        "bonus": "25.5",
    },
    {
        "account_id": "5179070",
        "name": "High Roller",
        "email": "high.roller@example.com",
        "country": "DE",
        "city": "Berlin",
        "real": "10000.1234567891",
        "bonus": "0",
    },
]


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "database", None):
        overrides["database_url"] = args.database
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides["port"] = args.port
    if getattr(args, "admin_token", None):
        overrides["admin_token"] = SecretStr(args.admin_token)
    return _validated(overrides)


def _validated(values: dict[str, Any]) -> Settings:
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise CliError(f"bad setting: {problems}", 2) from None


def _ensure_dir(settings: Settings) -> None:
    """Commands that write: create the SQLite file's directory and check the file opens."""
    if not settings.is_sqlite:
        return
    path = settings.sqlite_path
    d = os.path.dirname(path)
    try:
        if d:
            os.makedirs(d, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the directory {d!r} of the SQLite database: {exc.strerror or exc}") from None
    try:
        # Opened and read here first: aiosqlite's failed connect leaves a thread that outlives the loop.
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.Error as exc:
        raise _open_failure(settings, exc) from None


def _require_database(settings: Settings) -> None:
    """Read-only commands never create a database: a SQLite file must exist and be ours."""
    if not settings.is_sqlite:
        return  # PostgreSQL: connecting to a database that does not exist fails by itself
    path = settings.sqlite_path
    where = f"{path!r} ({os.path.abspath(path)})"
    if not os.path.isfile(path):
        raise CliError(
            f"no SQLite database at {where}; nothing was created"
            " (sqlite:///rel/path is relative to the working directory, sqlite:////abs/path absolute)"
        )
    try:
        uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            ).fetchone()
    except sqlite3.Error as exc:
        raise CliError(f"cannot read the SQLite database {where}: {exc}") from None
    if found is None:
        raise CliError(f"{where} is not a groove-wallet database (no schema_migrations table)")


def _open_failure(settings: Settings, exc: BaseException) -> CliError:
    if isinstance(exc, E.StoreUnavailable):
        return CliError(exc.message)
    if settings.is_sqlite:
        path = settings.sqlite_path
        return CliError(f"cannot open the SQLite database {path!r} ({os.path.abspath(path)}): {exc}")
    return CliError(f"cannot open the database: {exc}")


async def _open(store: WalletStore, settings: Settings) -> None:
    try:
        await store.open()
    except (E.StoreUnavailable, sqlite3.Error, OSError) as exc:
        with contextlib.suppress(Exception):
            await store.close()  # what opened before the failure (SQLite: the writer connection)
        raise _open_failure(settings, exc) from None


async def _with_store(settings: Settings, fn: Callable[[WalletStore], Awaitable[T]], *, read_only: bool = False) -> T:
    if read_only:
        _require_database(settings)
    else:
        _ensure_dir(settings)
    store = make_store(settings)
    await _open(store, settings)
    try:
        return await fn(store)
    finally:
        await store.close()


def _http_url(value: str, option: str) -> str:
    """A usage error unless ``value`` is an absolute http(s) URL."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"{option} {value!r}: give an absolute http:// or https:// URL, e.g. http://{value}", 2)
    return value


def _url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104 - only shown, not bound
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _check_port_free(host: str, port: int) -> None:
    """Fail on a busy port before anything else happens (``make run``: before the demo data)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CliError(f"cannot bind to host {host!r}: {exc.strerror}") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as s:
            # what the server itself sets: a port in TIME_WAIT is free, a listening one is not
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                s.bind(address)
            except OSError as exc:
                raise CliError(_bind_failure(host, port, exc)) from None


def _bind_failure(host: str, port: int, exc: OSError) -> str:
    hint = ""
    if exc.errno == errno.EADDRINUSE:
        hint = " (another server is listening there: stop it or choose another port: --port, GW_PORT, make run PORT=)"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}"


def _redacted_database(url: str) -> str:
    """The database URL without its password (in the user part or a ``password=`` parameter)."""
    if url.startswith("sqlite:"):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        netloc = f"{user}@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _admin_token_source(args: argparse.Namespace, settings: Settings) -> str:
    if getattr(args, "admin_token", None):
        return "--admin-token (visible in the process list: prefer GW_ADMIN_TOKEN)"
    if settings.admin_token is not None:
        return "GW_ADMIN_TOKEN"
    return "none: /admin answers 401 to everyone"


def _faces(app: Any, admin_open: bool) -> str:
    """The URL prefixes the app serves: /groove, /api/<face>, /ws, /admin, /metrics, ..."""
    prefixes: set[str] = set()
    for resource in app.router.resources():
        segments = resource.canonical.strip("/").split("/")
        prefix = "/" + "/".join(segments[:2] if segments[0] == "api" else segments[:1])
        if prefix not in ("/healthz", "/readyz"):
            prefixes.add(prefix)
    shown = sorted(prefixes)
    if not admin_open and "/admin" in shown:
        shown[shown.index("/admin")] = "/admin (closed)"
    return " ".join(shown)


def cmd_serve(args: argparse.Namespace) -> int:
    import structlog

    from .app import create_app
    from .observability import configure_logging
    from .server import serve

    settings = _settings(args)
    configure_logging(settings.log_level, settings.json_logs(sys.stderr.isatty()))
    _check_port_free(settings.host, settings.port)  # before the store is opened (and migrated)
    _ensure_dir(settings)
    app = create_app(settings)
    fields = {
        "url": _url_for(settings.host, settings.port),
        "database": _redacted_database(settings.database_url),
        "faces": _faces(app, settings.admin_token is not None),
        "admin_token": _admin_token_source(args, settings),  # where it came from, never its value
    }

    def started(*_: object) -> None:  # aiohttp calls this once the store is open and the port bound
        structlog.get_logger("groove_wallet.serve").info("serving", **fields)

    loop: asyncio.AbstractEventLoop | None = None
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        loop = None
    try:  # web.run_app plus header/idle deadlines and a connection cap
        serve(app, settings, loop, on_started=started)
    except (E.StoreUnavailable, sqlite3.Error) as exc:
        raise _open_failure(settings, exc) from None
    except OSError as exc:  # the port was taken between the check and the bind
        raise CliError(_bind_failure(settings.host, settings.port, exc)) from None
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def noop(store: WalletStore) -> None:
        return None

    asyncio.run(_with_store(settings, noop))
    print("migrations applied")
    return 0


# code, name, symbol, USD rate of one unit, starting amount for new players
DEMO_CURRENCIES = (
    ("EUR", "Euro", "€", "1.08", "0"),
    ("GOLD", "Gold Coins", "GC", "0.01", "500"),
    ("GEMS", "Premium Gems", "PG", "0.1", "0"),
)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.port is not None:  # make run: the port serve will bind must be free before any data is loaded
        _check_port_free(settings.host, settings.port)
    base = (args.base_url or _url_for(settings.host, settings.port)).rstrip("/")
    # The /groove ids the demo prints are new on every run, so they never meet the README's
    # walkthrough ids (t1, t2, r1, ...) nor the ids an earlier run printed.
    run = secrets.token_hex(3)

    async def demo(store: WalletStore) -> list[tuple[str, str]]:
        svc = WalletService(store, SystemClock())
        try:
            await svc.create_operator(
                Operator(
                    operator_id=DEMO_OPERATOR,
                    name="Demo Casino",
                    currency="EUR",
                    debit_order="cash_money",
                    created_at=SystemClock().now(),
                )
            )
            rest = RestService(store, SystemClock())
            for code, name, symbol, rate, start in DEMO_CURRENCIES:
                await rest.set_currency(
                    operator_id=DEMO_OPERATOR,
                    code=code,
                    name=name,
                    symbol=symbol,
                    usd_rate=money.parse(rate),
                    rate_given=True,
                    start_amount=money.parse(start),
                    note="demo",
                )
            for p in DEMO_PLAYERS:
                await svc.create_player(
                    operator_id=DEMO_OPERATOR,
                    account_id=p["account_id"],
                    name=p["name"],
                    email=p["email"],
                    country=p["country"],
                    city=p["city"],
                    currency="EUR",
                    real=money.parse(p["real"]),
                    bonus=money.parse(p["bonus"]),
                )
            await rest.register_identity(
                operator_id=DEMO_OPERATOR, identity="demo-user-1", account_id=DEMO_PLAYERS[0]["account_id"]
            )
            print(
                "demo data created: operator 11 (Demo Casino: EUR, GOLD, GEMS with USD rates), 3 players,"
                " external identity demo-user-1"
            )
        except E.Conflict:
            print("demo data already present; opening fresh sessions")
        sessions = []
        for p in DEMO_PLAYERS:
            s = await svc.open_session(p["account_id"], game_id="80102", currency=None, ttl_seconds=86400)
            sessions.append((p["account_id"], s.session_id))
        # A game key for the REST faces: keys are stored hashed, so each demo run registers a
        # fresh demo game to be able to print its key.
        _, key = await RestService(store, SystemClock()).create_game(
            operator_id=DEMO_OPERATOR, game_id=f"demo{run}", name="Demo Slots"
        )
        keys.append(key)
        return sessions

    keys: list[str] = []
    sessions = asyncio.run(_with_store(settings, demo))
    print("\nopen game sessions (24 h):")
    for acct, sid in sessions:
        print(f"  account {acct}: {sid}")
    acct, sid = sessions[0]
    common = f"accountid={acct}&gamesessionid={sid}&device=desktop&apiversion=1.2"
    print("\ntry (after `make run` has started the server):")
    print(f"  curl '{base}/groove?request=getaccount&{common}'")
    print(f"  curl '{base}/groove?request=getbalance&{common}&nogsgameid=80102'")
    ids = f"gameid=80102&roundid=demo-{run}-r1"
    print(f"  curl '{base}/groove?request=wager&{common}&{ids}&transactionid=demo-{run}-t1&betamount=10'")
    result = f"transactionid=demo-{run}-t2&result=25&gamestatus=completed"
    print(f"  curl '{base}/groove?request=result&{common}&{ids}&{result}'")
    key = keys[0]
    print(f"\nREST game key (shown once): {key}")
    print(f"  curl -H 'X-Game-Secret-Key: {key}' '{base}/api/player-balances/player/{acct}'")
    print(f"  curl -H 'X-Game-Secret-Key: {key}' '{base}/api/player-balances/player/by-email/demo.player@example.com'")
    print(
        f"  curl -X POST -H 'X-Game-Secret-Key: {key}' -H 'Content-Type: application/json'"
        f" {base}/api/player-balances/debit"
        f' -d \'{{"player_id":"{acct}","currency":"EUR","amount":"1.50","idempotency_key":"demo-1"}}\''
    )
    print(
        f"  curl -X POST -H 'X-Game-Secret-Key: {key}' -H 'Content-Type: application/json'"
        f" {base}/api/player-balances/convert"
        f' -d \'{{"player_id":"{acct}","from_currency":"GOLD","to_currency":"GEMS","amount":"100",'
        f'"idempotency_key":"demo-cv-1"}}\''
    )
    print(f"  curl -H 'X-Game-Secret-Key: {key}' '{base}/api/player-balances/player/{acct}/history?currency=EUR'")
    print(f"  curl -H 'X-Game-Secret-Key: {key}' '{base}/api/player-balances/player/{acct}/analytics?period=day'")
    print(f"  curl -H 'x-api-key: {key}' '{base}/api/private/users/{acct}/wallets/balance'")
    print(f"  curl -H 'x-api-key: {key}' '{base}/api/private/users/demo-user-1/wallets/balance'")
    print(f"  curl -H 'x-api-key: {key}' '{base}/api/private/users/{acct}/wallets/EUR/transactions?page=1&limit=20'")
    return 0


def cmd_add_player(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def add(store: WalletStore) -> str:
        svc = WalletService(store, SystemClock())
        p, wallets = await svc.create_player(
            operator_id=args.operator,
            account_id=args.account,
            name=args.name,
            email=args.email,
            country=args.country,
            city=args.city,
            currency=args.currency,
            real=money.parse(args.real) if args.real else None,
            bonus=money.parse(args.bonus) if args.bonus else None,
        )
        w = wallets[0]
        return f"{p.account_id} {w.currency} real={money.wire(w.real)} bonus={money.wire(w.bonus)}"

    try:
        print(asyncio.run(_with_store(settings, add)))
    except (E.WalletError, money.MoneyError) as exc:
        print(f"groove-wallet: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_open_session(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def open_(store: WalletStore) -> str:
        svc = WalletService(store, SystemClock())
        s = await svc.open_session(args.account, game_id=args.game, currency=args.currency, ttl_seconds=args.ttl)
        return s.session_id

    try:
        print(asyncio.run(_with_store(settings, open_)))
    except E.WalletError as exc:
        print(f"groove-wallet: {exc}", file=sys.stderr)
        return 2
    return 0


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


def cmd_certify(args: argparse.Namespace) -> int:
    from groove_client import certify, certify_hub88

    hub88 = args.protocol == "hub88"
    if args.list:
        print((certify_hub88 if hub88 else certify).list_scenarios(), end="")
        return 0
    if not args.url:
        print(f"groove-wallet certify: --url is required (e.g. http://127.0.0.1:8080/{args.protocol})", file=sys.stderr)
        return 2
    _http_url(args.url, "--url")
    if args.admin_url:
        _http_url(args.admin_url, "--admin-url")
    cfg = certify.Config(
        url=args.url,
        secret=args.secret,
        signature_scheme=args.signature_scheme,
        account=args.account,
        session=args.session,
        second_account=args.second_account,
        second_session=args.second_session,
        expired_session=args.expired_session,
        frbid=args.frbid,
        admin_url=args.admin_url,
        admin_token=args.admin_token,
        currency=args.currency,
        game=args.game,
        device=args.device,
        apiversion=args.apiversion,
        concurrency=args.concurrency,
        timeout=args.timeout,
        only=args.only or [],
    )
    stream = args.format == "text" and not args.output

    def on_result(r: certify.ScenarioResult) -> None:
        print(certify.text_line(r), flush=True)
        details = certify.text_details(r, args.verbose)
        if details:
            print(details, flush=True)

    if stream:
        print(f"groove-wallet certify {args.url}", flush=True)
    try:
        callback = on_result if stream else None
        run = certify_hub88.run_from_args(args, callback) if hub88 else certify.run_certify(cfg, callback)
        report = asyncio.run(run)
    except certify.CertifyError as exc:
        print(f"groove-wallet certify: {exc}", file=sys.stderr)
        return 2
    if stream:
        print(certify.render_text_summary(report))
    else:
        out = certify.render(report, args.format, args.verbose)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(out)
            print(certify.render_text_summary(report).strip(), file=sys.stderr)
        else:
            sys.stdout.write(out)
    if args.require_all and report.count("skip"):
        return 1
    return 0 if report.ok else 1


def cmd_simulate(args: argparse.Namespace) -> int:
    from groove_client import simulate

    _http_url(args.url, "--url")
    if args.admin_url:
        _http_url(args.admin_url, "--admin-url")
    cfg = simulate.SimConfig(
        url=args.url,
        admin_url=args.admin_url,
        admin_token=args.admin_token,
        players=args.players,
        rounds=args.rounds,
        concurrency=args.concurrency,
        seed=args.seed,
        game=args.game,
        currency=args.currency,
        timeout=args.timeout,
        signed=not args.unsigned,
        signature_scheme=args.signature_scheme,
        progress=not args.quiet,
    )
    try:
        result = asyncio.run(simulate.run_simulation(cfg))
    except simulate.SimulationError as exc:
        print(f"groove-wallet simulate: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(result.json() if args.format == "json" else result.text())
    return 0 if result.ok else 1


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
    return p


def _ttl(value: str) -> int:
    try:
        ttl = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {value!r}") from None
    if not 1 <= ttl <= MAX_SESSION_TTL:
        raise argparse.ArgumentTypeError(f"{ttl}: give 1..{MAX_SESSION_TTL} seconds")
    return ttl


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
