"""Reconcile an aggregator's transaction list against our records for a period (issue #18).

The one use case behind ``groove-wallet reconcile`` and ``POST /admin/reconcile``: parse the
list (:mod:`wallet_store.domain.reconcile`), read our records of that aggregator's kinds for
the period plus :data:`~wallet_store.domain.reconcile_ours.EDGE` on each side through the
store, and compare.  Every input problem is an :class:`~wallet_store.errors.Invalid` with one
line of text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from .domain import reconcile as core
from .domain import reconcile_ours as ours
from .domain.aggregators import AGGREGATORS, Aggregator
from .errors import Invalid
from .ports import Tx, WalletStore

Format = Literal["json", "csv"]


def check_aggregator(value: str | None) -> Aggregator:
    for a in AGGREGATORS:
        if value == a:
            return a
    raise Invalid(f"aggregator must be one of {', '.join(AGGREGATORS)}")


def parse_list(text: str, aggregator: Aggregator, fmt: Format) -> list[core.Record]:
    """The aggregator's list, or :class:`Invalid` naming what is wrong with it."""
    try:
        if fmt == "csv":
            return core.parse_csv(text, aggregator)
        return core.parse_json(text, aggregator)
    except core.FormatError as exc:
        raise Invalid(f"the {aggregator} list ({fmt}): {exc}") from None


async def reconcile(
    store: WalletStore,
    aggregator: Aggregator,
    theirs: list[core.Record],
    start: datetime,
    end: datetime,
    operator_id: str | None = None,
) -> core.Report:
    """``theirs`` against our records of ``aggregator`` for ``[start, end)``."""
    if start >= end:
        raise Invalid("the period is empty: --from/from must be before --to/to")
    low, high = ours.read_window(start, end)
    kinds = ours.kinds_of(aggregator)

    async def read(tx: Tx) -> list[core.Record]:
        return ours.from_txs(await tx.list_tx_between(low, high, kinds, operator_id))

    mine = await store.read(read)
    try:
        return core.reconcile(mine, theirs, start, end)
    except core.FormatError as exc:  # one id twice on one side (e.g. ours: two games' ids)
        raise Invalid(str(exc)) from None
