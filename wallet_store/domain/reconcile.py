"""Reconciliation, pure: an aggregator's transaction list against our records, transaction by transaction.

Input on both sides is a list of :class:`Record` (id, kind, account, round, amount, currency,
status, time).  Our side comes from the store (later, with the Hub88 face); the aggregator's
from one of the import formats below (``docs/hub88.md``, "Reconciliation", describes them for
operators).  Nothing here reads a file or a database: the parsers take the text.

**Matching.**  A transaction is identified by ``(kind, id)``: Hub88's ``transaction_uuid`` is
unique by itself, but Groove reuses a wager's ``transactionid`` for its rollback.  Every
record of both inputs is matched first; then a pair is in the period ``[start, end)`` when
either side's time is (clocks of two systems differ by a little, so a transaction at the edge
is never reported missing because of that).  Each pair is one :class:`Line`:

- ``equal``: both sides, same amount, status, round, account and currency;
- ``missing_ours``: only the aggregator has it; ``missing_theirs``: only we have it;
- ``different``: both, and the fields that differ are named (amount, status, round, account,
  currency).  An amount a side does not state (``None``: Hub88 rollbacks carry none) is not
  compared.

**Statuses** are normalised to ``ok`` (money moved), ``refused`` (declined, nothing moved) and
``rolled_back`` (moved, then cancelled by a rollback).

**Totals** per currency and side: the count of records, and the sums of ``ok`` and
``rolled_back`` amounts per kind; :attr:`Report.ok` is true only with no line but ``equal``.

**Limits** (before anything is built): at most :data:`MAX_TEXT` characters of input,
:data:`MAX_RECORDS` records, ids and names of at most :data:`MAX_ID` characters; amounts
exact (Decimal(32,10) for decimal formats, Int64 x 100 000 for Hub88's), never a float.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal

from wallet_store import money
from wallet_store.domain import hub88

MAX_TEXT: Final = 256 * 1024 * 1024
MAX_RECORDS: Final = 2_000_000
MAX_ID: Final = 255
STATUSES: Final = frozenset({"ok", "refused", "rolled_back"})
COLUMNS: Final = ("id", "kind", "account", "round", "amount", "currency", "status", "time")
HUB88_COLUMNS: Final = ("transaction_uuid", "type", "user", "round", "amount", "currency", "status", "created_at")
# Hub88's transaction status (Transactions API) -> ours.  TS_SUCCESS and TS_DECLINED are Hub88's
# documented names; TS_ROLLBACK / TS_ROLLED_BACK are accepted for a rolled-back transaction.
HUB88_STATUS: Final = {
    "TS_SUCCESS": "ok",
    "TS_DECLINED": "refused",
    "TS_ROLLBACK": "rolled_back",
    "TS_ROLLED_BACK": "rolled_back",
}
HUB88_KINDS: Final = frozenset({"bet", "win", "rollback"})
GROOVE_KINDS: Final = frozenset(
    {"wager", "result", "wagerAndResult", "rollback", "jackpot", "reversewin", "rollbackrollback"}
)

_ID = re.compile(rf"[^\x00-\x1f\x7f]{{1,{MAX_ID}}}")
_UNITS = re.compile(r"[0-9]{1,19}")
_CURRENCY = re.compile(r"[A-Za-z][A-Za-z0-9]{1,9}")
_JSON_NUMBER_CHARS: Final = 50

Outcome = Literal["equal", "missing_ours", "missing_theirs", "different"]
COMPARED: Final = ("amount", "status", "round", "account", "currency")


class FormatError(ValueError):
    """The input is not in the stated format (with the record number when one is at fault)."""


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    kind: str
    account: str
    round: str | None
    amount: Decimal | None  # None: the side does not state it (not compared, not totalled)
    currency: str
    status: str  # ok | refused | rolled_back
    time: datetime  # UTC-aware

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.id)


@dataclass(frozen=True, slots=True)
class Line:
    key: tuple[str, str]
    outcome: Outcome
    ours: Record | None
    theirs: Record | None
    fields: tuple[str, ...] = ()  # what differs, for ``different``


@dataclass
class Totals:
    """One side's records of one currency: how many, and the money per kind (ok and rolled back)."""

    count: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, r: Record) -> None:
        self.count += 1
        if r.amount is not None and r.status != "refused":
            self.amounts[r.kind] = money.add(self.amounts.get(r.kind, money.ZERO), r.amount)


