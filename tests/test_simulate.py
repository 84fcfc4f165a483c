"""``groove-wallet simulate``: a small simulated load against the real server ends with every
balance as expected and a clean audit; against a wallet that debits duplicates twice it
reports the mismatches and exits 1."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from groove_client import simulate
from tests.broken_wallet import ADMIN_TOKEN as BROKEN_TOKEN
from tests.broken_wallet import DoubleDebitOnDuplicate, broken_app, serve
from tests.test_cli import ADMIN_TOKEN, CLI, COMMAND_TIMEOUT, ROOT, Server, clean_env, run


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    try:
        yield s
    finally:
        s.stop()


async def simulate_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, "simulate", *args, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_simulated_load_ends_with_every_balance_as_expected(tmp_path: Path, server: Server) -> None:
    db = f"sqlite:///{tmp_path / 'data' / 'wallet.db'}"
    base = server.start(db)
    async with aiohttp.ClientSession() as http:
        await server.wait_healthy(http)
    rc, out, err = await simulate_cli(
        "--url", f"{base}/groove", "--admin-token", ADMIN_TOKEN, "--players", "6", "--rounds", "25",
        "--seed", "11", "--format", "json",
    )  # fmt: skip
    assert rc == 0, out + err
    result = json.loads(out)
    assert result["ok"] is True
    assert result["mismatches"] == 0, result["mismatch_details"]
    assert result["unexpected"] == 0, result["unexpected_details"]
    assert result["players_checked"] == 6
    assert result["rounds"] == 150
    by_request = result["by_request"]
    for request in ("getaccount", "getbalance", "wager", "result", "rollback"):
        assert by_request.get(request, 0) > 0, by_request
    assert result["duplicates_sent"] > 0
    assert result["lost_replies_retried"] > 0
    assert "simulate: 150/150 rounds" in err  # progress on stderr

    server.stop()
    audit = run("audit", "--database", db)
    assert "OK" in audit.stdout, audit.stdout


async def test_simulate_catches_a_wallet_that_debits_duplicates(tmp_path: Path) -> None:
    async with serve(broken_app(tmp_path, DoubleDebitOnDuplicate)) as base:
        cfg = simulate.SimConfig(
            url=f"{base}/groove", admin_token=BROKEN_TOKEN, players=3, rounds=20, seed=5, progress=False
        )
        result = await simulate.run_simulation(cfg)
    assert not result.ok
    assert result.stats.mismatches
    text = result.text()
    assert "FAILED" in text
    assert "mismatch:" in text


async def test_simulate_setup_error_is_reported(tmp_path: Path) -> None:
    async with serve(broken_app(tmp_path, DoubleDebitOnDuplicate)) as base:
        cfg = simulate.SimConfig(url=f"{base}/groove", admin_token="wrong", players=1, rounds=1, progress=False)
        with pytest.raises(simulate.SimulationError, match="HTTP 401"):
            await simulate.run_simulation(cfg)
