"""The Hub88 face through the real HTTP interface, on both backends: every status of the
reference's status table (section 7) reached by a real request, the money rules (sections 8-10)
and the operator's Hub88 settings in the admin API."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import Api, FakeClock
from tests.hub88_helpers import GAME, SIGNER, Hub88Api, audit_ok, bet_body, enable_hub88, hub88_player, new_id

USER = "p10042"
START = 15_000_000  # 100 real + 50 bonus EUR, in Hub88 units


async def test_every_status_of_the_table_is_reached(api: Api, client: TestClient, clock: FakeClock) -> None:
    h = Hub88Api(client)
    expired = await hub88_player(api, USER)
    clock.advance(hours=2)
    token = await api.session(USER)
    seen: dict[str, dict[str, Any]] = {}

    def saw(reply: dict[str, Any]) -> dict[str, Any]:
        seen.setdefault(reply["status"], reply)
        return reply

    # RS_OK on every endpoint
    info = saw(await h.call("info", {"user": USER, "request_uuid": new_id()}))
    assert info["status"] == "RS_OK"
    assert info["user"] == USER
    assert info["country"] == "MT"
    bal = saw(await h.balance(USER, token))
    assert (bal["status"], bal["balance"], bal["currency"], bal["user"]) == ("RS_OK", START, "EUR", USER)
    bet = bet_body(USER, token, 200_000)
    assert saw(await h.call("bet", bet))["balance"] == START - 200_000
    win = await h.win(USER, token, 500_000, bet["transaction_uuid"])
    assert win["status"] == "RS_OK"
    assert win["balance"] == START + 300_000
    rb = await h.rollback(USER, bet["transaction_uuid"])
    assert rb["status"] == "RS_OK"
    assert rb["balance"] == START + 500_000
    now = START + 500_000

    # signature, syntax, types
    assert saw(await h.call("bet", bet_body(USER, token, 1), signed=False))["status"] == "RS_ERROR_INVALID_SIGNATURE"
    missing = bet_body(USER, token, 1)
    del missing["transaction_uuid"]
    assert saw(await h.call("bet", missing))["status"] == "RS_ERROR_WRONG_SYNTAX"
    assert saw(await h.call("bet", bet_body(USER, token, "100")))["status"] == "RS_ERROR_WRONG_TYPES"  # type: ignore[arg-type]

    # tokens
    assert saw(await h.bet(USER, "no-such-token", 1))["status"] == "RS_ERROR_INVALID_TOKEN"
    assert saw(await h.bet(USER, expired, 1))["status"] == "RS_ERROR_TOKEN_EXPIRED"
    assert (await h.balance(USER, expired))["status"] == "RS_ERROR_TOKEN_EXPIRED"

    # currency, funds, duplicates, missing bet
    assert saw(await h.bet(USER, token, 1, currency="USD"))["status"] == "RS_ERROR_WRONG_CURRENCY"
    poor = saw(await h.bet(USER, token, now + 1))
    assert (poor["status"], poor["balance"]) == ("RS_ERROR_NOT_ENOUGH_MONEY", now)
    again = bet_body(USER, token, 100)
    assert (await h.call("bet", again))["status"] == "RS_OK"
    dup = saw(await h.call("bet", again | {"amount": 101, "request_uuid": new_id()}))
    assert (dup["status"], dup["balance"]) == ("RS_ERROR_DUPLICATE_TRANSACTION", now - 100)
    assert saw(await h.win(USER, token, 1, new_id()))["status"] == "RS_ERROR_TRANSACTION_DOES_NOT_EXIST"

    # limits, games, blocked player, unknown user, disabled partner
    await api.admin("PUT", f"/admin/players/{USER}/limits", {"max_bet": "1"}, expect=200)
    assert saw(await h.bet(USER, token, 100_001))["status"] == "RS_ERROR_LIMIT_REACHED"
    await enable_hub88(api, games=["other_game"])
    assert saw(await h.bet(USER, token, 1))["status"] == "RS_ERROR_INVALID_GAME"
    await enable_hub88(api)
    await api.admin("POST", f"/admin/players/{USER}/block", {}, expect=200)
    assert saw(await h.bet(USER, token, 1))["status"] == "RS_ERROR_USER_DISABLED"
    assert (await h.balance(USER, token))["status"] == "RS_OK"  # a blocked player still reads the balance
    assert saw(await h.call("info", {"user": "nobody", "request_uuid": new_id()}))["status"] == "RS_ERROR_UNKNOWN"
    await enable_hub88(api, enabled=False)
    assert saw(await h.bet(USER, token, 1))["status"] == "RS_ERROR_INVALID_PARTNER"

    from groove_client.hub88 import STATUSES

    assert set(seen) == STATUSES
    assert (await api.balances(USER)) == (Decimal("105") - Decimal("0.001"), Decimal(50))
    await audit_ok(client)


async def test_idempotency_and_the_order_cases(api: Api, client: TestClient) -> None:
    h = Hub88Api(client)
    token = await hub88_player(api, USER)
    bet = bet_body(USER, token, 300_000)
    first = await h.call("bet", bet)
    replay = await h.call("bet", bet | {"request_uuid": new_id()})
    assert first["balance"] == replay["balance"] == START - 300_000
    assert replay["status"] == "RS_OK"
    for change in ({"round": "r-2"}, {"currency": "USD"}, {"game_code": "x"}, {"user": "p20042"}):
        assert (await h.call("bet", bet | change | {"request_uuid": new_id()}))["status"] == (
            "RS_ERROR_DUPLICATE_TRANSACTION" if change != {"user": "p20042"} else "RS_ERROR_UNKNOWN"
        )
    # the same uuid as a win: a duplicate (one id space across bet, win, rollback)
    same_id_win = bet_body(USER, token, 1, reference_transaction_uuid=bet["transaction_uuid"])
    same_id_win["transaction_uuid"] = bet["transaction_uuid"]
    assert (await h.call("win", same_id_win))["status"] == "RS_ERROR_DUPLICATE_TRANSACTION"
    # several wins per bet, each credited; replayed win credits nothing
    w1 = bet_body(USER, token, 100_000, reference_transaction_uuid=bet["transaction_uuid"])
    assert (await h.call("win", w1))["balance"] == START - 200_000
    assert (await h.call("win", w1 | {"request_uuid": new_id()}))["balance"] == START - 200_000
    assert (await h.win(USER, token, 50_000, bet["transaction_uuid"], round_closed=True))["balance"] == START - 150_000
    # a win never checks the token; a rollback refunds exactly the stake, once
    assert (await h.win(USER, "expired-or-unknown", 7, bet["transaction_uuid"]))["status"] == "RS_OK"
    rb = {"transaction_uuid": new_id()}
    assert (await h.rollback(USER, bet["transaction_uuid"], **rb))["balance"] == START + 150_007
    assert (await h.rollback(USER, bet["transaction_uuid"], **rb))["balance"] == START + 150_007
    assert (await h.rollback(USER, bet["transaction_uuid"]))["balance"] == START + 150_007  # another id: no money
    other_ref = await h.rollback(USER, new_id(), **rb)
    assert other_ref["status"] == "RS_ERROR_DUPLICATE_TRANSACTION"
    # a win of a rolled-back bet
    assert (await h.win(USER, token, 1, bet["transaction_uuid"]))["status"] == "RS_ERROR_TRANSACTION_DOES_NOT_EXIST"
    # rollback before its bet: RS_OK, no money, and the late bet never debits
    late = bet_body(USER, token, 400_000)
    assert (await h.rollback(USER, late["transaction_uuid"]))["status"] == "RS_OK"
    late_reply = await h.call("bet", late)
    assert (late_reply["status"], late_reply["balance"]) == ("RS_ERROR_DUPLICATE_TRANSACTION", START + 150_007)
    # a refused bet is remembered: its retry is refused even once the money is there
    big = bet_body(USER, token, START + 200_000)
    assert (await h.call("bet", big))["status"] == "RS_ERROR_NOT_ENOUGH_MONEY"
    await h.win(USER, token, 10_000_000, (await h.bet(USER, token, 0))["request_uuid"])
    assert (await h.call("bet", big | {"request_uuid": new_id()}))["status"] == "RS_ERROR_NOT_ENOUGH_MONEY"
    # a rollback of the refused bet: RS_OK, nothing refunded
    assert (await h.rollback(USER, big["transaction_uuid"]))["balance"] == START + 150_007
    await audit_ok(client)


async def test_concurrent_identical_bets_debit_once(api: Api, client: TestClient) -> None:
    h = Hub88Api(client)
    token = await hub88_player(api, USER)
    bet = bet_body(USER, token, 100_000)
    replies = await asyncio.gather(*(h.call("bet", bet) for _ in range(50)))
    assert {r["status"] for r in replies} == {"RS_OK"}
    assert (await h.balance(USER, token))["balance"] == START - 100_000
    await audit_ok(client)


async def test_exact_units_and_a_balance_with_no_exact_unit_value(api: Api, client: TestClient) -> None:
    h = Hub88Api(client)
    token = await hub88_player(api, USER, real="0.00001", bonus="0")
    assert (await h.bet(USER, token, 1))["balance"] == 0  # one unit, 0.00001 EUR, exactly
    # A Groove-style credit of 0.000001 leaves a balance Hub88 cannot show: refused, never rounded.
    await api.admin(
        "POST",
        f"/admin/players/{USER}/adjust",
        {"currency": "EUR", "real": "0.000001", "reason": "test", "idempotency_key": "k1"},
    )
    reply = await h.balance(USER, token)
    assert reply["status"] == "RS_ERROR_UNKNOWN"
    assert "balance" not in reply
    bet = await h.bet(USER, token, 0)
    assert bet["status"] == "RS_ERROR_UNKNOWN"
    assert (await api.balances(USER)) == (Decimal("0.000001"), Decimal(0))


async def test_bad_bodies_and_signatures(api: Api, client: TestClient) -> None:
    h = Hub88Api(client)
    token = await hub88_player(api, USER)
    body = json.dumps(bet_body(USER, token, 1)).encode()  # not compact: signed as sent, verified as received
    assert (await h.raw("bet", body, SIGNER.sign(body)))["status"] == "RS_OK"
    assert (await h.raw("bet", body + b" ", SIGNER.sign(body)))["status"] == "RS_ERROR_INVALID_SIGNATURE"
    assert (await h.raw("bet", b"not json", SIGNER.sign(b"not json")))["status"] == "RS_ERROR_WRONG_SYNTAX"
    assert (await h.raw("bet", b"not json", "garbage"))["status"] == "RS_ERROR_INVALID_SIGNATURE"
    huge = b'{"pad":"' + b"x" * 70_000 + b'"}'
    assert (await h.raw("bet", huge, SIGNER.sign(huge)))["status"] == "RS_ERROR_WRONG_SYNTAX"
    assert (await h.balance("nobody", "no-token"))["status"] == "RS_ERROR_UNKNOWN"


async def test_a_header_that_cannot_be_a_signature_is_refused_before_the_store(
    api: Api, client: TestClient, monkeypatch: Any
) -> None:
    """Missing, not Base64, too short for a 2048-bit key: RS_ERROR_INVALID_SIGNATURE with the
    request_uuid echoed, and no unit of work (an unauthenticated flood never reaches the writer)."""
    import base64

    from groove_adapter.keys import SERVICE

    h = Hub88Api(client)
    token = await hub88_player(api, USER)
    body = bet_body(USER, token, 1)
    raw = json.dumps(body).encode()
    store = client.app[SERVICE].store

    async def no_store(unit: Any) -> Any:
        raise AssertionError("the store was asked")

    monkeypatch.setattr(store, "write", no_store)
    monkeypatch.setattr(store, "read", no_store)
    for header in (None, "", "not base64 !", base64.b64encode(b"x" * 255).decode(), "A" * 3000):
        reply = await h.raw("bet", raw, header)
        assert reply == {"status": "RS_ERROR_INVALID_SIGNATURE", "request_uuid": body["request_uuid"]}
    monkeypatch.undo()
    assert (await api.balances(USER)) == (Decimal(100), Decimal(50))


async def test_one_operators_hub88_key_never_reaches_another_operators_players(api: Api, client: TestClient) -> None:
    """Operator 12 has its own Hub88 key: a request signed with operator 11's key that names
    12's player (or 12's token) is RS_ERROR_INVALID_SIGNATURE on every endpoint, and nothing
    moves; 12's own key works (the control)."""
    from groove_client import hub88 as client_hub88

    mine = Hub88Api(client)
    other_key = client_hub88.Signer.generate()
    theirs = Hub88Api(client, other_key)
    await hub88_player(api, USER)
    await api.operator("12")
    await enable_hub88(api, "12", public_key_pem=other_key.public_pem())
    await api.player("p12000", operator_id="12")
    token = await api.session("p12000")

    bet = bet_body("p12000", token, 100_000)
    assert (await theirs.call("bet", bet))["status"] == "RS_OK"  # control: 12's key on 12's player
    probes = [
        ("info", {"user": "p12000", "request_uuid": new_id()}),
        ("balance", {"user": "p12000", "token": token, "request_uuid": new_id(), "game_code": GAME}),
        ("bet", bet_body("p12000", token, 100_000)),
        ("win", bet_body("p12000", token, 100_000, reference_transaction_uuid=bet["transaction_uuid"])),
    ]
    for endpoint, body in probes:
        assert (await mine.call(endpoint, body))["status"] == "RS_ERROR_INVALID_SIGNATURE", endpoint
    rollback = await mine.rollback("p12000", bet["transaction_uuid"])
    assert rollback["status"] == "RS_ERROR_INVALID_SIGNATURE"
    assert (await api.balances("p12000")) == (Decimal(99), Decimal(50))


