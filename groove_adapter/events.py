"""Balance-change bus: every committed wallet change, from any face, reaches the WebSocket
subscribers of that player (on this instance and, on PostgreSQL, on every other one).

How changes are seen without touching the faces
-----------------------------------------------
:class:`PublishingStore` wraps the wallet store.  ``write(unit)`` runs the unit with a Tx
proxy that records the (account_id, currency) of every wallet it inserts or saves.  A unit
may run more than once (PostgreSQL retries it after a serialization failure, a deadlock or
a unique-key race): the record is reset at the start of every attempt, so what is published
is what the committed attempt wrote.  Publishing happens only after ``write`` returned,
i.e. after COMMIT; a unit that raised, or a batch whose COMMIT failed, publishes nothing.
Publishing is synchronous and cheap (a set insert and an event), never awaits: a write
never waits for a subscriber, a socket or the database notification.

Delivery
--------
:class:`BalanceBus` keeps the local subscribers per account.  A published key without a
local subscriber is dropped on the spot (no read, no message).  Keys with subscribers go
to a pending set drained by one *pusher* task, which reads the wallets' current balances
in one read unit and offers one ``balance_update`` per (subscriber, wallet) to each
subscriber's bounded queue.  Because the message carries absolute balances read after the
commit, several changes to one wallet between two pusher rounds collapse into one message
with the latest balances (a subscriber may see fewer messages than changes, never a stale
last one).  A subscriber whose queue is full is dropped (its connection is closed), so a
slow client costs nobody else anything.

Other instances (PostgreSQL)
----------------------------
:class:`PgFanout` owns one dedicated asyncpg connection per instance (outside the store's
pool).  It ``LISTEN``s on a channel derived from the store's schema, and sends the keys this
instance committed with ``pg_notify`` after the commit, batched: every key pending when the
connection is free goes out in as few notifications as fit PostgreSQL's 8000-byte payload
limit, in one statement.  Notifications from its own backend pid are ignored (local
subscribers were served directly).  When the connection drops it reconnects with backoff
and, until then, keeps (a bounded number of) keys to send.  Delivery across instances is
best-effort, like any push channel: a notification lost while the connection was down is
not replayed, so a client that needs certainty re-reads balances over REST on (re)connect.

Every instance notifies for every change: knowing whether another instance has subscribers
would need shared state with its own race window, and one batched NOTIFY per flush costs
the database little.  On SQLite (one process) the bus is in-process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import operator
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from aiohttp import web

from wallet_store import money
from wallet_store.model import ChainHead, Hold, JournalEntry, Round, TxRecord, Wallet
from wallet_store.ports import LedgerRecord, Tx, WalletStore
from wallet_store.rest_service import available, total

from .jsonout import dumps
from .schemas.common import CurrencyFields, currency_fields

T = TypeVar("T")
Key = tuple[str, str]  # (account_id, currency)
log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- the store decorator


class _RecordingTx:
    """A Tx that notes which wallets a unit of work inserted or saved; the rest passes through."""

    __slots__ = ("_entries", "_inner", "_keys")

    def __init__(self, inner: Tx, keys: set[Key], entries: list[JournalEntry]) -> None:
        self._inner = inner
        self._keys = keys
        self._entries = entries

    async def insert_wallet(self, wallet: Wallet) -> None:
        await self._inner.insert_wallet(wallet)
        self._keys.add((wallet.account_id, wallet.currency))

    async def save_wallet(self, wallet: Wallet, entries: Sequence[JournalEntry]) -> None:
        await self._inner.save_wallet(wallet, entries)
        self._keys.add((wallet.account_id, wallet.currency))
        self._entries.extend(entries)

    def __getattr__(self, name: str) -> Any:  # instance attributes of the inner Tx
        return getattr(self._inner, name)


_RECORDING: dict[type, type[_RecordingTx]] = {}


def _recording(inner: Tx, keys: set[Key], entries: list[JournalEntry]) -> Tx:
    """A recording proxy for ``inner``.  Its class (one per Tx class, built once) forwards every
    method through a C-level ``attrgetter`` property: ``__getattr__`` alone would cost a
    failed lookup (an exception) per call, about 1.5 us each, a dozen per wager."""
    cls = _RECORDING.get(type(inner))
    if cls is None:
        forward: dict[str, Any] = {"__slots__": ()}
        for name in dir(type(inner)):
            if not name.startswith("__") and name not in ("insert_wallet", "save_wallet"):
                forward[name] = property(operator.attrgetter(f"_inner.{name}"))
        cls = _RECORDING[type(inner)] = type(f"Recording{type(inner).__name__}", (_RecordingTx,), forward)
    return cast(Tx, cls(inner, keys, entries))


class PublishingStore:
    """A WalletStore decorator that publishes the wallets each committed write changed."""

    def __init__(
        self,
        inner: WalletStore,
        publish: Callable[[set[Key]], None],
        committed: Callable[[Sequence[JournalEntry]], None] | None = None,
    ) -> None:
        self.inner = inner
        self._publish = publish
        self._committed = committed  # e.g. metrics: the journal entries of each committed write

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> bool:
        return await self.inner.ping()

    async def write(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        keys: set[Key] = set()
        entries: list[JournalEntry] = []

        async def recorded(tx: Tx) -> T:
            keys.clear()  # a new attempt: only the committed one counts
            entries.clear()
            return await unit(_recording(tx, keys, entries))

        result = await self.inner.write(recorded)
        if keys:
            self._publish(keys)
        if entries and self._committed is not None:
            self._committed(entries)
        return result

    async def read(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        return await self.inner.read(unit)

    def journal(self, account_id: str | None = None) -> AsyncIterator[JournalEntry]:
        return self.inner.journal(account_id)

    def wallets(self) -> AsyncIterator[Wallet]:
        return self.inner.wallets()

    def rounds(self) -> AsyncIterator[Round]:
        return self.inner.rounds()

    def open_holds(self) -> AsyncIterator[Hold]:
        return self.inner.open_holds()

    def transactions(self) -> AsyncIterator[TxRecord]:
        return self.inner.transactions()

    def ledger_records(self) -> AsyncIterator[LedgerRecord]:
        return self.inner.ledger_records()

    def chain_heads(self) -> AsyncIterator[ChainHead]:
        return self.inner.chain_heads()


# ----------------------------------------------------------------------------- subscribers


class Subscriber:
    """The outgoing side of one WebSocket connection: a bounded queue of JSON texts.

    ``emails`` maps each followed account to the e-mail the client subscribed with (echoed
    back in its updates so the client can match them).
    """

    def __init__(self, queue_size: int, on_overflow: Callable[[Subscriber], None]) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.emails: dict[str, str] = {}
        self.operator_id: str | None = None
        self.game_id: str | None = None
        self.dropped = False
        self._on_overflow = on_overflow

    def offer(self, text: str) -> bool:
        """Queue a message; a full queue drops the subscriber (never waits)."""
        if self.dropped:
            return False
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped = True
            self._on_overflow(self)
            return False
        return True


@dataclass(frozen=True, slots=True)
class Snapshot:
    wallet: Wallet
    currency: CurrencyFields  # the REST face's currency_id, name and symbol, so both faces agree


def update_message(email: str, s: Snapshot) -> dict[str, Any]:
    """The ``balance_update`` message (money as decimal strings, like the REST face)."""
    w = s.wallet
    avail = available(w)
    return {
        "type": "balance_update",
        "player_email": email,
        "player_id": w.account_id,
        **s.currency,
        "new_balance": money.fixed(avail, 2),
        "available_balance": money.fixed(avail, 2),
        "reserved_balance": money.fixed(w.reserved, 2),
        "total_balance": money.fixed(total(w), 2),
    }


class BalanceBus:
    """Local subscribers per account, and the pusher task that serves them."""

    RETRY_SECONDS = 0.5  # after a failed balance read: the keys are kept and read again
    MAX_PENDING = 100_000

    def __init__(self) -> None:
        self._followers: dict[str, set[Subscriber]] = {}
        self._operator: dict[str, str] = {}  # account -> its operator (for the currency table)
        self._pending: set[Key] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._store: WalletStore | None = None
        self.fanout: PgFanout | None = None
        self.pushed = 0  # messages queued to subscribers (tests, metrics)

    # registry ------------------------------------------------------------------------

    def follow(self, sub: Subscriber, account_id: str, operator_id: str, email: str) -> None:
        sub.emails[account_id] = email
        self._followers.setdefault(account_id, set()).add(sub)
        self._operator[account_id] = operator_id

    def unfollow(self, sub: Subscriber, account_id: str) -> None:
        sub.emails.pop(account_id, None)
        subs = self._followers.get(account_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._followers[account_id]
                self._operator.pop(account_id, None)

    def remove(self, sub: Subscriber) -> None:
        for account_id in list(sub.emails):
            self.unfollow(sub, account_id)

    def followed(self) -> int:
        return len(self._followers)

    # publishing ----------------------------------------------------------------------

    def publish(self, keys: set[Key]) -> None:
        """Wallets a local write committed: tell the other instances and serve local followers."""
        if self.fanout is not None:
            self.fanout.notify(keys)
        self.deliver(keys)

    def deliver(self, keys: Iterable[Key]) -> None:
        """Queue the keys that have a local follower for the pusher (never waits)."""
        followers = self._followers
        if not followers:
            return
        added = False
        for key in keys:
            if key[0] in followers and len(self._pending) < self.MAX_PENDING:
                self._pending.add(key)
                added = True
        if added:
            self._wake.set()

    # the pusher ----------------------------------------------------------------------

    def start(self, store: WalletStore) -> None:
        self._store = store
        self._task = asyncio.create_task(self._pusher(), name="balance-pusher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _pusher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            keys, self._pending = self._pending, set()
            wanted = [(k, self._operator[k[0]]) for k in keys if k[0] in self._followers]
            if not wanted:
                continue
            try:
                snapshots = await self._read(wanted)
            except Exception as exc:  # store down: keep the keys, try again shortly
                log.warning("balance updates: cannot read balances, retrying: %s", exc)
                self.deliver(k for k, _ in wanted)
                await asyncio.sleep(self.RETRY_SECONDS)
                continue
            try:
                self._offer(snapshots)
            except Exception:  # a bug must not stop every later update
                log.exception("balance updates: delivery failed")

    def _offer(self, snapshots: list[Snapshot]) -> None:
        for snap in snapshots:
            for sub in list(self._followers.get(snap.wallet.account_id, ())):
                email = sub.emails.get(snap.wallet.account_id)
                if email is not None and sub.offer(dumps(update_message(email, snap))):
                    self.pushed += 1

    async def _read(self, wanted: list[tuple[Key, str]]) -> list[Snapshot]:
        store = self._store
        if store is None:
            raise RuntimeError("balance bus not started")

        async def unit(tx: Tx) -> list[Snapshot]:
            out: list[Snapshot] = []
            for (account_id, code), operator_id in sorted(wanted):
                w = await tx.get_wallet(account_id, code)
                if w is not None:
                    cur = await tx.get_currency(operator_id, code)
                    out.append(Snapshot(w, currency_fields(code, cur)))
            return out

        return await store.read(unit)


BUS = web.AppKey("balance_bus", BalanceBus)


# ----------------------------------------------------------------------------- PostgreSQL fan-out

_PAYLOAD_LIMIT = 7900  # bytes; PostgreSQL refuses payloads of 8000 bytes or more
_KEY = re.compile(r"([0-9A-Za-z]{1,60}):([A-Z][A-Z0-9]{2,9})")


def channel_for(schema: str | None) -> str:
    """The NOTIFY channel of one store (schema): instances on other schemas never cross."""
    name = schema or "public"
    if len(name) <= 50:
        return f"gw_balance_{name}"
    return "gw_balance_" + hashlib.sha256(name.encode()).hexdigest()[:32]


def payloads(keys: Iterable[Key]) -> list[str]:
    """``account:CUR`` items joined by ``,``, cut so every payload fits PostgreSQL's limit."""
    out: list[str] = []
    buf: list[str] = []
    size = 0
    for account_id, currency in sorted(keys):
        item = f"{account_id}:{currency}"
        if buf and size + 1 + len(item) > _PAYLOAD_LIMIT:
            out.append(",".join(buf))
            buf, size = [], 0
        size += len(item) + (1 if buf else 0)
        buf.append(item)
    if buf:
        out.append(",".join(buf))
    return out


