"""Health, readiness, Prometheus metrics and the structured access log, through HTTP."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from groove_adapter.groove import signed_payload
from groove_adapter.jsonout import loads
from tests.conftest import ADMIN_TOKEN, Api
from wallet_store.service import signature_for

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text: str, name: str) -> list[tuple[dict[str, str], Decimal]]:
    """Samples of one metric from the Prometheus text format; values as exact Decimals."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line.strip())
        if m and m.group(1) == name:
            labels = dict(_LABEL.findall(m.group(2) or ""))
            out.append((labels, Decimal(m.group(3))))
    return out


def value(text: str, name: str, **labels: str) -> Decimal:
    found = [v for lab, v in samples(text, name) if all(lab.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, (name, labels, samples(text, name))
    return found[0]


async def metrics_text(client: TestClient) -> str:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.content_type.startswith("text/plain")
    return await resp.text()


# --------------------------------------------------------------------------- health


async def test_healthz(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert loads(await resp.text()) == {"status": "ok"}


async def test_readyz_when_store_open(client: TestClient) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert loads(await resp.text()) == {"status": "ready"}


async def test_health_needs_no_token(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status == 200


# --------------------------------------------------------------------------- metrics


async def test_metrics_after_getbalance(api: Api, client: TestClient, seeded: dict[str, str]) -> None:
    assert (await api.groove("getbalance", nogsgameid="80102", **seeded))["code"] == 200
    assert (await api.groove("getbalance", nogsgameid="80102", **seeded))["code"] == 200
    assert (await api.groove("getbalance", nogsgameid="80102", **(seeded | {"gamesessionid": "11_x"})))["code"] == 1000
    assert (await api.groove("getaccount", **seeded))["code"] == 200
    text = await metrics_text(client)

    assert value(text, "gw_requests_total", face="groove", request="getbalance", code="200") == 2
    assert value(text, "gw_requests_total", face="groove", request="getbalance", code="1000") == 1
    assert value(text, "gw_requests_total", face="groove", request="getaccount", code="200") == 1
    assert "# TYPE gw_requests_total counter" in text or "# TYPE gw_requests counter" in text

    # latency histogram per request type
    assert "# TYPE gw_request_seconds histogram" in text
    assert value(text, "gw_request_seconds_count", face="groove", request="getbalance") == 3
    assert value(text, "gw_request_seconds_bucket", face="groove", request="getbalance", le="+Inf") == 3
    assert value(text, "gw_request_seconds_sum", face="groove", request="getbalance") >= 0

    # store latency
    assert "# TYPE gw_store_seconds histogram" in text
    reads = value(text, "gw_store_seconds_count", op="read")
    writes = value(text, "gw_store_seconds_count", op="write")
    assert reads >= 3  # the getbalance calls
    assert writes >= 4  # operator, player, session, getaccount's last-active bump


async def test_metrics_count_unknown_requests_and_admin_calls(api: Api, client: TestClient) -> None:
    await api.operator("11")
    resp = await client.get("/groove?request=nosuchthing&accountid=1")
    assert loads(await resp.text())["code"] == 1008
    text = await metrics_text(client)
    assert value(text, "gw_requests_total", face="groove", request="unknown", code="1008") == 1
    # the raw unknown name does not become a label (bounded cardinality)
    assert "nosuchthing" not in text
    admin = [lab for lab, _ in samples(text, "gw_requests_total") if lab.get("face") == "admin"]
    assert any(lab.get("code") == "201" for lab in admin), admin
    # path parameters are not labels either
    await api.admin("GET", "/admin/players/987654321", expect=404)
    assert "987654321" not in await metrics_text(client)


async def test_metrics_never_expose_secrets(api: Api, client: TestClient) -> None:
    await api.operator("11", signature_secret="operator-signing-secret")
    await api.player("5179068")
    text = await metrics_text(client)
    assert ADMIN_TOKEN not in text
    assert "operator-signing-secret" not in text
    assert "p5179068@example.com" not in text


async def test_readiness_gauge(client: TestClient) -> None:
    text = await metrics_text(client)
    assert value(text, "gw_ready") == 1


# --------------------------------------------------------------------------- access log


def access_entries(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == "request"]


async def test_access_log_line_for_getbalance(api: Api, client: TestClient, seeded: dict[str, str]) -> None:
    with capture_logs() as logs:
        resp = await client.get(
            "/groove",
            params={"request": "getbalance", "nogsgameid": "80102", **seeded},
            headers={"X-Request-Id": "req-obs-1"},
        )
        assert resp.status == 200
        assert resp.headers["X-Request-Id"] == "req-obs-1"
    entries = access_entries(logs)
    assert len(entries) == 1, logs
    e = entries[0]
    assert e["request_id"] == "req-obs-1"
    assert e["request"] == "getbalance"
    assert e["account"] == "5179068"
    assert e["code"] == 200
    assert e["face"] == "groove"
    assert isinstance(e["duration_ms"], int | float)
    assert not isinstance(e["duration_ms"], bool)
    assert e["log_level"] == "info"


async def test_access_log_has_a_request_id_when_none_given(
    api: Api, client: TestClient, seeded: dict[str, str]
) -> None:
    with capture_logs() as logs:
        r1 = await client.get("/groove", params={"request": "getaccount", **seeded})
        r2 = await client.get("/groove", params={"request": "getaccount", **seeded})
    entries = access_entries(logs)
    assert len(entries) == 2
    ids = [e["request_id"] for e in entries]
    assert all(ids)
    assert ids[0] != ids[1]
    assert [r1.headers["X-Request-Id"], r2.headers["X-Request-Id"]] == ids


async def test_access_log_for_a_refused_request(api: Api, client: TestClient, seeded: dict[str, str]) -> None:
    with capture_logs() as logs:
        body = await api.groove("getbalance", nogsgameid="80102", **(seeded | {"gamesessionid": "11_nope"}))
    assert body["code"] == 1000
    (e,) = access_entries(logs)
    assert (e["request"], e["account"], e["code"]) == ("getbalance", "5179068", 1000)
    assert e["request_id"]
    assert "duration_ms" in e


async def test_access_log_has_no_token_and_no_email(api: Api, client: TestClient) -> None:
    email = "secret.person@example.com"
    with capture_logs() as logs:
        await api.operator("11", signature_secret="operator-signing-secret")
        await api.player("5179068", email=email)
        sid = await api.session("5179068")
        await api.admin("GET", "/admin/players/5179068", expect=200)
        await client.get("/admin/players/5179068", headers={"Authorization": "Bearer wrong-token-value"})
        params = {"accountid": "5179068", "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"}
        signature = signature_for("operator-signing-secret", signed_payload(params))
        assert (await api.groove("getaccount", headers={"X-Groove-Signature": signature}, **params))["code"] == 200
        assert (await api.groove("getaccount", headers={"X-Groove-Signature": "00" * 32}, **params))["code"] == 1001
    entries = access_entries(logs)
    assert len(entries) >= 7
    dump = repr(logs)
    assert ADMIN_TOKEN not in dump
    assert "wrong-token-value" not in dump
    assert "operator-signing-secret" not in dump
    assert email not in dump
    assert signature not in dump
    for e in entries:
        assert e["request_id"]
        assert "duration_ms" in e


async def test_access_log_does_not_echo_a_malformed_account_id(api: Api, seeded: dict[str, str]) -> None:
    """An e-mail address sent as ``accountid`` (malformed: 1008) must not land raw in the log."""
    email = "someone.private@example.com"
    with capture_logs() as logs:
        body = await api.groove("getbalance", nogsgameid="80102", **(seeded | {"accountid": email}))
    assert body["code"] == 1008
    (e,) = access_entries(logs)
    assert e["code"] == 1008
    assert e["request"] == "getbalance"
    assert email not in repr(logs)


async def test_rounds_open_gauge_counts_wagers_without_a_completed_result(
    api: Api, client: TestClient, seeded: dict[str, str]
) -> None:
    for rnd in ("r1", "r2"):
        body = await api.groove("wager", gameid="g", roundid=rnd, transactionid=f"w-{rnd}", betamount="1", **seeded)
        assert body["code"] == 200
    body = await api.groove(
        "result", gameid="g", roundid="r1", transactionid="res-r1", result="0", gamestatus="completed", **seeded
    )
    assert body["code"] == 200
    text = await (await client.get("/metrics")).text()
    assert "gw_rounds_open 1.0" in text


async def test_ledger_metric_counts_committed_changes_from_every_face(
    api: Api, client: TestClient, seeded: dict[str, str]
) -> None:
    """gw_ledger_moved_total comes from the journal entries of committed writes: /groove, REST
    and admin alike; a refused request adds nothing."""
    await api.groove("wager", **seeded, gameid="g", roundid="r1", transactionid="w1", betamount="10")
    refused = await api.groove("wager", **seeded, gameid="g", roundid="r2", transactionid="w2", betamount="1000")
    assert refused["code"] == 1006
    await api.admin(
        "POST",
        "/admin/players/5179068/adjust",
        {"currency": "EUR", "real": "2.5", "reason": "goodwill", "idempotency_key": "a1"},
        expect=201,
    )
    game = await api.admin("POST", "/admin/games", {"operator_id": "11", "game_id": "g1", "name": "G"}, expect=201)
    resp = await client.post(
        "/api/player-balances/credit",
        json={"player_id": "5179068", "currency": "EUR", "amount": "4", "idempotency_key": "c1"},
        headers={"X-Game-Secret-Key": game["secret_key"]},
    )
    assert resp.status == 200
    text = await (await client.get("/metrics")).text()

    def value(kind: str, direction: str) -> Decimal:  # Prometheus text, read exactly
        m = re.search(rf'gw_ledger_moved_total{{currency="EUR",direction="{direction}",kind="{kind}"}} (\S+)', text)
        assert m is not None, (kind, direction, text)
        return Decimal(m.group(1))

    assert value("wager", "debit") == Decimal(10)
    assert value("adjust", "credit") == Decimal("2.5")
    assert value("api_credit", "credit") == Decimal(4)
    assert value("initial", "credit") == Decimal(150)  # the seeded opening balance


async def test_fast_access_log_line_is_what_the_structlog_chain_renders(
    api: Api, client: TestClient, seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``groove-wallet serve`` writes success lines without structlog's chain: the same JSON
    object (keys, order, values) the configured chain renders, one line per request."""
    import io
    import json

    import structlog

    from groove_adapter import observability
    from groove_adapter.observability import LineWriter

    out = io.StringIO()
    monkeypatch.setattr(observability, "_fast_access", LineWriter(out))
    params = {"request": "getbalance", "nogsgameid": "80102", **seeded}
    resp = await client.get("/groove", params=params, headers={"X-Request-Id": "fast-1"})
    assert resp.status == 200
    observability._fast_access.flush()  # type: ignore[union-attr]
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines
    fast = json.loads(lines[0])

    chain = structlog.processors.JSONRenderer()
    stamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    fields = {k: v for k, v in fast.items() if k not in ("event", "level", "timestamp")}
    reference = chain(
        None,
        "info",
        stamper(None, "info", structlog.processors.add_log_level(None, "info", {**fields, "event": "request"})),
    )
    ref = json.loads(reference)
    assert list(fast) == list(ref)
    assert {k: v for k, v in fast.items() if k != "timestamp"} == {k: v for k, v in ref.items() if k != "timestamp"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", fast["timestamp"]), fast["timestamp"]
    assert fast["request_id"] == "fast-1"
    assert fast["request"] == "getbalance"
    assert fast["code"] == 200
