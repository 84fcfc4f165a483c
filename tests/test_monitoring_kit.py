"""The monitoring kit in deploy/monitoring: every metric its dashboard and alert rules query is
exported by a running app's /metrics (after real traffic), and the background audit that feeds
the drift alert reports real drift (and only drift seen twice)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import SecretStr

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.observability import AuditMonitor, Metrics
from tests.conftest import ADMIN_TOKEN, Api
from wallet_store import money
from wallet_store.audit import AuditReport

KIT = Path(__file__).resolve().parent.parent / "deploy" / "monitoring"
DASHBOARD = KIT / "groove-wallet-dashboard.json"
RULES = KIT / "groove-wallet-alerts.yaml"

# Series Prometheus makes itself for every scrape target: not ours to export.
PROMETHEUS_OWN = {"up"}

_FUNCS_AND_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "time", "vector", "scalar",
    "abs", "absent", "clamp_min", "clamp_max", "label_values", "label_replace", "sort", "sort_desc",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "inf", "nan",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (Grafana variables allowed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # range selectors
    e = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)  # grouping labels
    e = re.sub(r"\$\{?\w+\}?", " ", e)  # $__range, ${datasource}
    names = set()
    for m in re.finditer(r"(?<![\w.:])[A-Za-z_:][A-Za-z0-9_:]*", e):
        token = m.group(0)
        if e[m.end() :].lstrip().startswith("("):  # a function call
            continue
        if token.lower() in _FUNCS_AND_WORDS:
            continue
        names.add(token)
    return names


def test_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, request) (rate(gw_request_seconds_bucket{face="groove",'
        'instance=~"$instance"}[$__rate_interval]))) > 1e-3 and on (instance) up{job="x"} == 0'
    )
    assert metric_names(expr) == {"gw_request_seconds_bucket", "up"}
    assert metric_names("time() - max(gw_audit_last_run_timestamp_seconds > 0)") == {
        "gw_audit_last_run_timestamp_seconds"
    }


def dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    exprs = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for p in panels:
            for t in p.get("targets", []):
                exprs.append(t["expr"])
            walk(p.get("panels", []))

    walk(dash["panels"])
    for var in dash["templating"]["list"]:
        query = var.get("query")
        if isinstance(query, dict):
            exprs.append(re.sub(r"label_values\((\w+),.*\)", r"\1", query["query"]))
    return exprs


def rule_exprs() -> list[str]:
    """``expr:`` values of the rules file (single-line by convention, checked here)."""
    text = RULES.read_text()
    exprs = [m.group(1).strip() for m in re.finditer(r"^\s+expr:\s*(.+)$", text, re.M)]
    assert all(not e.startswith(("|", ">")) for e in exprs), "keep each expr on one line"
    return exprs


def test_dashboard_is_a_grafana_dashboard() -> None:
    dash = json.loads(DASHBOARD.read_text())
    assert dash["uid"]
    assert dash["title"]
    assert dash["schemaVersion"] >= 36
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        assert p["title"]
        assert set(p["gridPos"]) == {"h", "w", "x", "y"}
        assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}"
            assert p["targets"]
            assert all(t["refId"] and t["expr"] for t in p["targets"])
    names = set().union(*(metric_names(e) for e in dashboard_exprs()))
    # what the dashboard must show: requests and latency by type, refusals by code, money by
    # currency, open rounds, store latency, group-commit batch sizes (and readiness, audit)
    assert {
        "gw_requests_total",
        "gw_request_seconds_bucket",
        "gw_refusals_total",
        "gw_money_moved_total",
        "gw_rounds_open",
        "gw_store_seconds_bucket",
        "gw_group_commit_batch_size_bucket",
        "gw_ready",
        "gw_audit_problems",
    } <= names
    exprs = " ".join(dashboard_exprs())
    assert "sum by (currency)" in exprs
    assert "sum by (code)" in exprs
    assert "sum by (le, request)" in exprs


def test_alert_rules_cover_errors_latency_audit_and_readiness() -> None:
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(RULES.read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert len(rules) == len(rule_exprs())
    by_name = {r["alert"]: r for r in rules}
    assert len(by_name) == len(rules)
    for r in rules:
        assert r["expr"].count("(") == r["expr"].count(")")
        assert r["labels"]["severity"] in ("page", "ticket")
        assert r["annotations"]["summary"]
        assert r["annotations"]["description"]
        assert re.fullmatch(r"\d+[smh]", r["for"])
    assert 'code="1"' in by_name["GrooveWalletTechnicalErrors"]["expr"]
    assert "histogram_quantile(0.99" in by_name["GrooveWalletP99LatencyHigh"]["expr"]
    assert "gw_audit_problems" in by_name["GrooveWalletAuditDrift"]["expr"]
    assert "gw_ready" in by_name["GrooveWalletNotReady"]["expr"]


def exported_names(text: str) -> set[str]:
    """Sample names in the exposition: counters as *_total, histograms as *_bucket/_sum/_count."""
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


async def metrics_text(client: TestClient) -> str:
    resp = await client.get("/metrics")
    assert resp.status == 200
    return await resp.text()


async def wait_for_metric(client: TestClient, pattern: str, bound: float = 20.0) -> str:
    """Poll /metrics until a line matches (a background task in a real server; bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while True:
        text = await metrics_text(client)
        if re.search(pattern, text, re.M):
            return text
        assert loop.time() < deadline, f"{pattern!r} never appeared in /metrics:\n{text}"
        await asyncio.sleep(0.05)


@pytest.fixture
async def live(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'wallet.db'}",
        admin_token=SecretStr(ADMIN_TOKEN),
        audit_interval_seconds=0.1,
    )
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


