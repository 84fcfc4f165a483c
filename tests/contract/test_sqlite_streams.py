"""SQLite streams run on their own connection (and thread): closing the store ends them too."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tests.contract.support import seed
from wallet_store.sqlite.store import SqliteStore


def live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon}


async def test_close_ends_a_stream_whose_consumer_stopped_reading(tmp_path: Path) -> None:
    """A consumer cancelled mid-stream (the background audit at shutdown) leaves its generator
    suspended; the task that would finalize it can itself be cancelled.  The stream's
    connection thread (not a daemon) would then keep the process from exiting."""
    before = live_threads()
    store = SqliteStore(str(tmp_path / "wallet.db"))
    await store.open()
    await seed(store, ["p1", "p2", "p3"])
    stream: Any = store.wallets()
    first = await stream.__anext__()
    assert first.account_id == "p1"
    assert len(live_threads() - before) == 4  # the writer, two readers, the stream

    await store.close()
    for thread in live_threads() - before:
        thread.join(timeout=5)
    assert live_threads() - before == set()
    await stream.aclose()  # finalized later: nothing left to do, no error
