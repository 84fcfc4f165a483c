"""Security review checks (see docs/security.md): secrets only from settings and never
logged, game keys stored hashed, constant-time comparisons of every secret.

Per-tenant isolation, route by route, is tests/test_tenant_isolation.py.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import os
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from groove_adapter.groove import signed_payload
from groove_adapter.jsonout import dumps, loads
from tests.conftest import ADMIN_TOKEN, Api
from wallet_store.service import signature_for

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "groove-wallet"
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "groove_adapter.cli"]
PRODUCT = ("wallet_store", "groove_adapter", "groove_client", "config")
BOUND = 60  # seconds: a bound on a hung server, not a timing assertion


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- logs


class LoggedServer:
    """``groove-wallet serve`` with every setting from the environment and JSON logs."""

    def __init__(self, tmp_path: Path, admin_token: str, level: str) -> None:
        self.level = level
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stderr = tmp_path / "serve.stderr"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
        env |= {
            "GW_DATABASE_URL": f"sqlite:///{tmp_path / 'wallet.db'}",
            "GW_PORT": str(self.port),
            "GW_ADMIN_TOKEN": admin_token,
            "GW_LOG_LEVEL": level,
            "GW_LOG_FORMAT": "json",
        }
        with open(self.stderr, "wb") as err, open(tmp_path / "serve.stdout", "wb") as out:
            self.proc = subprocess.Popen([*CLI, "serve"], cwd=ROOT, env=env, stdout=out, stderr=err)

    async def wait_healthy(self, http: aiohttp.ClientSession) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BOUND
        while True:
            assert self.proc.poll() is None, self.stderr.read_text()
            try:
                async with http.get(self.base + "/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            assert loop.time() < deadline, "server did not become healthy"
            await asyncio.sleep(0.05)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(BOUND)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(BOUND)
        return self.stderr.read_text()


@pytest.fixture(params=["INFO", "DEBUG"])
async def logged(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[LoggedServer, str]]:
    token = "adm-" + secrets.token_hex(16)
    server = LoggedServer(tmp_path, token, request.param)
    try:
        yield server, token
    finally:
        server.stop()


async def test_logs_carry_no_secret_and_no_email(logged: tuple[LoggedServer, str]) -> None:
    """Traffic on every face with every kind of secret; then the server's stderr is read back:
    none of it carries a token, key, signature, SMS code, phone or e-mail.  At INFO (the
    default) every line is a JSON object; DEBUG adds the drivers' own plain-text lines
    (aiosqlite's statement trace), which must not leak either."""
    server, token = logged
    sig_secret = "sig-" + secrets.token_hex(12)
    emails = ["alice.secret@example.com", "bob.hidden@example.org", "nobody.unknown@example.net"]
    wrong_key = "gwk_" + secrets.token_hex(20)
    leaks: list[str] = [token, sig_secret, wrong_key, "+35699123456", "+35699123457", *emails]
    admin = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        await server.wait_healthy(http)

        async def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
            data = None if body is None else dumps(body)
            hdrs = {"Content-Type": "application/json"} | (headers or {})
            async with http.request(method, server.base + path, data=data, headers=hdrs) as resp:
                text = await resp.text()
                return resp.status, (loads(text) if text and resp.content_type == "application/json" else text)

        assert (await call("POST", "/admin/operators", {"operator_id": "11", "name": "C", "currency": "EUR"}, admin))[
            0
        ] == 201
        op2 = {"operator_id": "12", "name": "S", "currency": "EUR", "signature_secret": sig_secret}
        assert (await call("POST", "/admin/operators", op2, admin))[0] == 201
        for acct, op, mail in (("1001", "11", emails[0]), ("1002", "11", emails[1]), ("2001", "12", None)):
            player = {"operator_id": op, "account_id": acct, "name": "N", "email": mail, "country": "MT", "city": "V"}
            assert (await call("POST", "/admin/players", player | {"real_balance": "100"}, admin))[0] == 201
        for acct, phone in (("1001", leaks[3]), ("1002", leaks[4])):
            assert (await call("PUT", f"/admin/players/{acct}/phone", {"phone": phone}, admin))[0] == 200
        status, game = await call("POST", "/admin/games", {"operator_id": "11", "game_id": "g1", "name": "G"}, admin)
        assert status == 201
        key = game["secret_key"]
        leaks += [key, hashlib.sha256(key.encode()).hexdigest()]
        pb = {"X-Game-Secret-Key": key}
        # wrong and missing credentials
        assert (await call("GET", "/admin/players/1001", headers={"Authorization": "Bearer " + token[:-1]}))[0] == 401
        assert (
            await call(
                "GET", f"/api/player-balances/player/by-email/{emails[0]}", headers={"X-Game-Secret-Key": wrong_key}
            )
        )[0] == 401
        # the REST faces, with e-mails in paths and bodies
        assert (await call("GET", f"/api/player-balances/player/by-email/{emails[0]}", headers=pb))[0] == 200
        assert (await call("GET", f"/api/player-balances/player/by-email/{emails[2]}", headers=pb))[0] == 404
        credit = {"player_email": emails[1], "currency": "EUR", "amount": "1", "idempotency_key": "c1"}
        assert (await call("POST", "/api/player-balances/credit", credit, pb))[0] == 200
        batch = {"player_emails": emails, "include_summary": True}
        assert (await call("POST", "/api/player-balances/batch", batch, pb))[0] == 200
        assert (await call("GET", "/api/private/users/1001/wallets/balance", headers={"x-api-key": key}))[0] == 200
        # a transfer with an SMS code
        transfer = {"source_player_email": emails[0], "target_player_email": emails[1], "currency": "EUR"}
        status, t = await call(
            "POST", "/api/transfers/initiate-transfer", transfer | {"amount": "2", "idempotency_key": "t"}, pb
        )
        assert status == 200, t
        status, outbox = await call("GET", "/admin/sms-outbox?limit=100", headers=admin)
        code = re.search(r"\b([0-9]{6})\b", outbox["messages"][0]["body"])
        assert code is not None
        leaks.append(code.group(1))
        verify = {"transfer_id": t["transfer_id"], "verification_code": code.group(1)}
        assert (await call("POST", "/api/transfers/verify-sms", verify, pb))[0] == 200
        # /groove, signed, with a wrong signature too
        status, sess = await call("POST", "/admin/sessions", {"account_id": "2001"}, admin)
        params = {"request": "getbalance", "accountid": "2001", "gamesessionid": sess["gamesessionid"]}
        params |= {"device": "desktop", "apiversion": "1.2", "nogsgameid": "80102"}
        signature = signature_for(sig_secret, signed_payload(params))
        leaks.append(signature)
        for sig in (signature, "0" * 64):
            async with http.get(server.base + "/groove", params=params, headers={"X-Groove-Signature": sig}) as resp:
                body = loads(await resp.text())
                assert body["code"] == (200 if sig == signature else 1001)
        # the live-updates socket authenticates with the key inside a message
        async with http.ws_connect(server.base + "/ws/balance-updates") as ws:
            sub = {"action": "subscribe_player_balances", "player_emails": emails[:1], "auth_token": "Bearer " + key}
            await ws.send_str(dumps(sub))
            ack = await ws.receive(timeout=BOUND)
            assert loads(ack.data)["subscribed"] == emails[:1]
    text = server.stop()
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) > 20, text
    json_lines = [line for line in lines if line.startswith("{")]
    assert len(json_lines) > 20
    for line in json_lines if server.level == "DEBUG" else lines:
        record = json.loads(line)  # every line is a JSON object
        assert isinstance(record, dict), line
    for secret in leaks:
        assert secret not in text, f"{secret!r} appears in the logs"
        assert secret.lower() not in text.lower()
    assert "@" not in text  # no e-mail address of any kind


