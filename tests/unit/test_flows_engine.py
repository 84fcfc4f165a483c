"""Transfers and sends decided alone (wallet_store/domain/flows.py, initiate.py): no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.unit.engine import NOW, currency, operator, player, wallet
from wallet_store.domain import holds
from wallet_store.domain.flows import (
    FlowSettings,
    FlowView,
    NoPhone,
    Party,
    TooManyHolds,
    VerificationFailed,
    WrongClaimant,
    WrongCode,
    WrongState,
    decide_cancel,
    decide_claim,
    decide_verify,
    expire_if_due,
    flow_status,
    send_claimant,
)
from wallet_store.domain.initiate import (
    InitiateCmd,
    Initiated,
    NewIds,
    Parties,
    Reservation,
    check_parties,
    decide_initiate,
    replay,
)
from wallet_store.errors import AccountBlocked, Invalid, NotFound, OutOfMoney
from wallet_store.model import FlowKind

D = Decimal
CODE = "123456"
SETTINGS = FlowSettings(hold_ttl_seconds=600, code_attempts=3, max_pending_holds=2)
SOURCE = player("p1", "p1@example.com")
TARGET = player("p2", "p2@example.com")


def icmd(kind: FlowKind = "transfer", amount: str = "30") -> InitiateCmd:
    target = ("p2", None) if kind == "transfer" else (None, " P2@example.com ")
    return InitiateCmd("g1", "op1", kind, "p1", None, *target, "EUR", D(amount), "note", "k1")


def parties(kind: FlowKind = "transfer", **kw: object) -> Parties:
    fields: dict[str, object] = {
        "source": SOURCE,
        "target": TARGET if kind == "transfer" else None,
        "currency": currency(name="Euro"),
        "phone": "+35699123456",
        "operator": operator(),
    }
    fields.update(kw)
    return Parties(**fields)  # type: ignore[arg-type]


def start(kind: FlowKind = "transfer", real: str = "100", bonus: str = "0") -> Initiated:
    cmd = icmd(kind)
    res = Reservation(0, wallet(real, bonus), "Euro")
    ids = NewIds("tr_1", "hold_1", CODE)
    return decide_initiate(cmd, parties(kind), res, settings=SETTINGS, ids=ids, fingerprint="fp", now=NOW)


def view(made: Initiated) -> FlowView:
    return FlowView(made.flow, made.hold, made.change.wallet)


def source_party(made: Initiated) -> Party:
    return Party(SOURCE, made.change.wallet, "Euro")


def verified(made: Initiated) -> FlowView:
    out = decide_verify(view(made), source_party(made), CODE, 3, NOW)
    assert out.flow is not None
    return FlowView(out.flow, made.hold, made.change.wallet)


def test_initiate_reserves_the_amount_and_opens_a_pending_flow() -> None:
    made = start()
    assert (made.change.wallet.real, made.change.wallet.reserved) == (D(70), D(30))
    assert (made.hold.amount, made.hold.state, made.hold.expires_at) == (D(30), "open", NOW + timedelta(seconds=600))
    assert (made.flow.state, made.flow.target_account, made.flow.phone_hint) == ("pending", "p2", "+•••••••3456")
    assert CODE in made.text
    assert "transfer of 30 Euro" in made.text
    assert made.step.snapshot.available == D(70)
    assert not made.step.replayed
    assert replay(made.flow, made.hold, timedelta(seconds=1)).snapshot == made.step.snapshot
    assert replay(made.flow, None, timedelta(seconds=5)).expires_at == NOW + timedelta(seconds=5)


def test_a_send_is_addressed_to_the_normalised_email() -> None:
    made = start("send")
    assert (made.flow.target_email, made.flow.target_account) == ("p2@example.com", None)
    with pytest.raises(Invalid, match="same player"):
        check_parties(icmd("send"), player("p1", "P2@example.com"), None)
    with pytest.raises(Invalid, match="same player"):
        check_parties(icmd(), SOURCE, SOURCE)
    with pytest.raises(Invalid, match="recipient_email"):
        InitiateCmd("g1", "op1", "send", "p1", None, None, None, "EUR", D(1), "", "k")


def test_initiate_refusals() -> None:
    cmd, ids = icmd(), NewIds("tr_1", "hold_1", CODE)
    res = Reservation(0, wallet("100"), "Euro")

    def run(p: Parties, r: Reservation = res) -> Initiated:
        return decide_initiate(cmd, p, r, settings=SETTINGS, ids=ids, fingerprint="fp", now=NOW)

    with pytest.raises(AccountBlocked, match="target"):
        run(parties(target=player("p2", status="self_excluded")))
    with pytest.raises(NoPhone):
        run(parties(phone=None))
    with pytest.raises(TooManyHolds):
        run(parties(), Reservation(2, wallet("100"), "Euro"))
    with pytest.raises(OutOfMoney, match="available 29 EUR"):
        run(parties(), Reservation(0, wallet("29"), "Euro"))


def test_verify_with_the_right_code_and_its_repeat() -> None:
    made = start()
    out = decide_verify(view(made), source_party(made), CODE, 3, NOW)
    assert out.flow is not None
    assert out.flow.state == "verified"
    assert out.closing is None
    again = decide_verify(FlowView(out.flow, made.hold, made.change.wallet), source_party(made), CODE, 3, NOW)
    assert not isinstance(again.reply, Exception)
    assert again.reply.replayed
    assert again.flow is None
    assert isinstance(
        decide_verify(FlowView(out.flow, made.hold, None), source_party(made), "000000", 3, NOW).reply, WrongState
    )


def test_wrong_codes_count_and_the_last_releases_the_hold() -> None:
    made = start()
    v = view(made)
    for left in (2, 1):
        out = decide_verify(v, source_party(made), "000000", 3, NOW)
        assert isinstance(out.reply, WrongCode)
        assert f"{left} attempt(s) left" in out.reply.message
        assert out.flow is not None
        v = replace(v, flow=out.flow)
    out = decide_verify(v, source_party(made), "000000", 3, NOW)
    assert isinstance(out.reply, VerificationFailed)
    assert out.closing is not None
    assert out.closing.flow is not None
    assert (out.closing.flow.state, out.closing.flow.closed_reason, out.closing.flow.attempts) == (
        "cancelled",
        "verification_failed",
        3,
    )
    assert (out.closing.change.wallet.real, out.closing.change.wallet.reserved) == (D(100), D(0))
    assert out.closing.hold.state == "released"


def test_claim_captures_into_the_recipient_keeping_the_bonus_split() -> None:
    made = start(real="10", bonus="50")
    v = verified(made)
    out = decide_claim(v, SOURCE, Party(TARGET, None, "Euro"), NOW)
    assert out.hold is not None
    assert out.hold.state == "captured"
    src, dst = out.changes
    assert (src.wallet.reserved, dst.wallet.real, dst.wallet.bonus) == (D(0), D(10), D(20))
    assert dst.created is not None
    assert out.flow is not None
    assert out.flow.state == "claimed"
    assert out.flow.target_account == "p2"
    done = FlowView(out.flow, out.hold, src.wallet)
    again = decide_claim(done, SOURCE, Party(TARGET, dst.wallet, "Euro"), NOW)
    assert not isinstance(again.reply, Exception)
    assert again.reply.replayed
    assert again.changes == ()
    other = decide_claim(done, SOURCE, Party(player("p3"), None, "Euro"), NOW)
    assert isinstance(other.reply, WrongClaimant)


def test_claim_refusals() -> None:
    made = start()
    assert isinstance(decide_claim(view(made), SOURCE, Party(TARGET, None, "E"), NOW).reply, WrongState)
    v = verified(made)
    with pytest.raises(WrongClaimant):
        decide_claim(v, SOURCE, Party(player("p3"), None, "E"), NOW)
    with pytest.raises(AccountBlocked, match="recipient"):
        decide_claim(v, SOURCE, Party(player("p2", status="blocked"), None, "E"), NOW)
    with pytest.raises(AccountBlocked, match="source"):
        decide_claim(v, player("p1", status="blocked"), Party(TARGET, None, "E"), NOW)
    with pytest.raises(NotFound):
        decide_claim(replace(v, wallet=None), SOURCE, Party(TARGET, None, "E"), NOW)


def test_a_send_is_claimed_with_its_email_only() -> None:
    flow = start("send").flow
    assert send_claimant("p2@example.com", flow) == "p2@example.com"
    with pytest.raises(WrongClaimant):
        send_claimant("p3@example.com", flow)
    with pytest.raises(Invalid):
        send_claimant(None, flow)


def test_cancel_releases_once_and_repeats_its_reply() -> None:
    made = start()
    out = decide_cancel(view(made), source_party(made), NOW)
    assert out.closing is not None
    assert out.closing.flow is not None
    assert out.closing.flow.state == "cancelled"
    assert out.closing.change.wallet.real == D(100)
    assert not isinstance(out.reply, Exception)
    assert out.reply.snapshot.available == D(100)
    done = FlowView(out.closing.flow, out.closing.hold, out.closing.change.wallet)
    again = decide_cancel(done, source_party(made), NOW)
    assert not isinstance(again.reply, Exception)
    assert again.reply.replayed
    assert again.closing is None
    with pytest.raises(holds.HoldClosed):  # a closed hold is never released twice
        holds.release(out.closing.hold, out.closing.change.wallet, reason="again", now=NOW)


def test_a_hold_whose_time_is_up_expires_before_any_step() -> None:
    made = start()
    due = made.hold.expires_at
    assert expire_if_due(view(made), due - timedelta(microseconds=1)) == (view(made), None)
    assert flow_status(made.flow, made.hold, due).state == "expired"  # even before the sweep
    assert flow_status(made.flow, made.hold, due - timedelta(seconds=1)).state == "pending"
    v, closing = expire_if_due(view(made), due)
    assert closing is not None
    assert v.flow.state == "expired"
    assert v.hold.state == "released"
    assert v.wallet is not None
    assert v.wallet.real == D(100)
    out = decide_verify(v, source_party(made), CODE, 3, due)
    assert isinstance(out.reply, WrongState)
    assert "expired" in out.reply.message