async def traffic(api: Api) -> dict[str, str]:
    await api.operator("11")
    await api.player("5179068")
    sid = await api.session("5179068")
    c = {"accountid": "5179068", "gamesessionid": sid, "device": "desktop", "apiversion": "1.2", "gameid": "80102"}
    assert (await api.groove("getaccount", **c))["code"] == 200
    assert (await api.groove("getbalance", nogsgameid="80102", **c))["code"] == 200
    for _ in range(2):  # a duplicate
        assert (await api.groove("wager", roundid="r1", transactionid="w1", betamount="5", **c))["code"] == 200
    assert (await api.groove("result", roundid="r1", transactionid="x1", result="7", gamestatus="completed", **c))[
        "code"
    ] == 200
    assert (await api.groove("wager", roundid="r2", transactionid="w2", betamount="1000", **c))["code"] == 1006
    assert (await api.groove("rollback", roundid="r3", transactionid="w3", **c))["code"] == 102
    assert (await api.groove("wager", roundid="r4", transactionid="w4", betamount="1", **c))["code"] == 200
    return c


async def test_every_metric_the_kit_queries_is_exported(live: TestClient) -> None:
    await traffic(Api(live))
    text = await wait_for_metric(live, r'^gw_audit_runs_total\{outcome="ok"\} [1-9]')
    exported = exported_names(text)
    referenced: dict[str, set[str]] = {}
    for where, exprs in (("dashboard", dashboard_exprs()), ("alert rules", rule_exprs())):
        for e in exprs:
            for name in metric_names(e):
                referenced.setdefault(name, set()).add(where)
    assert len(referenced) >= 10
    missing = {n: w for n, w in referenced.items() if n not in exported and n not in PROMETHEUS_OWN}
    assert not missing, f"queried but not exported: {missing}"
    # the money and refusal series carry the labels the panels group by
    assert re.search(r'^gw_money_moved_total\{[^}]*currency="EUR"[^}]*direction="debit"', text, re.M)
    assert re.search(r'^gw_money_moved_total\{[^}]*direction="credit"', text, re.M)
    assert re.search(r'^gw_refusals_total\{aggregator="groove",code="1006",request="wager"\} 1\.0$', text, re.M)
    assert "gw_audit_problems 0.0" in text
    assert "gw_rounds_open 1.0" in text  # r4 has a wager and no result


async def test_background_audit_reports_tampering(live: TestClient, tmp_path: Path) -> None:
    await traffic(Api(live))
    await wait_for_metric(live, r'^gw_audit_runs_total\{outcome="ok"\} [1-9]')
    db = tmp_path / "wallet.db"
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE wallets SET real = ? WHERE account_id = ?", (money.to_db(Decimal("1000000")), "5179068"))
    text = await wait_for_metric(live, r"^gw_audit_problems [1-9]")
    assert re.search(r'^gw_audit_runs_total\{outcome="drift"\} [1-9]', text, re.M)


async def test_drift_seen_once_is_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wallet written between the audit's scans looks out of step for one pass only."""
    passes = iter(
        [
            AuditReport(problems=["a/EUR: wallet is at seq 5 but the journal ends at seq 4", "b/EUR: broken link"]),
            AuditReport(problems=["b/EUR: broken link", "a/EUR: wallet is at seq 7 but the journal ends at seq 6"]),
            AuditReport(),
        ]
    )

    async def fake_audit(store: Any) -> AuditReport:
        return next(passes)

    monkeypatch.setattr("wallet_store.audit.run_audit", fake_audit)
    metrics = Metrics()
    monitor = AuditMonitor(metrics, store=None, interval=0.01)  # type: ignore[arg-type]
    assert await monitor.run_once() == 1  # only the problem both passes saw
    assert await monitor.run_once() == 0
    text = metrics.render().decode()
    assert "gw_audit_problems 0.0" in text
    assert 'gw_audit_runs_total{outcome="drift"} 1.0' in text
    assert 'gw_audit_runs_total{outcome="ok"} 1.0' in text


async def test_audit_errors_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken_audit(store: Any) -> AuditReport:
        raise OSError("disk gone")

    monkeypatch.setattr("wallet_store.audit.run_audit", broken_audit)
    metrics = Metrics()
    monitor = AuditMonitor(metrics, store=None, interval=0.01)  # type: ignore[arg-type]
    assert await monitor.run_once() == -1
    assert 'gw_audit_runs_total{outcome="error"} 1.0' in metrics.render().decode()