@dataclass
class Report:
    lines: list[Line]
    ours: dict[str, Totals]
    theirs: dict[str, Totals]

    @property
    def differences(self) -> list[Line]:
        return [x for x in self.lines if x.outcome != "equal"]

    @property
    def ok(self) -> bool:
        return not self.differences

    def counts(self) -> dict[Outcome, int]:
        out: dict[Outcome, int] = {"equal": 0, "missing_ours": 0, "missing_theirs": 0, "different": 0}
        for x in self.lines:
            out[x.outcome] += 1
        return out


# --------------------------------------------------------------------------- comparing


def reconcile(
    ours: Iterable[Record], theirs: Iterable[Record], start: datetime | None = None, end: datetime | None = None
) -> Report:
    """Every transaction of the period on either side, matched by ``(kind, id)``, with totals."""
    mine, other = _index(ours, "ours"), _index(theirs, "theirs")
    lines: list[Line] = []
    for key in sorted(mine.keys() | other.keys()):
        a, b = mine.get(key), other.get(key)
        if _in_period(a, start, end) or _in_period(b, start, end):
            lines.append(_line(key, a, b))
    return Report(lines, _totals(x.ours for x in lines), _totals(x.theirs for x in lines))


def _index(records: Iterable[Record], side: str) -> dict[tuple[str, str], Record]:
    out: dict[tuple[str, str], Record] = {}
    for r in records:
        if r.key in out:
            raise FormatError(f"{side}: transaction {r.kind} {r.id!r} is listed twice")
        out[r.key] = r
    return out


def _in_period(r: Record | None, start: datetime | None, end: datetime | None) -> bool:
    return r is not None and (start is None or r.time >= start) and (end is None or r.time < end)


def _line(key: tuple[str, str], ours: Record | None, theirs: Record | None) -> Line:
    if theirs is None:
        return Line(key, "missing_theirs", ours, None)
    if ours is None:
        return Line(key, "missing_ours", None, theirs)
    diff = tuple(f for f in COMPARED if _differs(f, ours, theirs))
    return Line(key, "different" if diff else "equal", ours, theirs, diff)


def _differs(name: str, a: Record, b: Record) -> bool:
    x, y = getattr(a, name), getattr(b, name)
    if name == "amount" and (x is None or y is None):
        return False
    return bool(x != y)


def _totals(records: Iterable[Record | None]) -> dict[str, Totals]:
    out: dict[str, Totals] = defaultdict(Totals)
    for r in records:
        if r is not None:
            out[r.currency].add(r)
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- import formats


def parse_json(text: str, aggregator: Literal["groove", "hub88"]) -> list[Record]:
    """A JSON array of records, or an object whose ``transactions`` is one (Hub88's list reply)."""
    data = _load_json(text)
    if isinstance(data, dict):
        data = data.get("transactions")
    if not isinstance(data, list):
        raise FormatError("expected a JSON array of transactions (or an object with 'transactions')")
    return _records(data, aggregator)


