"""Player statement over ``[from, to)``: per wallet, opening balances, every movement, closing balances."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..errors import Invalid, NotFound
from ..model import JournalEntry, Player, iso
from ..ports import Tx, WalletStore
from .common import (
    MAX_STATEMENT_DAYS,
    MAX_STATEMENT_MOVEMENTS,
    ZERO,
    _add,
    _cell,
    _closing,
    _sub,
    _w,
    check_account,
    check_currency,
)

# ---------------------------------------------------------------------- player statement


@dataclass(frozen=True, slots=True)
class Balances:
    real: Decimal = ZERO
    bonus: Decimal = ZERO
    reserved: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        return _add(self.real, self.bonus)

    def plus(self, real: Decimal, bonus: Decimal, reserved: Decimal) -> Balances:
        return Balances(_add(self.real, real), _add(self.bonus, bonus), _add(self.reserved, reserved))

    def json(self) -> dict[str, str]:
        return {
            "real": _w(self.real),
            "bonus": _w(self.bonus),
            "reserved": _w(self.reserved),
            "available": _w(self.available),
        }


def _after(e: JournalEntry) -> Balances:
    return Balances(e.real_after, e.bonus_after, e.reserved_after)


def _before(e: JournalEntry) -> Balances:
    return Balances(e.real_before, e.bonus_before, e.reserved_before)


@dataclass(slots=True)
class WalletStatement:
    currency: str
    opening: Balances = field(default_factory=Balances)
    opening_seq: int = 0
    movements: list[JournalEntry] = field(default_factory=list)

    @property
    def closing(self) -> Balances:
        return _after(self.movements[-1]) if self.movements else self.opening

    @property
    def totals(self) -> Balances:
        """The movements' deltas summed, per balance (``reserved`` may be negative)."""
        t = Balances()
        for e in self.movements:
            t = t.plus(e.real_delta, e.bonus_delta, e.reserved_delta)
        return t

    @property
    def reconciled(self) -> bool:
        t = self.totals
        return self.opening.plus(t.real, t.bonus, t.reserved) == self.closing


@dataclass(frozen=True, slots=True)
class StatementReport:
    account_id: str
    operator_id: str
    start: datetime
    end: datetime
    wallets: list[WalletStatement]

    columns = (
        "account_id",
        "currency",
        "row",
        "seq",
        "created_at",
        "kind",
        "reference",
        "reason",
        "real_delta",
        "bonus_delta",
        "reserved_delta",
        "available_delta",
        "real_before",
        "bonus_before",
        "reserved_before",
        "available_before",
        "real_after",
        "bonus_after",
        "reserved_after",
        "available_after",
    )

    def rows(self) -> Iterator[tuple[str, ...]]:
        """Per wallet: an ``opening`` row, one ``movement`` row per entry, a ``closing`` row whose
        deltas are the movements' sums (opening after + closing deltas = closing after)."""
        blank = ("", "", "", "")
        for ws in self.wallets:
            o, c, t = ws.opening, ws.closing, ws.totals
            head = (self.account_id, ws.currency)
            yield (*head, "opening", str(ws.opening_seq), iso(self.start), "", "", "", *blank, *blank, *_bal(o))
            for e in ws.movements:
                b, a = _before(e), _after(e)
                deltas = (_w(e.real_delta), _w(e.bonus_delta), _w(e.reserved_delta), _w(_sub(a.available, b.available)))
                yield (
                    *head,
                    "movement",
                    str(e.seq),
                    iso(e.created_at),
                    e.kind,
                    _cell(e.reference),
                    _cell(e.reason),
                    *deltas,
                    *_bal(b),
                    *_bal(a),
                )
            last_seq = ws.movements[-1].seq if ws.movements else ws.opening_seq
            totals = (_w(t.real), _w(t.bonus), _w(t.reserved), _w(t.available))
            yield (*head, "closing", str(last_seq), iso(self.end), "", "", "", *totals, *_bal(o), *_bal(c))

    def to_json(self) -> dict[str, Any]:
        wallets = []
        for ws in self.wallets:
            t = ws.totals
            wallets.append(
                {
                    "currency": ws.currency,
                    "opening": ws.opening.json() | {"seq": ws.opening_seq},
                    "movements": [_movement_json(e) for e in ws.movements],
                    "totals": {
                        "real_delta": _w(t.real),
                        "bonus_delta": _w(t.bonus),
                        "reserved_delta": _w(t.reserved),
                        "available_delta": _w(t.available),
                        "movements": len(ws.movements),
                    },
                    "closing": ws.closing.json() | {"seq": ws.movements[-1].seq if ws.movements else ws.opening_seq},
                    "reconciled": ws.reconciled,
                }
            )
        return {
            "report": "statement",
            "account_id": self.account_id,
            "operator_id": self.operator_id,
            "from": iso(self.start),
            "to": iso(self.end),
            "wallets": wallets,
        }


def _bal(b: Balances) -> tuple[str, str, str, str]:
    return (_w(b.real), _w(b.bonus), _w(b.reserved), _w(b.available))


def _movement_json(e: JournalEntry) -> dict[str, Any]:
    b, a = _before(e), _after(e)
    return {
        "seq": e.seq,
        "created_at": iso(e.created_at),
        "kind": e.kind,
        "reference": e.reference,
        "reason": e.reason,
        "real_delta": _w(e.real_delta),
        "bonus_delta": _w(e.bonus_delta),
        "reserved_delta": _w(e.reserved_delta),
        "available_delta": _w(_sub(a.available, b.available)),
        "before": b.json(),
        "after": a.json(),
    }


async def statement(
    store: WalletStore, *, account_id: str, start: datetime, end: datetime, currency: str | None = None
) -> StatementReport:
    """Every movement of one player's wallets created in ``[start, end)``, with balances."""
    check_account(account_id)
    if currency is not None:
        check_currency(currency)
    if end <= start:
        raise Invalid("to must be later than from")
    if end - start > timedelta(days=MAX_STATEMENT_DAYS):
        raise Invalid(f"the period must not be longer than {MAX_STATEMENT_DAYS} days")

    async def unit(tx: Tx) -> Player | None:
        return await tx.get_player(account_id)

    player = await store.read(unit)
    if player is None:
        raise NotFound(f"player {account_id} not found")
    # Per wallet, in seq order: entries before ``start`` set the opening balances; the first
    # entry at or after ``start`` begins the movements, the first at or after ``end`` ends
    # them.  The movements are a contiguous run of the chain, so a backward step of the
    # clock can neither drop an entry from the statement nor break the tie-out.
    wallets: dict[str, WalletStatement] = {}
    ended: set[str] = set()
    count = 0
    async with _closing(store.journal(account_id)) as entries:
        async for e in entries:
            if (currency is not None and e.currency != currency) or e.currency in ended:
                continue
            if e.created_at >= end:
                ended.add(e.currency)
                continue
            ws = wallets.setdefault(e.currency, WalletStatement(e.currency))
            if e.created_at < start and not ws.movements:
                ws.opening, ws.opening_seq = _after(e), e.seq
            else:
                count += 1
                if count > MAX_STATEMENT_MOVEMENTS:
                    raise Invalid(f"more than {MAX_STATEMENT_MOVEMENTS} movements in the period: ask for a shorter one")
                ws.movements.append(e)
    return StatementReport(
        account_id=player.account_id,
        operator_id=player.operator_id,
        start=start,
        end=end,
        wallets=[wallets[c] for c in sorted(wallets)],
    )
