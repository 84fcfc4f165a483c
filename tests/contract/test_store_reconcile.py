"""The storage contract of reconciliation's read, on both backends: ``Tx.list_tx_between``
selects the money request records of the given kinds (and operator) created in ``[start, end)``,
exact, in (created_at, kind, transaction_id) order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.contract.support import BIG, T_IST, TINY, assert_same
from tests.contract.test_store_core import make_tx
from wallet_store.model import TxRecord


async def test_records_of_kinds_in_a_period(store: Any) -> None:
    def at(seconds: float, **kw: Any) -> TxRecord:
        return make_tx(created_at=T_IST + timedelta(seconds=seconds), **kw)

    inside = [
        at(0, transaction_id="a", kind="wager"),  # the start is inclusive
        at(1, transaction_id="b", kind="hub88_bet", scope="hub88", amount=TINY),
        at(1, transaction_id="a", kind="result", round_id=""),  # same time: by kind, then id
        at(59.999999, transaction_id="c", kind="wager", operator_id="op2", amount=BIG, state="rolled_back"),
    ]
    outside = [
        at(-0.000001, transaction_id="early", kind="wager"),
        at(60, transaction_id="end", kind="wager"),  # the end is exclusive
        at(5, transaction_id="other-kind", kind="credit"),
    ]

    async def insert(tx: Any) -> None:
        for rec in [*outside, *inside]:
            await tx.insert_tx(rec)

    await store.write(insert)
    start, end = T_IST, T_IST + timedelta(seconds=60)
    kinds = {"wager", "result", "hub88_bet"}

    async def read(tx: Any) -> tuple[list[TxRecord], ...]:
        return (
            await tx.list_tx_between(start, end, kinds),
            await tx.list_tx_between(start, end, kinds, "op2"),
            await tx.list_tx_between(start, end, {"hub88_bet"}),
            await tx.list_tx_between(start, end, set()),
            await tx.list_tx_between(end, end + timedelta(days=1), kinds),
        )

    every, op2, hub88, none, later = await store.read(read)
    expected = sorted(inside, key=lambda r: (r.created_at, r.kind, r.transaction_id))
    for want, got in ((expected, every), ([inside[3]], op2), ([inside[1]], hub88)):
        assert len(got) == len(want)
        for w, g in zip(want, got, strict=True):
            assert_same(w, g)
    assert none == []
    assert [r.transaction_id for r in later] == ["end"]