async def test_a_money_request_for_no_player_of_ours(api: Api, client: TestClient) -> None:
    """Signed with an enabled operator's key: RS_ERROR_UNKNOWN; with an unknown key:
    RS_ERROR_INVALID_SIGNATURE; nothing is written either way (the key check runs in a read)."""
    from groove_client import hub88 as client_hub88

    token = await hub88_player(api, USER)
    for endpoint in ("bet", "win", "rollback"):
        body = bet_body("nobody", token, 1, reference_transaction_uuid=new_id())
        assert (await Hub88Api(client).call(endpoint, body))["status"] == "RS_ERROR_UNKNOWN"
        stranger = Hub88Api(client, client_hub88.Signer.generate())
        assert (await stranger.call(endpoint, body))["status"] == "RS_ERROR_INVALID_SIGNATURE"
    assert (await api.balances(USER)) == (Decimal(100), Decimal(50))


async def test_admin_hub88_settings(api: Api, client: TestClient) -> None:
    await api.operator("11")
    await api.admin("GET", "/admin/operators/11/hub88", expect=404)
    got = await enable_hub88(api, games=[GAME, GAME])
    assert got["enabled"] is True
    assert got["games"] == [GAME]
    assert got["has_private_key"] is False
    assert (await api.admin("GET", "/admin/operators/11/hub88", expect=200)) == got
    bad = await api.admin("PUT", "/admin/operators/11/hub88", {"enabled": True, "public_key_pem": "x"}, expect=400)
    assert bad["fields"][0]["field"] == "public_key_pem"
    await api.admin(
        "PUT", "/admin/operators/99/hub88", {"enabled": True, "public_key_pem": SIGNER.public_pem()}, expect=404
    )


