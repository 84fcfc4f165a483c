"""Operator and player administration: operators, players, sessions, limits, free rounds, adjustments.

Units of work on the store like the money requests; they answer the admin face (and the CLI).
An adjustment is an idempotent keyed write (:mod:`wallet_store.domain.idempotency`); its
stored reply is :func:`wallet_store.domain.adjust.adjustment_reply`, which the audit reads.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from wallet_store import money
from wallet_store.currencies import ensure_currency
from wallet_store.domain import idempotency
from wallet_store.domain.adjust import adjustment_reply
from wallet_store.domain.groove import new_tx_id
from wallet_store.errors import AccountBlocked, Conflict, IdempotencyConflict, NotFound
from wallet_store.model import (
    FreeRoundAward,
    GameSession,
    Limits,
    Operator,
    PaysInto,
    Player,
    PlayerStatus,
    SignatureScheme,
    Wallet,
    move,
)
from wallet_store.ports import Tx
from wallet_store.services.base import ServiceBase


class AdminService(ServiceBase):
    async def create_operator(self, op: Operator) -> Operator:
        async def unit(tx: Tx) -> Operator:
            if await tx.get_operator(op.operator_id) is not None:
                raise Conflict(f"operator {op.operator_id} exists")
            await tx.insert_operator(op)
            await ensure_currency(tx, op.operator_id, op.currency, op.created_at)
            return op

        return await self._write(unit)

    async def set_signature(self, operator_id: str, secret: str | None, scheme: SignatureScheme) -> Operator:
        """Replace an operator's /groove signature secret and scheme (rotation, or a move to
        "pairs"); the next request is checked with the new ones."""

        async def unit(tx: Tx) -> Operator:
            op = await tx.get_operator(operator_id)
            if op is None:
                raise NotFound(f"operator {operator_id} not found")
            op = replace(op, signature_secret=secret, signature_scheme=scheme)
            await tx.update_operator(op)
            return op

        return await self._write(unit)

    async def get_operator(self, operator_id: str) -> Operator:
        async def unit(tx: Tx) -> Operator | None:
            return await tx.get_operator(operator_id)

        op = await self.store.read(unit)
        if op is None:
            raise NotFound(f"operator {operator_id} not found")
        return op

    async def create_player(
        self,
        *,
        operator_id: str,
        account_id: str | None,
        name: str,
        email: str | None,
        country: str,
        city: str,
        currency: str | None,
        real: Decimal | None,
        bonus: Decimal | None,
    ) -> tuple[Player, list[Wallet]]:
        now = self.clock.now()
        acct = account_id or secrets.token_hex(8)

        async def unit(tx: Tx) -> tuple[Player, list[Wallet]]:
            op = await tx.get_operator(operator_id)
            if op is None:
                raise NotFound(f"operator {operator_id} not found")
            if await tx.get_player(acct) is not None:
                raise Conflict(f"account {acct} exists")
            if email is not None and await tx.get_player_by_email(operator_id, email) is not None:
                raise Conflict("a player with this e-mail exists for this operator")
            cur = currency or op.currency
            player = Player(
                account_id=acct,
                operator_id=operator_id,
                name=name,
                email=email,
                country=country,
                city=city,
                currency=cur,
                status="active",
                created_at=now,
            )
            await tx.insert_player(player)
            await ensure_currency(tx, operator_id, cur, now)
            wallets: list[Wallet] = []
            # The player's currency: the given opening balances, else the operator's starting
            # amounts (real + bonus) plus that currency's configured starting amount; every
            # other currency the operator offers: its configured starting amount.
            for c in await tx.list_currencies(operator_id):
                if c.code == cur:
                    start_real = money.add(op.start_real, c.start_amount) if real is None else real
                    start_bonus = op.start_bonus if bonus is None else bonus
                elif c.start_amount > 0:
                    start_real, start_bonus = c.start_amount, money.ZERO
                else:
                    continue
                wallet = Wallet(account_id=acct, currency=c.code, updated_at=now)
                await tx.insert_wallet(wallet)
                if start_real > 0 or start_bonus > 0:
                    wallet, entry = move(
                        wallet,
                        kind="initial",
                        real=start_real,
                        bonus=start_bonus,
                        reference="initial",
                        reason="opening balance",
                        now=now,
                    )
                    await tx.save_wallet(wallet, [entry])
                wallets.append(wallet)
            return player, wallets

        return await self._write(unit)

    async def get_player(self, account_id: str) -> tuple[Player, list[Wallet], Limits | None]:
        async def unit(tx: Tx) -> tuple[Player, list[Wallet], Limits | None] | None:
            p = await tx.get_player(account_id)
            if p is None:
                return None
            return p, await tx.list_wallets(account_id), await tx.get_limits(account_id)

        found = await self.store.read(unit)
        if found is None:
            raise NotFound(f"account {account_id} not found")
        return found

    async def set_status(self, account_id: str, status: PlayerStatus) -> Player:
        async def unit(tx: Tx) -> Player:
            p = await tx.lock_player(account_id)
            if p is None:
                raise NotFound(f"account {account_id} not found")
            p = replace(p, status=status)
            await tx.update_player(p)
            return p

        return await self._write(unit)

    async def adjust(
        self,
        account_id: str,
        *,
        currency: str,
        real: Decimal,
        bonus: Decimal,
        reason: str,
        idempotency_key: str,
    ) -> tuple[dict[str, Any], bool]:
        """A signed, journaled admin correction.  Returns (reply, replayed): the reply as stored
        (:func:`~wallet_store.domain.adjust.adjustment_reply`), the first one for a replay."""
        now = self.clock.now()
        fp = idempotency.fingerprint(
            {"account": account_id, "currency": currency, "real": real, "bonus": bonus, "reason": reason}
        )
        key = f"adjust:{idempotency_key}"

        async def unit(tx: Tx) -> tuple[dict[str, Any], bool]:
            p = await tx.lock_player(account_id)
            if p is None:
                raise NotFound(f"account {account_id} not found")
            match idempotency.decide(idempotency.stored_reply(await tx.get_admin_op(key)), fp):
                case idempotency.Replay(record=done):
                    return json.loads(done.reply), True
                case idempotency.Mismatch():
                    raise IdempotencyConflict("idempotency_key was used with a different adjustment")
            wallet = await tx.get_wallet(account_id, currency)
            if wallet is None:
                await ensure_currency(tx, p.operator_id, currency, now)
                wallet = Wallet(account_id=account_id, currency=currency, updated_at=now)
                await tx.insert_wallet(wallet)
            ref = new_tx_id()
            wallet, entry = move(wallet, kind="adjust", real=real, bonus=bonus, reference=ref, reason=reason, now=now)
            await tx.save_wallet(wallet, [entry])
            body = adjustment_reply(account_id, ref, wallet)
            await tx.insert_admin_op(key, fp.digest, json.dumps(body), now)
            return body, False

        return await self._write(unit)

    async def open_session(
        self, account_id: str, *, game_id: str | None, currency: str | None, ttl_seconds: int | None
    ) -> GameSession:
        now = self.clock.now()
        ttl = ttl_seconds or self.session_ttl

        async def unit(tx: Tx) -> GameSession:
            p = await tx.lock_player(account_id)
            if p is None:
                raise NotFound(f"account {account_id} not found")
            if p.blocked:
                raise AccountBlocked("account is blocked or self-excluded")
            cur = currency or p.currency
            if await tx.get_wallet(account_id, cur) is None:
                await ensure_currency(tx, p.operator_id, cur, now)
                await tx.insert_wallet(Wallet(account_id=account_id, currency=cur, updated_at=now))
            session = GameSession(
                session_id=f"{p.operator_id}_{uuid.uuid4()}",
                account_id=account_id,
                operator_id=p.operator_id,
                currency=cur,
                game_id=game_id,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
            await tx.insert_session(session)
            return session

        return await self._write(unit)

    async def close_session(self, session_id: str) -> None:
        now = self.clock.now()

        async def unit(tx: Tx) -> bool:
            return await tx.close_session(session_id, now)

        if not await self._write(unit):
            raise NotFound("no open session with this id")

    async def set_limits(self, limits: Limits) -> Limits:
        async def unit(tx: Tx) -> Limits:
            if await tx.lock_player(limits.account_id) is None:
                raise NotFound(f"account {limits.account_id} not found")
            await tx.save_limits(limits)
            return limits

        return await self._write(unit)

    async def award_free_rounds(self, account_id: str, frbid: str, pays_into: PaysInto) -> FreeRoundAward:
        now = self.clock.now()

        async def unit(tx: Tx) -> FreeRoundAward:
            p = await tx.lock_player(account_id)
            if p is None:
                raise NotFound(f"account {account_id} not found")
            existing = await tx.get_free_rounds(frbid)
            if existing is not None:
                if existing.account_id != account_id or existing.pays_into != pays_into:
                    raise Conflict("frbid exists with a different account or setting")
                return existing
            award = FreeRoundAward(frbid, account_id, p.operator_id, pays_into, now)
            await tx.insert_free_rounds(award)
            return award

        return await self._write(unit)
