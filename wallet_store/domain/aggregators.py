"""Which aggregator moved the money: one vocabulary for records, journal entries, metrics and
reconciliation.

A /groove request stores a :class:`~wallet_store.model.TxRecord` whose ``kind`` is the Groove
request (``wager``, ``result``, ...). A Hub88 request stores one whose ``kind`` is one of
:data:`HUB88_KINDS` and whose ``scope`` is :data:`HUB88_SCOPE` (Hub88's ``transaction_uuid`` is
unique across the whole integration, not per game); its journal entries carry the same kind
and the reference ``<kind>:<transaction_uuid>``. So the kind alone says the aggregator.

Pure: no I/O.
"""

from __future__ import annotations

from typing import Final, Literal

Aggregator = Literal["groove", "hub88"]
AGGREGATORS: Final[tuple[Aggregator, ...]] = ("groove", "hub88")

HUB88_SCOPE: Final = "hub88"
HUB88_BET: Final = "hub88_bet"
HUB88_WIN: Final = "hub88_win"
HUB88_ROLLBACK: Final = "hub88_rollback"
HUB88_KINDS: Final = frozenset({HUB88_BET, HUB88_WIN, HUB88_ROLLBACK})

GROOVE_KINDS: Final = frozenset(
    {"wager", "result", "wagerAndResult", "rollback", "jackpot", "reversewin", "rollbackrollback"}
)


def aggregator_of(kind: str) -> Aggregator | None:
    """The aggregator whose request stored a record (or journal entry) of this ``kind``; None
    for the wallet's own kinds (REST credit/debit, holds, flows, admin adjustments)."""
    if kind in HUB88_KINDS:
        return "hub88"
    if kind in GROOVE_KINDS:
        return "groove"
    return None
