"""What every service shares: the store, the clock, units of work, caller authentication."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from wallet_store.commands import Caller
from wallet_store.errors import NotLoggedOn
from wallet_store.model import Clock, Operator, SystemClock
from wallet_store.ports import Tx, WalletStore
from wallet_store.services.auth import check_caller

T = TypeVar("T")


class ServiceBase:
    def __init__(self, store: WalletStore, clock: Clock | None = None, *, session_ttl: int = 3600) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.session_ttl = session_ttl

    async def _write(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        return await self.store.write(unit)

    def _authenticate(self, op: Operator | None, caller: Caller) -> Operator:
        """The player's operator (as loaded), once the caller is shown to speak for it (else 1001/1003)."""
        if op is None:
            raise NotLoggedOn("unknown operator")
        check_caller(op, caller)
        return op
