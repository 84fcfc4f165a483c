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

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from .domain.hub88 import Hub88Settings
from .model import (
    AdminOp,
    ChainHead,
    Currency,
    Flow,
    FreeRoundAward,
    Game,
    GameSession,
    Hold,
    ItemPurchase,
    JournalEntry,
    Limits,
    Operator,
    Payment,
    Player,
    RateChange,
    Round,
    SmsMessage,
    TxRecord,
    Wallet,
)
from .rate_limits import GameRateLimits

T = TypeVar("T")

#: What :meth:`WalletStore.ledger_records` streams: every record (besides the /groove
#: transactions) whose state says a journal entry was written for it.
LedgerRecord = Hold | Flow | Payment | ItemPurchase | AdminOp


@dataclass(frozen=True, slots=True)
class BetQuery:
    """Which rows :meth:`Tx.load_bet` loads: the player ``account_id``; the records of ``kinds``
    (the request's own kind first) under (the player's operator, ``game_id``,
    ``transaction_id``); the session; the round (``game_id``, ``round_id``); the award ``frbid``."""

    account_id: str
    game_id: str
    round_id: str | None
    transaction_id: str
    kinds: tuple[str, ...]
    session_id: str | None
    frbid: str | None = None


@dataclass(frozen=True, slots=True)
class BetRows:
    """What :meth:`Tx.load_bet` loads for a bet (a wager or a wagerAndResult): the rows, no decision.

    ``records``: the records under the request's transaction id, by kind (absent: none).
    ``wallet``: in the currency of the request's own record (the first kind) if there is one,
    else in the session's currency (a replayed refusal shows none: a backend may leave it
    empty).  When the own record exists (a replay) or there is no
    session, only ``player``, ``operator``, ``records`` and ``wallet`` are meaningful: a backend
    may leave the rest empty.  No player: nothing else is loaded.
    """

    player: Player | None = None
    operator: Operator | None = None
    records: Mapping[str, TxRecord] = field(default_factory=dict)
    session: GameSession | None = None
    wallet: Wallet | None = None
    round: Round | None = None
    limits: Limits | None = None
    award: FreeRoundAward | None = None


@dataclass(frozen=True, slots=True)
class SettleRows:
    """What :meth:`Tx.load_settle` loads for a settling request (result, jackpot, rollback): the
    player and its operator, the records by kind, the session (when asked), the round, every
    wallet of the player by currency (the one a decision needs depends on the records and the
    round: the engine picks it), the free-round award (when asked).  No player: nothing else."""

    player: Player | None = None
    operator: Operator | None = None
    records: Mapping[str, TxRecord] = field(default_factory=dict)
    session: GameSession | None = None
    round: Round | None = None
    wallets: Mapping[str, Wallet] = field(default_factory=dict)
    award: FreeRoundAward | None = None


