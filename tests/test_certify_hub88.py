"""``certify --protocol hub88`` against the fake Hub88 wallet (``tests/hub88_fake_wallet.py``):
every scenario passes on the honest one; each broken variant fails the scenarios its bug breaks,
with a message that says what moved.  Plus the client's request building and signing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization

from groove_adapter.hub88 import signature as server_sig
from groove_adapter.hub88.wire import BetIn, RollbackIn, WinIn, parse
from groove_client import certify_hub88 as ch
from groove_client import hub88
from tests.hub88_fake_wallet import FakeHub88Wallet
from tests.test_certify import certify_cli

ALL = {s.id for s in ch.SCENARIOS}
NEEDS = {s.id for s in ch.SCENARIOS if s.needs}


@pytest.fixture(scope="module")
def signer() -> hub88.Signer:
    return hub88.Signer.generate()


def wallet(signer: hub88.Signer, bug: str | None = None) -> FakeHub88Wallet:
    w = FakeHub88Wallet(signer.public_pem(), bug=bug)
    w.add_player("p10042", 100 * hub88.SCALE)
    w.add_player("p20042", 50 * hub88.SCALE)
    w.add_token("tok-live-1", "p10042")
    w.add_token("tok-dead-1", "p10042", expired=True)
    w.add_token("tok-live-2", "p20042")
    return w


async def serve(aiohttp_server: Any, w: FakeHub88Wallet) -> TestServer:
    server: TestServer = await aiohttp_server(w.app())
    return server


def config(server: TestServer, signer: hub88.Signer, full: bool = True, **kw: Any) -> ch.Config:
    extra = {"expired_token": "tok-dead-1", "second_user": "p20042", "second_token": "tok-live-2"} if full else {}
    return ch.Config(url=str(server.make_url("/hub88")), signer=signer, user="p10042", token="tok-live-1", **extra | kw)


def statuses(report: Any) -> dict[str, str]:
    return {r.id: r.status for r in report.results}


def failed(report: Any) -> dict[str, str]:
    return {r.id: r.message for r in report.results if r.status == "fail"}


# --------------------------------------------------------------------------- honest and broken wallets


async def test_every_scenario_passes_against_an_honest_wallet(aiohttp_server: Any, signer: hub88.Signer) -> None:
    w = wallet(signer)
    server = await serve(aiohttp_server, w)
    report = await ch.run_certify(config(server, signer, concurrency=10))
    assert failed(report) == {}
    assert set(statuses(report)) == ALL
    assert report.count("pass") == len(ALL)
    # And the money adds up: every unit the run moved is in the wallet's books.
    assert w.accounts["p20042"].balance == 50 * hub88.SCALE
    assert w.accounts["p10042"].balance > 0


async def test_without_optional_players_those_scenarios_skip(aiohttp_server: Any, signer: hub88.Signer) -> None:
    server = await serve(aiohttp_server, wallet(signer))
    report = await ch.run_certify(config(server, signer, full=False, only=["token", "dup.user", "money.bet"]))
    got = statuses(report)
    assert {k for k, v in got.items() if v == "skip"} == NEEDS
    assert got["money.bet"] == "pass"
    assert got["token.unknown"] == "pass"
    skipped = next(r for r in report.results if r.id == "token.expired")
    assert "--expired-session" in skipped.message


async def test_a_wallet_that_debits_duplicates_again_fails(aiohttp_server: Any, signer: hub88.Signer) -> None:
    server = await serve(aiohttp_server, wallet(signer, "double_debit_duplicate"))
    report = await ch.run_certify(config(server, signer, concurrency=5, only=["idem", "concurrent", "money"]))
    bad = failed(report)
    assert {"idem.bet", "concurrent.bet"} <= set(bad)
    assert "a bet sent twice: balance went from" in bad["idem.bet"]
    assert "moved -200000 units), expected -100000" in bad["idem.bet"]
    assert "5 identical bets at once" in bad["concurrent.bet"]
    assert not {"money.bet", "money.win", "idem.win", "concurrent.win"} & set(bad)  # only what the bug breaks


async def test_a_wallet_that_checks_the_token_on_wins_fails(aiohttp_server: Any, signer: hub88.Signer) -> None:
    server = await serve(aiohttp_server, wallet(signer, "token_checked_on_win"))
    report = await ch.run_certify(config(server, signer, only=["token", "money.win"]))
    bad = failed(report)
    assert set(bad) == {"token.expired_win"}
    assert "expected RS_OK, got 'RS_ERROR_TOKEN_EXPIRED'" in bad["token.expired_win"]


async def test_a_wallet_that_refuses_rollbacks_of_unknown_bets_fails(aiohttp_server: Any, signer: hub88.Signer) -> None:
    server = await serve(aiohttp_server, wallet(signer, "rollback_unknown_refused"))
    report = await ch.run_certify(config(server, signer, only=["order"]))
    assert set(failed(report)) == {"order.rollback_unknown", "order.rollback_before_bet"}


async def test_a_wallet_that_takes_unsigned_requests_fails(aiohttp_server: Any, signer: hub88.Signer) -> None:
    server = await serve(aiohttp_server, wallet(signer, "unsigned_accepted"))
    report = await ch.run_certify(config(server, signer, only=["sig"]))
    bad = failed(report)
    assert {"sig.missing", "sig.settling"} <= set(bad)
    assert "expected RS_ERROR_INVALID_SIGNATURE, got 'RS_OK'" in bad["sig.missing"]
    assert "sig.wrong_key" not in bad


async def test_setup_failures_are_certify_errors(aiohttp_server: Any, signer: hub88.Signer) -> None:
    server = await serve(aiohttp_server, wallet(signer))
    with pytest.raises(ch.CertifyError, match="preflight"):
        await ch.run_certify(config(server, hub88.Signer.generate()))  # the wallet does not know this key
    with pytest.raises(ch.CertifyError, match="needs at least"):
        await ch.run_certify(config(server, signer, min_balance=10**12))
    with pytest.raises(ch.CertifyError, match="no scenario matches"):
        await ch.run_certify(config(server, signer, only=["nothing.like.this"]))


# --------------------------------------------------------------------------- the command line


async def test_the_command_line_runs_hub88_certify(aiohttp_server: Any, signer: hub88.Signer, tmp_path: Path) -> None:
    key = tmp_path / "hub88.pem"
    key.write_bytes(
        signer.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    honest = await serve(aiohttp_server, wallet(signer))
    broken = await serve(aiohttp_server, wallet(signer, "double_debit_duplicate"))
    common = ["--protocol", "hub88", "--hub88-key", str(key), "--account", "p10042", "--session", "tok-live-1"]
    rc, out, err = await certify_cli("--url", str(honest.make_url("/hub88")), *common, "--only", "money")
    assert rc == 0, out + err
    assert "PASS  money.bet" in out
    assert "5 passed, 0 failed, 0 skipped" in out
    rc, out, err = await certify_cli(
        "--url", str(broken.make_url("/hub88")), *common, "--only", "idem.bet", "--format", "json"
    )
    assert rc == 1, out + err
    report = json.loads(out)
    assert report["summary"]["failed"] == 1
    assert "a bet sent twice" in report["scenarios"][0]["message"]
    rc, out, err = await certify_cli("--url", str(honest.make_url("/hub88")), "--protocol", "hub88")
    assert rc == 2
    assert "needs --account, --session, --hub88-key" in err


async def test_the_command_line_lists_hub88_scenarios() -> None:
    rc, out, _ = await certify_cli("--protocol", "hub88", "--list")
    assert rc == 0
    assert "order.rollback_before_bet" in out
    assert "token.expired_win" in out
    assert "wagerbybatch" not in out


# --------------------------------------------------------------------------- the client's requests


def test_bodies_parse_with_the_servers_models_and_signatures_verify(signer: hub88.Signer) -> None:
    b = hub88.Bodies(hub88.Player("p10042", "tok", "EUR", "clt_dragonrising"))
    key = server_sig.load_public_key(signer.public_pem())
    bet = b.bet(356_000, rnd="r1")
    raw = hub88.encode(bet)
    assert server_sig.verify(key, raw, signer.sign(raw))
    parsed = parse(BetIn, raw)
    assert isinstance(parsed, BetIn)
    assert parsed.value == Decimal("3.56")
    assert parsed.round == "r1"
    win = parse(WinIn, hub88.encode(b.win(bet["transaction_uuid"], 123)))
    assert isinstance(win, WinIn)
    assert win.reference_transaction_uuid == bet["transaction_uuid"]
    assert win.amount == 123
    rb = parse(RollbackIn, hub88.encode(b.rollback(bet["transaction_uuid"], rnd="r1")))
    assert isinstance(rb, RollbackIn)
    assert rb.round == "r1"
    assert b.bet(1)["transaction_uuid"] != b.bet(1)["transaction_uuid"]  # every id fresh
    assert raw == json.dumps(bet, separators=(",", ":")).encode()  # compact, as sent and signed


def test_client_amount_conversion_is_exact() -> None:
    assert hub88.units(Decimal("3.56")) == 356_000
    assert hub88.units(Decimal("0.00001")) == 1
    assert hub88.units(Decimal("-1.5")) == -150_000
    assert hub88.value(100_500) == Decimal("1.005")
    for bad in ("0.000001", "1.000005", "NaN", "1" * 40):
        with pytest.raises(ValueError, match="not"):
            hub88.units(Decimal(bad))
    assert hub88.is_int(5)
    assert not hub88.is_int(True)
    assert not hub88.is_int(Decimal(5))


def test_signer_loads_pem_keys(signer: hub88.Signer) -> None:
    pem = signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    again = hub88.Signer.from_pem(pem)
    assert again.public_pem() == signer.public_pem()
    with pytest.raises(ValueError, match="private key"):
        hub88.Signer.from_pem(signer.public_pem())


def test_a_float_balance_or_an_unknown_status_fails_the_reply_check() -> None:
    r = ch.Reply("balance", {"status": "RS_OK", "balance": Decimal("1.5")}, "{}")
    with pytest.raises(ch.Failed, match="JSON integer"):
        _ = r.balance
    assert ch.Reply("bet", {"balance": 5}, "{}").balance == 5