def parse_csv(text: str, aggregator: Literal["groove", "hub88"]) -> list[Record]:
    """CSV with a header row naming at least the format's columns (any order; others ignored)."""
    _check_size(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    need = HUB88_COLUMNS if aggregator == "hub88" else COLUMNS
    missing = [c for c in need if c not in (reader.fieldnames or ()) and c != "round"]
    if missing:
        raise FormatError(f"CSV header lacks {missing}")
    try:
        return _records(reader, aggregator)
    except csv.Error as exc:
        raise FormatError(f"CSV line {reader.line_num}: {exc}") from None


def _records(rows: Iterable[Any], aggregator: str) -> list[Record]:
    convert = _hub88_record if aggregator == "hub88" else _plain_record
    out: list[Record] = []
    for n, row in enumerate(rows, 1):
        if n > MAX_RECORDS:
            raise FormatError(f"more than {MAX_RECORDS} transactions")
        if not isinstance(row, Mapping):
            raise FormatError(f"transaction {n}: not an object")
        try:
            out.append(convert(row))
        except (FormatError, ValueError, ArithmeticError) as exc:
            raise FormatError(f"transaction {n}: {exc}") from None
    return out


def _plain_record(row: Mapping[str, Any]) -> Record:
    """The plain format of Groove imports: Groove's request names as kinds, decimal amounts."""
    kind = _text(row, "kind")
    if kind not in GROOVE_KINDS:
        raise FormatError(f"kind {kind!r} is not one of {sorted(GROOVE_KINDS)}")
    status = _text(row, "status")
    if status not in STATUSES:
        raise FormatError(f"status {status!r} is not one of {sorted(STATUSES)}")
    amount = money.coerce(row.get("amount"))
    if amount < 0:
        raise FormatError("a negative amount")
    return Record(
        id=_text(row, "id"),
        kind=kind,
        account=_text(row, "account"),
        round=_optional(row, "round"),
        amount=amount,
        currency=_currency(row, "currency"),
        status=status,
        time=_time(row, "time"),
    )


def _hub88_record(row: Mapping[str, Any]) -> Record:
    """One item of Hub88's transaction list: integer amounts x 100 000, ``TS_*`` statuses."""
    kind = _text(row, "type")
    if kind not in HUB88_KINDS:
        raise FormatError(f"type {kind!r} is not one of {sorted(HUB88_KINDS)}")
    status = HUB88_STATUS.get(_text(row, "status"))
    if status is None:
        raise FormatError(f"status {row.get('status')!r} is not one of {sorted(HUB88_STATUS)}")
    return Record(
        id=_text(row, "transaction_uuid"),
        kind=kind,
        account=_text(row, "user"),
        round=_optional(row, "round"),
        amount=_units(row.get("amount"), kind),
        currency=_currency(row, "currency"),
        status=status,
        time=_time(row, "created_at"),
    )


def _units(value: object, kind: str) -> Decimal | None:
    if value is None or value == "":
        if kind == "rollback":
            return None  # a rollback's list item may state no amount
        raise FormatError("amount is required")
    if isinstance(value, str):
        if not _UNITS.fullmatch(value):
            raise FormatError(f"amount {value[:40]!r} is not a non-negative integer")
        value = int(value)
    return hub88.from_units(value)


def _text(row: Mapping[str, Any], name: str) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise FormatError(f"{name} must be text of 1 to {MAX_ID} characters, got {str(value)[:40]!r}")
    return value


def _optional(row: Mapping[str, Any], name: str) -> str | None:
    return None if row.get(name) in (None, "") else _text(row, name)


def _currency(row: Mapping[str, Any], name: str) -> str:
    value = _text(row, name)
    if not _CURRENCY.fullmatch(value):
        raise FormatError(f"{name} {value[:40]!r} is not a currency code")
    return value


def _time(row: Mapping[str, Any], name: str) -> datetime:
    """ISO 8601; without an offset the time is UTC (Hub88's ``YYYY-MM-DDThh:mm:ss``)."""
    text = _text(row, name)
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise FormatError(f"{name} {text[:40]!r} is not an ISO 8601 time") from None
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).astimezone(UTC)


def _check_size(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise FormatError(f"input longer than {MAX_TEXT} characters")


def _load_json(text: str) -> Any:
    _check_size(text)
    try:
        return json.loads(text, parse_float=_json_decimal, parse_int=_json_int, parse_constant=_no_constant)
    except RecursionError:
        raise FormatError("JSON nested too deeply") from None
    except ValueError as exc:
        raise FormatError(f"not JSON: {exc}") from None


def _json_int(text: str) -> int:
    if len(text) > _JSON_NUMBER_CHARS:
        raise FormatError(f"a number longer than {_JSON_NUMBER_CHARS} characters")
    return int(text)


def _json_decimal(text: str) -> Decimal:
    if len(text) > _JSON_NUMBER_CHARS or "e" in text.lower():
        raise FormatError(f"{text[:40]!r}: numbers are plain decimals without an exponent")
    return Decimal(text)


def _no_constant(name: str) -> Any:
    raise FormatError(f"{name} is not a number")