async def test_unmatched_paths_are_not_logged_verbatim(api: Api, client: TestClient) -> None:
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        resp = await client.get("/api/player-balances/player/by-mail/carol.private@example.com")
        assert resp.status == 404
    metrics = await (await client.get("/metrics")).text()
    assert "carol.private" not in metrics
    assert "carol.private" not in dumps([{k: str(v) for k, v in e.items()} for e in logs])


# --------------------------------------------------------------------------- secrets at rest


async def test_game_keys_are_stored_only_as_sha256(
    api: Api, client: TestClient, backend: str, make_store: Any, tmp_path: Path
) -> None:
    await api.operator("11")
    body = await api.admin("POST", "/admin/games", {"operator_id": "11", "game_id": "g1", "name": "G"}, expect=201)
    key = body["secret_key"]
    assert key.startswith("gwk_")
    assert len(key) >= 40  # 32 random bytes, url-safe
    store = make_store()
    await store.open()
    try:
        game = await store.read(lambda tx: tx.get_game("g1"))
    finally:
        await store.close()
    assert game.key_hash == hashlib.sha256(key.encode()).hexdigest()
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "wallet.db") as db:
            dump = "\n".join(db.iterdump())
        assert key not in dump
        assert game.key_hash in dump
    # the key is shown once: nothing returns it again
    assert key not in dumps(await api.admin("GET", "/admin/operators/11", expect=200))


