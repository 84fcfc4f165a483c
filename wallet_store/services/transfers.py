"""REST credit, debit and convert: load -> decide (:mod:`wallet_store.domain.transfers`) -> persist.

Each is one unit of work under the player's lock: the wallet moves, the player's
``last_active`` and the remembered outcome commit together or not at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from wallet_store.domain.idempotency import stored_reply
from wallet_store.domain.transfers import (
    Conversion,
    ConvertCmd,
    ConvertState,
    StoredOutcome,
    Transfer,
    TransferCmd,
    TransferState,
    decide_convert,
    decide_transfer,
)
from wallet_store.model import Currency, Game
from wallet_store.ports import Tx, WalletStore
from wallet_store.services.lookup import find_player, save_changes


def _reference(prefix: str, game: Game) -> str:
    return f"{prefix}:{game.game_id}:{uuid.uuid4().hex[:20]}"


async def _remember(tx: Tx, account_id: str, outcome: StoredOutcome, now: datetime) -> None:
    await tx.touch_player(account_id, now)  # money activity: last_active
    await tx.insert_admin_op(outcome.key, outcome.fingerprint, outcome.reply, now)


async def run_transfer(
    store: WalletStore, game: Game, cmd: TransferCmd, *, identity: str | None, now: datetime
) -> tuple[Transfer, bool, Currency]:
    """Credit or debit once per idempotency key.  Returns (facts, replayed, currency)."""
    reference = _reference("api", game)

    async def unit(tx: Tx) -> tuple[Transfer, bool, Currency]:
        player = await find_player(tx, game, account_id=cmd.account_id, email=cmd.email, lock=True, identity=identity)
        state = TransferState(
            player=player,
            currency=await tx.get_currency(player.operator_id, cmd.currency),
            stored=stored_reply(await tx.get_admin_op(cmd.key)),
            wallet=await tx.get_wallet(player.account_id, cmd.currency),
            operator=await tx.get_operator(player.operator_id) if cmd.direction == "debit" else None,
        )
        decision = decide_transfer(state, cmd, now=now, reference=reference)
        if decision.change is not None and decision.outcome is not None:
            await save_changes(tx, (decision.change,))
            await _remember(tx, player.account_id, decision.outcome, now)
        return decision.facts, decision.replayed, decision.currency

    return await store.write(unit)


async def run_convert(store: WalletStore, game: Game, cmd: ConvertCmd, *, now: datetime) -> tuple[Conversion, bool]:
    """Move an amount of one currency into another of the player's, once per key."""
    reference = _reference("cv", game)

    async def unit(tx: Tx) -> tuple[Conversion, bool]:
        player = await find_player(tx, game, account_id=cmd.account_id, email=cmd.email, lock=True)
        state = ConvertState(
            player=player,
            src=await tx.get_currency(player.operator_id, cmd.from_currency),
            dst=await tx.get_currency(player.operator_id, cmd.to_currency),
            stored=stored_reply(await tx.get_admin_op(cmd.key)),
            source=await tx.get_wallet(player.account_id, cmd.from_currency),
            target=await tx.get_wallet(player.account_id, cmd.to_currency),
            operator=await tx.get_operator(player.operator_id),
        )
        decision = decide_convert(state, cmd, now=now, reference=reference)
        if decision.outcome is not None:
            await save_changes(tx, decision.changes)
            await _remember(tx, player.account_id, decision.outcome, now)
        return decision.facts, decision.replayed

    return await store.write(unit)
