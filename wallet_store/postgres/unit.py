"""One PostgreSQL unit of work's connection: its statements, its deferred writes and the closing
message (the writes and COMMIT in one simple query, see :mod:`wallet_store.postgres.deferred`).

:class:`wallet_store.postgres.tx.PostgresTx` adds the port's operations on top of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any

from ..errors import StoreUnavailable, TechnicalError
from .codec import _DRIVER_ERRORS, _count
from .deferred import CHECK_SQLSTATE, WRITES, _Write, batch
from .literals import require_standard_strings


class UnitConnection:
    """One connection, one transaction: every statement goes through :meth:`_run` (the first
    driver error is kept in ``failed``), queued writes are sent before the next statement or
    with the COMMIT."""

    def __init__(self, conn: Any, *, writable: bool) -> None:
        self._c = conn
        self._writable = writable
        self._open = True
        # The first driver error seen: the transaction is aborted from then on.
        self.failed: BaseException | None = None
        # Deferred writes (see :mod:`.deferred`), sent by _flush or _commit.
        self._queued: list[tuple[_Write, tuple[Any, ...]]] = []

    def _check_open(self) -> None:
        if not self._open:
            # The connection went back to the pool and may now serve another unit.
            raise TechnicalError("unit of work used after its transaction ended")

    def _end(self) -> None:
        self._open = False

    async def _run(self, op: Awaitable[Any]) -> Any:
        try:
            return await op
        except _DRIVER_ERRORS as exc:
            if self.failed is None:
                self.failed = exc
            raise

    async def _defer(self, w: _Write, *args: Any) -> None:
        """Queue a write (sent in order with the next statement's flush or the COMMIT)."""
        self._check_open()
        if not self._writable:
            raise TechnicalError("write attempted in a read-only unit of work")
        self._queued.append((w, args))

    def _take(self) -> str:
        """The queued writes as one simple-query text (the queue emptied).  A value that cannot
        be rendered fails the unit for good, like a driver error (nothing was sent)."""
        queued, self._queued = self._queued, []
        try:
            require_standard_strings(self._c.get_settings())
            return batch(queued)
        except ValueError as exc:
            err = StoreUnavailable(f"postgres: cannot send a value: {exc}")
            if self.failed is None:
                self.failed = err
            raise err from exc

    async def _send(self, sql: str) -> str:
        """One simple-query message; a failed check of a write becomes that write's
        TechnicalError (and the unit can never commit)."""
        try:
            return str(await self._run(self._c.execute(sql)))
        except _DRIVER_ERRORS as exc:
            write = WRITES.get(str(getattr(exc, "message", "")))
            if getattr(exc, "sqlstate", None) != CHECK_SQLSTATE or write is None:
                raise
            err = TechnicalError(write.error)
            self.failed = err
            raise err from None

    async def _flush(self) -> None:
        """Send the queued writes (nothing to do when none are queued)."""
        if self._queued:
            self._check_open()
            await self._send(self._take())

    async def _commit(self) -> None:
        """The queued writes and COMMIT in one message (the unit's last round trip)."""
        self._check_open()
        sql = self._take() + ";COMMIT" if self._queued else "COMMIT"
        status = await self._send(sql)
        if status != "COMMIT":
            # PostgreSQL answers ROLLBACK to the COMMIT of an aborted transaction.
            raise StoreUnavailable(f"postgres: COMMIT answered {status!r}, nothing was committed")

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return await self._all(sql, *params)

    async def _all(self, sql: str, *args: Any) -> list[Any]:
        self._check_open()
        if self._queued:
            await self._flush()
        return list(await self._run(self._c.fetch(sql, *args)))

    async def _one(self, sql: str, *args: Any) -> Any:
        self._check_open()
        if self._queued:
            await self._flush()
        return await self._run(self._c.fetchrow(sql, *args))

    async def _exec(self, sql: str, *args: Any) -> int:
        self._check_open()
        if not self._writable:
            raise TechnicalError("write attempted in a read-only unit of work")
        if self._queued:
            await self._flush()
        status = await self._run(self._c.execute(sql, *args))
        return _count(str(status))

    async def _exec_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._check_open()
        if not self._writable:
            raise TechnicalError("write attempted in a read-only unit of work")
        if self._queued:
            await self._flush()
        await self._run(self._c.executemany(sql, rows))
