"""The small crash test: kill -9 the real server (SQLite) a few times under load; nothing acknowledged is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.crashtest import report, run_crashtest


@pytest.mark.slow
async def test_kill9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    stats = await run_crashtest(kills=3, seconds=6, workers=8, players=3, workdir=tmp_path)
    text = report(stats)
    assert stats.violations == [], text
    assert stats.kills >= 3, text
    assert stats.acked > 0, text
