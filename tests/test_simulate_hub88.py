"""``simulate --protocol hub88|mixed`` (issue #18).

Until our Hub88 face exists, the Hub88 load runs against ``tests/hub88_fake_wallet.py`` behind a
stand-in of the few admin routes ``simulate`` uses (operator, its Hub88 key, players, sessions
as tokens, free rounds): an honest wallet ends with every balance as expected, one that debits
a duplicate bet twice is caught.  The mixed load runs on the real server through a test-only
Hub88-to-Groove translation (:class:`Hub88OverGroove`: one ledger, both protocols' balances),
and on the real Hub88 face once the server serves /hub88.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from groove_adapter.jsonout import loads
from groove_client import hub88
from groove_client.money import wire
from groove_client.simulate import SimConfig, SimulationError
from groove_client.simulate_hub88 import run
from tests.broken_wallet import serve
from tests.hub88_fake_wallet import FakeHub88Wallet
from tests.test_cli import CLI, COMMAND_TIMEOUT, ROOT, clean_env

TOKEN = "sim-hub88-admin-token"


class Harness:
    """The admin routes ``simulate`` calls, over one FakeHub88Wallet made when the key is set."""

    def __init__(self, bug: str | None = None) -> None:
        self.bug = bug
        self.wallet: FakeHub88Wallet | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.auth])
        app.router.add_post("/admin/operators", self.ok)
        app.router.add_put("/admin/operators/{op}/hub88", self.set_key)
        app.router.add_post("/admin/players", self.player)
        app.router.add_get("/admin/players/{acct}", self.get_player)
        app.router.add_post("/admin/players/{acct}/free-rounds", self.ok)
        app.router.add_post("/admin/sessions", self.session)
        app.router.add_post("/hub88/{path:.*}", self.hub88)
        return app

    @web.middleware
    async def auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/admin") and request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "token"}, status=401)
        return await handler(request)  # type: ignore[no-any-return]

    def fake(self) -> FakeHub88Wallet:
        assert self.wallet is not None, "the Hub88 key is set before players are made"
        return self.wallet

    async def ok(self, request: web.Request) -> web.Response:
        return web.json_response({}, status=201)

    async def set_key(self, request: web.Request) -> web.Response:
        body = await request.json()
        assert body["enabled"] is True
        self.wallet = FakeHub88Wallet(body["public_key_pem"], bug=self.bug)
        return web.json_response(body)

    def wallets(self, acct: str) -> dict[str, Any]:
        acc = self.fake().accounts[acct]
        real = str(hub88.value(acc.balance))
        return {"wallets": [{"currency": acc.currency, "real_balance": real, "bonus_balance": "0"}]}

    async def player(self, request: web.Request) -> web.Response:
        body = loads(await request.text())
        assert Decimal(body["bonus_balance"]) == 0  # Hub88 players start with real money only
        self.fake().add_player(body["account_id"], hub88.units(Decimal(body["real_balance"])))
        return web.json_response(self.wallets(body["account_id"]), status=201)

    async def get_player(self, request: web.Request) -> web.Response:
        return web.json_response(self.wallets(request.match_info["acct"]))

    async def session(self, request: web.Request) -> web.Response:
        body = await request.json()
        token = secrets.token_hex(8)
        self.fake().add_token(token, body["account_id"])
        return web.json_response({"gamesessionid": token}, status=201)

    async def hub88(self, request: web.Request) -> web.StreamResponse:
        return await self.fake().handle(request)


def config(base: str, protocol: str = "hub88", **kw: Any) -> SimConfig:
    values: dict[str, Any] = {"players": 4, "rounds": 30, "seed": 7, "progress": False} | kw
    return SimConfig(url=f"{base}/groove", admin_token=TOKEN, protocol=protocol, **values)


async def test_hub88_load_ends_with_every_balance_as_expected() -> None:
    async with serve(Harness().app()) as base:
        result = await run(config(base))
    s = result.to_json()
    assert result.ok, result.text()
    assert s["protocol"] == "hub88"
    assert s["players_checked"] == 4
    assert s["rounds"] == 120
    for endpoint in ("balance", "bet", "win", "rollback"):
        assert s["by_request"].get(f"hub88 {endpoint}", 0) > 0, s["by_request"]
    assert not [k for k in s["by_request"] if not k.startswith("hub88 ")]  # no Groove request at all
    assert s["codes"].get("hub88 bet:RS_ERROR_NOT_ENOUGH_MONEY", 0) > 0
    assert s["duplicates_sent"] > 0
    assert s["lost_replies_retried"] > 0


async def test_hub88_load_catches_a_wallet_that_debits_duplicates() -> None:
    async with serve(Harness(bug="double_debit_duplicate").app()) as base:
        result = await run(config(base, players=2, rounds=25))
    assert not result.ok
    assert result.stats.mismatches
    assert "FAILED" in result.text()


async def test_simulate_cli_signs_with_the_given_key(tmp_path: Path) -> None:
    signer = hub88.Signer.generate()
    from cryptography.hazmat.primitives import serialization

    pem = signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    key = tmp_path / "hub88.pem"
    key.write_bytes(pem)
    harness = Harness()
    async with serve(harness.app()) as base:
        proc = await asyncio.create_subprocess_exec(
            *CLI, "simulate", "--url", f"{base}/groove", "--admin-token", TOKEN, "--protocol", "hub88",
            "--hub88-key", str(key), "--players", "2", "--rounds", "10", "--seed", "3", "--format", "json", "--quiet",
            cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT)
    assert proc.returncode == 0, out.decode() + err.decode()
    assert json.loads(out)["ok"] is True
    assert harness.fake().public_pem == signer.public_pem()  # the wallet verified with the given key's half


async def test_bad_protocol_or_key_is_a_setup_error(tmp_path: Path) -> None:
    async with serve(Harness().app()) as base:
        with pytest.raises(SimulationError, match="protocol"):
            await run(config(base, protocol="soap"))
        with pytest.raises(SimulationError, match="Hub88 key"):
            await run(config(base, hub88_key_pem="not a key"))
    bad = tmp_path / "missing.pem"
    proc = subprocess.run(
        [*CLI, "simulate", "--url", "http://127.0.0.1:9/groove", "--admin-token", "t", "--protocol", "mixed",
         "--hub88-key", str(bad)],
        cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("groove-wallet: --hub88-key")


class Hub88OverGroove:
    """Test-only stand-in for our Hub88 face in front of the real server: /admin and /groove are
    passed through; a Hub88 bet / win / rollback / balance is sent as a Groove wager / result /
    rollback / getbalance of the same player (``token`` = game session), its answer read back as
    Hub88's (``RS_OK`` with the balance x 100 000; 1006 as not enough money; a rollback of a bet
    never seen, 102, as ``RS_OK``).  So both protocols move one real ledger."""

    def __init__(self, upstream: str, http: aiohttp.ClientSession) -> None:
        self.upstream = upstream
        self.http = http

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_put("/admin/operators/{op}/hub88", self.set_key)
        app.router.add_route("*", "/admin/{path:.*}", self.proxy)
        app.router.add_route("*", "/groove", self.proxy)
        app.router.add_post("/hub88/{path:.*}", self.hub88)
        return app

    async def set_key(self, request: web.Request) -> web.Response:
        return web.json_response(await request.json())

    async def proxy(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        async with self.http.request(
            request.method, self.upstream + request.path_qs, data=await request.read(), headers=headers
        ) as resp:
            return web.Response(status=resp.status, body=await resp.read(), content_type=resp.content_type)

    async def groove(self, body: dict[str, Any], request: str, **q: str) -> dict[str, Any]:
        common = {"accountid": body["user"], "gamesessionid": body["token"], "device": "desktop", "apiversion": "1.2"}
        async with self.http.get(f"{self.upstream}/groove", params={"request": request, **common, **q}) as resp:
            reply: dict[str, Any] = loads(await resp.text())
            return reply

    async def hub88(self, request: web.Request) -> web.Response:
        body = loads(await request.read())
        endpoint = request.match_info["path"]
        game = {"gameid": body.get("game_code") or "80102", "roundid": body.get("round") or "none"}
        if endpoint == "transaction/bet":
            reply = await self.groove(body, "wager", **game, transactionid=body["transaction_uuid"],
                                      betamount=wire(hub88.value(body["amount"])))  # fmt: skip
        elif endpoint == "transaction/win":
            reply = await self.groove(body, "result", **game, transactionid=body["transaction_uuid"],
                                      result=wire(hub88.value(body["amount"])), gamestatus="completed")  # fmt: skip
        elif endpoint == "transaction/rollback":
            reply = await self.groove(body, "rollback", **game, transactionid=body["reference_transaction_uuid"])
            reply["code"] = 200 if reply["code"] == 102 else reply["code"]
        else:
            reply = await self.groove(body, "getbalance", nogsgameid=game["gameid"])
        status = {200: "RS_OK", 1006: "RS_ERROR_NOT_ENOUGH_MONEY"}.get(reply["code"], "RS_ERROR_UNKNOWN")
        if "balance" not in reply:
            reply = await self.groove(body, "getbalance", nogsgameid=game["gameid"])
        out = {"status": status, "request_uuid": body["request_uuid"], "user": body.get("user"),
               "currency": "EUR", "balance": hub88.units(Decimal(str(reply["balance"])))}  # fmt: skip
        return web.json_response(out)


async def test_mixed_load_on_one_ledger_of_the_real_server(tmp_path: Path) -> None:
    """Groove rounds and (translated) Hub88 rounds on the same players of our server: every
    reply of either shows the balance the simulator expects, and the audit is clean."""
    from tests.broken_wallet import ADMIN_TOKEN, broken_app
    from tests.test_cli import run as cli_run

    async with (
        serve(broken_app(tmp_path)) as upstream,
        aiohttp.ClientSession() as http,
        serve(Hub88OverGroove(upstream, http).app()) as base,
    ):
        cfg = SimConfig(url=f"{base}/groove", admin_token=ADMIN_TOKEN, players=4, rounds=40, seed=13,
                        progress=False, signed=False, protocol="mixed")  # fmt: skip
        result = await run(cfg)
    assert result.ok, result.text()
    by_request = result.to_json()["by_request"]
    for request in ("hub88 bet", "hub88 win", "hub88 rollback", "hub88 balance", "wager", "result", "getbalance"):
        assert by_request.get(request, 0) > 0, by_request
    audit = cli_run("audit", "--database", f"sqlite:///{tmp_path / 'broken.db'}")
    assert "OK" in audit.stdout, audit.stdout


async def test_mixed_load_on_the_real_server(tmp_path: Path) -> None:
    """Groove and Hub88 rounds on the same players of our server: every balance as expected
    through both faces, and the audit clean afterwards."""
    from tests.broken_wallet import ADMIN_TOKEN, broken_app
    from tests.test_cli import run as cli_run

    app = broken_app(tmp_path)
    if not any(r.canonical.startswith("/hub88") for r in app.router.resources()):
        pytest.skip("the Hub88 face is not in this build yet (issue #18, h18-face)")
    async with serve(app) as base:
        cfg = SimConfig(url=f"{base}/groove", admin_token=ADMIN_TOKEN, players=4, rounds=30, seed=9, progress=False)
        cfg.protocol = "mixed"
        result = await run(cfg)
    assert result.ok, result.text()
    by_request = result.to_json()["by_request"]
    assert by_request.get("hub88 bet", 0) > 0
    assert by_request.get("wager", 0) > 0
    audit = cli_run("audit", "--database", f"sqlite:///{tmp_path / 'broken.db'}")
    assert "OK" in audit.stdout, audit.stdout
