"""What the regulator reports share: input limits and parsing, exact sums, CSV, the store helpers."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import Literal, TypeVar

from .. import money
from ..errors import Invalid, NotFound, TechnicalError
from ..model import ACCOUNT_ID, CURRENCY, OPERATOR_ID
from ..ports import Tx, WalletStore

T = TypeVar("T")

Format = Literal["json", "csv"]
FORMATS: tuple[Format, ...] = ("json", "csv")

# Input limits.
MAX_OLDER_THAN = 10 * 366 * 86400  # ten years, in seconds
MAX_STATEMENT_DAYS = 366
MAX_STATEMENT_MOVEMENTS = 100_000
MIN_YEAR, MAX_YEAR = 2000, 9998
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
