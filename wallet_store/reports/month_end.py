"""Month-end player-funds liability: balances and open bets at the first instant of the next month."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..domain.rounds import bet_sign, live_wagers, open_at, round_key
from ..errors import Invalid, TechnicalError
from ..model import JournalEntry, iso
from ..ports import WalletStore
from .common import (
    OWNER_BATCH,
    ZERO,
    _add,
    _closing,
    _owners,
    _require_operator,
    _sub,
    _w,
    _when,
    check_operator,
    parse_month,
)

# ---------------------------------------------------------------------- month-end liability


@dataclass(slots=True)
class LiabilityLine:
    operator_id: str
    currency: str
    wallets: int = 0
    real: Decimal = ZERO
    bonus: Decimal = ZERO
    reserved: Decimal = ZERO
    open_bets_real: Decimal = ZERO
    open_bets_bonus: Decimal = ZERO
    open_rounds: int = 0

    @property
    def available(self) -> Decimal:
        return _add(self.real, self.bonus)

    @property
    def open_bets(self) -> Decimal:
        return _add(self.open_bets_real, self.open_bets_bonus)

    @property
    def liability(self) -> Decimal:
        return _add(_add(self.available, self.reserved), self.open_bets)


@dataclass(frozen=True, slots=True)
class LiabilityReport:
    month: str
    cutoff: datetime
    operator_id: str | None
    lines: list[LiabilityLine]

    columns = (
        "month",
        "cutoff",
        "operator_id",
        "currency",
        "wallets",
        "real",
        "bonus",
        "available",
        "reserved",
        "open_bets_real",
        "open_bets_bonus",
        "open_bets",
        "open_rounds",
        "liability",
    )

    def rows(self) -> Iterator[tuple[str, ...]]:
        for line in self.lines:
            yield (
                self.month,
                iso(self.cutoff),
                line.operator_id,
                line.currency,
                str(line.wallets),
                _w(line.real),
                _w(line.bonus),
                _w(line.available),
                _w(line.reserved),
                _w(line.open_bets_real),
                _w(line.open_bets_bonus),
                _w(line.open_bets),
                str(line.open_rounds),
                _w(line.liability),
            )

    def to_json(self) -> dict[str, Any]:
        lines = []
        for line, row in zip(self.lines, self.rows(), strict=True):
            item: dict[str, Any] = dict(zip(self.columns[2:], row[2:], strict=True))
            item["wallets"], item["open_rounds"] = line.wallets, line.open_rounds
            lines.append(item)
        return {
            "report": "liability",
            "month": self.month,
            "cutoff": iso(self.cutoff),
            "operator_id": self.operator_id,
            "lines": lines,
        }


@dataclass(slots=True)
class _Stake:
    real: Decimal = ZERO
    bonus: Decimal = ZERO
    live_wagers: int = 0
    operator_id: str = ""
    currency: str = ""


async def liability(
    store: WalletStore, *, month: str, now: datetime, operator_id: str | None = None
) -> LiabilityReport:
    """Player funds held at the end of ``month`` (``YYYY-MM``, UTC), by operator and currency."""
    month, _, cutoff = parse_month(month)
    if cutoff > now:
        raise Invalid(f"month {month} has not ended yet (it ends at {iso(cutoff)})")
    if operator_id is not None:
        check_operator(operator_id)
        await _require_operator(store, operator_id)
    lines: dict[tuple[str, str], LiabilityLine] = {}

    def line(op: str, currency: str) -> LiabilityLine:
        return lines.setdefault((op, currency), LiabilityLine(op, currency))

    # 1. Balances: the last journal entry of each wallet before the cutoff.  The stream is in
    #    (account, currency, seq) order; wallets are folded in batches of accounts whose
    #    operator is resolved in one read.
    pending: list[JournalEntry] = []

    async def fold() -> None:
        owners = await _owners(store, (e.account_id for e in pending))
        for e in pending:
            op = owners[e.account_id]
            if operator_id is not None and op != operator_id:
                continue
            ln = line(op, e.currency)
            ln.wallets += 1
            ln.real = _add(ln.real, e.real_after)
            ln.bonus = _add(ln.bonus, e.bonus_after)
            ln.reserved = _add(ln.reserved, e.reserved_after)
        pending.clear()

    key: tuple[str, str] | None = None
    last: JournalEntry | None = None
    async with _closing(store.journal()) as entries:
        async for e in entries:
            if (e.account_id, e.currency) != key:
                if last is not None:
                    pending.append(last)
                    if len(pending) >= OWNER_BATCH:
                        await fold()
                key, last = (e.account_id, e.currency), None
            if e.created_at < cutoff:
                last = e
    if last is not None:
        pending.append(last)
    await fold()

    # 2. Rounds open at the cutoff, then their stakes at the cutoff from the transaction records.
    stakes: dict[tuple[str, str, str], _Stake] = {}
    async with _closing(store.rounds()) as rounds:
        async for r in rounds:
            _when(r.created_at, "round")  # a round without a timestamp is a technical error
            if open_at(r, cutoff):
                stakes[(r.account_id, r.game_id, r.round_id)] = _Stake()
    if stakes:
        async with _closing(store.transactions()) as records:
            async for t in records:
                sign = bet_sign(t.kind)
                if sign == 0 or not t.ok or _when(t.created_at, "transaction") >= cutoff:
                    continue
                stake = stakes.get(round_key(t))
                if stake is None:
                    continue
                if sign > 0:
                    stake.real, stake.bonus = _add(stake.real, t.real), _add(stake.bonus, t.bonus)
                else:
                    stake.real, stake.bonus = _sub(stake.real, t.real), _sub(stake.bonus, t.bonus)
                stake.live_wagers += sign
                stake.operator_id, stake.currency = t.operator_id, t.currency
    for rkey, stake in sorted(stakes.items()):
        if not live_wagers(stake.live_wagers):
            continue
        if stake.real < 0 or stake.bonus < 0:
            raise TechnicalError(f"round {'/'.join(rkey)} has a negative stake at {iso(cutoff)}: run audit")
        if operator_id is not None and stake.operator_id != operator_id:
            continue
        ln = line(stake.operator_id, stake.currency)
        ln.open_bets_real = _add(ln.open_bets_real, stake.real)
        ln.open_bets_bonus = _add(ln.open_bets_bonus, stake.bonus)
        ln.open_rounds += 1
    return LiabilityReport(month=month, cutoff=cutoff, operator_id=operator_id, lines=[lines[k] for k in sorted(lines)])