# --------------------------------------------------------------------------- source checks


def _product_files() -> list[Path]:
    return sorted(p for pkg in PRODUCT for p in (ROOT / pkg).rglob("*.py"))


def test_settings_are_the_only_reader_of_the_environment() -> None:
    """Secrets (and every other setting) come from config.Settings; no module reads os.environ."""
    readers = []
    for path in _product_files():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb", "putenv"):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []


def test_the_admin_token_is_a_secret_string() -> None:
    from config import Settings

    s = Settings(database_url="sqlite:///x.db", admin_token="tok-" + "s" * 20)  # type: ignore[arg-type]
    assert "tok-" not in repr(s)
    assert "tok-" not in str(s.model_dump())


def _compares(path: Path, function: str) -> tuple[list[str], list[str]]:
    """(calls to hmac.compare_digest, ``==``/``!=`` comparisons) inside one function."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            digests = [
                ast.unparse(n)
                for n in ast.walk(node)
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "compare_digest"
            ]
            equals = [
                ast.unparse(n)
                for n in ast.walk(node)
                if isinstance(n, ast.Compare) and any(isinstance(o, ast.Eq | ast.NotEq) for o in n.ops)
            ]
            return digests, equals
    raise AssertionError(f"{function} not found in {path}")


@pytest.mark.parametrize(
    ("path", "function", "secret"),
    [
        ("groove_adapter/admin.py", "admin_middleware", "expected"),  # the admin token
        ("wallet_store/services/auth.py", "check_caller", "expected"),  # the /groove HMAC signature
        ("wallet_store/sms.py", "code_matches", "stored_hash"),  # SMS verification codes (hashed)
        ("groove_adapter/ws.py", "_authenticate", "key_hash"),  # a socket re-presenting its game key
    ],
)
def test_secrets_are_compared_in_constant_time(path: str, function: str, secret: str) -> None:
    digests, equals = _compares(ROOT / path, function)
    assert any(secret in d for d in digests), digests
    assert not [e for e in equals if secret in e], equals


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {ADMIN_TOKEN[:-1]}",
        f"Bearer {ADMIN_TOKEN}x",
        f"bearer {ADMIN_TOKEN}",
        f"Bearer  {ADMIN_TOKEN}",
        ADMIN_TOKEN,
        f"Basic {ADMIN_TOKEN}",
        "",
    ],
)
async def test_only_the_exact_admin_token_opens_admin(client: TestClient, header: str) -> None:
    resp = await client.get("/admin/operators/11", headers={"Authorization": header} if header else {})
    assert resp.status == 401
    assert ADMIN_TOKEN not in await resp.text()
    ok = await client.get("/admin/operators/11", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status == 404  # past the token check: the operator does not exist
