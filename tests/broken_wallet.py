"""Deliberately broken wallets: our real app with one bug each, served on 127.0.0.1.

``certify`` and ``simulate`` must catch them.  Each bug lives in a WalletService subclass that
replaces the app's service, so everything else (HTTP, store, signatures) is the real thing.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, cast

from aiohttp import web
from aiohttp.typedefs import Middleware
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.keys import SERVICE
from wallet_store.commands import (
    Caller,
    Jackpot,
    MoneyOutcome,
    Result,
    ReverseWin,
    Rollback,
    RollbackRollback,
    SessionQuery,
    Wager,
)
from wallet_store.ports import Tx, WalletStore
from wallet_store.service import WalletService

ADMIN_TOKEN = "broken-wallet-admin-token"
T = TypeVar("T")


class DoubleDebitOnDuplicate(WalletService):
    """Bug: a duplicate wager (one already applied, or in flight) is applied again as a new bet.

    The classic missing idempotency check: the replay is noticed, then debited anyway under a
    fresh internal id.  Concurrent copies all come back as duplicates from the real service,
    so every one of them debits again.  wagerbybatch bets go through ``wager`` too.
    """

    async def wager(self, cmd: Wager, caller: Caller) -> MoneyOutcome:
        outcome = await super().wager(cmd, caller)
        if outcome.duplicate:
            again = replace(cmd, transaction_id=f"{cmd.transaction_id}~again-{uuid.uuid4().hex[:8]}")
            outcome = await super().wager(again, caller)
        return outcome


class SessionCheckedOnSettling(WalletService):
    """Bug: result / rollback / jackpot / reversewin / rollbackrollback demand a live session.

    The protocol says 1000 is never a valid answer to them (they arrive after the player left).
    """

    async def _live(self, account_id: str, session_id: str, caller: Caller) -> None:
        await self.get_balance(SessionQuery(account_id, session_id), caller)  # raises NotLoggedOn (1000)

    async def result(self, cmd: Result, caller: Caller) -> MoneyOutcome:
        await self._live(cmd.account_id, cmd.session_id, caller)
        return await super().result(cmd, caller)

    async def rollback(self, cmd: Rollback, caller: Caller) -> MoneyOutcome:
        await self._live(cmd.account_id, cmd.session_id, caller)
        return await super().rollback(cmd, caller)

    async def jackpot(self, cmd: Jackpot, caller: Caller) -> MoneyOutcome:
        await self._live(cmd.account_id, cmd.session_id, caller)
        return await super().jackpot(cmd, caller)

    async def reverse_win(self, cmd: ReverseWin, caller: Caller) -> MoneyOutcome:
        await self._live(cmd.account_id, cmd.session_id, caller)
        return await super().reverse_win(cmd, caller)

    async def rollback_rollback(self, cmd: RollbackRollback, caller: Caller) -> MoneyOutcome:
        await self._live(cmd.account_id, cmd.session_id, caller)
        return await super().rollback_rollback(cmd, caller)


class TxRewritingStore:
    """The real store; every unit of work sees its Tx through ``wrap`` (a bug in the data layer)."""

    def __init__(self, inner: WalletStore, wrap: Callable[[Tx], Tx]) -> None:
        self.inner = inner
        self.wrap = wrap

    async def write(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        return await self.inner.write(lambda tx: unit(self.wrap(tx)))

    async def read(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        return await self.inner.read(lambda tx: unit(self.wrap(tx)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def broken_app(
    tmp_path: Path,
    service_class: type[WalletService] = WalletService,
    store: WalletStore | None = None,
    *,
    middleware: Middleware | None = None,
    wrap_tx: Callable[[Tx], Tx] | None = None,
) -> web.Application:
    """The real app (SQLite file in ``tmp_path`` unless a store is given), its service replaced.

    ``middleware`` wraps every request (it may rewrite requests or replies); ``wrap_tx`` gives
    the service a store whose units of work see a rewritten Tx.
    """
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'broken.db'}",
        admin_token=SecretStr(ADMIN_TOKEN),
        audit_interval_seconds=0,
    )
    app = create_app(settings, store=store)
    real = app[SERVICE]
    if service_class is not WalletService or wrap_tx is not None:
        inner = real.store if wrap_tx is None else cast(WalletStore, TxRewritingStore(real.store, wrap_tx))
        app[SERVICE] = service_class(inner, real.clock, session_ttl=real.session_ttl)
    if middleware is not None:
        app.middlewares.append(middleware)
    return app


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port in this event loop; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.SockSite(runner, sock)
        await site.start()
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        sock.close()
