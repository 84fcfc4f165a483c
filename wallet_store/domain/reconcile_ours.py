"""Our side of a reconciliation, pure: stored money request records as
:class:`~wallet_store.domain.reconcile.Record`, and a report as JSON and as a table.

**Which records.**  The kinds of one aggregator (:mod:`wallet_store.domain.aggregators`): a
Groove record keeps its kind (``wager``, ``result``, ...), a Hub88 record ``hub88_bet`` /
``hub88_win`` / ``hub88_rollback`` is listed as ``bet`` / ``win`` / ``rollback`` (the names of
Hub88's list), its ``transaction_id`` being the ``transaction_uuid``.

**Status.**  A refusal (any outcome but ``ok``, a rollback tombstone included) is ``refused``:
nothing moved.  An applied record later rolled back (``rolled_back``) or reversed
(``reversed``, a Groove win taken back) is ``rolled_back``; any other applied record ``ok``.

**Amount** is the record's amount: for a ``wagerAndResult`` the stake (the win is not stated),
for a rollback the stake it refunded.  A Hub88 tombstone (the ``hub88_bet`` record a rollback of
an unknown bet leaves, so the late bet never debits) states no amount: it stands for a bet we
never took, ``refused``, equal to the late bet Hub88 lists as declined.  A round id we store
empty is no round (``None``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .. import money
from .aggregators import GROOVE_KINDS, HUB88_KINDS, Aggregator
from .model import TxRecord, iso
from .reconcile import Line, Outcome, Record, Report, Totals

#: Our records are read this much beyond the period on each side, so that a transaction the
#: aggregator lists inside the period is matched even when our clock put it just outside
#: (the core then reports a pair when either side's time is in the period).
EDGE: Final = timedelta(hours=1)

_HUB88_NAMES: Final = {"hub88_bet": "bet", "hub88_win": "win", "hub88_rollback": "rollback"}
OUTCOMES: Final[tuple[Outcome, ...]] = ("missing_ours", "missing_theirs", "different")


def kinds_of(aggregator: Aggregator) -> frozenset[str]:
    """The stored record kinds of ``aggregator``'s requests."""
    return HUB88_KINDS if aggregator == "hub88" else GROOVE_KINDS


def read_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The created_at range of our records to read for the period ``[start, end)``."""
    return start - EDGE, end + EDGE


def from_tx(rec: TxRecord) -> Record:
    """One stored record as reconciliation sees it."""
    if not rec.ok or rec.state in ("refused", "tombstone"):
        status = "refused"
    elif rec.state in ("rolled_back", "reversed"):
        status = "rolled_back"
    else:
        status = "ok"
    tombstone = rec.state == "tombstone" and rec.kind in HUB88_KINDS
    return Record(
        id=rec.transaction_id,
        kind=_HUB88_NAMES.get(rec.kind, rec.kind),
        account=rec.account_id,
        round=rec.round_id or None,
        amount=None if tombstone else rec.amount,
        currency=rec.currency,
        status=status,
        time=(rec.created_at or datetime.min.replace(tzinfo=UTC)).astimezone(UTC),
    )


def from_txs(records: Iterable[TxRecord]) -> list[Record]:
    return [from_tx(r) for r in records]


# --------------------------------------------------------------------------- rendering


def _record_json(r: Record | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "account": r.account,
        "round": r.round,
        "amount": None if r.amount is None else money.wire(r.amount),
        "currency": r.currency,
        "status": r.status,
        "time": iso(r.time),
    }


def _line_json(x: Line) -> dict[str, Any]:
    return {
        "kind": x.key[0],
        "id": x.key[1],
        "outcome": x.outcome,
        "fields": list(x.fields),
        "ours": _record_json(x.ours),
        "theirs": _record_json(x.theirs),
    }


def _totals_json(totals: dict[str, Totals]) -> dict[str, Any]:
    return {
        cur: {"count": t.count, "amounts": {k: money.wire(v) for k, v in sorted(t.amounts.items())}}
        for cur, t in totals.items()
    }


def report_json(
    report: Report, aggregator: Aggregator, start: datetime, end: datetime, *, all_lines: bool = False
) -> dict[str, Any]:
    """The report as JSON: counts, the differences (every line with ``all_lines``), totals."""
    lines = report.lines if all_lines else report.differences
    return {
        "aggregator": aggregator,
        "from": iso(start),
        "to": iso(end),
        "ok": report.ok,
        "counts": report.counts(),
        "lines": [_line_json(x) for x in lines],
        "totals": {"ours": _totals_json(report.ours), "theirs": _totals_json(report.theirs)},
    }


def _cell(r: Record | None, name: str) -> str:
    if r is None:
        return "-"
    value = getattr(r, name)
    if value is None:
        return ""
    return money.wire(value) if name == "amount" else str(value)


def report_text(report: Report, aggregator: Aggregator, start: datetime, end: datetime) -> str:
    """A table for people: one row per difference (what differs, ours / theirs), then totals."""
    out = [f"reconcile {aggregator} [{iso(start)}, {iso(end)})"]
    for x in report.differences:
        shown = x.fields or ("amount", "status")
        diff = ", ".join(f"{f} {_cell(x.ours, f)} / {_cell(x.theirs, f)}" for f in shown)
        out.append(f"  {x.outcome:<15} {x.key[0]:<16} {x.key[1]}  ({diff})")
    for side, totals in (("ours", report.ours), ("theirs", report.theirs)):
        for cur, t in totals.items():
            sums = " ".join(f"{k}={money.wire(v)}" for k, v in sorted(t.amounts.items()))
            out.append(f"  total {side:<6} {cur:<6} {t.count} transactions  {sums}".rstrip())
    counts = report.counts()
    summary = ", ".join(f"{n} {name}" for name, n in counts.items())
    out.append(f"reconcile: {'OK' if report.ok else 'DIFFERENCES'}: {summary}")
    return "\n".join(out)
