"""Records <-> journal entries: every money record has its entries and every entry its record
(a multiset hash per account, drilled into element by element when they differ)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal

from .. import money
from ..domain.aggregators import HUB88_BET, HUB88_ROLLBACK, HUB88_WIN
from ..flows import CREDIT_KIND
from ..holds import HOLD, HOLD_CAPTURE, HOLD_RELEASE
from ..model import (
    AdminOp,
    Flow,
    Hold,
    ItemPurchase,
    JournalEntry,
    Payment,
    TxRecord,
)
from ..ports import WalletStore
from .report import AuditReport

_MOD = 1 << 256
_DRILL_LIMIT = 100  # accounts whose records and entries are compared element by element


@dataclass(frozen=True, slots=True)
class Expected:
    """One journal entry a record says was written (see the module docstring's table)."""

    account_id: str
    currency: str  # "" when the record does not say (a conversion names no currency)
    kind: str
    reference: str
    a: Decimal  # available delta (real + bonus); for ``adjust``: real after
    b: Decimal  # reserved delta; for ``adjust``: bonus after
    record: str  # how the report names the record

    @property
    def element(self) -> tuple[str, str, str, str]:
        return (self.kind, self.reference, money.wire(self.a), money.wire(self.b))


def entry_element(e: JournalEntry) -> tuple[str, str, str, str]:
    """What a journal entry is matched by: the :attr:`Expected.element` of its record."""
    if e.kind == "adjust":
        a, b = e.real_after, e.bonus_after
    else:
        a, b = money.add(e.real_delta, e.bonus_delta), e.reserved_delta
    return (e.kind, e.reference, money.wire(a), money.wire(b))


def _fold(element: tuple[str, str, str, str]) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(element).encode()).digest(), "big")


class _Multiset:
    """Per-account multiset hash: (sum of element hashes mod 2**256, count)."""

    def __init__(self) -> None:
        self.sums: dict[str, tuple[int, int]] = {}

    def add(self, account_id: str, element: tuple[str, str, str, str]) -> None:
        total, n = self.sums.get(account_id, (0, 0))
        self.sums[account_id] = ((total + _fold(element)) % _MOD, n + 1)


def _tx_expected(t: TxRecord) -> Iterator[Expected]:
    if not t.ok:
        return
    name = f"transaction {t.kind} {t.transaction_id} (operator {t.operator_id}, game {t.scope})"
    ref = f"{t.kind}:{t.transaction_id}"

    def one(kind: str, amount: Decimal) -> Expected:
        return Expected(t.account_id, t.currency, kind, ref, amount, money.ZERO, name)

    if t.kind in ("wager", "wagerAndResult") and t.amount > 0:
        yield one("wager", -t.amount)
    if t.kind == "wagerAndResult" and t.extra:
        leg = json.loads(t.extra)
        if "real_win" in leg:
            win = money.add(money.parse(leg["real_win"]), money.parse(leg["bonus_win"]))
            if win > 0:
                yield one("result", win)
    if t.kind in ("result", "jackpot", "rollback") and t.amount > 0:
        yield one(t.kind, t.amount)
    if t.kind in ("reversewin", "rollbackrollback", HUB88_BET) and t.amount > 0:
        yield one(t.kind, -t.amount)
    if t.kind in (HUB88_WIN, HUB88_ROLLBACK) and t.amount > 0:
        yield one(t.kind, t.amount)


def _hold_expected(h: Hold) -> Iterator[Expected]:
    name = f"hold {h.hold_id} ({h.state})"
    zero = money.ZERO
    yield Expected(h.account_id, h.currency, HOLD, h.reference, -h.amount, h.amount, name)
    if h.state == "released":
        yield Expected(h.account_id, h.currency, HOLD_RELEASE, h.reference, h.amount, -h.amount, name)
    elif h.state == "captured":
        yield Expected(h.account_id, h.currency, HOLD_CAPTURE, h.reference, zero, -h.amount, name)


def _admin_expected(op: AdminOp) -> Iterator[Expected]:
    d = json.loads(op.reply)
    name = f"admin op {op.key}"
    if op.key.startswith("adjust:"):
        w = d["wallet"]
        yield Expected(
            d["account_id"],
            w["currency"],
            "adjust",
            d["reference"],
            money.parse(w["real_balance"]),
            money.parse(w["bonus_balance"]),
            name,
        )
    elif op.key.startswith("cv:"):
        acct, ref = d["account_id"], d["reference"]
        yield Expected(acct, "", "convert_out", ref, -money.parse(d["amount"]), money.ZERO, name)
        yield Expected(acct, "", "convert_in", ref, money.parse(d["credited"]), money.ZERO, name)
    elif "direction" in d and "reference" in d:  # REST credit / debit (``pb:`` / ``pw:``)
        amount = money.add(money.parse(d["real"]), money.parse(d["bonus"]))
        kind = f"api_{d['direction']}"
        yield Expected(d["account_id"], d["currency"], kind, d["reference"], amount, money.ZERO, name)


