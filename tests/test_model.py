"""Unit tests of the pure domain rules (no I/O): debit and win splits, the journal chain, game_mode."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet_store import money
from wallet_store.errors import AmountOutOfRange, OperationNotAllowed, OutOfMoney
from wallet_store.model import (
    GENESIS_HASH,
    GameSession,
    Wallet,
    entry_hash,
    game_mode,
    iso,
    move,
    split_debit,
    split_win,
    verify_entry,
)

NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
D = money.parse

# Amounts small enough that sums of a few stay inside Decimal(32,10).
amounts = st.decimals(
    min_value=Decimal(0), max_value=Decimal("999999999999.9999999999"), places=10, allow_nan=False, allow_infinity=False
)
positive = amounts.filter(lambda d: d > 0)


def wallet(real: str = "0", bonus: str = "0") -> Wallet:
    return Wallet(account_id="5179068", currency="EUR", real=D(real), bonus=D(bonus))


# --------------------------------------------------------------------------- split_debit


@pytest.mark.parametrize(
    ("order", "amount", "real", "bonus"),
    [
        ("cash_money", "3", "3", "0"),
        ("cash_money", "10", "10", "0"),
        ("cash_money", "12", "10", "2"),
        ("cash_money", "15", "10", "5"),  # exact funds
        ("bonus_money", "3", "0", "3"),
        ("bonus_money", "5", "0", "5"),
        ("bonus_money", "12", "7", "5"),
        ("bonus_money", "15", "10", "5"),  # exact funds
        ("cash_money", "0", "0", "0"),
        ("bonus_money", "0", "0", "0"),
        ("cash_money", "10.0000000001", "10", "0.0000000001"),
    ],
)
def test_split_debit(order: str, amount: str, real: str, bonus: str) -> None:
    r, b = split_debit(wallet("10", "5"), D(amount), order)  # type: ignore[arg-type]
    assert (r, b) == (D(real), D(bonus))
    assert money.add(r, b) == D(amount)


@pytest.mark.parametrize("order", ["cash_money", "bonus_money"])
def test_split_debit_out_of_money(order: str) -> None:
    with pytest.raises(OutOfMoney):
        split_debit(wallet("10", "5"), D("15.0000000001"), order)  # type: ignore[arg-type]
    with pytest.raises(OutOfMoney):
        split_debit(wallet("0", "0"), money.QUANTUM, order)  # type: ignore[arg-type]


@pytest.mark.parametrize("order", ["cash_money", "bonus_money"])
def test_split_debit_refuses_negative(order: str) -> None:
    with pytest.raises(OperationNotAllowed):
        split_debit(wallet("10", "5"), D("-1"), order)  # type: ignore[arg-type]


def test_split_debit_only_bonus_available_under_cash_money() -> None:
    assert split_debit(wallet("0", "25.5"), D("20"), "cash_money") == (money.ZERO, D("20"))


@given(amounts, amounts, amounts, st.sampled_from(["cash_money", "bonus_money"]))
def test_split_debit_property(real: Decimal, bonus: Decimal, amount: Decimal, order: str) -> None:
    w = Wallet(account_id="a", currency="EUR", real=real, bonus=bonus)
    if amount > real + bonus:
        with pytest.raises(OutOfMoney):
            split_debit(w, amount, order)  # type: ignore[arg-type]
        return
    r, b = split_debit(w, amount, order)  # type: ignore[arg-type]
    assert r + b == amount
    assert 0 <= r <= real
    assert 0 <= b <= bonus
    first, first_balance = (r, real) if order == "cash_money" else (b, bonus)
    assert first == min(first_balance, amount)


# --------------------------------------------------------------------------- split_win


@pytest.mark.parametrize(
    ("amount", "real_bet", "bonus_bet", "real", "bonus"),
    [
        ("10", "10", "0", "10", "0"),  # real-funded round pays real
        ("10", "0", "10", "0", "10"),  # bonus-funded round pays bonus
        ("10", "3", "1", "7.5", "2.5"),  # mixed: in proportion
        ("1", "2", "1", "0.6666666667", "0.3333333333"),  # bonus part rounded down, real gets the rest
        ("0", "3", "1", "0", "0"),
        ("0.0000000001", "1", "1", "0.0000000001", "0"),
    ],
)
def test_split_win_proportional(amount: str, real_bet: str, bonus_bet: str, real: str, bonus: str) -> None:
    r, b = split_win(D(amount), D(real_bet), D(bonus_bet))
    assert (r, b) == (D(real), D(bonus))
    assert r + b == D(amount)


def test_split_win_without_a_bet_uses_the_default() -> None:
    assert split_win(D("25"), money.ZERO, money.ZERO) == (D("25"), money.ZERO)
    assert split_win(D("25"), money.ZERO, money.ZERO, "real") == (D("25"), money.ZERO)
    assert split_win(D("25"), money.ZERO, money.ZERO, "bonus") == (money.ZERO, D("25"))


def test_split_win_with_a_bet_ignores_the_default() -> None:
    assert split_win(D("25"), D("5"), money.ZERO, "bonus") == (D("25"), money.ZERO)


@given(amounts, amounts, amounts, st.sampled_from(["real", "bonus"]))
def test_split_win_parts_always_sum_to_amount(
    amount: Decimal, real_bet: Decimal, bonus_bet: Decimal, default: str
) -> None:
    r, b = split_win(amount, real_bet, bonus_bet, default)  # type: ignore[arg-type]
    assert r + b == amount
    assert r >= 0
    assert b >= 0
    total = real_bet + bonus_bet
    if total > 0:
        # bonus share never exceeds its exact proportion, and is within one quantum of it
        exact = amount * bonus_bet / total
        assert b <= exact
        assert exact - b < money.QUANTUM
        if bonus_bet == 0:
            assert b == 0
        if real_bet == 0:
            assert r == 0


# --------------------------------------------------------------------------- move / journal chain


def test_move_builds_a_verifiable_hash_chain() -> None:
    w0 = wallet()
    w1, e1 = move(w0, kind="initial", real=D("100"), bonus=D("50"), reference="initial", reason="opening", now=NOW)
    later = NOW + timedelta(seconds=5)
    w2, e2 = move(w1, kind="wager", real=D("-10"), bonus=D("-0.5"), reference="wager:t1", now=later)

    assert (w1.real, w1.bonus, w1.seq) == (D("100"), D("50"), 1)
    assert (w2.real, w2.bonus, w2.reserved, w2.seq) == (D("90"), D("49.5"), money.ZERO, 2)
    assert w2.updated_at == later
    assert e1.prev_hash == GENESIS_HASH
    assert e2.prev_hash == e1.hash == w1.last_hash
    assert w2.last_hash == e2.hash
    assert e1.hash != e2.hash
    assert len(e1.hash) == 64
    assert verify_entry(e1)
    assert verify_entry(e2)
    assert (e2.seq, e2.kind, e2.reference, e2.created_at) == (2, "wager", "wager:t1", later)
    assert (e2.real_before, e2.bonus_before, e2.reserved_before) == (D("100"), D("50"), money.ZERO)
    assert (e2.real_after, e2.bonus_after) == (D("90"), D("49.5"))
    # the input wallet is not modified (frozen dataclass, new value returned)
    assert w0.real == money.ZERO
    assert w0.seq == 0


def test_the_hash_chains_through_the_previous_hash() -> None:
    """Two wallets alike in everything but their last hash: the same move hashes differently,
    so rewriting any entry changes every later hash (issue 14, defect 12)."""
    a = wallet("10")
    b = replace(a, last_hash="f" * 64)
    _, ea = move(a, kind="wager", real=D("-1"), reference="wager:t1", now=NOW)
    _, eb = move(b, kind="wager", real=D("-1"), reference="wager:t1", now=NOW)
    assert (ea.prev_hash, eb.prev_hash) == (a.last_hash, "f" * 64)
    assert ea.hash != eb.hash


def test_entry_hash_is_deterministic() -> None:
    _, e = move(wallet("1"), kind="adjust", real=D("2"), reference="r", reason="why", now=NOW)
    content = {f.name: getattr(e, f.name) for f in fields(e) if f.name != "hash"}
    assert entry_hash(**content) == e.hash


@pytest.mark.parametrize(
    "tamper",
    [
        {"real_delta": D("-11")},
        {"real_after": D("91")},
        {"bonus_after": D("49.5000000001")},
        {"reserved_delta": D("1")},
        {"seq": 3},
        {"kind": "adjust"},
        {"reference": "wager:t2"},
        {"reason": "edited"},
        {"account_id": "5179069"},
        {"currency": "USD"},
        {"created_at": NOW + timedelta(microseconds=1)},
        {"prev_hash": GENESIS_HASH},
        {"hash": "f" * 64},
    ],
)
def test_verify_entry_detects_tampering(tamper: dict[str, object]) -> None:
    w1, _ = move(wallet(), kind="initial", real=D("100"), bonus=D("50"), reference="initial", now=NOW)
    _, e2 = move(w1, kind="wager", real=D("-10"), bonus=D("-0.5"), reference="wager:t1", now=NOW)
    assert verify_entry(e2)
    assert not verify_entry(replace(e2, **tamper))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("real", "bonus", "reserved"),
    [("-10.0000000001", "0", "0"), ("0", "-5.0000000001", "0"), ("0", "0", "-0.0000000001")],
)
def test_move_refuses_negative_balances(real: str, bonus: str, reserved: str) -> None:
    w = wallet("10", "5")
    with pytest.raises(OutOfMoney):
        move(w, kind="wager", real=D(real), bonus=D(bonus), reserved=D(reserved), reference="x", now=NOW)


def test_move_to_exactly_zero_is_allowed() -> None:
    w, e = move(wallet("10", "5"), kind="wager", real=D("-10"), bonus=D("-5"), reference="x", now=NOW)
    assert (w.real, w.bonus) == (money.ZERO, money.ZERO)
    assert verify_entry(e)


def test_move_refuses_a_total_beyond_decimal_32_10() -> None:
    top = D("9999999999999999999999.9999999999")
    w = Wallet("1", "EUR", real=top)
    with pytest.raises(AmountOutOfRange):
        move(w, kind="result", bonus=D("0.0000000001"), reference="x", now=NOW)
    with pytest.raises(AmountOutOfRange):
        move(Wallet("1", "EUR"), kind="result", real=top + 1, reference="x", now=NOW)


def test_wallet_total_is_real_plus_bonus() -> None:
    assert wallet("100", "50").total == D("150")
    assert wallet("0.0000000001", "0.0000000002").total == D("0.0000000003")


# --------------------------------------------------------------------------- game_mode


@pytest.mark.parametrize(
    ("real", "bonus", "order", "mode"),
    [
        ("100", "50", "cash_money", 1),
        ("100", "0", "cash_money", 1),
        ("0", "25.5", "cash_money", 2),  # no real money left: the next bet is bonus-funded
        ("0", "0", "cash_money", 1),
        ("100", "50", "bonus_money", 2),
        ("100", "0", "bonus_money", 1),  # no bonus to consume first
        ("0", "25.5", "bonus_money", 2),
        ("0", "0", "bonus_money", 1),
    ],
)
def test_game_mode(real: str, bonus: str, order: str, mode: int) -> None:
    assert game_mode(wallet(real, bonus), order) == mode  # type: ignore[arg-type]


# --------------------------------------------------------------------------- sessions


def test_session_live_until_expiry_or_close() -> None:
    s = GameSession(
        session_id="11_abc",
        account_id="5179068",
        operator_id="11",
        currency="EUR",
        game_id=None,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )
    assert s.live(NOW)
    assert s.live(NOW + timedelta(minutes=59, seconds=59))
    assert not s.live(NOW + timedelta(hours=1))
    assert not replace(s, closed_at=NOW).live(NOW)


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]),
    )
)
def test_iso_writes_the_strftime_text(ts: datetime) -> None:
    """iso() is on every money request's path (isoformat, not strftime) but its text is the
    one stored and hashed since the first journal entry: it must not change by a character."""
    assert iso(ts) == ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
