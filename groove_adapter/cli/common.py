"""What every ``groove-wallet`` command shares: usage errors, settings, opening the store, URLs."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import socket
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import SecretStr, ValidationError

from config import Settings
from wallet_store import errors as E
from wallet_store.factory import make_store
from wallet_store.ports import WalletStore

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


def _ttl(value: str) -> int:
    try:
        ttl = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {value!r}") from None
    if not 1 <= ttl <= MAX_SESSION_TTL:
        raise argparse.ArgumentTypeError(f"{ttl}: give 1..{MAX_SESSION_TTL} seconds")
    return ttl
