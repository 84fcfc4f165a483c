"""The composite loads of :class:`~wallet_store.ports.Tx`, composed from its point reads.

A backend that can load a request's state in one round trip implements the composite method
itself (PostgreSQL); the others use these functions, written once (SQLite, through
:class:`~wallet_store.sql.reads.SqlReads`; test proxies that alter a point read).
"""

from __future__ import annotations

from collections.abc import Sequence

from .ports import BetRows, Tx


async def load_bet_by_reads(
    tx: Tx,
    account_id: str,
    game_id: str,
    round_id: str,
    transaction_id: str,
    kinds: Sequence[str],
    session_id: str,
    frbid: str | None,
) -> BetRows:
    """:meth:`Tx.load_bet` as point reads, skipping what a replay or a missing session leaves unused."""
    player, op = await tx.lock_player_and_operator(account_id)
    if player is None or op is None:
        return BetRows(player, op)
    found = await tx.get_txs(player.operator_id, game_id, transaction_id, kinds)
    own = found.get(kinds[0]) if kinds else None
    if own is not None:
        wallet = await tx.get_wallet(account_id, own.currency) if own.ok else None
        return BetRows(player, op, found, wallet=wallet)
    session = await tx.get_session(session_id)
    if session is None:
        return BetRows(player, op, found)
    award = await tx.get_free_rounds(frbid) if frbid is not None else None
    wallet = await tx.get_wallet(account_id, session.currency)
    rnd = await tx.get_round(account_id, game_id, round_id)
    limits = await tx.get_limits(account_id)
    return BetRows(player, op, found, session, wallet, rnd, limits, award)
