"""Regulator reports: open rounds, month-end player-funds liability, player statement.

Pure report builders over the :class:`~wallet_store.ports.WalletStore` Protocol (read units
and the streams); no HTTP.  Both the admin API (``groove_adapter.reports``) and the CLI
(``groove-wallet report ...``) call them and render the same object as JSON or CSV.

Money is exact throughout: values come from the store as Decimal(32,10) and are only added
here, in a context that raises rather than rounds (:data:`_EXACT`); a total across many
wallets may exceed Decimal(32,10) and is still exact.  On the wire every amount is a string
written from its own digits (``money.wire``).

**Open rounds** (money in limbo): rounds with a live wager and no completed result
(``status = 'open' AND wagers > 0``; a round whose wagers were all rolled back is not in
limbo) opened *strictly* more than ``older_than`` seconds before ``now``.  A round's age
counts from its creation (its first wager), not from its last pending result.

**Month-end liability** of month ``YYYY-MM`` is the state at the cutoff, the first instant
of the next month in UTC (an event stamped exactly at the cutoff belongs to the next month):

* *balances*: each wallet's real, bonus and reserved balances after its highest-``seq``
  journal entry created before the cutoff (a wallet with no entry before the cutoff did not
  exist yet and is not counted);
* *open bets*: the stakes of rounds open at the cutoff.  A round was open at the cutoff when
  it was created before it and was not closed before it (``closed_at`` empty or at/after
  the cutoff: a round closes once, by a completed result, and never reopens).  Its stake at
  the cutoff is rebuilt from the applied transaction records created before the cutoff:
  wagers and wagerAndResults add their real/bonus split, rollbacks subtract it,
  rollbackrollbacks add it back.  Later rollbacks or wagers do not change a past month.
  A round whose stake at the cutoff is made of no live wager is not counted.
* *liability* = available (real + bonus) + reserved + open bets.  Open bets were already
  debited from the balances, so nothing is counted twice.

It refuses a month that has not ended yet.  Cost: one pass over the journal, the rounds and
the transaction records (memory: the rounds open at the cutoff); run it off-peak.

**Statement** of one player over ``[from, to)``: per wallet, the opening balances (after
the last journal entry created before ``from``; zero when none), every journal entry created
in the period in ``seq`` order with its balances before and after, and the closing
balances (after the last movement; the opening ones when there was none).  Opening + the
sum of the movements' deltas = closing, per balance (``reconciled``; false only if the
journal was altered, which ``groove-wallet audit`` then reports).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Any, Literal, TypeVar

from . import money
from .domain.rounds import bet_sign, live_wagers, open_at
from .errors import Invalid, NotFound, TechnicalError
from .model import ACCOUNT_ID, CURRENCY, OPERATOR_ID, JournalEntry, Player, Round, iso
from .ports import Tx, WalletStore

T = TypeVar("T")

Format = Literal["json", "csv"]
FORMATS: tuple[Format, ...] = ("json", "csv")

# Input limits.
MAX_OLDER_THAN = 10 * 366 * 86400  # ten years, in seconds
MAX_STATEMENT_DAYS = 366
MAX_STATEMENT_MOVEMENTS = 100_000
MIN_YEAR, MAX_YEAR = 2000, 9998
PAGE = 1000  # open rounds per read unit
OWNER_BATCH = 500  # accounts resolved to their operator per read unit

# Sums of many Decimal(32,10) values: 80 digits, and any rounding raises instead of happening.
_EXACT = Context(prec=80, traps=[Inexact, InvalidOperation])
ZERO = money.ZERO

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


def _add(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.add(a, b)


def _sub(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.subtract(a, b)


def _w(value: Decimal) -> str:
    return money.wire(value)


# ---------------------------------------------------------------------- parameters


def parse_format(text: str | None) -> Format:
    if text is None or text == "json":
        return "json"
    if text == "csv":
        return "csv"
    raise Invalid("format must be csv or json")


def parse_seconds(text: str, name: str = "older_than") -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 10) or int(text) > MAX_OLDER_THAN:
        raise Invalid(f"{name} must be a whole number of seconds from 0 to {MAX_OLDER_THAN}")
    return int(text)


def parse_month(text: str) -> tuple[str, datetime, datetime]:
    """``YYYY-MM`` -> (the text, first instant of the month, first instant of the next month), UTC."""
    m = _MONTH.fullmatch(text)
    if m is None or not (MIN_YEAR <= int(m.group(1)) <= MAX_YEAR and 1 <= int(m.group(2)) <= 12):
        raise Invalid(f"month must be YYYY-MM (years {MIN_YEAR}..{MAX_YEAR})")
    year, month = int(m.group(1)), int(m.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    cutoff = datetime(year + 1, 1, 1, tzinfo=UTC) if month == 12 else datetime(year, month + 1, 1, tzinfo=UTC)
    return text, start, cutoff


def parse_instant(text: str, name: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 timestamp with ``Z`` or an offset."""
    try:
        if _DATE.fullmatch(text):
            ts = datetime.fromisoformat(text).replace(tzinfo=UTC)
        elif _INSTANT.fullmatch(text):
            ts = datetime.fromisoformat(text)
        else:
            raise ValueError(text)
    except ValueError:
        raise Invalid(
            f"{name} must be YYYY-MM-DD or an ISO 8601 timestamp with a timezone (2026-10-01T00:00:00Z)"
        ) from None
    if not MIN_YEAR <= ts.year <= MAX_YEAR:
        raise Invalid(f"{name} must be in the years {MIN_YEAR}..{MAX_YEAR}")
    return ts.astimezone(UTC)


def check_operator(value: str) -> str:
    if not OPERATOR_ID.fullmatch(value):
        raise Invalid("operator_id must match [0-9A-Za-z]{1,20}")
    return value


def check_account(value: str) -> str:
    if not ACCOUNT_ID.fullmatch(value):
        raise Invalid("account_id must match [0-9A-Za-z]{1,60}")
    return value


def check_currency(value: str) -> str:
    if not CURRENCY.fullmatch(value):
        raise Invalid("currency must be a currency code like EUR")
    return value


# ---------------------------------------------------------------------- rendering


def _cell(value: str) -> str:
    """A free-text CSV cell: one that a spreadsheet would run as a formula gets a leading quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """RFC 4180 CSV (CRLF line ends) with a header row; every value is already an exact string."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buf.getvalue()


@contextlib.asynccontextmanager
async def _closing(stream: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Close a store stream (and release its connection) even when we stop early."""
    try:
        yield stream
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


def _when(ts: datetime | None, what: str) -> datetime:
    if ts is None:
        raise TechnicalError(f"{what} has no timestamp")
    return ts


async def _require_operator(store: WalletStore, operator_id: str) -> None:
    async def unit(tx: Tx) -> bool:
        return await tx.get_operator(operator_id) is not None

    if not await store.read(unit):
        raise NotFound(f"operator {operator_id} not found")


async def _owners(store: WalletStore, accounts: Iterable[str]) -> dict[str, str]:
    """account id -> operator id, in one read unit."""
    wanted = sorted(set(accounts))

    async def unit(tx: Tx) -> dict[str, str]:
        out: dict[str, str] = {}
        for a in wanted:
            p = await tx.get_player(a)
            if p is None:
                raise TechnicalError(f"account {a} has money records but no player")
            out[a] = p.operator_id
        return out

    return await store.read(unit) if wanted else {}


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
                stake = stakes.get((t.account_id, t.scope, t.round_id))
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


Report = OpenRoundsReport | LiabilityReport | StatementReport
