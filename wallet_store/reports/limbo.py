"""Open rounds (money in limbo): rounds with a live wager and no completed result, older than a given age."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..errors import Invalid, TechnicalError
from ..model import Round, iso
from ..ports import Tx, WalletStore
from .common import (
    MAX_OLDER_THAN,
    ZERO,
    _add,
    _cell,
    _require_operator,
    _w,
    _when,
    check_operator,
)

PAGE = 1000  # open rounds per read unit


# ---------------------------------------------------------------------- open rounds


@dataclass(frozen=True, slots=True)
class OpenRound:
    operator_id: str
    round: Round
    opened_at: datetime
    age_seconds: int

    @property
    def total_bet(self) -> Decimal:
        return _add(self.round.real_bet, self.round.bonus_bet)


@dataclass(frozen=True, slots=True)
class OpenRoundsReport:
    as_of: datetime
    older_than: int
    operator_id: str | None
    rounds: list[OpenRound]

    columns = (
        "operator_id",
        "account_id",
        "game_id",
        "round_id",
        "currency",
        "real_bet",
        "bonus_bet",
        "total_bet",
        "real_win",
        "bonus_win",
        "wagers",
        "results",
        "opened_at",
        "age_seconds",
    )

    def rows(self) -> Iterator[tuple[str, ...]]:
        for o in self.rounds:
            r = o.round
            yield (
                o.operator_id,
                r.account_id,
                _cell(r.game_id),
                _cell(r.round_id),
                r.currency,
                _w(r.real_bet),
                _w(r.bonus_bet),
                _w(o.total_bet),
                _w(r.real_win),
                _w(r.bonus_win),
                str(r.wagers),
                str(r.results),
                iso(o.opened_at),
                str(o.age_seconds),
            )

    def totals(self) -> list[dict[str, Any]]:
        by: dict[tuple[str, str], list[Decimal]] = {}
        counts: dict[tuple[str, str], int] = {}
        for o in self.rounds:
            key = (o.operator_id, o.round.currency)
            t = by.setdefault(key, [ZERO, ZERO])
            t[0], t[1] = _add(t[0], o.round.real_bet), _add(t[1], o.round.bonus_bet)
            counts[key] = counts.get(key, 0) + 1
        return [
            {
                "operator_id": op,
                "currency": cur,
                "rounds": counts[(op, cur)],
                "real_bet": _w(real),
                "bonus_bet": _w(bonus),
                "total_bet": _w(_add(real, bonus)),
            }
            for (op, cur), (real, bonus) in sorted(by.items())
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "report": "open-rounds",
            "as_of": iso(self.as_of),
            "older_than_seconds": self.older_than,
            "operator_id": self.operator_id,
            "count": len(self.rounds),
            "totals": self.totals(),
            "rounds": [_open_round_json(o) for o in self.rounds],
        }


def _open_round_json(o: OpenRound) -> dict[str, Any]:
    r = o.round
    return {
        "operator_id": o.operator_id,
        "account_id": r.account_id,
        "game_id": r.game_id,
        "round_id": r.round_id,
        "currency": r.currency,
        "real_bet": _w(r.real_bet),
        "bonus_bet": _w(r.bonus_bet),
        "total_bet": _w(o.total_bet),
        "real_win": _w(r.real_win),
        "bonus_win": _w(r.bonus_win),
        "wagers": r.wagers,
        "results": r.results,
        "opened_at": iso(o.opened_at),
        "age_seconds": o.age_seconds,
    }


async def _open_rounds_page(
    store: WalletStore, before: datetime, after: tuple[datetime, str, str, str] | None
) -> tuple[list[Round], dict[str, str]]:
    """One page of open rounds and the operator of each of their accounts, in one read."""

    async def unit(tx: Tx) -> tuple[list[Round], dict[str, str]]:
        page = await tx.list_open_rounds(before, after, PAGE)
        owners: dict[str, str] = {}
        for r in page:
            if r.account_id not in owners:
                p = await tx.get_player(r.account_id)
                if p is None:
                    raise TechnicalError(f"account {r.account_id} has rounds but no player")
                owners[r.account_id] = p.operator_id
        return page, owners

    return await store.read(unit)


async def open_rounds(
    store: WalletStore, *, now: datetime, older_than: int, operator_id: str | None = None
) -> OpenRoundsReport:
    """Rounds in limbo opened more than ``older_than`` seconds before ``now``, oldest first."""
    if not 0 <= older_than <= MAX_OLDER_THAN:
        raise Invalid(f"older_than must be from 0 to {MAX_OLDER_THAN} seconds")
    if operator_id is not None:
        check_operator(operator_id)
        await _require_operator(store, operator_id)
    before = now - timedelta(seconds=older_than)
    found: list[OpenRound] = []
    after: tuple[datetime, str, str, str] | None = None
    while True:
        page, owners = await _open_rounds_page(store, before, after)
        for r in page:
            op = owners[r.account_id]
            if operator_id is not None and op != operator_id:
                continue
            opened = _when(r.created_at, "round")
            found.append(OpenRound(op, r, opened, int((now - opened).total_seconds())))
        if len(page) < PAGE:
            break
        last = page[-1]
        after = (_when(last.created_at, "round"), last.account_id, last.game_id, last.round_id)
    return OpenRoundsReport(as_of=now, older_than=older_than, operator_id=operator_id, rounds=found)
