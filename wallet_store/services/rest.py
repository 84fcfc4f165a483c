"""Use cases of the REST faces (Player Balance API, private wallet API) on the one store.

Pure of HTTP: it speaks :mod:`wallet_store.ports` and raises :mod:`wallet_store.errors`.
The rules are in the domain: balances (:mod:`~wallet_store.domain.balances`), history and
analytics (:mod:`~wallet_store.domain.analytics`), credit/debit/convert
(:mod:`~wallet_store.domain.transfers`, run by :mod:`wallet_store.services.transfers`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from wallet_store.currencies import set_currency
from wallet_store.domain.analytics import (
    MAX_ANALYTICS_ENTRIES,
    Analytics,
    BucketSize,
    HistoryPage,
    build_analytics,
    check_entry_count,
    check_page,
    check_period,
    history_item,
)
from wallet_store.domain.balances import BatchResult, PlayerBalances
from wallet_store.domain.requests import of_operator, valid_account, valid_identity
from wallet_store.domain.transfers import Conversion, ConvertCmd, Direction, Transfer, TransferCmd
from wallet_store.errors import AuthenticationFailed, Conflict, Invalid, NotFound
from wallet_store.model import (
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
    key_hash,
)
from wallet_store.ports import Tx, WalletStore
from wallet_store.services.lookup import currencies, find_player
from wallet_store.services.transfers import run_convert, run_transfer

MAX_BATCH = 100


def _new_secret() -> str:
    return "gwk_" + secrets.token_urlsafe(32)


class RestService:
    def __init__(self, store: WalletStore, clock: Clock | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()

    # ------------------------------------------------------------------ games and keys

    async def create_game(self, *, operator_id: str, game_id: str, name: str) -> tuple[Game, str]:
        """Register a game; returns it with its secret key (shown once, stored hashed)."""
        if not OPERATOR_ID.fullmatch(operator_id):
            raise Invalid("operator_id must match [0-9A-Za-z]{1,20}")
        secret = _new_secret()
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
        secret = _new_secret()
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

    async def balances(
        self, game: Game, *, account_id: str | None = None, email: str | None = None, identity: str | None = None
    ) -> PlayerBalances:
        if account_id is not None:
            valid_account(account_id)

        async def unit(tx: Tx) -> PlayerBalances:
            p = await find_player(tx, game, account_id=account_id, email=email, identity=identity)
            return PlayerBalances(p, await tx.list_wallets(p.account_id), await currencies(tx, p.operator_id))

        return await self.store.read(unit)

    async def batch(self, game: Game, *, account_ids: list[str], emails: list[str]) -> BatchResult:
        if len(account_ids) + len(emails) > MAX_BATCH:
            raise Invalid(f"at most {MAX_BATCH} players per batch")
        if not account_ids and not emails:
            raise Invalid("player_emails or player_ids is required")
        for a in account_ids:
            valid_account(a)

        async def unit(tx: Tx) -> BatchResult:
            found: dict[str, PlayerBalances] = {}
            missing_ids: list[str] = []
            missing_emails: list[str] = []
            known = await currencies(tx, game.operator_id)
            for a in account_ids:
                p = await tx.get_player(a)
                if p is None or p.operator_id != game.operator_id:
                    missing_ids.append(a)
                elif p.account_id not in found:
                    found[p.account_id] = PlayerBalances(p, await tx.list_wallets(p.account_id), known)
            for e in emails:
                p = await tx.get_player_by_email(game.operator_id, e)
                if p is None:
                    missing_emails.append(e)
                elif p.account_id not in found:
                    found[p.account_id] = PlayerBalances(p, await tx.list_wallets(p.account_id), known)
            return BatchResult(list(found.values()), missing_ids, missing_emails, known)

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
            valid_account(account_id)
        check_page(page, limit, since, until)

        async def unit(tx: Tx) -> tuple[Player, Wallet, Currency | None, int, list[JournalEntry]]:
            p = await find_player(tx, game, account_id=account_id, email=None, identity=identity)
            w = await tx.get_wallet(p.account_id, currency)
            if w is None:
                raise NotFound(f"the player has no {currency} wallet")
            count, entries = await tx.journal_page(
                p.account_id, currency, flows=flows, since=since, until=until, offset=(page - 1) * limit, limit=limit
            )
            return p, w, await tx.get_currency(p.operator_id, currency), count, entries

        player, wallet, cur, count, entries = await self.store.read(unit)
        return HistoryPage(player, wallet, cur, page, limit, count, [history_item(e) for e in entries])

    async def analytics(
        self,
        game: Game,
        account_id: str,
        *,
        bucket: BucketSize,
        since: datetime,
        until: datetime,
        currency: str | None = None,
    ) -> Analytics:
        """Spend and wins per currency per day/week, top spend categories, trend vs. the previous period."""
        valid_account(account_id)
        prev_since = check_period(since, until)

        async def unit(tx: Tx) -> tuple[Player, dict[str, list[JournalEntry]], dict[str, Currency]]:
            p = await find_player(tx, game, account_id=account_id, email=None)
            per: dict[str, list[JournalEntry]] = {}
            for w in await tx.list_wallets(p.account_id):
                if currency is not None and w.currency != currency:
                    continue
                count, entries = await tx.journal_page(
                    p.account_id,
                    w.currency,
                    flows=None,
                    since=prev_since,
                    until=until,
                    offset=0,
                    limit=MAX_ANALYTICS_ENTRIES + 1,
                )
                check_entry_count(count)
                per[w.currency] = entries
            return p, per, await currencies(tx, p.operator_id)

        player, per, known = await self.store.read(unit)
        return build_analytics(player, per, known, bucket=bucket, since=since, until=until)

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
        valid_identity(identity)
        valid_account(account_id)
        now = self.clock.now()

        async def unit(tx: Tx) -> None:
            of_operator(
                await tx.get_player(account_id), operator_id, f"operator {operator_id} has no player {account_id}"
            )
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
        cmd = TransferCmd(
            game.game_id, face, direction, account_id, email, currency, amount, reason, meta, idempotency_key
        )
        return await run_transfer(self.store, game, cmd, identity=identity, now=self.clock.now())

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
        cmd = ConvertCmd(game.game_id, account_id, email, from_currency, to_currency, amount, idempotency_key)
        return await run_convert(self.store, game, cmd, now=self.clock.now())
