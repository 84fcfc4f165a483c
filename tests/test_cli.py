"""The real ``groove-wallet`` command line, run as subprocesses on a temporary SQLite file."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from groove_adapter.jsonout import loads

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "groove-wallet"
CLI = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "groove_adapter.cli"]
ADMIN_TOKEN = "cli-test-admin-token-7f3a9c"
COMMAND_TIMEOUT = 120  # a bound on a hung subprocess, not a timing assertion
STARTUP_BOUND = 60


def clean_env() -> dict[str, str]:
    """The caller's environment without any GW_* setting that could redirect the CLI."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GW_")}


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if check:
        assert proc.returncode == 0, f"{args}: rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'wallet.db'}"


def curl_urls(stdout: str) -> dict[str, str]:
    urls = re.findall(r"curl '([^']+)'", stdout)
    by_request: dict[str, str] = {}
    for url in urls:
        m = re.search(r"[?&]request=([A-Za-z]+)", url)
        assert m, url
        by_request[m.group(1)] = url
    return by_request


class Server:
    """``groove-wallet serve`` as a child process; always stopped by the fixture."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.stderr_path = tmp_path / "serve.stderr"

    def start(self, database: str) -> str:
        self.port = free_port()
        with open(self.stderr_path, "wb") as err, open(self.tmp_path / "serve.stdout", "wb") as out:
            self.proc = subprocess.Popen(
                [
                    *CLI,
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--database",
                    database,
                    "--admin-token",
                    ADMIN_TOKEN,
                ],
                cwd=ROOT,
                env=clean_env(),
                stdout=out,
                stderr=err,
            )
        return f"http://127.0.0.1:{self.port}"

    async def wait_healthy(self, session: aiohttp.ClientSession) -> None:
        assert self.proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_BOUND
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.stderr()}")
            try:
                async with session.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            if loop.time() > deadline:
                raise AssertionError(f"server did not become healthy: {self.stderr()}")
            await asyncio.sleep(0.05)  # polling a starting process, not waiting for time to pass

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    try:
        yield s
    finally:
        s.stop()
        assert s.proc is None or s.proc.poll() is not None, "the server process is still running"


# --------------------------------------------------------------------------- migrate


def test_migrate_is_idempotent(db: str, tmp_path: Path) -> None:
    first = run("migrate", "--database", db)
    assert "migrations applied" in first.stdout
    assert (tmp_path / "data" / "wallet.db").exists()
    run("demo", "--database", db)
    second = run("migrate", "--database", db)
    assert "migrations applied" in second.stdout
    # the data survived the second migrate, and the journal still adds up
    audit = run("audit", "--database", db)
    assert "OK" in audit.stdout
    assert re.search(r"6 wallets", audit.stdout), audit.stdout  # 3 players x (EUR, GOLD with a starting amount)


def test_bad_database_url_is_refused(tmp_path: Path) -> None:
    proc = run("migrate", "--database", f"mysql://{tmp_path}/x", check=False)
    assert proc.returncode != 0
    assert "database_url" in proc.stderr


# --------------------------------------------------------------------------- demo


def test_demo_prints_curl_lines(db: str) -> None:
    proc = run("demo", "--database", db, "--base-url", "http://127.0.0.1:18080")
    urls = curl_urls(proc.stdout)
    assert {"getaccount", "getbalance"} <= set(urls)
    for name in ("getaccount", "getbalance"):
        url = urls[name]
        assert url.startswith("http://127.0.0.1:18080/groove?")
        assert "accountid=5179068" in url
        assert re.search(r"gamesessionid=11_[^&]+", url)
        assert "device=desktop" in url
        assert "apiversion=1.2" in url
    assert "nogsgameid=80102" in urls["getbalance"]
    # a second run finds the data present and opens fresh sessions
    again = run("demo", "--database", db, "--base-url", "http://127.0.0.1:18080")
    assert "already present" in again.stdout
    again_urls = curl_urls(again.stdout)
    assert again_urls["getbalance"] != urls["getbalance"]  # a new session id


# --------------------------------------------------------------------------- add-player / open-session


def test_add_player_and_open_session(db: str) -> None:
    run("demo", "--database", db)
    proc = run(
        "add-player",
        "--database",
        db,
        "--operator",
        "11",
        "--account",
        "9001",
        "--name",
        "CLI Player",
        "--email",
        "cli.player@example.com",
        "--country",
        "MT",
        "--city",
        "Valletta",
        "--real",
        "12.5",
        "--bonus",
        "0.0000000001",
    )
    assert proc.stdout.strip() == "9001 EUR real=12.5 bonus=0.0000000001"
    proc = run("open-session", "--database", db, "--account", "9001", "--game", "80102", "--ttl", "600")
    sid = proc.stdout.strip()
    assert re.fullmatch(r"11_[0-9a-f-]+", sid), sid
    assert len(sid) <= 64


def test_add_player_generates_account_id(db: str) -> None:
    run("demo", "--database", db)
    proc = run("add-player", "--database", db, "--operator", "11", "--name", "N", "--country", "GB", "--city", "London")
    acct, currency, real, bonus = proc.stdout.split()
    assert re.fullmatch(r"[0-9A-Za-z]{1,60}", acct)
    assert (currency, real, bonus) == ("EUR", "real=0", "bonus=0")


@pytest.mark.parametrize(
    "args",
    [
        ["--operator", "99", "--account", "9002"],  # unknown operator
        ["--operator", "11", "--account", "5179068"],  # duplicate account (demo player)
        ["--operator", "11", "--account", "9003", "--real", "1e5"],  # not an exact decimal
        ["--operator", "11", "--account", "9004", "--real", "NaN"],
    ],
)
def test_add_player_refusals_exit_nonzero(db: str, args: list[str]) -> None:
    run("demo", "--database", db)
    proc = run("add-player", "--database", db, "--name", "N", "--country", "MT", "--city", "V", *args, check=False)
    assert proc.returncode == 2, proc
    assert proc.stderr.startswith("groove-wallet:")
    assert "Traceback" not in proc.stderr


def test_open_session_unknown_account_exits_nonzero(db: str) -> None:
    run("migrate", "--database", db)
    proc = run("open-session", "--database", db, "--account", "404404", check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- serve + demo end to end


async def test_serve_demo_getbalance_audit(db: str, server: Server) -> None:
    run("migrate", "--database", db)
    # operator 11 does not exist yet: refused, nothing written
    early = run(
        "add-player", "--database", db, "--operator", "11", "--name", "x", "--country", "MT", "--city", "V", check=False
    )
    assert early.returncode == 2
    port_hint = free_port()
    proc = run("demo", "--database", db, "--base-url", f"http://127.0.0.1:{port_hint}")
    urls = curl_urls(proc.stdout)
    run(
        "add-player",
        "--database",
        db,
        "--operator",
        "11",
        "--account",
        "9001",
        "--name",
        "CLI Player",
        "--email",
        "cli.player@example.com",
        "--country",
        "MT",
        "--city",
        "Valletta",
        "--real",
        "12.5",
        "--bonus",
        "0.0000000001",
    )
    sid = run("open-session", "--database", db, "--account", "9001", "--game", "80102").stdout.strip()

    base = server.start(db)
    async with aiohttp.ClientSession() as http:
        await server.wait_healthy(http)

        # the printed getbalance line, pointed at the port the server really listens on
        url = urls["getbalance"].replace(f"http://127.0.0.1:{port_hint}", base)
        async with http.get(url, headers={"X-Request-Id": "cli-e2e-1"}) as resp:
            assert resp.status == 200
            body = loads(await resp.text())
        assert body["code"] == 200, body
        assert body["status"] == "Success"
        assert (body["real_balance"], body["bonus_balance"], body["balance"]) == (
            Decimal("100"),
            Decimal("50"),
            Decimal("150"),
        )
        assert (body["game_mode"], body["order"], body["apiversion"]) == (1, "cash_money", "1.2")

        url = urls["getaccount"].replace(f"http://127.0.0.1:{port_hint}", base)
        async with http.get(url) as resp:
            body = loads(await resp.text())
        assert (body["code"], body["accountid"], body["city"], body["country"]) == (200, "5179068", "Valletta", "MT")

        # the player and session made with add-player / open-session
        q = {
            "request": "getbalance",
            "accountid": "9001",
            "gamesessionid": sid,
            "device": "mobile",
            "apiversion": "1.2",
            "nogsgameid": "80102",
        }
        async with http.get(f"{base}/groove", params=q) as resp:
            text = await resp.text()
        assert '"real_balance":12.5' in text
        assert '"bonus_balance":0.0000000001' in text
        assert loads(text)["code"] == 200

        # admin API with the token given on the command line
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with http.get(f"{base}/admin/players/5179068", headers=auth) as resp:
            assert resp.status == 200
            assert loads(await resp.text())["email"] == "demo.player@example.com"
        async with http.get(f"{base}/admin/players/5179068", headers={"Authorization": "Bearer x"}) as resp:
            assert resp.status == 401

        async with http.get(f"{base}/readyz") as resp:
            assert resp.status == 200

    audit = run("audit", "--database", db)
    assert "OK" in audit.stdout
    assert "8 wallets" in audit.stdout, audit.stdout  # the demo's 6, a player added with GOLD too

    rc = server.stop()
    assert rc is not None

    # the server wrote one JSON log line per request, without secrets or e-mail addresses
    log = server.stderr()
    assert ADMIN_TOKEN not in log
    assert "demo.player@example.com" not in log
    assert "cli.player@example.com" not in log
    records = []
    for line in log.splitlines():
        line = line.strip()
        if line.startswith("{"):
            records.append(loads(line))
    access: list[dict[str, Any]] = [r for r in records if r.get("request_id") == "cli-e2e-1"]
    assert len(access) == 1, records
    rec = access[0]
    assert rec["request"] == "getbalance"
    assert rec["account"] == "5179068"
    assert rec["code"] == 200
    assert "duration_ms" in rec
    assert rec["face"] == "groove"