def _ledger_expected(r: Hold | Flow | Payment | ItemPurchase | AdminOp) -> Iterator[Expected]:
    zero = money.ZERO
    if isinstance(r, Hold):
        yield from _hold_expected(r)
    elif isinstance(r, Flow):
        if r.state == "claimed" and r.target_account is not None:
            name = f"{r.kind} {r.flow_id} (claimed)"
            yield Expected(r.target_account, r.currency, CREDIT_KIND[r.kind], r.flow_id, r.amount, zero, name)
    elif isinstance(r, Payment):
        if r.state == "succeeded":
            name = f"payment {r.payment_id} (succeeded)"
            yield Expected(r.account_id, r.currency, "purchase_credit", r.payment_id, r.amount, zero, name)
    elif isinstance(r, ItemPurchase):
        name = f"item purchase {r.purchase_id}"
        yield Expected(r.account_id, r.currency, "item_debit", r.purchase_id, -r.total, zero, name)
    else:
        yield from _admin_expected(r)


_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError)  # json and money errors are ValueErrors


async def expected_entries(store: WalletStore, problems: list[str] | None = None) -> AsyncIterator[Expected]:
    """Every journal entry the records say was written (any order).  A record whose stored
    JSON cannot be read is skipped and, when ``problems`` is given, reported there."""
    async for t in store.transactions():
        try:
            found = list(_tx_expected(t))
        except _UNREADABLE as exc:
            found = []
            if problems is not None:
                problems.append(f"transaction {t.kind} {t.transaction_id}: unreadable record ({exc!r})")
        for x in found:
            yield x
    async for r in store.ledger_records():
        try:
            found = list(_ledger_expected(r))
        except _UNREADABLE as exc:
            found = []
            if problems is not None:
                name = f"admin op {r.key}" if isinstance(r, AdminOp) else type(r).__name__
                problems.append(f"{name}: unreadable record ({exc!r})")
        for x in found:
            yield x


async def _records_side(store: WalletStore, report: AuditReport) -> _Multiset:
    side = _Multiset()
    async for x in expected_entries(store, report.problems):
        report.records += 1
        side.add(x.account_id, x.element)
    return side


async def _drill(store: WalletStore, accounts: set[str], report: AuditReport) -> None:
    """Name what differs, element by element, for ``accounts`` (a few; both sides re-read)."""
    want: dict[str, Counter[tuple[str, str, str, str]]] = {a: Counter() for a in accounts}
    named: dict[tuple[str, tuple[str, str, str, str]], Expected] = {}
    async for x in expected_entries(store):
        if x.account_id in want:
            want[x.account_id][x.element] += 1
            named.setdefault((x.account_id, x.element), x)
    for acct in sorted(accounts):
        left = want[acct]
        async for e in store.journal(acct):
            el = entry_element(e)
            if e.kind == "initial":
                continue
            if left[el] > 0:
                left[el] -= 1
                continue
            report.problems.append(
                f"{e.account_id}/{e.currency} seq {e.seq}: entry {e.kind} {e.reference} ({el[2]}/{el[3]})"
                " belongs to no record that says it applied"
            )
        for el, n in sorted(left.items()):
            if n <= 0:
                continue
            x = named[(acct, el)]
            report.problems.append(
                f"{acct}/{x.currency or '?'}: {x.record} says it applied but the journal has"
                f" {'no' if n == 1 else f'{n} fewer'} entry {x.kind} {x.reference} ({el[2]}/{el[3]})"
            )


async def _cross_check(store: WalletStore, journal_side: _Multiset, report: AuditReport) -> None:
    records_side = await _records_side(store, report)
    differ = {
        acct
        for acct in journal_side.sums.keys() | records_side.sums.keys()
        if journal_side.sums.get(acct, (0, 0)) != records_side.sums.get(acct, (0, 0))
    }
    drilled = set(sorted(differ)[:_DRILL_LIMIT])
    await _drill(store, drilled, report)
    for acct in sorted(differ - drilled):
        report.problems.append(f"{acct}: the journal and the money records disagree (not itemized)")
