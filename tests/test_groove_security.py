"""Per-operator caller checks on /groove: X-Groove-Signature (HMAC-SHA256) and IP allow-lists.

The signature is computed here independently of the service: hex HMAC-SHA256 with the
operator's secret over the concatenated query parameter VALUES sorted by parameter name,
``request`` excluded, ``nogsgameid`` sorted as if it were ``gameid``; for wagerbybatch only
the query string counts.  A failed check is ``1001`` and changes (and remembers) nothing.
The test client connects from 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.jsonout import dumps, loads
from tests.conftest import ADMIN_TOKEN, Api, FakeClock

SECRET = "s3cr3t-signing-key"
GAME = "80102"
ACCT = "2201"


def sign(params: dict[str, str], secret: str = SECRET) -> str:
    renamed = [("gameid" if name == "nogsgameid" else name, value) for name, value in params.items()]
    payload = "".join(value for name, value in sorted(renamed) if name != "request")
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def header(sig: str) -> dict[str, str]:
    return {"X-Groove-Signature": sig}


def assert_1001(body: dict[str, Any]) -> None:
    assert body["code"] == 1001, body
    assert body["status"] == "Invalid signature"
    assert set(body) == {"code", "status", "message", "apiversion"}


@pytest.fixture
async def signed(api: Api) -> dict[str, str]:
    """Operator 22 with a signature secret; player 2201 (real 100, bonus 0) with a live session."""
    await api.operator("22", signature_secret=SECRET)
    await api.player(ACCT, operator_id="22", real="100", bonus="0", email="s@example.com")
    sid = await api.session(ACCT)
    return {"accountid": ACCT, "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"}


def wager_params(common: dict[str, str], tx: str = "t1", amount: str = "10", rnd: str = "r1") -> dict[str, str]:
    return {**common, "gameid": GAME, "roundid": rnd, "transactionid": tx, "betamount": amount}


async def test_operator_reports_signature_enabled(api: Api, signed: dict[str, str]) -> None:
    op = await api.admin("GET", "/admin/operators/22", expect=200)
    assert op["signature_enabled"] is True
    assert SECRET not in str(op)


async def test_getbalance_signature(api: Api, signed: dict[str, str]) -> None:
    params = {**signed, "nogsgameid": GAME}
    assert_1001(await api.groove("getbalance", **params))
    good = sign(params)
    body = await api.groove("getbalance", headers=header(good), **params)
    assert (body["code"], body["balance"]) == (200, Decimal("100")), body
    body = await api.groove("getbalance", headers=header(good.upper()), **params)
    assert body["code"] == 200, body
    # nogsgameid sorted under its own name gives another payload: refused
    naive = "".join(v for _, v in sorted(params.items()))
    wrong_order = hmac.new(SECRET.encode(), naive.encode(), hashlib.sha256).hexdigest()
    assert wrong_order != good
    assert_1001(await api.groove("getbalance", headers=header(wrong_order), **params))
    # `request` must not be part of the payload
    renamed = sorted(
        [("gameid" if k == "nogsgameid" else k, v) for k, v in params.items()] + [("request", "getbalance")]
    )
    with_request = hmac.new(SECRET.encode(), "".join(v for _, v in renamed).encode(), hashlib.sha256).hexdigest()
    assert with_request != good
    assert_1001(await api.groove("getbalance", headers=header(with_request), **params))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-hex",
        "0" * 64,
        "wrong-secret",
        "truncated",
        "tampered-amount",
    ],
)
async def test_wager_with_bad_signature_is_1001_and_changes_nothing(api: Api, signed: dict[str, str], bad: str) -> None:
    params = wager_params(signed)
    sig = {
        "": "",
        "not-hex": "zz" * 32,
        "0" * 64: "0" * 64,
        "wrong-secret": sign(params, "another-secret-key"),
        "truncated": sign(params)[:-2],
        "tampered-amount": sign(params | {"betamount": "1"}),
    }[bad]
    assert_1001(await api.groove("wager", headers=header(sig), **params))
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))
    # nothing was remembered: the correctly signed request is a fresh wager
    body = await api.groove("wager", headers=header(sign(params)), **params)
    assert (body["code"], body["status"]) == (200, "Success"), body
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("0"))


async def test_wager_without_signature_is_1001_and_changes_nothing(api: Api, signed: dict[str, str]) -> None:
    params = wager_params(signed)
    assert_1001(await api.groove("wager", **params))
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))
    body = await api.groove("wager", headers=header(sign(params)), **params)
    assert (body["code"], body["status"], body["realmoneybet"]) == (200, "Success", Decimal("10"))
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("0"))
    # an unsigned replay is refused too: no duplicate answer without a valid signature
    assert_1001(await api.groove("wager", **params))
    again = await api.groove("wager", headers=header(sign(params).upper()), **params)
    assert (again["code"], again["status"]) == (200, "Success - duplicate request")
    assert again["accounttransactionid"] == body["accounttransactionid"]
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("0"))


async def test_every_money_request_is_checked(api: Api, signed: dict[str, str]) -> None:
    w = wager_params(signed)
    assert (await api.groove("wager", headers=header(sign(w)), **w))["code"] == 200
    calls: list[tuple[str, dict[str, str]]] = [
        (
            "result",
            {
                **signed,
                "gameid": GAME,
                "roundid": "r1",
                "transactionid": "res1",
                "result": "5",
                "gamestatus": "pending",
            },
        ),
        (
            "jackpot",
            {
                **signed,
                "gameid": GAME,
                "roundid": "j1",
                "transactionid": "j1",
                "amount": "7",
                "gamestatus": "completed",
            },
        ),
        (
            "wagerAndResult",
            {
                **signed,
                "gameid": GAME,
                "roundid": "r2",
                "transactionid": "wr1",
                "betamount": "3",
                "result": "1",
                "gamestatus": "completed",
            },
        ),
        ("reversewin", {**signed, "gameid": GAME, "roundid": "j1", "transactionid": "j1", "amount": "7"}),
        ("rollback", {**signed, "gameid": GAME, "roundid": "r3", "transactionid": "t3"}),
        ("getaccount", dict(signed)),
    ]
    expected = {
        "result": ("95", "0"),
        "jackpot": ("102", "0"),
        "wagerAndResult": ("100", "0"),
        "reversewin": ("93", "0"),
        "rollback": ("93", "0"),
        "getaccount": ("93", "0"),
    }
    before = await api.balances(ACCT)
    for request, params in calls:
        assert_1001(await api.groove(request, **params))
        assert_1001(await api.groove(request, headers=header(sign(params, "another-secret-key")), **params))
        assert await api.balances(ACCT) == before
        body = await api.groove(request, headers=header(sign(params)), **params)
        # the rollback names a wager never placed: 102 (a tombstone); every other call applies
        assert body["code"] == (102 if request == "rollback" else 200), (request, body)
        real, bonus = expected[request]
        before = await api.balances(ACCT)
        assert before == (Decimal(real), Decimal(bonus)), request


async def test_wagerbybatch_signs_the_query_string_only(api: Api, client: TestClient, signed: dict[str, str]) -> None:
    query = {
        "request": "wagerbybatch",
        "gamesessionid": signed["gamesessionid"],
        "gameid": GAME,
        "apiversion": "1.2",
        "request_id": "req-1",
    }
    body = {
        "account_id": ACCT,
        "game_id": GAME,
        "game_session_id": signed["gamesessionid"],
        "device": "desktop",
        "bets": [{"transaction_id": "b1", "round_id": "r1", "amount": Decimal("10")}],
    }

    async def post(headers: dict[str, str]) -> dict[str, Any]:
        resp = await client.post(
            "/groove?" + urlencode(query),
            data=dumps(body),
            headers={"Content-Type": "application/json", **headers},
        )
        assert resp.status == 200
        out: dict[str, Any] = loads(await resp.text())
        return out

    assert_1001(await post({}))
    assert_1001(await post(header(sign(query, "another-secret-key"))))
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))
    out = await post(header(sign(query)))
    assert out["code"] == 200, out
    assert [b["code"] for b in out["bets"]] == [200]
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("0"))


async def test_operator_without_secret_ignores_the_header(api: Api, seeded: dict[str, str]) -> None:
    params = wager_params(seeded)
    body = await api.groove("wager", headers=header("garbage"), **params)
    assert body["code"] == 200, body
    assert await api.balances("5179068") == (Decimal("90"), Decimal("50"))


# --------------------------------------------------------------------------- IP allow-list


async def allow_listed(api: Api, operator_id: str, networks: list[str], **kw: Any) -> dict[str, str]:
    await api.operator(operator_id, allowed_networks=networks, **kw)
    account = f"{operator_id}01"
    await api.player(account, operator_id=operator_id, real="100", bonus="0", email=f"{account}@example.com")
    sid = await api.session(account)
    return {"accountid": account, "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"}


async def test_caller_outside_allowed_networks_is_1001(api: Api) -> None:
    common = await allow_listed(api, "33", ["10.0.0.0/8"])
    acct = common["accountid"]
    assert_1001(await api.groove("getbalance", nogsgameid=GAME, **common))
    assert_1001(await api.groove("wager", **wager_params(common)))
    # a forwarded-for header is not trusted unless configured
    assert_1001(await api.groove("wager", headers={"X-Forwarded-For": "10.1.2.3"}, **wager_params(common)))
    assert_1001(
        await api.groove(
            "jackpot", **common, gameid=GAME, roundid="j", transactionid="j", amount="5", gamestatus="completed"
        )
    )
    assert await api.balances(acct) == (Decimal("100"), Decimal("0"))


async def test_caller_inside_allowed_networks_is_served(api: Api) -> None:
    common = await allow_listed(api, "44", ["192.168.0.0/16", "127.0.0.0/8"])
    body = await api.groove("wager", **wager_params(common))
    assert body["code"] == 200, body
    assert await api.balances(common["accountid"]) == (Decimal("90"), Decimal("0"))


async def test_allow_list_and_signature_both_apply(api: Api) -> None:
    common = await allow_listed(api, "55", ["127.0.0.1/32"], signature_secret=SECRET)
    params = wager_params(common)
    assert_1001(await api.groove("wager", **params))
    body = await api.groove("wager", headers=header(sign(params)), **params)
    assert body["code"] == 200, body
    assert await api.balances(common["accountid"]) == (Decimal("90"), Decimal("0"))


@pytest.fixture
async def proxied(aiohttp_client: Any, make_store: Any, clock: FakeClock, tmp_path: Path) -> Api:
    """A server that trusts X-Forwarded-For (it sits behind a proxy that appends the peer address)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'wallet.db'}",
        admin_token=SecretStr(ADMIN_TOKEN),
        trusted_proxy_header="X-Forwarded-For",
    )
    client = await aiohttp_client(create_app(settings, store=make_store(), clock=clock))
    return Api(client)


