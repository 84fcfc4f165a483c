"""The engine's hot-path shortcuts give exactly what the plain code gave (issue #17)."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from wallet_store import money
from wallet_store.domain import rounds
from wallet_store.domain.groove import new_tx_id
from wallet_store.domain.journal import JournalEntry, entry_hash, move, verify_entry
from wallet_store.model import Round, Wallet, iso


def _plain_iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_new_tx_id_is_20_hex_chars_and_unique() -> None:
    ids = {new_tx_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(re.fullmatch(r"[0-9a-f]{20}", i) for i in ids)


def test_iso_cache_gives_each_timestamp_its_own_text() -> None:
    base = datetime(2026, 12, 7, 5, 30, 1, 123456, tzinfo=UTC)
    stamps = [
        base,
        base + timedelta(microseconds=1),
        datetime(2026, 12, 7, 5, 30, 1, 123456, tzinfo=UTC),  # equal value, another object
        base.astimezone(timezone(timedelta(hours=2))),  # same instant, another zone
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        base,
    ]
    for ts in stamps * 2:
        assert iso(ts) == iso(ts) == _plain_iso(ts)


def test_iso_cache_across_threads() -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    bad: list[tuple[datetime, str]] = []

    def run(offset: int) -> None:
        for i in range(3000):
            ts = base + timedelta(seconds=offset, microseconds=i)
            text = iso(ts)
            if text != _plain_iso(ts):
                bad.append((ts, text))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []


def test_move_builds_every_field_as_the_keyword_form_would() -> None:
    now = datetime(2026, 12, 7, 5, 30, tzinfo=UTC)
    w = Wallet("acc1", "EUR", Decimal("10.5"), Decimal("2"), Decimal("1"), 7, "ab" * 32, now)
    real, bonus, reserved = Decimal("-1.25"), Decimal("0.5"), Decimal("-1")
    new, e = move(w, kind="wager", real=real, bonus=bonus, reserved=reserved, reference="r:1", reason="x", now=now)
    digest = entry_hash(
        account_id="acc1",
        currency="EUR",
        seq=8,
        kind="wager",
        real_delta=real,
        bonus_delta=bonus,
        reserved_delta=reserved,
        real_after=Decimal("9.25"),
        bonus_after=Decimal("2.5"),
        reserved_after=Decimal("0"),
        reference="r:1",
        reason="x",
        created_at=now,
        prev_hash="ab" * 32,
    )
    assert e == JournalEntry(
        account_id="acc1",
        currency="EUR",
        seq=8,
        kind="wager",
        real_delta=real,
        bonus_delta=bonus,
        reserved_delta=reserved,
        real_after=Decimal("9.25"),
        bonus_after=Decimal("2.5"),
        reserved_after=money.ZERO,
        reference="r:1",
        reason="x",
        created_at=now,
        prev_hash="ab" * 32,
        hash=digest,
    )
    assert verify_entry(e)
    assert new == replace(
        w, real=Decimal("9.25"), bonus=Decimal("2.5"), reserved=money.ZERO, seq=8, last_hash=digest, updated_at=now
    )


def test_round_arithmetic_keeps_every_other_field() -> None:
    created = datetime(2026, 12, 7, tzinfo=UTC)
    closed = created + timedelta(minutes=1)
    rnd = Round(
        "acc1",
        "g1",
        "r1",
        "EUR",
        "closed",
        Decimal("1"),
        Decimal("2"),
        Decimal("3"),
        Decimal("4"),
        1,
        2,
        created,
        closed,
    )
    bet = rounds.place_bet(rnd, Decimal("0.5"), Decimal("0.25"))
    assert bet == replace(rnd, real_bet=Decimal("1.5"), bonus_bet=Decimal("2.25"), wagers=2)
    win = rounds.take_back_win(rnd, Decimal("1"), Decimal("1"))
    assert win == replace(rnd, real_win=Decimal("2"), bonus_win=Decimal("3"))


def test_wire_writes_every_zero_as_0() -> None:
    for text in ("0", "-0", "0E-10", "-0E-10", "0E+5", "-0E+5", "0.000"):
        assert money.wire(Decimal(text)) == "0"
    assert money.wire(money.ZERO) == "0"
    assert money.wire(Decimal("-1.50")) == "-1.5"
    assert money.wire(Decimal("0.0000000001")) == "0.0000000001"
