"""The composite loads of :class:`~wallet_store.ports.Tx`, composed from its point reads.

A backend that can load a request's state in one round trip implements the composite method
itself (PostgreSQL); the others use these functions, written once (SQLite, through
:class:`~wallet_store.sql.reads.SqlReads`; test proxies that alter a point read).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from .model import Operator, Player, TxRecord
from .ports import BetQuery, BetRows, SettleRows, Tx, ViewRows

#: What a bet loads once there is no record of its own and a session id: the session and what
#: hangs on it (wallet in the session's currency, round, limits, award), as ``BetRows`` with the
#: player, operator and records it is given.  A backend may read it in one statement.
BetState = Callable[[Tx, BetQuery, Player, Operator, Mapping[str, TxRecord]], Awaitable[BetRows]]


async def bet_state_by_reads(
    tx: Tx, q: BetQuery, player: Player, op: Operator, found: Mapping[str, TxRecord]
) -> BetRows:
    """:data:`BetState` as point reads."""
    session = await tx.get_session(q.session_id) if q.session_id is not None else None
    if session is None:
        return BetRows(player, op, found)
    award = await tx.get_free_rounds(q.frbid) if q.frbid is not None else None
    wallet = await tx.get_wallet(q.account_id, session.currency)
    rnd = await tx.get_round(q.account_id, q.game_id, q.round_id) if q.round_id is not None else None
    limits = await tx.get_limits(q.account_id)
    return BetRows(player, op, found, session, wallet, rnd, limits, award)


async def load_bet_by_reads(tx: Tx, q: BetQuery, state: BetState = bet_state_by_reads) -> BetRows:
    """:meth:`Tx.load_bet` as point reads, skipping what a replay or a missing session leaves
    unused; ``state`` loads the session's part (:data:`BetState`)."""
    player, op = await tx.lock_player_and_operator(q.account_id)
    if player is None or op is None:
        return BetRows(player, op)
    found = await tx.get_txs(player.operator_id, q.game_id, q.transaction_id, q.kinds)
    own = found.get(q.kinds[0]) if q.kinds else None
    if own is not None:
        wallet = await tx.get_wallet(q.account_id, own.currency) if own.ok else None
        return BetRows(player, op, found, wallet=wallet)
    if q.session_id is None:
        return BetRows(player, op, found)
    return await state(tx, q, player, op, found)


async def load_settle_by_reads(tx: Tx, q: BetQuery) -> SettleRows:
    """:meth:`Tx.load_settle` as point reads."""
    player, op = await tx.lock_player_and_operator(q.account_id)
    if player is None or op is None:
        return SettleRows(player, op)
    found = await tx.get_txs(player.operator_id, q.game_id, q.transaction_id, q.kinds)
    session = await tx.get_session(q.session_id) if q.session_id is not None else None
    rnd = await tx.get_round(q.account_id, q.game_id, q.round_id) if q.round_id is not None else None
    wallets = {w.currency: w for w in await tx.list_wallets(q.account_id)}
    award = await tx.get_free_rounds(q.frbid) if q.frbid is not None else None
    return SettleRows(player, op, found, session, rnd, wallets, award)


async def load_view_by_reads(tx: Tx, account_id: str, session_id: str) -> ViewRows:
    """:meth:`Tx.load_view` as point reads."""
    player = await tx.get_player(account_id)
    session = await tx.get_session(session_id)
    op = await tx.get_operator(player.operator_id) if player is not None else None
    wallet = await tx.get_wallet(account_id, session.currency) if player is not None and session is not None else None
    return ViewRows(player, session, op, wallet)
