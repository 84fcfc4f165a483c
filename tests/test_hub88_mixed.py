"""The mixed-protocol race on both backends: the same player, 200 Groove wagers and 200 Hub88
bets at once.  One balance: every debit lands exactly once, each face sees the other's moves,
and ``audit`` passes (records <-> journal, rounds, chains)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from aiohttp.test_utils import TestClient

from tests.conftest import Api
from tests.hub88_helpers import SIGNER, Hub88Api, audit_ok, bet_body, hub88_player

USER = "5179068"
N = 200


async def test_groove_wagers_and_hub88_bets_race_on_one_balance(api: Api, client: TestClient) -> None:
    h = Hub88Api(client)
    token = await hub88_player(api, USER)  # 100 real + 50 bonus EUR
    groove = {"accountid": USER, "gamesessionid": token, "device": "desktop", "apiversion": "1.2"}
    bodies = []
    for i in range(N):
        raw = json.dumps(bet_body(USER, token, 10_000, round=f"h{i}"), separators=(",", ":")).encode()
        bodies.append((raw, SIGNER.sign(raw)))

    async def wager(i: int) -> int:
        reply = await api.groove(
            "wager", **groove, gameid="g1", roundid=f"g{i}", transactionid=f"w{i}", betamount="0.1"
        )
        return int(reply["code"])

    async def bet(raw: bytes, sig: str) -> str:
        return str((await h.raw("bet", raw, sig))["status"])

    results = await asyncio.gather(*(wager(i) for i in range(N)), *(bet(raw, sig) for raw, sig in bodies))
    assert results[:N] == [200] * N
    assert results[N:] == ["RS_OK"] * N
    # 400 debits of 0.1 EUR from 150: real money goes first (cash_money), both faces agree.
    assert await api.balances(USER) == (Decimal(60), Decimal(50))
    assert (await h.balance(USER, token))["balance"] == 11_000_000
    groove_balance = await api.groove("getbalance", **groove, nogsgameid="g1")
    assert Decimal(str(groove_balance["balance"])) == Decimal(110)
    await audit_ok(client)
