"""History items and analytics from journal entries (wallet_store/domain/analytics.py): no database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.unit.engine import NOW, player, wallet
from wallet_store.domain.analytics import build_analytics, check_page, check_period, history_item
from wallet_store.errors import Invalid
from wallet_store.model import JournalEntry, move

D = Decimal
DAY = timedelta(days=1)


def entries() -> list[JournalEntry]:
    w = wallet("10")
    out = []
    for at, kind, real, ref in (
        (NOW - DAY, "wager", "-1", "g"),  # the period before
        (NOW, "api_credit", "100", "api:g1:a"),
        (NOW + timedelta(hours=1), "wager", "-10", "r1"),
        (NOW + DAY, "result", "25", "r1"),
        (NOW + DAY, "api_debit", "-5", "api:g2:b"),
    ):
        w, e = move(w, kind=kind, real=D(real), reference=ref, now=at)
        out.append(e)
    return out


def test_history_items_know_their_direction_and_game() -> None:
    items = [history_item(e) for e in entries()]
    assert [(i.direction, i.amount, i.game_id) for i in items[1:3]] == [
        ("credit", D(100), "g1"),
        ("debit", D(10), None),
    ]
    assert (items[2].before, items[2].after) == (D(109), D(99))


def test_analytics_per_day_with_the_trend_and_top_spend() -> None:
    a = build_analytics(player(), {"EUR": entries()}, {}, bucket="day", since=NOW, until=NOW + 2 * DAY)
    [eur] = a.currencies
    assert [(b.spend, b.wins, b.credits) for b in eur.buckets] == [(D(10), D(0), D(100)), (D(5), D(25), D(25))]
    assert (eur.spend, eur.wins, eur.credits, eur.previous_spend) == (D(15), D(25), D(125), D(1))
    assert eur.top_spend == [("wager", D(10), 1), ("api_debit:g2", D(5), 1)]


def test_periods_and_pages_are_bounded() -> None:
    assert check_period(NOW, NOW + DAY) == NOW - DAY
    with pytest.raises(Invalid):
        check_period(NOW, NOW)
    with pytest.raises(Invalid):
        check_period(NOW, NOW + 367 * DAY)
    with pytest.raises(Invalid):
        check_page(1, 101, None, None)