async def test_trusted_proxy_header(proxied: Api) -> None:
    api = proxied
    common = await allow_listed(api, "33", ["10.0.0.0/8"])
    acct = common["accountid"]
    # without the header, the direct peer (127.0.0.1) is not in the list
    assert_1001(await api.groove("wager", **wager_params(common, "t1")))
    assert_1001(await api.groove("wager", headers={"X-Forwarded-For": "192.0.2.7"}, **wager_params(common, "t2")))
    assert await api.balances(acct) == (Decimal("100"), Decimal("0"))
    body = await api.groove("wager", headers={"X-Forwarded-For": "10.1.2.3"}, **wager_params(common, "t3"))
    assert body["code"] == 200, body
    assert await api.balances(acct) == (Decimal("90"), Decimal("0"))


async def test_trusted_proxy_header_cannot_be_spoofed_by_the_client(proxied: Api) -> None:
    """The trusted proxy appends the address it saw; whatever the client put before it is
    the client's own claim.  A caller at 192.0.2.7 sending ``X-Forwarded-For: 10.1.2.3``
    arrives as ``10.1.2.3, 192.0.2.7`` and must not pass a 10.0.0.0/8 allow-list."""
    api = proxied
    common = await allow_listed(api, "33", ["10.0.0.0/8"])
    acct = common["accountid"]
    spoofed = {"X-Forwarded-For": "10.1.2.3, 192.0.2.7"}
    assert_1001(await api.groove("wager", headers=spoofed, **wager_params(common, "t1")))
    assert await api.balances(acct) == (Decimal("100"), Decimal("0"))
    # the genuine case: a caller inside 10/8 that also forwarded a header of its own
    body = await api.groove("wager", headers={"X-Forwarded-For": "192.0.2.7, 10.1.2.3"}, **wager_params(common, "t2"))
    assert body["code"] == 200, body
    assert await api.balances(acct) == (Decimal("90"), Decimal("0"))
