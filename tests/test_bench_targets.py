"""The bench runner's issue-17 goals at scale: met / not met / not measured from the figures."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _run_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = mod
    spec.loader.exec_module(mod)
    return mod


R = _run_module()


def _bench(tmp_path: Path) -> Any:
    return R.Bench(argparse.Namespace(workdir=str(tmp_path), no_pin=True, accounts=10_000))


def _m(scenario: str, accounts: int, rps: float, p99: float, rss: float | None) -> Any:
    lat = dict.fromkeys(("min", "mean", "p50", "p75", "p90", "p99", "p999", "p9999", "max"), p99)
    return R.Measurement(
        scenario=scenario, server="service", accounts=accounts, mode="load", threads=1, connections=64,
        duration_s=5.0, rps=rps, latency_ms=lat, ok=int(rps * 5), bad=0, rss_anon_mb=rss,
    )  # fmt: skip


def _by_target(targets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t["target"]: t for t in targets}


def test_scale_goals_are_not_measured_without_the_10m_rows(tmp_path: Path) -> None:
    b = _bench(tmp_path)
    b.measurements = [_m("getbalance", 10_000, 3000, 50, 60), _m("wager", 10_000, 900, 130, 70)]
    t = _by_target(b._scale_targets())
    assert t[R.TARGETS_TEXT["scale_wager"]]["met"] is None
    assert t[R.TARGETS_TEXT["memory"]]["met"] is None


def test_scale_goals_from_the_10m_rows(tmp_path: Path) -> None:
    b = _bench(tmp_path)
    b.measurements = [
        _m("getbalance", 10_000, 3000, 50, 60),
        _m("wager", 10_000, 900, 130, 70),
        _m("getbalance", 10_000_000, 2900, 55, 66),
        _m("wager", 10_000_000, 800, 150, 71),  # 900/800 = 1.125 x the time per wager: met
    ]
    t = _by_target(b._scale_targets())
    wager = t[R.TARGETS_TEXT["scale_wager"]]
    assert wager["met"] is True
    assert "1.12 x" in wager["measured"]
    memory = t[R.TARGETS_TEXT["memory"]]
    assert memory["met"] is True
    assert "wager: private memory at 10M 71 MB vs 70 MB at 10k" in memory["measured"]  # same scenario
    b.measurements[-1] = _m("wager", 10_000_000, 700, 150, 70 + 64 + 1)  # 1.29 x slower; past the page cache
    t = _by_target(b._scale_targets())
    assert t[R.TARGETS_TEXT["scale_wager"]]["met"] is False
    assert t[R.TARGETS_TEXT["memory"]]["met"] is False


def test_private_memory_of_this_process_is_read_from_proc() -> None:
    import os

    rss = R.rss_anon_mb(os.getpid())
    assert rss is not None
    assert rss > 1
    assert R.rss_anon_mb(2**22 + 12345) is None  # no such process


def test_round_trips_goal_from_the_counted_requests(tmp_path: Path) -> None:
    b = _bench(tmp_path)
    assert b._trips_target()["met"] is None  # no PostgreSQL rows
    b.pg_info = {"round_trips": {"getbalance": 3, "wager": 3, "wager replay": 3, "result": 3, "rollback": 3}}
    t = b._trips_target()
    assert t["met"] is True
    assert "rollback 3" in t["measured"]
    b.pg_info["round_trips"]["rollback"] = 5
    assert b._trips_target()["met"] is False