def parse_payload(text: str) -> list[Key]:
    """Keys of a notification; malformed items are ignored (the channel is ours, but check)."""
    out: list[Key] = []
    for item in text.split(","):
        m = _KEY.fullmatch(item)
        if m is not None:
            out.append((m.group(1), m.group(2)))
    return out


class PgFanout:
    """LISTEN/NOTIFY on one dedicated connection per instance, reconnecting when it drops."""

    HEALTH_SECONDS = 15.0  # an idle connection is checked this often (a silent drop is noticed)
    BACKOFF_MIN = 0.05
    BACKOFF_MAX = 5.0
    MAX_PENDING = 100_000

    def __init__(
        self, dsn: str, schema: str | None, deliver: Callable[[Iterable[Key]], None], *, connect_timeout: float = 5.0
    ) -> None:
        self.dsn = dsn
        self.channel = channel_for(schema)
        self._deliver = deliver
        self._timeout = connect_timeout
        self._pending: set[Key] = set()
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pid: int | None = None
        self.connected = asyncio.Event()  # set while LISTENing (tests wait on it)
        self.received = 0
        self.dropped_keys = 0

    @property
    def backend_pid(self) -> int | None:
        return self._pid

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="balance-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def notify(self, keys: Iterable[Key]) -> None:
        """Queue keys for the next NOTIFY (never waits)."""
        for key in keys:
            if len(self._pending) >= self.MAX_PENDING:
                self.dropped_keys += 1
                continue
            self._pending.add(key)
        self._kick.set()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        if pid == self._pid:
            return  # our own notification: local followers were served directly
        self.received += 1
        self._deliver(parse_payload(payload))

    async def _run(self) -> None:
        import asyncpg

        backoff = self.BACKOFF_MIN
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(
                    self.dsn, timeout=self._timeout, server_settings={"application_name": "groove-wallet-events"}
                )
                conn.add_termination_listener(lambda _c: self._kick.set())
                await conn.add_listener(self.channel, self._on_notify)
                self._pid = conn.get_server_pid()
                self.connected.set()
                backoff = self.BACKOFF_MIN
                await self._serve(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("balance fan-out connection lost, reconnecting: %s", exc)
            finally:
                self.connected.clear()
                self._pid = None
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(backoff)
            backoff = min(self.BACKOFF_MAX, backoff * 2)

    async def _serve(self, conn: Any) -> None:
        while True:
            if not self._pending:  # keys left by a lost connection go out at once on the new one
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._kick.wait(), self.HEALTH_SECONDS)
            self._kick.clear()
            if conn.is_closed():
                raise ConnectionError("LISTEN connection closed")
            if not self._pending:
                await conn.fetchval("SELECT 1", timeout=self._timeout)
                continue
            keys, self._pending = self._pending, set()
            try:
                await conn.execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", self.channel, payloads(keys))
            except BaseException:
                self.notify(keys)  # not sent: keep them for the next connection
                raise


# ----------------------------------------------------------------------------- wiring


def bus_ctx(bus: BalanceBus, store: WalletStore) -> Callable[[web.Application], AsyncIterator[None]]:
    """``cleanup_ctx`` entry (after the store's): start the pusher and the fan-out, stop them."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        bus.start(store)
        if bus.fanout is not None:
            bus.fanout.start()
        yield
        if bus.fanout is not None:
            await bus.fanout.stop()
        await bus.stop()

    return ctx


def fanout_for(store: WalletStore, bus: BalanceBus, *, connect_timeout: float) -> PgFanout | None:
    """A PostgreSQL fan-out when ``store`` is a PostgresStore (same DSN and schema), else None."""
    from wallet_store.postgres.store import PostgresStore

    if not isinstance(store, PostgresStore):
        return None
    return PgFanout(store.dsn, store.schema, bus.deliver, connect_timeout=connect_timeout)