async def test_replies_are_signed_when_the_operator_has_a_key(api: Api, client: TestClient) -> None:
    from cryptography.hazmat.primitives import serialization

    from groove_adapter.hub88 import signature

    own = SIGNER.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    token = await hub88_player(api, USER)
    await enable_hub88(api, private_key_pem=own)
    raw = json.dumps(bet_body(USER, token, 1), separators=(",", ":")).encode()
    resp = await client.post("/hub88/transaction/bet", data=raw, headers={"X-Hub88-Signature": SIGNER.sign(raw)})
    body = await resp.read()
    key = signature.load_public_key(SIGNER.public_pem())
    assert signature.verify(key, body, resp.headers["X-Hub88-Signature"])


async def test_metrics_carry_the_aggregator(api: Api, client: TestClient) -> None:
    from tests.test_observability import value

    h = Hub88Api(client)
    token = await hub88_player(api, USER)
    bet = bet_body(USER, token, 250_000)
    await h.call("bet", bet)
    await h.call("bet", bet | {"request_uuid": new_id()})
    await h.bet(USER, token, START + 1)
    text = await (await client.get("/metrics")).text()
    assert value(text, "gw_requests_total", face="hub88", request="bet", code="RS_OK") == 2
    assert value(
        text, "gw_money_moved_total", aggregator="hub88", request="bet", currency="EUR", direction="debit"
    ) == (Decimal("2.5"))
    assert value(text, "gw_duplicate_replays_total", aggregator="hub88", request="bet") == 1
    assert value(text, "gw_refusals_total", aggregator="hub88", request="bet", code="RS_ERROR_NOT_ENOUGH_MONEY") == 1
    assert value(text, "gw_ledger_moved_total", currency="EUR", kind="hub88_bet", direction="debit") == Decimal("2.5")
