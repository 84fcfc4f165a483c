"""The storage interface: one Protocol, implemented by the SQLite and PostgreSQL backends.

The service layer never sees SQL.  It runs *units of work*: an async function that
receives a :class:`Tx` and is executed by :meth:`WalletStore.write` inside one database
transaction, committed durably before ``write`` returns.  A unit of work must have no side
effect outside the transaction, because a backend may run it again (PostgreSQL retries on a
serialization failure, deadlock or unique-key race) or run it in one transaction together
with other units (SQLite group commit, each unit inside its own SAVEPOINT).

Rules for a unit of work: it awaits nothing but the Tx (the SQLite backend drives it to
completion on the connection's thread and refuses one that suspends), and it never catches
a store/driver error to carry on (PostgreSQL aborts the transaction on the first failed
statement; the backend refuses to report such a unit as committed).

Locking contract (what makes concurrent duplicates move money once):

* every money unit of work first calls :meth:`Tx.lock_player` for each account it touches,
  in ascending ``account_id`` order, before reading any balance or transaction record;
* every money request inserts a :class:`~wallet_store.model.TxRecord` whose key is unique
  in storage, so a race that slips past a lock still fails on commit and is retried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from .model import (
    FreeRoundAward,
    Game,
    GameSession,
    JournalEntry,
    Limits,
    Operator,
    Player,
    Round,
    TxRecord,
    Wallet,
)

T = TypeVar("T")


class Tx(Protocol):
    """Operations available inside one transaction."""

    # operators
    async def get_operator(self, operator_id: str) -> Operator | None: ...
    async def insert_operator(self, op: Operator) -> None: ...
    async def update_operator(self, op: Operator) -> None: ...

    # players
    async def lock_player(self, account_id: str) -> Player | None:
        """Return the player, holding its row lock until the transaction ends."""
        ...

    async def get_player(self, account_id: str) -> Player | None: ...
    async def get_player_by_email(self, operator_id: str, email: str) -> Player | None: ...
    async def insert_player(self, player: Player) -> None: ...
    async def update_player(self, player: Player) -> None: ...

    # wallets and journal
    async def get_wallet(self, account_id: str, currency: str) -> Wallet | None: ...
    async def list_wallets(self, account_id: str) -> list[Wallet]: ...
    async def insert_wallet(self, wallet: Wallet) -> None: ...
    async def save_wallet(self, wallet: Wallet, entries: Sequence[JournalEntry]) -> None:
        """Write the wallet's new balances and append its journal entries, atomically."""
        ...

    async def journal_since(self, account_id: str, currency: str, since: datetime) -> list[JournalEntry]: ...

    # sessions
    async def get_session(self, session_id: str) -> GameSession | None: ...
    async def insert_session(self, session: GameSession) -> None: ...
    async def close_session(self, session_id: str, at: datetime) -> bool: ...

    # transactions (idempotency records) and rounds
    async def get_tx(self, operator_id: str, scope: str, kind: str, transaction_id: str) -> TxRecord | None: ...
    async def insert_tx(self, rec: TxRecord) -> None: ...
    async def update_tx_state(self, rec: TxRecord) -> None: ...
    async def get_round(self, account_id: str, game_id: str, round_id: str) -> Round | None: ...
    async def save_round(self, rnd: Round) -> None: ...

    # responsible gaming and free rounds
    async def get_limits(self, account_id: str) -> Limits | None: ...
    async def save_limits(self, limits: Limits) -> None: ...
    async def get_free_rounds(self, frbid: str) -> FreeRoundAward | None: ...
    async def insert_free_rounds(self, award: FreeRoundAward) -> None: ...

    async def count_open_rounds(self) -> int:
        """Rounds with a wager and no completed result (money in limbo)."""
        ...

    # admin idempotency (adjustments)
    async def get_admin_op(self, key: str) -> tuple[str, str] | None:
        """(fingerprint, stored JSON reply) of an admin write done with this key."""
        ...

    async def insert_admin_op(self, key: str, fingerprint: str, reply: str, at: datetime) -> None: ...

    # games of the REST faces (schema version 2)
    async def get_game(self, game_id: str) -> Game | None: ...
    async def get_game_by_key_hash(self, key_hash: str) -> Game | None: ...
    async def insert_game(self, game: Game) -> None: ...

    async def list_journal(self, account_id: str, currency: str) -> list[JournalEntry]:
        """Every journal entry of one wallet, in ``seq`` order (history pages are cut from it)."""
        ...


class WalletStore(Protocol):
    """A wallet store backend."""

    async def open(self) -> None:
        """Connect and apply pending migrations."""
        ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the store answers (readiness)."""
        ...

    async def write(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``unit`` in a transaction; return only after it is durably committed."""
        ...

    async def read(self, unit: Callable[[Tx], Awaitable[T]]) -> T:
        """Run ``unit`` on a consistent snapshot; writes inside it are an error."""
        ...

    def journal(self, account_id: str | None = None) -> AsyncIterator[JournalEntry]:
        """Every journal entry in (account, currency, seq) order, streamed."""
        ...

    def wallets(self) -> AsyncIterator[Wallet]: ...

    def rounds(self) -> AsyncIterator[Round]: ...

    def transactions(self) -> AsyncIterator[TxRecord]:
        """Every money request record (idempotency records), streamed."""
        ...
