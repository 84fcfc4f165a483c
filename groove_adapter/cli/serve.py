"""``serve`` and ``migrate``."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys

from wallet_store import errors as E
from wallet_store.ports import WalletStore

from .common import (
    CliError,
    _admin_token_source,
    _bind_failure,
    _check_port_free,
    _ensure_dir,
    _faces,
    _open_failure,
    _redacted_database,
    _settings,
    _url_for,
    _with_store,
)


def cmd_serve(args: argparse.Namespace) -> int:
    import structlog

    from ..app import create_app
    from ..observability import configure_logging
    from ..server import serve

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
