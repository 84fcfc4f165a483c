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

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from . import money
from .errors import AccountBlocked, AuthenticationFailed, Conflict, IdempotencyConflict, Invalid, NotFound, OutOfMoney
from .model import (
    ACCOUNT_ID,
    OPERATOR_ID,
    Clock,
    Game,
    JournalEntry,
    Player,
    SystemClock,
    Wallet,
    iso,
    key_hash,
    move,
    parse_iso,
    split_debit,
)
from .ports import Tx, WalletStore

Direction = Literal["credit", "debit"]
MAX_BATCH = 100


def available(w: Wallet) -> Decimal:
    return w.total


def total(w: Wallet) -> Decimal:
    return money.add(w.total, w.reserved)


@dataclass(frozen=True, slots=True)
class PlayerBalances:
    player: Player
    wallets: list[Wallet]


@dataclass(frozen=True, slots=True)
class BatchResult:
    found: list[PlayerBalances]
    not_found_ids: list[str]
    not_found_emails: list[str]


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
class HistoryItem:
    entry: JournalEntry
    direction: Direction
    amount: Decimal
    before: Decimal
    after: Decimal
    game_id: str | None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    player: Player
    wallet: Wallet
    page: int
    limit: int
    total: int
    items: list[HistoryItem]


def _fingerprint(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _valid_account(account_id: str) -> None:
    if not ACCOUNT_ID.fullmatch(account_id):
        raise Invalid("player id must match [0-9A-Za-z]{1,60}")


def entry_direction(e: JournalEntry) -> tuple[Direction, Decimal]:
    """credit/debit and the absolute amount of an entry, from the sign of real + bonus."""
    delta = money.add(e.real_delta, e.bonus_delta)
    return ("debit", -delta) if delta < 0 else ("credit", delta)


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
    async def _find(tx: Tx, game: Game, *, account_id: str | None, email: str | None, lock: bool = False) -> Player:
        """The player, if it is one of the game's operator's; else NotFound (no data leak)."""
        player: Player | None
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

    async def balances(self, game: Game, *, account_id: str | None = None, email: str | None = None) -> PlayerBalances:
        if account_id is not None:
            _valid_account(account_id)

        async def unit(tx: Tx) -> PlayerBalances:
            p = await self._find(tx, game, account_id=account_id, email=email)
            return PlayerBalances(p, await tx.list_wallets(p.account_id))

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
            for a in account_ids:
                p = await tx.get_player(a)
                if p is None or p.operator_id != game.operator_id:
                    missing_ids.append(a)
                elif p.account_id not in seen:
                    seen.add(p.account_id)
                    found.append(PlayerBalances(p, await tx.list_wallets(p.account_id)))
            for e in emails:
                p = await tx.get_player_by_email(game.operator_id, e)
                if p is None:
                    missing_emails.append(e)
                elif p.account_id not in seen:
                    seen.add(p.account_id)
                    found.append(PlayerBalances(p, await tx.list_wallets(p.account_id)))
            return BatchResult(found, missing_ids, missing_emails)

        return await self.store.read(unit)

    async def history(
        self, game: Game, account_id: str, currency: str, *, page: int, limit: int, direction: Direction | None
    ) -> HistoryPage:
        """A page of one wallet's journal, newest first, optionally only credits or debits."""
        _valid_account(account_id)

        async def unit(tx: Tx) -> tuple[Player, Wallet, list[JournalEntry]]:
            p = await self._find(tx, game, account_id=account_id, email=None)
            w = await tx.get_wallet(p.account_id, currency)
            if w is None:
                raise NotFound(f"the player has no {currency} wallet")
            return p, w, await tx.list_journal(p.account_id, currency)

        player, wallet, entries = await self.store.read(unit)
        items: list[HistoryItem] = []
        for e in reversed(entries):
            d, amount = entry_direction(e)
            if direction is not None and d != direction:
                continue
            before = money.add(e.real_before, e.bonus_before)
            after = money.add(e.real_after, e.bonus_after)
            gid = e.reference.split(":", 2)[1] if e.reference.startswith("api:") else None
            items.append(HistoryItem(e, d, amount, before, after, gid))
        start = (page - 1) * limit
        return HistoryPage(player, wallet, page, limit, len(items), items[start : start + limit])

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
    ) -> tuple[Transfer, bool]:
        """Credit or debit a player's wallet once per idempotency key.  Returns (facts, replayed)."""
        if account_id is not None:
            _valid_account(account_id)
        if amount <= 0:
            raise Invalid("amount must be greater than zero")
        now = self.clock.now()
        key = f"{face}:{game.game_id}:{idempotency_key}"
        fingerprint = _fingerprint(
            {
                "direction": direction,
                "player_id": account_id,
                "player_email": None if email is None else email.strip().lower(),
                "currency": currency,
                "amount": money.wire(amount),
                "reason": reason,
                "meta": meta,
            }
        )

        async def unit(tx: Tx) -> tuple[Transfer, bool]:
            player = await self._find(tx, game, account_id=account_id, email=email, lock=True)
            done = await tx.get_admin_op(key)
            if done is not None:
                if done[0] != fingerprint:
                    raise IdempotencyConflict(
                        f"idempotency key {idempotency_key!r} was already used by this game with a different request"
                    )
                return Transfer.from_json(done[1]), True
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
            await tx.insert_admin_op(key, fingerprint, facts.to_json(), now)
            return facts, False

        return await self.store.write(unit)
