"""REST credit, debit and convert decided alone (wallet_store/domain/transfers.py): no database."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from tests.unit.engine import NOW, currency, operator, player, wallet
from wallet_store.domain import idempotency
from wallet_store.domain.transfers import (
    ConvertCmd,
    ConvertState,
    Direction,
    TransferCmd,
    TransferState,
    decide_convert,
    decide_transfer,
)
from wallet_store.errors import AccountBlocked, IdempotencyConflict, Invalid, NotFound, OutOfMoney, UnknownCurrency
from wallet_store.model import Wallet

D = Decimal


def cmd(direction: Direction = "credit", amount: str = "10", **kw: object) -> TransferCmd:
    fields: dict[str, object] = {
        "game_id": "g1",
        "face": "pb",
        "direction": direction,
        "account_id": "p1",
        "email": None,
        "currency": "EUR",
        "amount": D(amount),
        "reason": "top-up",
        "meta": "{}",
        "idempotency_key": "k1",
    }
    fields.update(kw)
    return TransferCmd(**fields)  # type: ignore[arg-type]


def state(w: Wallet | None, *, stored: idempotency.StoredReply | None = None, **kw: object) -> TransferState:
    fields: dict[str, object] = {
        "player": player(),
        "currency": currency(),
        "stored": stored,
        "wallet": w,
        "operator": operator(),
    }
    fields.update(kw)
    return TransferState(**fields)  # type: ignore[arg-type]


def test_a_credit_creates_the_wallet_pays_real_money_and_remembers_the_facts() -> None:
    d = decide_transfer(state(None), cmd(amount="12.5"), now=NOW, reference="api:g1:r1")
    assert not d.replayed
    assert d.change is not None
    assert d.outcome is not None
    assert d.change.created == Wallet("p1", "EUR", updated_at=NOW)
    assert (d.change.wallet.real, d.change.wallet.bonus) == (D("12.5"), D(0))
    [entry] = d.change.entries
    assert (entry.kind, entry.reference, entry.real_delta) == ("api_credit", "api:g1:r1", D("12.5"))
    assert (d.facts.available_before, d.facts.available_after) == (D(0), D("12.5"))
    assert d.outcome.key == "pb:g1:k1"
    assert d.outcome.fingerprint == cmd(amount="12.5").fingerprint().digest


def test_a_debit_takes_real_and_bonus_in_the_operators_order() -> None:
    w = wallet("30", "20")
    cash = decide_transfer(state(w), cmd("debit", "40"), now=NOW, reference="r")
    assert (cash.facts.real, cash.facts.bonus) == (D(-30), D(-10))
    bonus = decide_transfer(state(w, operator=operator("bonus_money")), cmd("debit", "40"), now=NOW, reference="r")
    assert (bonus.facts.real, bonus.facts.bonus) == (D(-20), D(-20))
    assert bonus.change is not None
    assert bonus.change.created is None


def test_a_replay_answers_from_the_record_and_moves_nothing() -> None:
    first = decide_transfer(state(wallet("5")), cmd(), now=NOW, reference="r1")
    assert first.outcome is not None
    stored = idempotency.StoredReply(first.outcome.fingerprint, first.outcome.reply)
    again = decide_transfer(
        state(first.change.wallet if first.change else None, stored=stored), cmd(), now=NOW, reference="r2"
    )
    assert again.replayed
    assert again.change is None
    assert again.outcome is None
    assert again.facts == first.facts


def test_a_key_used_for_another_request_is_a_conflict_and_a_legacy_fingerprint_replays() -> None:
    first = decide_transfer(state(None), cmd(), now=NOW, reference="r1")
    assert first.outcome is not None
    stored = idempotency.StoredReply(first.outcome.fingerprint, first.outcome.reply)
    with pytest.raises(IdempotencyConflict):
        decide_transfer(state(None, stored=stored), cmd(amount="11"), now=NOW, reference="r2")
    legacy = idempotency.StoredReply(cmd().fingerprint().legacy, first.outcome.reply)
    assert decide_transfer(state(None, stored=legacy), cmd(), now=NOW, reference="r3").replayed


def test_the_email_is_fingerprinted_normalised() -> None:
    a = cmd(account_id=None, email=" P1@Example.COM ").fingerprint()
    b = cmd(account_id=None, email="p1@example.com").fingerprint()
    assert a == b


def test_refusals_in_their_order() -> None:
    with pytest.raises(UnknownCurrency):  # before the key is even looked at
        decide_transfer(
            state(None, currency=None, stored=idempotency.StoredReply("x", "{}")), cmd(), now=NOW, reference="r"
        )
    with pytest.raises(AccountBlocked):
        decide_transfer(state(None, player=player(status="blocked")), cmd(), now=NOW, reference="r")
    with pytest.raises(OutOfMoney, match="no EUR wallet"):
        decide_transfer(state(None), cmd("debit"), now=NOW, reference="r")
    with pytest.raises(NotFound):
        decide_transfer(state(wallet("100"), operator=None), cmd("debit"), now=NOW, reference="r")
    with pytest.raises(OutOfMoney, match="available 9 EUR, requested 10"):
        decide_transfer(state(wallet("9")), cmd("debit"), now=NOW, reference="r")


def test_bad_commands_are_refused_before_anything_is_loaded() -> None:
    with pytest.raises(Invalid):
        cmd(amount="0")
    with pytest.raises(Invalid):
        cmd(account_id="not valid!")
    with pytest.raises(Invalid):
        ConvertCmd("g1", "p1", None, "EUR", "EUR", D(1), "k")


# --------------------------------------------------------------------------- convert


def conv(amount: str = "10", src: str = "EUR", dst: str = "GOLD") -> ConvertCmd:
    return ConvertCmd("g1", "p1", None, src, dst, D(amount), "k1")


def cstate(source: Wallet | None, target: Wallet | None = None, **kw: object) -> ConvertState:
    fields: dict[str, object] = {
        "player": player(),
        "src": currency("EUR", "1"),
        "dst": currency("GOLD", "3"),
        "stored": None,
        "source": source,
        "target": target,
        "operator": operator(),
    }
    fields.update(kw)
    return ConvertState(**fields)  # type: ignore[arg-type]


def test_convert_rounds_the_credit_down_and_moves_both_wallets_at_once() -> None:
    d = decide_convert(cstate(wallet("10")), conv(), now=NOW, reference="cv:g1:r")
    assert d.facts.credited == D("3.3333333333")  # 10 x 1 / 3, rounded down to 1e-10
    src, dst = d.changes
    assert src.wallet.real == 0
    assert src.created is None
    assert dst.created is not None
    assert dst.wallet.real == D("3.3333333333")
    assert [e.kind for c in d.changes for e in c.entries] == ["convert_out", "convert_in"]
    assert (d.facts.rate_from, d.facts.rate_to) == (D(1), D(3))


def test_convert_refusals() -> None:
    with pytest.raises(UnknownCurrency, match="GOLD"):
        decide_convert(cstate(wallet("10"), dst=None), conv(), now=NOW, reference="r")
    with pytest.raises(UnknownCurrency, match="no exchange rate"):
        decide_convert(cstate(wallet("10"), dst=currency("GOLD", None)), conv(), now=NOW, reference="r")
    with pytest.raises(Invalid, match="converts to nothing"):
        decide_convert(
            cstate(wallet("1"), src=currency("EUR", "0.0000000001"), dst=currency("GOLD", "1000")),
            conv("0.0000000001"),
            now=NOW,
            reference="r",
        )
    with pytest.raises(OutOfMoney, match="available 0 EUR"):
        decide_convert(cstate(None), conv(), now=NOW, reference="r")


def test_convert_replays_with_the_currencies_of_now() -> None:
    first = decide_convert(cstate(wallet("10")), conv(), now=NOW, reference="r1")
    assert first.outcome is not None
    stored = idempotency.StoredReply(first.outcome.fingerprint, first.outcome.reply)
    again = decide_convert(cstate(wallet("0"), stored=stored), conv(), now=NOW, reference="r2")
    assert again.replayed
    assert again.changes == ()
    assert replace(again.facts) == first.facts
