"""Loading and persisting holds and flows for the flow use cases.

Expiry: a hold expires ``hold_ttl_seconds`` after initiation.  It is released by whichever
comes first: the periodic sweep (:func:`expire_due`), or lazily by any step on the flow
(:func:`open_view`), or by the source's next initiate or item purchase (:func:`release_due`).
Each path locks the source player and re-reads the hold, so a hold is released exactly once.
"""

from __future__ import annotations

from datetime import datetime

from wallet_store.domain import holds
from wallet_store.domain.flows import LABEL, SWEEP_BATCH, Closing, FlowView, Outcome, close_hold, expire_if_due, of_game
from wallet_store.errors import NotFound
from wallet_store.model import Flow, FlowKind, Game, Hold
from wallet_store.ports import Tx, WalletStore
from wallet_store.services.lookup import lock, save_changes


async def persist_closing(tx: Tx, closing: Closing) -> None:
    await save_changes(tx, (closing.change,))
    await tx.update_hold(closing.hold)
    if closing.flow is not None:
        await tx.update_flow(closing.flow)


async def persist_outcome(tx: Tx, outcome: Outcome) -> None:
    if outcome.closing is not None:
        await persist_closing(tx, outcome.closing)
    await save_changes(tx, outcome.changes)
    if outcome.hold is not None:
        await tx.update_hold(outcome.hold)
    if outcome.flow is not None:
        await tx.update_flow(outcome.flow)


async def _expire(tx: Tx, hold: Hold, now: datetime) -> None:
    """Release a due hold of a locked player and close its flow."""
    wallet = await tx.get_wallet(hold.account_id, hold.currency)
    flow = await tx.get_flow(hold.reference)
    await persist_closing(tx, close_hold(hold, wallet, flow, "expired", now))


async def release_due(tx: Tx, account_id: str, now: datetime) -> None:
    """Lazy expiry of one (locked) player's holds whose time is up."""
    while due := await tx.list_due_holds(now, SWEEP_BATCH, account_id):
        for hold in due:
            await _expire(tx, hold, now)


async def expire_due(store: WalletStore, now: datetime, limit: int) -> int:
    """Release up to ``limit`` holds whose time is up (the periodic sweep); returns how many."""

    async def due_unit(tx: Tx) -> list[Hold]:
        return await tx.list_due_holds(now, limit)

    released = 0
    for hold in await store.read(due_unit):

        async def unit(tx: Tx, hold: Hold = hold) -> int:
            await lock(tx, hold.account_id)
            current = await tx.get_hold(hold.hold_id)
            if current is None or not holds.is_due(current, now):
                return 0  # captured, released or expired by someone else meanwhile
            await _expire(tx, current, now)
            return 1

        released += await store.write(unit)
    return released


async def find_flow(tx: Tx, game: Game, kind: FlowKind, flow_id: str) -> Flow:
    return of_game(await tx.get_flow(flow_id), kind, game.operator_id)


async def open_view(tx: Tx, game: Game, kind: FlowKind, flow_id: str, now: datetime, *others: str) -> FlowView:
    """The flow (404 unless it is the game operator's and of this kind), read again after
    locking its source and ``others`` in ascending account id order, with its hold and the
    source wallet; a hold whose time is up is released first (lazy expiry)."""
    found = await find_flow(tx, game, kind, flow_id)
    for account in sorted({found.source_account, *others}):
        await lock(tx, account)
    flow = await tx.get_flow(flow_id)
    if flow is None:
        raise NotFound(f"{LABEL[kind]} not found")
    hold = await tx.get_hold(flow.hold_id)
    if hold is None:
        raise NotFound(f"hold of {flow.flow_id} not found")
    view, closing = expire_if_due(FlowView(flow, hold, await tx.get_wallet(flow.source_account, flow.currency)), now)
    if closing is not None:
        await persist_closing(tx, closing)
    return view
