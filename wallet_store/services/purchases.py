"""Currency purchases and item purchases: load -> decide (:mod:`wallet_store.domain.purchases`) -> persist.

A currency purchase is recorded (``processing``) before the provider is asked, then the
outcome is settled in a second unit of work under the player's lock, so the credit happens
once however many requests race (the provider is idempotent by payment id).
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from wallet_store.domain.flows import FlowSettings, Snapshot, WrongState, currency_name
from wallet_store.domain.purchases import (
    ItemCmd,
    ItemResult,
    Payer,
    PurchaseCmd,
    PurchaseResult,
    check_item,
    check_usd_amount,
    decide_item,
    decide_settle,
    declined,
    new_payment,
    stored_snapshot,
)
from wallet_store.domain.requests import replay_or_new
from wallet_store.errors import NotFound, WalletError
from wallet_store.model import Clock, Game, Payment
from wallet_store.payments import PaymentOutcome, PaymentProvider
from wallet_store.ports import Tx, WalletStore
from wallet_store.services.holds import release_due
from wallet_store.services.lookup import find_party, lock, raise_or_return, save_changes


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


async def _name(tx: Tx, operator_id: str, code: str) -> str:
    return currency_name(await tx.get_currency(operator_id, code), code)


class PurchaseService:
    """The purchase use cases of :class:`~wallet_store.services.flows.FlowService`."""

    store: WalletStore
    clock: Clock
    settings: FlowSettings
    payments: PaymentProvider

    # ------------------------------------------------------------------ currency purchases

    async def purchase_currency(
        self,
        game: Game,
        *,
        account_id: str | None,
        email: str | None,
        currency: str,
        usd_amount: Decimal,
        payment_token: str,
        idempotency_key: str,
    ) -> PurchaseResult:
        """Buy ``usd_amount`` USD worth of ``currency`` (at its USD rate, rounded down).

        The payment is recorded (``processing``) before the provider is asked, then settled:
        ``succeeded`` credits the player once, ``requires_action`` waits for
        :meth:`confirm_payment`, ``declined`` credits nothing (402, replayed for the key).
        """
        check_usd_amount(usd_amount, self.settings.max_purchase_usd)
        self.payments.check_token(payment_token)
        now = self.clock.now()
        cmd = PurchaseCmd(
            game.game_id, game.operator_id, account_id, email, currency, usd_amount, payment_token, idempotency_key
        )
        fp = cmd.fingerprint()
        payment_id = new_id("pay_")

        async def unit(tx: Tx) -> Payment:
            player = await find_party(tx, game, account_id=account_id, email=email, role="buying")
            player = await lock(tx, player.account_id)
            done = replay_or_new(await tx.get_payment_by_key(game.game_id, idempotency_key), fp, idempotency_key)
            if done is not None:
                return done
            cur = await tx.get_currency(game.operator_id, currency)
            payment = new_payment(
                player, cur, cmd, payment_id=payment_id, fingerprint=fp.digest, provider=self.payments.name, now=now
            )
            await tx.insert_payment(payment)
            return payment

        payment = await self.store.write(unit)
        if payment.state != "processing":
            return await self._replay_payment(payment)
        # New, or an earlier attempt with this key stopped before settling: the provider is
        # idempotent by payment id, so asking again gives the same answer.
        outcome = await self.payments.charge(
            payment_id=payment.payment_id, usd_amount=payment.usd_amount, token=payment_token
        )
        return await self._settle(payment.payment_id, outcome, replayed=payment.payment_id != payment_id)

    async def confirm_payment(self, game: Game, *, payment_id: str) -> PurchaseResult:
        """Complete a ``requires_action`` purchase; credits exactly once however often called."""

        async def unit(tx: Tx) -> Payment:
            found = await tx.get_payment(payment_id)
            if found is None or found.operator_id != game.operator_id:
                raise NotFound("payment not found")
            return found

        payment = await self.store.read(unit)
        if payment.state == "processing":
            raise WrongState("the payment is still being processed: repeat the purchase with its idempotency key")
        if payment.state != "requires_action":
            return await self._replay_payment(payment)
        outcome = await self.payments.confirm(payment_id=payment.payment_id, provider_ref=payment.provider_ref)
        if outcome.status == "requires_action":
            raise WrongState("the customer has not completed the authentication yet")
        return await self._settle(payment.payment_id, outcome, replayed=False)

    async def _replay_payment(self, payment: Payment) -> PurchaseResult:
        if payment.state == "declined":
            raise declined(payment)

        async def unit(tx: Tx) -> PurchaseResult:
            player = await tx.get_player(payment.account_id)
            if player is None:
                raise NotFound("player not found")
            snap = stored_snapshot(payment)
            name = snap.currency_name if snap else await _name(tx, payment.operator_id, payment.currency)
            return PurchaseResult(payment, snap, player, name, True)

        return await self.store.read(unit)

    async def _settle(self, payment_id: str, outcome: PaymentOutcome, *, replayed: bool) -> PurchaseResult:
        now = self.clock.now()

        async def unit(tx: Tx) -> PurchaseResult | WalletError:
            found = await tx.get_payment(payment_id)
            if found is None:
                raise NotFound("payment not found")
            player = await lock(tx, found.account_id)
            payment = await tx.get_payment(payment_id)
            if payment is None:
                raise NotFound("payment not found")
            payer = Payer(
                player,
                await tx.get_wallet(payment.account_id, payment.currency),
                await _name(tx, payment.operator_id, payment.currency),
            )
            settled = decide_settle(payment, outcome, payer, now=now, replayed=replayed)
            if settled.change is not None:
                await save_changes(tx, (settled.change,))
                await tx.touch_player(payment.account_id, now)  # money activity: last_active
            if settled.payment is not None:
                await tx.update_payment(settled.payment)
            return settled.reply

        return raise_or_return(await self.store.write(unit))

    # ------------------------------------------------------------------ item purchases

    async def purchase_item(
        self,
        game: Game,
        *,
        account_id: str | None,
        email: str | None,
        currency: str,
        item_id: str,
        item_name: str,
        quantity: int,
        unit_price: Decimal,
        idempotency_key: str,
    ) -> ItemResult:
        """Debit ``unit_price`` x ``quantity`` from the available balance, once per key.

        Real and bonus money are consumed in the operator's debit order.  A refusal (funds
        short, blocked account) changes nothing and is not remembered: a retry after a top-up
        can succeed.
        """
        cmd = ItemCmd(
            game.game_id,
            game.operator_id,
            account_id,
            email,
            currency,
            item_id,
            item_name,
            quantity,
            unit_price,
            idempotency_key,
        )
        now = self.clock.now()
        purchase_id = new_id("ip_")
        fp = cmd.fingerprint()

        async def unit(tx: Tx) -> ItemResult:
            player = await find_party(tx, game, account_id=account_id, email=email, role="buying")
            player = await lock(tx, player.account_id)
            done = replay_or_new(await tx.get_item_purchase_by_key(game.game_id, idempotency_key), fp, idempotency_key)
            if done is not None:
                return ItemResult(done, Snapshot.from_json(done.result), True)
            cur = await tx.get_currency(game.operator_id, currency)
            op = check_item(player, cur, await tx.get_operator(player.operator_id), cmd)
            await release_due(tx, player.account_id, now)
            buyer = Payer(player, await tx.get_wallet(player.account_id, currency), currency_name(cur, currency))
            decision = decide_item(cmd, buyer, op, purchase_id=purchase_id, fingerprint=fp.digest, now=now)
            await save_changes(tx, (decision.change,))
            await tx.touch_player(player.account_id, now)  # money activity: last_active
            await tx.insert_item_purchase(decision.purchase)
            return decision.result

        return await self.store.write(unit)