@dataclass(frozen=True, slots=True)
class ViewRows:
    """What :meth:`Tx.load_view` loads for getbalance and getaccount: the player, the session,
    the player's operator and the player's wallet in the session's currency; each None when
    absent (no player: no operator; no player or no session: no wallet).  No decision: the
    service checks them in the protocol's order."""

    player: Player | None = None
    session: GameSession | None = None
    operator: Operator | None = None
    wallet: Wallet | None = None


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

    async def lock_player_and_operator(self, account_id: str) -> tuple[Player | None, Operator | None]:
        """Load what every money request starts from: the player, locked as by
        :meth:`lock_player`, and its operator (read, not locked), in one statement where the
        backend can."""
        ...

    async def load_bet(self, q: BetQuery) -> BetRows:
        """Everything a bet decides on (:class:`BetRows`): the player locked as by
        :meth:`lock_player_and_operator` and its operator, the records as by :meth:`get_txs`,
        the session, the wallet, the round, the limits and the free-round award (:class:`BetQuery`)
        -- every read after the lock is granted, in one round trip where the backend can
        (:func:`wallet_store.loads.load_bet_by_reads` composes it from the point reads)."""
        ...

    async def load_settle(self, q: BetQuery) -> SettleRows:
        """Everything a settling request decides on (:class:`SettleRows`), loaded as
        :meth:`load_bet` loads a bet (``q.session_id`` None: no session is read)."""
        ...

    async def load_view(self, account_id: str, session_id: str) -> ViewRows:
        """The player ``account_id``, the session ``session_id``, the player's operator and the
        player's wallet in the session's currency (:class:`ViewRows`), read together -- one
        statement where the backend can (:func:`wallet_store.loads.load_view_by_reads`
        composes it from the point reads)."""
        ...

    async def get_player(self, account_id: str) -> Player | None: ...
    async def get_player_by_email(self, operator_id: str, email: str) -> Player | None: ...
    async def insert_player(self, player: Player) -> None: ...
    async def update_player(self, player: Player) -> None: ...
    async def touch_player(self, account_id: str, at: datetime) -> None:
        """Set only ``last_active`` (one column, no index rewrite): getaccount every time, a
        wager when the stored value is a minute old."""
        ...

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
    async def get_txs(
        self, operator_id: str, scope: str, transaction_id: str, kinds: Sequence[str]
    ) -> dict[str, TxRecord]:
        """Load the records under one transaction id for each of ``kinds`` (a request's own
        record and the ones its decision needs: a wager's tombstone, a correction's target), in
        one statement; a kind with no record is absent."""
        ...

    async def insert_tx(self, rec: TxRecord) -> None: ...
    async def update_tx_state(self, rec: TxRecord) -> None: ...
    async def drop_refusal(self, rec: TxRecord) -> None:
        """Delete this key's record if it is a plain refusal (nothing moved:
        :func:`~wallet_store.domain.selection.is_refusal`)."""
        ...

    async def get_round(self, account_id: str, game_id: str, round_id: str) -> Round | None: ...
    async def save_round(self, rnd: Round) -> None: ...

    # responsible gaming and free rounds
    async def get_limits(self, account_id: str) -> Limits | None: ...
    async def save_limits(self, limits: Limits) -> None: ...
    async def get_free_rounds(self, frbid: str) -> FreeRoundAward | None: ...
    async def insert_free_rounds(self, award: FreeRoundAward) -> None: ...

    async def count_open_rounds(self) -> int:
        """Rounds with a live wager and no completed result (money in limbo): the ones
        :func:`~wallet_store.domain.selection.round_is_open` accepts."""
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
    async def set_game_key_hash(self, game_id: str, key_hash: str) -> bool:
        """Replace a game's key hash (key rotation); False when the game does not exist."""
        ...

    async def list_journal(self, account_id: str, currency: str) -> list[JournalEntry]:
        """Every journal entry of one wallet, in ``seq`` order (history pages are cut from it)."""
        ...

    # currencies, rates and external identities (schema version 3)
    async def get_currency(self, operator_id: str, code: str) -> Currency | None: ...
    async def list_currencies(self, operator_id: str) -> list[Currency]:
        """The operator's currencies in ``currency_id`` order."""
        ...

    async def save_currency(self, currency: Currency) -> None:
        """Insert or update (by operator and code) a currency."""
        ...

    async def insert_rate_change(self, change: RateChange) -> None: ...
    async def list_rate_changes(self, operator_id: str, code: str) -> list[RateChange]:
        """A currency's rate history, oldest first."""
        ...

    async def get_identity(self, operator_id: str, identity: str) -> str | None:
        """The account id an operator registered under an external identity."""
        ...

    async def insert_identity(self, operator_id: str, identity: str, account_id: str, at: datetime) -> None: ...

    async def journal_page(
        self,
        account_id: str,
        currency: str,
        *,
        flows: Sequence[str] | None,
        since: datetime | None,
        until: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[JournalEntry]]:
        """(matching count, one page newest first) of one wallet's journal.

        ``flows`` filters on the direction of the available balance, keeping the entries whose
        direction is one of them (``credit``: real + bonus went up, ``debit``: down, ``none``:
        unchanged, e.g. a hold capture); ``since`` is inclusive, ``until`` exclusive.
        """
        ...

    async def list_tx_between(
        self, start: datetime, end: datetime, kinds: Collection[str], operator_id: str | None = None
    ) -> list[TxRecord]:
        """The money request records of ``kinds`` (of one operator, or of all) created in
        ``[start, end)``, in (created_at, kind, transaction_id) order (reconciliation)."""
        ...

    # reports
    async def list_open_rounds(
        self, opened_before: datetime, after: tuple[datetime, str, str, str] | None, limit: int
    ) -> list[Round]:
        """Up to ``limit`` open rounds (:func:`~wallet_store.domain.selection.round_is_open`) opened before
        ``opened_before``, ordered by (created_at, account_id, game_id, round_id) and starting
        after the ``after`` key (keyset pagination; uses the ``rounds_open`` index)."""
        ...

    # holds and flows (schema version 4)
    async def insert_hold(self, hold: Hold) -> None: ...
    async def get_hold(self, hold_id: str) -> Hold | None: ...
    async def update_hold(self, hold: Hold) -> None:
        """Write a hold's ``state``, ``closed_at`` and ``close_reason``."""
        ...

    async def count_open_holds(self, account_id: str) -> int: ...
    async def list_due_holds(self, now: datetime, limit: int, account_id: str | None = None) -> list[Hold]:
        """The holds :func:`~wallet_store.domain.selection.hold_is_due` accepts at ``now`` (of one
        account, or of all), in :func:`~wallet_store.domain.selection.due_order`."""
        ...

    async def insert_flow(self, flow: Flow) -> None: ...
    async def get_flow(self, flow_id: str) -> Flow | None: ...
    async def get_flow_by_key(self, game_id: str, kind: str, idempotency_key: str) -> Flow | None: ...
    async def update_flow(self, flow: Flow) -> None:
        """Write a flow's state, attempts, target_account, closed_reason, steps and updated_at."""
        ...

    async def insert_payment(self, payment: Payment) -> None: ...
    async def get_payment(self, payment_id: str) -> Payment | None: ...
    async def get_payment_by_key(self, game_id: str, idempotency_key: str) -> Payment | None: ...
    async def update_payment(self, payment: Payment) -> None:
        """Write a payment's state, provider_ref, client_secret, message, result and updated_at."""
        ...

    async def insert_item_purchase(self, purchase: ItemPurchase) -> None: ...
    async def get_item_purchase_by_key(self, game_id: str, idempotency_key: str) -> ItemPurchase | None: ...

    async def insert_sms(self, message: SmsMessage) -> None: ...
    async def update_sms(self, message: SmsMessage) -> None:
        """Write a message's ``state``, ``body`` and ``sent_at``."""
        ...

    async def list_sms(self, account_id: str | None, limit: int) -> list[SmsMessage]:
        """The SMS outbox, newest first (of one account, or of all)."""
        ...

    async def get_phone(self, account_id: str) -> str | None: ...
    async def set_phone(self, account_id: str, phone: str, at: datetime) -> None: ...

    # rate limits (schema version 5)
    async def get_game_limits(self, game_id: str) -> GameRateLimits | None:
        """A game's rate-limit overrides (None: all defaults)."""
        ...

    async def save_game_limits(self, limits: GameRateLimits) -> None:
        """Insert or replace a game's rate-limit overrides."""
        ...

    # Hub88 operator settings (schema version 8)
    async def get_hub88_settings(self, operator_id: str) -> Hub88Settings | None: ...
    async def list_hub88_settings(self) -> list[Hub88Settings]:
        """Every operator's Hub88 settings, by operator id."""
        ...

    async def save_hub88_settings(self, settings: Hub88Settings) -> None:
        """Insert or replace an operator's Hub88 settings."""
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

    def open_holds(self) -> AsyncIterator[Hold]:
        """Every hold still open (what each wallet's ``reserved`` must add up to), streamed."""
        ...

    def transactions(self) -> AsyncIterator[TxRecord]:
        """Every money request record (idempotency records), streamed."""
        ...

    def ledger_records(self) -> AsyncIterator[LedgerRecord]:
        """Every other record that moves money, streamed: all holds, flows, payments, item
        purchases and admin/REST operations (audit cross-checks them against the journal)."""
        ...

    def chain_heads(self) -> AsyncIterator[ChainHead]:
        """Every wallet's recorded chain head (``journal_heads``), streamed."""
        ...
