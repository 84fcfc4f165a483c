"""Stopping the server: a second signal during shutdown does not cut the cleanup short."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr

from config import Settings
from groove_adapter import server


def test_a_second_sigterm_during_shutdown_lets_the_cleanup_finish(tmp_path: Path) -> None:
    """``make run`` forwards the SIGTERM it gets to the server, which got its own: the second
    one arrived while the store was closing and left it open (its threads then kept the
    process alive: the flaky ``test_make_run_serves_on_the_port...``)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'w.db'}", host="127.0.0.1", port=0, admin_token=SecretStr("t" * 24)
    )
    closed: list[str] = []

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        yield
        os.kill(os.getpid(), signal.SIGTERM)  # the forwarded signal, while closing
        await asyncio.sleep(0.05)
        closed.append("store")

    app = web.Application()
    app.cleanup_ctx.append(store_ctx)
    try:
        server.serve(app, settings, on_started=lambda: os.kill(os.getpid(), signal.SIGTERM))
    finally:
        asyncio.set_event_loop(None)
    assert closed == ["store"]
