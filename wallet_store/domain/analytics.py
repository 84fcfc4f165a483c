"""The read side of the REST faces: history items and spend/win analytics.  Pure.

Both are computed from journal entries: an entry's direction is the sign of its change of
the available balance (real + bonus), the same value as the journal's ``flow`` column the
history filters on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from wallet_store import money
from wallet_store.errors import Invalid
from wallet_store.model import BalanceFlow, Currency, JournalEntry, Player, Wallet, entry_flow

MAX_PAGE = 100
MAX_OFFSET = 1_000_000
MAX_ANALYTICS_SPAN = timedelta(days=366)
MAX_ANALYTICS_ENTRIES = 200_000
WIN_KINDS = frozenset({"result", "jackpot"})
BucketSize = Literal["day", "week"]


@dataclass(frozen=True, slots=True)
class HistoryItem:
    entry: JournalEntry
    direction: BalanceFlow
    amount: Decimal
    before: Decimal
    after: Decimal
    game_id: str | None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    player: Player
    wallet: Wallet
    currency: Currency | None
    page: int
    limit: int
    total: int
    items: list[HistoryItem]


def check_page(page: int, limit: int, since: datetime | None, until: datetime | None) -> None:
    if not 1 <= limit <= MAX_PAGE or page < 1 or (page - 1) * limit > MAX_OFFSET:
        raise Invalid(f"page must be >= 1, limit 1..{MAX_PAGE}, and the offset at most {MAX_OFFSET}")
    if since is not None and until is not None and since >= until:
        raise Invalid("from must be before to")


def check_period(since: datetime, until: datetime) -> datetime:
    """Refuse a bad analytics period; returns the start of the period before it (the trend)."""
    if since >= until:
        raise Invalid("from must be before to")
    if until - since > MAX_ANALYTICS_SPAN:
        raise Invalid(f"the period is at most {MAX_ANALYTICS_SPAN.days} days")
    return since - (until - since)


def check_entry_count(count: int) -> None:
    if count > MAX_ANALYTICS_ENTRIES:
        raise Invalid(
            f"more than {MAX_ANALYTICS_ENTRIES} movements in the period and the one before: choose a shorter period"
        )


def entry_direction(e: JournalEntry) -> tuple[BalanceFlow, Decimal]:
    """credit/debit/none and the absolute amount of an entry, from the sign of real + bonus:
    the same value as the journal's ``flow`` column that the history filters on.

    An entry that leaves real + bonus unchanged (a hold capture moves reserved funds only, a
    zero win) is ``none`` with an amount of 0.
    """
    delta = money.add(e.real_delta, e.bonus_delta)
    return (entry_flow(e), -delta if delta < 0 else delta)


def history_item(e: JournalEntry) -> HistoryItem:
    d, amount = entry_direction(e)
    gid = e.reference.split(":", 2)[1] if e.reference.startswith("api:") else None
    return HistoryItem(
        e, d, amount, money.add(e.real_before, e.bonus_before), money.add(e.real_after, e.bonus_after), gid
    )


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    spend: Decimal
    wins: Decimal
    credits: Decimal


@dataclass(frozen=True, slots=True)
class CurrencyAnalytics:
    currency: str
    info: Currency | None
    buckets: list[Bucket]
    spend: Decimal
    wins: Decimal
    credits: Decimal
    previous_spend: Decimal
    previous_wins: Decimal
    top_spend: list[tuple[str, Decimal, int]]  # (category, amount, count), largest first


@dataclass(frozen=True, slots=True)
class Analytics:
    player: Player
    bucket: BucketSize
    since: datetime
    until: datetime
    currencies: list[CurrencyAnalytics]


def _bucket_start(ts: datetime, since: datetime, bucket: BucketSize) -> datetime:
    """Buckets are whole days/weeks counted from ``since`` (so any start time works)."""
    size = timedelta(days=1 if bucket == "day" else 7)
    return since + size * ((ts - since) // size)


def spend_category(e: JournalEntry) -> str:
    """What a debit was spent on: the game for wagers, else the kind of the movement."""
    if e.kind == "wager":
        return "wager"
    if e.reference.startswith("api:"):
        return "api_debit:" + e.reference.split(":", 2)[1]
    return e.kind


@dataclass(slots=True)
class _Tally:
    """The running sums of one currency while its entries are read."""

    rows: dict[datetime, list[Decimal]]  # bucket start -> [spend, wins, credits]
    prev: list[Decimal]  # [spend, wins] of the period before
    cats: defaultdict[str, tuple[Decimal, int]]

    def add(self, e: JournalEntry, since: datetime, bucket: BucketSize) -> None:
        d, amount = entry_direction(e)
        if amount.is_zero():
            return
        if e.created_at < since:
            if d == "debit":
                self.prev[0] = money.add(self.prev[0], amount)
            elif e.kind in WIN_KINDS:
                self.prev[1] = money.add(self.prev[1], amount)
            return
        row = self.rows[_bucket_start(e.created_at, since, bucket)]
        if d == "debit":
            row[0] = money.add(row[0], amount)
            spent, count = self.cats[spend_category(e)]
            self.cats[spend_category(e)] = (money.add(spent, amount), count + 1)
        else:
            row[2] = money.add(row[2], amount)
            if e.kind in WIN_KINDS:
                row[1] = money.add(row[1], amount)


def _currency_analytics(
    code: str,
    entries: Iterable[JournalEntry],
    info: Currency | None,
    *,
    bucket: BucketSize,
    since: datetime,
    until: datetime,
) -> CurrencyAnalytics:
    size = timedelta(days=1 if bucket == "day" else 7)
    rows: dict[datetime, list[Decimal]] = {}
    start = since
    while start < until:
        rows[start] = [money.ZERO, money.ZERO, money.ZERO]
        start += size
    tally = _Tally(rows, [money.ZERO, money.ZERO], defaultdict(lambda: (money.ZERO, 0)))
    for e in entries:
        tally.add(e, since, bucket)
    buckets = [Bucket(k, v[0], v[1], v[2]) for k, v in rows.items()]
    top = sorted(((k, v[0], v[1]) for k, v in tally.cats.items()), key=lambda t: (-t[1], t[0]))[:5]
    return CurrencyAnalytics(
        currency=code,
        info=info,
        buckets=buckets,
        spend=money.check(sum((b.spend for b in buckets), money.ZERO)),
        wins=money.check(sum((b.wins for b in buckets), money.ZERO)),
        credits=money.check(sum((b.credits for b in buckets), money.ZERO)),
        previous_spend=tally.prev[0],
        previous_wins=tally.prev[1],
        top_spend=top,
    )


def build_analytics(
    player: Player,
    per: dict[str, list[JournalEntry]],
    currencies: dict[str, Currency],
    *,
    bucket: BucketSize,
    since: datetime,
    until: datetime,
) -> Analytics:
    """Aggregate journal entries of [since - span, until) into the analytics (pure).

    spend = debits of the available balance; wins = credits of game wins (result,
    jackpot); credits = every credit (wins, refunds, top-ups, transfers in).
    """
    out = [
        _currency_analytics(code, per[code], currencies.get(code), bucket=bucket, since=since, until=until)
        for code in sorted(per)
    ]
    return Analytics(player, bucket, since, until, out)
