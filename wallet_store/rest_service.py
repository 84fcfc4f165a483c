"""Use cases of the REST faces (Player Balance API, private wallet API) on the one store.

Pure of HTTP: it speaks :mod:`wallet_store.ports` and raises :mod:`wallet_store.errors`.

Balance semantics (the same wallet ``/groove`` uses, so every face agrees at once):

* ``available`` = real + bonus: what the player can spend (what getbalance calls balance);
* ``reserved`` = the wallet's reserved funds;
* ``total`` = available + reserved.

A REST **debit** consumes real and bonus money in the operator's debit order, like a wager
(:func:`~wallet_store.model.split_debit`); a REST **credit** goes to real money.  Both go
through :func:`~wallet_store.model.move` and are journaled (kinds ``api_credit`` /
``api_debit``, reference ``api:<game_id>:<id>``).

Idempotency: a successful credit/debit is remembered in ``admin_ops`` under
``<face>:<game_id>:<idempotency key>`` (keys are scoped per game and per face) with a
fingerprint of the request and the facts of the outcome; a replay with the same request
returns those facts, the same key with a different request raises
:class:`~errors.IdempotencyConflict`.  A refused request (insufficient funds, blocked
account) changes nothing and is not remembered, so a retry after a top-up can succeed.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from . import money
from .currencies import convert, set_currency, usd_value
from .domain import idempotency
from .errors import (
    AccountBlocked,
    AuthenticationFailed,
    Conflict,
    IdempotencyConflict,
    Invalid,
    NotFound,
    OutOfMoney,
    UnknownCurrency,
)
from .model import (
    ACCOUNT_ID,
    CURRENCY,
    OPERATOR_ID,
    BalanceFlow,
    Clock,
    Currency,
    Game,
    JournalEntry,
    Player,
    RateChange,
    SystemClock,
    Wallet,
    entry_flow,
    iso,
    key_hash,
    move,
    parse_iso,
    split_debit,
)
from .ports import Tx, WalletStore

Direction = Literal["credit", "debit"]
MAX_BATCH = 100
MAX_PAGE = 100
MAX_OFFSET = 1_000_000
MAX_ANALYTICS_SPAN = timedelta(days=366)
MAX_ANALYTICS_ENTRIES = 200_000
IDENTITY = re.compile(r"[0-9A-Za-z._:@-]{1,128}")
WIN_KINDS = frozenset({"result", "jackpot"})


def available(w: Wallet) -> Decimal:
    return w.total


def total(w: Wallet) -> Decimal:
    return money.add(w.total, w.reserved)


@dataclass(frozen=True, slots=True)
class PlayerBalances:
    player: Player
    wallets: list[Wallet]
    currencies: dict[str, Currency]  # the operator's currencies by code

    @property
    def usd_value(self) -> Decimal | None:
        return usd_value(self.wallets, self.currencies)


@dataclass(frozen=True, slots=True)
class BatchResult:
    found: list[PlayerBalances]
    not_found_ids: list[str]
    not_found_emails: list[str]
    currencies: dict[str, Currency]


@dataclass(frozen=True, slots=True)
class Transfer:
    """The facts of one REST credit/debit (what a replay returns unchanged)."""

    reference: str
    game_id: str
    account_id: str
    player_email: str | None
    currency: str
    direction: Direction
    amount: Decimal
    real: Decimal
    bonus: Decimal
    available_before: Decimal
    available_after: Decimal
    reserved_after: Decimal
    reason: str
    meta: str  # JSON text, exactly as the face gave it
    created_at: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "reference": self.reference,
                "game_id": self.game_id,
                "account_id": self.account_id,
                "player_email": self.player_email,
                "currency": self.currency,
                "direction": self.direction,
                "amount": money.wire(self.amount),
                "real": money.wire(self.real),
                "bonus": money.wire(self.bonus),
                "available_before": money.wire(self.available_before),
                "available_after": money.wire(self.available_after),
                "reserved_after": money.wire(self.reserved_after),
                "reason": self.reason,
                "meta": self.meta,
                "created_at": iso(self.created_at),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Transfer:
        d = json.loads(text)
        return cls(
            reference=d["reference"],
            game_id=d["game_id"],
            account_id=d["account_id"],
            player_email=d["player_email"],
            currency=d["currency"],
            direction=d["direction"],
            amount=money.parse(d["amount"]),
            real=money.parse(d["real"]),
            bonus=money.parse(d["bonus"]),
            available_before=money.parse(d["available_before"]),
            available_after=money.parse(d["available_after"]),
            reserved_after=money.parse(d["reserved_after"]),
            reason=d["reason"],
            meta=d["meta"],
            created_at=parse_iso(d["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class Conversion:
    """The facts of one currency conversion (what a replay returns unchanged)."""

    reference: str
    account_id: str
    player_email: str | None
    from_currency: Currency
    to_currency: Currency
    amount: Decimal
    credited: Decimal
    rate_from: Decimal
    rate_to: Decimal
    from_available: Decimal
    to_available: Decimal
    to_reserved: Decimal
    created_at: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "reference": self.reference,
                "account_id": self.account_id,
                "player_email": self.player_email,
                "amount": money.wire(self.amount),
                "credited": money.wire(self.credited),
                "rate_from": money.wire(self.rate_from),
                "rate_to": money.wire(self.rate_to),
                "from_available": money.wire(self.from_available),
                "to_available": money.wire(self.to_available),
                "to_reserved": money.wire(self.to_reserved),
                "created_at": iso(self.created_at),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, src: Currency, dst: Currency) -> Conversion:
        d = json.loads(text)
        return cls(
            reference=d["reference"],
            account_id=d["account_id"],
            player_email=d["player_email"],
            from_currency=src,
            to_currency=dst,
            amount=money.parse(d["amount"]),
            credited=money.parse(d["credited"]),
            rate_from=money.parse(d["rate_from"]),
            rate_to=money.parse(d["rate_to"]),
            from_available=money.parse(d["from_available"]),
            to_available=money.parse(d["to_available"]),
            to_reserved=money.parse(d["to_reserved"]),
            created_at=parse_iso(d["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class HistoryItem:
    entry: JournalEntry
    direction: BalanceFlow
    amount: Decimal
    before: Decimal
    after: Decimal
    game_id: str | None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    player: Player
    wallet: Wallet
    currency: Currency | None
    page: int
    limit: int
    total: int
    items: list[HistoryItem]


def _valid_account(account_id: str) -> None:
    if not ACCOUNT_ID.fullmatch(account_id):
        raise Invalid("player id must match [0-9A-Za-z]{1,60}")


def entry_direction(e: JournalEntry) -> tuple[BalanceFlow, Decimal]:
    """credit/debit/none and the absolute amount of an entry, from the sign of real + bonus:
    the same value as the journal's ``flow`` column that the history filters on.

    An entry that leaves real + bonus unchanged (a hold capture moves reserved funds only, a
    zero win) is ``none`` with an amount of 0.
    """
    delta = money.add(e.real_delta, e.bonus_delta)
    return (entry_flow(e), -delta if delta < 0 else delta)


def history_item(e: JournalEntry) -> HistoryItem:
    d, amount = entry_direction(e)
    gid = e.reference.split(":", 2)[1] if e.reference.startswith("api:") else None
    return HistoryItem(
        e, d, amount, money.add(e.real_before, e.bonus_before), money.add(e.real_after, e.bonus_after), gid
    )


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    spend: Decimal
    wins: Decimal
    credits: Decimal


@dataclass(frozen=True, slots=True)
class CurrencyAnalytics:
    currency: str
    info: Currency | None
    buckets: list[Bucket]
    spend: Decimal
    wins: Decimal
    credits: Decimal
    previous_spend: Decimal
    previous_wins: Decimal
    top_spend: list[tuple[str, Decimal, int]]  # (category, amount, count), largest first


@dataclass(frozen=True, slots=True)
class Analytics:
    player: Player
    bucket: Literal["day", "week"]
    since: datetime
    until: datetime
    currencies: list[CurrencyAnalytics]


def _bucket_start(ts: datetime, since: datetime, bucket: Literal["day", "week"]) -> datetime:
    """Buckets are whole days/weeks counted from ``since`` (so any start time works)."""
    size = timedelta(days=1 if bucket == "day" else 7)
    return since + size * ((ts - since) // size)


def spend_category(e: JournalEntry) -> str:
    """What a debit was spent on: the game for wagers, else the kind of the movement."""
    if e.kind == "wager":
        return "wager"
    if e.reference.startswith("api:"):
        return "api_debit:" + e.reference.split(":", 2)[1]
    return e.kind


def build_analytics(
    player: Player,
    per: dict[str, list[JournalEntry]],
    currencies: dict[str, Currency],
    *,
    bucket: Literal["day", "week"],
    since: datetime,
    until: datetime,
) -> Analytics:
    """Aggregate journal entries of [since - span, until) into the analytics (pure).

    spend = debits of the available balance; wins = credits of game wins (result,
    jackpot); credits = every credit (wins, refunds, top-ups, transfers in).
    """
    out: list[CurrencyAnalytics] = []
    size = timedelta(days=1 if bucket == "day" else 7)
    for code in sorted(per):
        rows: dict[datetime, list[Decimal]] = {}
        start = since
        while start < until:
            rows[start] = [money.ZERO, money.ZERO, money.ZERO]
            start += size
        prev = [money.ZERO, money.ZERO]
        cats: dict[str, list[Any]] = defaultdict(lambda: [money.ZERO, 0])
        for e in per[code]:
            d, amount = entry_direction(e)
            if amount.is_zero():
                continue
            if e.created_at < since:
                if d == "debit":
                    prev[0] = money.add(prev[0], amount)
                elif e.kind in WIN_KINDS:
                    prev[1] = money.add(prev[1], amount)
                continue
            row = rows[_bucket_start(e.created_at, since, bucket)]
            if d == "debit":
                row[0] = money.add(row[0], amount)
                cat = cats[spend_category(e)]
                cat[0] = money.add(cat[0], amount)
                cat[1] += 1
            else:
                row[2] = money.add(row[2], amount)
                if e.kind in WIN_KINDS:
                    row[1] = money.add(row[1], amount)
        buckets = [Bucket(k, v[0], v[1], v[2]) for k, v in rows.items()]
        spend = sum((b.spend for b in buckets), money.ZERO)
        top = sorted(((k, v[0], v[1]) for k, v in cats.items()), key=lambda t: (-t[1], t[0]))[:5]
        out.append(
            CurrencyAnalytics(
                currency=code,
                info=currencies.get(code),
                buckets=buckets,
                spend=money.check(spend),
                wins=money.check(sum((b.wins for b in buckets), money.ZERO)),
                credits=money.check(sum((b.credits for b in buckets), money.ZERO)),
                previous_spend=prev[0],
                previous_wins=prev[1],
                top_spend=top,
            )
        )
    return Analytics(player, bucket, since, until, out)


class RestService:
    def __init__(self, store: WalletStore, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()

    # ------------------------------------------------------------------ games and keys

    async def create_game(self, *, operator_id: str, game_id: str, name: str) -> tuple[Game, str]:
        """Register a game; returns it with its secret key (shown once, stored hashed)."""
        if not OPERATOR_ID.fullmatch(operator_id):
            raise Invalid("operator_id must match [0-9A-Za-z]{1,20}")
        secret = "gwk_" + secrets.token_urlsafe(32)
        game = Game(
            game_id=game_id, operator_id=operator_id, name=name, key_hash=key_hash(secret), created_at=self.clock.now()
        )

        async def unit(tx: Tx) -> Game:
            if await tx.get_operator(operator_id) is None:
                raise NotFound(f"operator {operator_id} not found")
            if await tx.get_game(game_id) is not None:
                raise Conflict(f"game {game_id} exists")
            await tx.insert_game(game)
            return game

        return await self.store.write(unit), secret

    async def rotate_game_key(self, game_id: str) -> tuple[Game, str]:
        """A new secret key for a game (shown once); the old key stops working at once."""
        secret = "gwk_" + secrets.token_urlsafe(32)
        digest = key_hash(secret)

        async def unit(tx: Tx) -> Game:
            game = await tx.get_game(game_id)
            if game is None or not await tx.set_game_key_hash(game_id, digest):
                raise NotFound(f"game {game_id} not found")
            return game

        game = await self.store.write(unit)
        return Game(game.game_id, game.operator_id, game.name, digest, game.created_at), secret

    async def authenticate(self, secret: str | None) -> Game:
        if not secret:
            raise AuthenticationFailed("missing game key")
        digest = key_hash(secret)

        async def unit(tx: Tx) -> Game | None:
            return await tx.get_game_by_key_hash(digest)

        game = await self.store.read(unit)
        if game is None:
            raise AuthenticationFailed("invalid game key")
        return game

    # ------------------------------------------------------------------ reads

    @staticmethod
    async def _find(
        tx: Tx,
        game: Game,
        *,
        account_id: str | None,
        email: str | None,
        lock: bool = False,
        identity: str | None = None,
    ) -> Player:
        """The player, if it is one of the game's operator's; else NotFound (no data leak).

        ``identity`` (private wallet API) is an external identity the operator registered,
        else a player id.
        """
        player: Player | None
        if identity is not None:
            mapped = await tx.get_identity(game.operator_id, identity)
            if mapped is None and not ACCOUNT_ID.fullmatch(identity):
                raise NotFound("player not found")
            account_id = mapped or identity
        if account_id is not None:
            player = await (tx.lock_player(account_id) if lock else tx.get_player(account_id))
        elif email is not None:
            player = await tx.get_player_by_email(game.operator_id, email)
            if player is not None and lock:
                player = await tx.lock_player(player.account_id)
        else:
            raise Invalid("player_id or player_email is required")
        if player is None or player.operator_id != game.operator_id:
            raise NotFound("player not found")
        return player

    @staticmethod
    async def _currencies(tx: Tx, operator_id: str) -> dict[str, Currency]:
        return {c.code: c for c in await tx.list_currencies(operator_id)}

    async def balances(
        self, game: Game, *, account_id: str | None = None, email: str | None = None, identity: str | None = None
    ) -> PlayerBalances:
        if account_id is not None:
            _valid_account(account_id)

        async def unit(tx: Tx) -> PlayerBalances:
            p = await self._find(tx, game, account_id=account_id, email=email, identity=identity)
            return PlayerBalances(p, await tx.list_wallets(p.account_id), await self._currencies(tx, p.operator_id))

        return await self.store.read(unit)

    async def batch(self, game: Game, *, account_ids: list[str], emails: list[str]) -> BatchResult:
        if len(account_ids) + len(emails) > MAX_BATCH:
            raise Invalid(f"at most {MAX_BATCH} players per batch")
        if not account_ids and not emails:
            raise Invalid("player_emails or player_ids is required")
        for a in account_ids:
            _valid_account(a)

        async def unit(tx: Tx) -> BatchResult:
            found: list[PlayerBalances] = []
            seen: set[str] = set()
            missing_ids: list[str] = []
            missing_emails: list[str] = []
            currencies = await self._currencies(tx, game.operator_id)
            for a in account_ids:
                p = await tx.get_player(a)
                if p is None or p.operator_id != game.operator_id:
                    missing_ids.append(a)
                elif p.account_id not in seen:
                    seen.add(p.account_id)
                    found.append(PlayerBalances(p, await tx.list_wallets(p.account_id), currencies))
            for e in emails:
                p = await tx.get_player_by_email(game.operator_id, e)
                if p is None:
                    missing_emails.append(e)
                elif p.account_id not in seen:
                    seen.add(p.account_id)
                    found.append(PlayerBalances(p, await tx.list_wallets(p.account_id), currencies))
            return BatchResult(found, missing_ids, missing_emails, currencies)

        return await self.store.read(unit)

    async def history(
        self,
        game: Game,
        currency: str,
        *,
        account_id: str | None = None,
        identity: str | None = None,
        page: int,
        limit: int,
        flows: Sequence[BalanceFlow] | None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> HistoryPage:
        """A page of one wallet's journal, newest first; filters run in the database.

        ``flows``: only entries whose available-balance direction is one of these (None: all).
        """
        if account_id is not None:
            _valid_account(account_id)
        if not 1 <= limit <= MAX_PAGE or page < 1 or (page - 1) * limit > MAX_OFFSET:
            raise Invalid(f"page must be >= 1, limit 1..{MAX_PAGE}, and the offset at most {MAX_OFFSET}")
        if since is not None and until is not None and since >= until:
            raise Invalid("from must be before to")

        async def unit(tx: Tx) -> tuple[Player, Wallet, Currency | None, int, list[JournalEntry]]:
            p = await self._find(tx, game, account_id=account_id, email=None, identity=identity)
            w = await tx.get_wallet(p.account_id, currency)
            if w is None:
                raise NotFound(f"the player has no {currency} wallet")
            total, entries = await tx.journal_page(
                p.account_id,
                currency,
                flows=flows,
                since=since,
                until=until,
                offset=(page - 1) * limit,
                limit=limit,
            )
            return p, w, await tx.get_currency(p.operator_id, currency), total, entries

        player, wallet, cur, total, entries = await self.store.read(unit)
        items = [history_item(e) for e in entries]
        return HistoryPage(player, wallet, cur, page, limit, total, items)

    async def analytics(
        self,
        game: Game,
        account_id: str,
        *,
        bucket: Literal["day", "week"],
        since: datetime,
        until: datetime,
        currency: str | None = None,
    ) -> Analytics:
        """Spend and wins per currency per day/week, top spend categories, trend vs. the previous period."""
        _valid_account(account_id)
        if since >= until:
            raise Invalid("from must be before to")
        if until - since > MAX_ANALYTICS_SPAN:
            raise Invalid(f"the period is at most {MAX_ANALYTICS_SPAN.days} days")
        prev_since = since - (until - since)

        async def unit(tx: Tx) -> tuple[Player, dict[str, list[JournalEntry]], dict[str, Currency]]:
            p = await self._find(tx, game, account_id=account_id, email=None)
            per: dict[str, list[JournalEntry]] = {}
            for w in await tx.list_wallets(p.account_id):
                if currency is not None and w.currency != currency:
                    continue
                total, entries = await tx.journal_page(
                    p.account_id,
                    w.currency,
                    flows=None,
                    since=prev_since,
                    until=until,
                    offset=0,
                    limit=MAX_ANALYTICS_ENTRIES + 1,
                )
                if total > MAX_ANALYTICS_ENTRIES:
                    raise Invalid(
                        f"more than {MAX_ANALYTICS_ENTRIES} movements in the period and the one before: choose a"
                        " shorter period"
                    )
                per[w.currency] = entries
            return p, per, await self._currencies(tx, p.operator_id)

        player, per, currencies = await self.store.read(unit)
        return build_analytics(player, per, currencies, bucket=bucket, since=since, until=until)

    # ------------------------------------------------------------------ currencies and identities (admin)

    async def set_currency(
        self,
        *,
        operator_id: str,
        code: str,
        name: str | None,
        symbol: str | None,
        usd_rate: Decimal | None,
        rate_given: bool,
        start_amount: Decimal | None,
        note: str,
    ) -> tuple[Currency, bool]:
        if not CURRENCY.fullmatch(code):
            raise Invalid("currency code must match [A-Z][A-Z0-9]{2,9}")
        now = self.clock.now()

        async def unit(tx: Tx) -> tuple[Currency, bool]:
            return await set_currency(
                tx,
                operator_id=operator_id,
                code=code,
                name=name,
                symbol=symbol,
                usd_rate=usd_rate,
                rate_given=rate_given,
                start_amount=start_amount,
                note=note,
                now=now,
            )

        return await self.store.write(unit)

    async def list_currencies(self, operator_id: str) -> list[Currency]:
        async def unit(tx: Tx) -> list[Currency]:
            if await tx.get_operator(operator_id) is None:
                raise NotFound(f"operator {operator_id} not found")
            return await tx.list_currencies(operator_id)

        return await self.store.read(unit)

    async def rate_history(self, operator_id: str, code: str) -> tuple[Currency, list[RateChange]]:
        async def unit(tx: Tx) -> tuple[Currency, list[RateChange]]:
            cur = await tx.get_currency(operator_id, code)
            if cur is None:
                raise NotFound(f"operator {operator_id} has no currency {code}")
            return cur, await tx.list_rate_changes(operator_id, code)

        return await self.store.read(unit)

    async def register_identity(self, *, operator_id: str, identity: str, account_id: str) -> None:
        """Map an external identity of the operator's to one of its players (once, never re-pointed)."""
        if not IDENTITY.fullmatch(identity):
            raise Invalid("identity must match [0-9A-Za-z._:@-]{1,128}")
        _valid_account(account_id)
        now = self.clock.now()

        async def unit(tx: Tx) -> None:
            p = await tx.get_player(account_id)
            if p is None or p.operator_id != operator_id:
                raise NotFound(f"operator {operator_id} has no player {account_id}")
            existing = await tx.get_identity(operator_id, identity)
            if existing is not None:
                if existing == account_id:
                    return
                raise Conflict(f"identity {identity} already belongs to another player")
            await tx.insert_identity(operator_id, identity, account_id, now)

        await self.store.write(unit)

    # ------------------------------------------------------------------ writes

    async def transfer(
        self,
        game: Game,
        *,
        face: str,
        direction: Direction,
        account_id: str | None,
        email: str | None,
        currency: str,
        amount: Decimal,
        reason: str,
        meta: str,
        idempotency_key: str,
        identity: str | None = None,
    ) -> tuple[Transfer, bool, Currency]:
        """Credit or debit a player's wallet once per idempotency key.  Returns (facts, replayed, currency).

        Only currencies the operator offers can be moved (``UnknownCurrency`` otherwise).
        """
        if account_id is not None:
            _valid_account(account_id)
        if amount <= 0:
            raise Invalid("amount must be greater than zero")
        now = self.clock.now()
        key = f"{face}:{game.game_id}:{idempotency_key}"
        fp = idempotency.fingerprint(
            {
                "direction": direction,
                "player_id": account_id,
                "player_email": None if email is None else email.strip().lower(),
                "currency": currency,
                "amount": amount,
                "reason": reason,
                "meta": meta,
            }
        )

        async def unit(tx: Tx) -> tuple[Transfer, bool, Currency]:
            player = await self._find(tx, game, account_id=account_id, email=email, lock=True, identity=identity)
            cur = await tx.get_currency(player.operator_id, currency)
            if cur is None:
                raise UnknownCurrency(f"currency {currency} is not offered by this operator")
            match idempotency.decide(idempotency.stored_reply(await tx.get_admin_op(key)), fp):
                case idempotency.Replay(record=done):
                    return Transfer.from_json(done.reply), True, cur
                case idempotency.Mismatch():
                    raise IdempotencyConflict(idempotency.reused_by_game(idempotency_key))
            if player.blocked:
                raise AccountBlocked("account is blocked or self-excluded")
            wallet = await tx.get_wallet(player.account_id, currency)
            if wallet is None:
                if direction == "debit":
                    raise OutOfMoney(f"insufficient funds: the player has no {currency} wallet")
                wallet = Wallet(account_id=player.account_id, currency=currency, updated_at=now)
                await tx.insert_wallet(wallet)
            before = available(wallet)
            if direction == "debit":
                op = await tx.get_operator(player.operator_id)
                if op is None:
                    raise NotFound("operator not found")
                if before < amount:
                    raise OutOfMoney(
                        f"insufficient funds: available {money.wire(before)} {currency}, requested {money.wire(amount)}"
                    )
                real, bonus = split_debit(wallet, amount, op.debit_order)
                real, bonus = -real, -bonus
            else:
                real, bonus = amount, money.ZERO
            ref = f"api:{game.game_id}:{uuid.uuid4().hex[:20]}"
            wallet, entry = move(
                wallet, kind=f"api_{direction}", real=real, bonus=bonus, reference=ref, reason=reason, now=now
            )
            await tx.save_wallet(wallet, [entry])
            await tx.touch_player(player.account_id, now)  # money activity: last_active
            facts = Transfer(
                reference=ref,
                game_id=game.game_id,
                account_id=player.account_id,
                player_email=player.email,
                currency=currency,
                direction=direction,
                amount=amount,
                real=real,
                bonus=bonus,
                available_before=before,
                available_after=available(wallet),
                reserved_after=wallet.reserved,
                reason=reason,
                meta=meta,
                created_at=now,
            )
            await tx.insert_admin_op(key, fp.digest, facts.to_json(), now)
            return facts, False, cur

        return await self.store.write(unit)

    async def convert(
        self,
        game: Game,
        *,
        account_id: str | None,
        email: str | None,
        from_currency: str,
        to_currency: str,
        amount: Decimal,
        idempotency_key: str,
    ) -> tuple[Conversion, bool]:
        """Move ``amount`` of one currency into another of the player's at the current rates.

        One unit of work: the debit of the source wallet and the credit of the target wallet
        commit together or not at all.  The credited amount is rounded down.  Idempotent by
        key (scoped to the game), like credit/debit.
        """
        if account_id is not None:
            _valid_account(account_id)
        if amount <= 0:
            raise Invalid("amount must be greater than zero")
        if from_currency == to_currency:
            raise Invalid("from_currency and to_currency must differ")
        now = self.clock.now()
        key = f"cv:{game.game_id}:{idempotency_key}"
        fp = idempotency.fingerprint(
            {
                "player_id": account_id,
                "player_email": None if email is None else email.strip().lower(),
                "from": from_currency,
                "to": to_currency,
                "amount": amount,
            }
        )

        async def unit(tx: Tx) -> tuple[Conversion, bool]:
            player = await self._find(tx, game, account_id=account_id, email=email, lock=True)
            src = await tx.get_currency(player.operator_id, from_currency)
            dst = await tx.get_currency(player.operator_id, to_currency)
            if src is None or dst is None:
                missing = from_currency if src is None else to_currency
                raise UnknownCurrency(f"currency {missing} is not offered by this operator")
            match idempotency.decide(idempotency.stored_reply(await tx.get_admin_op(key)), fp):
                case idempotency.Replay(record=done):
                    return Conversion.from_json(done.reply, src, dst), True
                case idempotency.Mismatch():
                    raise IdempotencyConflict(idempotency.reused_by_game(idempotency_key))
            if player.blocked:
                raise AccountBlocked("account is blocked or self-excluded")
            credited = convert(amount, src, dst)
            if credited <= 0:
                raise Invalid("the amount converts to nothing at the current rate")
            source = await tx.get_wallet(player.account_id, from_currency)
            if source is None or available(source) < amount:
                have = money.ZERO if source is None else available(source)
                raise OutOfMoney(
                    f"insufficient funds: available {money.wire(have)} {from_currency}, requested {money.wire(amount)}"
                )
            op = await tx.get_operator(player.operator_id)
            if op is None:
                raise NotFound("operator not found")
            target = await tx.get_wallet(player.account_id, to_currency)
            if target is None:
                target = Wallet(account_id=player.account_id, currency=to_currency, updated_at=now)
                await tx.insert_wallet(target)
            ref = f"cv:{game.game_id}:{uuid.uuid4().hex[:20]}"
            real, bonus = split_debit(source, amount, op.debit_order)
            reason = f"convert {money.wire(amount)} {from_currency} to {money.wire(credited)} {to_currency}"
            source, out_entry = move(
                source, kind="convert_out", real=-real, bonus=-bonus, reference=ref, reason=reason, now=now
            )
            target, in_entry = move(target, kind="convert_in", real=credited, reference=ref, reason=reason, now=now)
            await tx.save_wallet(source, [out_entry])
            await tx.save_wallet(target, [in_entry])
            await tx.touch_player(player.account_id, now)  # money activity: last_active
            facts = Conversion(
                reference=ref,
                account_id=player.account_id,
                player_email=player.email,
                from_currency=src,
                to_currency=dst,
                amount=amount,
                credited=credited,
                rate_from=src.usd_rate or money.ZERO,
                rate_to=dst.usd_rate or money.ZERO,
                from_available=available(source),
                to_available=available(target),
                to_reserved=target.reserved,
                created_at=now,
            )
            await tx.insert_admin_op(key, fp.digest, facts.to_json(), now)
            return facts, False

        return await self.store.write(unit)
