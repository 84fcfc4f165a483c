"""Issue #14, defect 7: the served process bounds header time, idle connections and their number.

Through a real listening server built exactly as ``groove-wallet serve`` builds it
(:func:`groove_adapter.server.start`), with small limits: connections that dribble header
lines (or send nothing) are closed at the deadline, connections over the cap get a 503 and
are closed at once, and a normal request is served all the while.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from config import Settings
from groove_adapter import server
from groove_adapter.app import create_app
from tests.conftest import ADMIN_TOKEN

IDLE = 1.0  # seconds: the deadline under test
SLOW = 20  # slow connections held open at once
WAIT = 10.0  # seconds a test waits for an expected close before failing (never reached when it works)


def _settings(tmp_path: Path, **kw: float) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'wallet.db'}",
        admin_token=SecretStr(ADMIN_TOKEN),
        host="127.0.0.1",
        port=0,
        **kw,
    )


@contextlib.asynccontextmanager
async def _served(settings: Settings) -> AsyncIterator[tuple[server.CappedSite, aiohttp.ClientSession]]:
    runner, site = await server.start(create_app(settings), settings)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{site.port}") as http:
            yield site, http
    finally:
        await runner.cleanup()


async def _dribble(writer: asyncio.StreamWriter, stop: asyncio.Event) -> None:
    """A slowloris: a request line, then one header line every 0.2 s, never the blank line."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    while not stop.is_set():
        try:
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
        except ConnectionError:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)  # the attacker's pace, not an ordering


async def test_slow_headers_are_cut_at_the_deadline_and_others_are_served(tmp_path: Path) -> None:
    settings = _settings(tmp_path, idle_timeout_seconds=IDLE, max_connections=SLOW + 10)
    async with _served(settings) as (site, http):
        stop = asyncio.Event()
        conns = [await asyncio.open_connection("127.0.0.1", site.port) for _ in range(SLOW)]
        started = time.monotonic()
        dribblers = [asyncio.create_task(_dribble(w, stop)) for _, w in conns]
        async with http.get("/healthz") as resp:  # served while the slow ones are open
            assert resp.status == 200
        try:
            for reader, _ in conns:
                assert await asyncio.wait_for(reader.read(), WAIT) == b""  # closed, nothing answered
            elapsed = time.monotonic() - started
            assert IDLE * 0.9 <= elapsed < IDLE + 3.0, elapsed
        finally:
            stop.set()
            await asyncio.gather(*dribblers)
            for _, w in conns:
                w.close()
        async with http.get("/healthz") as resp:
            assert resp.status == 200


async def test_silent_and_idle_keepalive_connections_are_closed(tmp_path: Path) -> None:
    settings = _settings(tmp_path, idle_timeout_seconds=IDLE)
    async with _served(settings) as (site, _):
        silent_reader, silent = await asyncio.open_connection("127.0.0.1", site.port)
        idle_reader, idle = await asyncio.open_connection("127.0.0.1", site.port)
        idle.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(idle_reader.readuntil(b"\r\n\r\n"), WAIT)
        assert head.startswith(b"HTTP/1.1 200"), head
        length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
        await idle_reader.readexactly(length)
        assert await asyncio.wait_for(idle_reader.read(), WAIT) == b""  # keep-alive, then closed when idle
        assert await asyncio.wait_for(silent_reader.read(), WAIT) == b""
        silent.close()
        idle.close()


async def test_connections_over_the_cap_get_503_and_the_listener_keeps_serving(tmp_path: Path) -> None:
    cap = 4
    settings = _settings(tmp_path, idle_timeout_seconds=60.0, max_connections=cap)
    async with _served(settings) as (site, http):
        held = [await asyncio.open_connection("127.0.0.1", site.port) for _ in range(cap)]
        for reader, writer in held:  # one full keep-alive request each: the server holds them all
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)).startswith(b"HTTP/1.1 200")
        for _ in range(3):
            async with http.get("/healthz", headers={"Connection": "close"}) as resp:
                assert resp.status == 503
                assert (await resp.json())["kind"] == "Busy"
        assert site.refused == 3
        for _, writer in held:
            writer.close()
        ok = None
        deadline = time.monotonic() + WAIT
        while ok != 200 and time.monotonic() < deadline:  # until the server has seen the closes
            async with http.get("/healthz", headers={"Connection": "close"}) as resp:
                ok = resp.status
        assert ok == 200


def test_cap_stays_below_the_open_files_limit(tmp_path: Path) -> None:
    settings = _settings(tmp_path, max_connections=100_000)
    reserve = server.fd_reserve(settings)
    assert reserve == server.FD_RESERVE + settings.pg_pool_max + 3 * (settings.sqlite_read_connections + 1)
    assert server.connection_cap(settings, nofile=1024) == 1024 - reserve
    assert server.connection_cap(_settings(tmp_path, max_connections=500), nofile=1024) == 500
    assert server.connection_cap(settings, nofile=10) == 1
