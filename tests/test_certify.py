"""``groove-wallet certify``: every scenario passes against the real server (SQLite and
PostgreSQL); against deliberately broken wallets it fails exactly the scenarios the bug breaks.

The servers are real: ``groove-wallet serve`` as a subprocess, or the real app (with one bug
swapped into its service) on a 127.0.0.1 socket; certify runs as the real command line.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from groove_adapter.groove import signed_payload
from groove_client import certify
from tests import pgutil
from tests.broken_wallet import (
    ADMIN_TOKEN as BROKEN_TOKEN,
)
from tests.broken_wallet import (
    DoubleDebitOnDuplicate,
    SessionCheckedOnSettling,
    broken_app,
    serve,
)
from tests.test_cli import ADMIN_TOKEN, CLI, COMMAND_TIMEOUT, ROOT, Server, clean_env, run
from wallet_store.postgres.store import PostgresStore
from wallet_store.service import WalletService, signature_for

ALL = {s.id for s in certify.SCENARIOS}
ADMIN_ONLY = {s.id for s in certify.SCENARIOS if "admin" in s.needs or "logged_out" in s.needs}


async def certify_cli(*args: str) -> tuple[int, str, str]:
    """The real command line, without blocking this event loop (it may be serving the target)."""
    proc = await asyncio.create_subprocess_exec(
        *CLI,
        "certify",
        *args,
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    try:
        yield s
    finally:
        s.stop()


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["status"] for s in report["scenarios"]}


# --------------------------------------------------------------------------- the real server


async def test_certify_passes_against_the_real_server(tmp_path: Path, server: Server) -> None:
    db = f"sqlite:///{tmp_path / 'data' / 'wallet.db'}"
    base = server.start(db)
    async with aiohttp.ClientSession() as http:
        await server.wait_healthy(http)
    junit = tmp_path / "certify.xml"
    rc, out, err = await certify_cli(
        "--url", f"{base}/groove", "--admin-token", ADMIN_TOKEN, "--format", "junit", "--output", str(junit)
    )
    assert rc == 0, f"{out}\n{err}\n{junit.read_text() if junit.exists() else ''}"
    assert f"{len(ALL)} passed, 0 failed, 0 skipped" in err

    suites = ET.parse(junit).getroot()
    assert suites.tag == "testsuites"
    (suite,) = suites.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (str(len(ALL)), "0", "0")
    cases = suite.findall("testcase")
    assert {c.get("name") for c in cases} == ALL
    assert all(c.find("failure") is None and c.find("skipped") is None for c in cases)
    # each case carries the requests it sent and the replies it got
    dup = next(c for c in cases if c.get("name") == "idempotency.wager.duplicate")
    out_text = dup.findtext("system-out") or ""
    assert "request=wager" in out_text
    assert certify.DUP in out_text
    assert out_text.count("-> GET") >= 3  # getbalance, wager, wager again, getbalance

    # the books still balance after everything certify did
    server.stop()
    assert "OK" in run("audit", "--database", db).stdout


async def test_certify_with_arguments_only(tmp_path: Path) -> None:
    """Against a wallet whose admin API certify cannot use: setup comes from the arguments."""
    app = broken_app(tmp_path)  # the real service: no bug
    async with serve(app) as base, aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {BROKEN_TOKEN}"}

        async def admin(path: str, body: dict[str, Any]) -> Any:
            async with http.post(base + path, json=body, headers=auth) as resp:
                assert resp.status == 201, await resp.text()
                return await resp.json()

        await admin(
            "/admin/operators",
            {"operator_id": "77", "name": "Other Casino", "currency": "GBP", "signature_secret": "s3cret-s3cret"},
        )
        for acct, real in (("4001", "500"), ("4002", "0")):
            await admin(
                "/admin/players",
                {
                    "operator_id": "77",
                    "account_id": acct,
                    "name": "P",
                    "country": "GB",
                    "city": "Leeds",
                    "real_balance": real,
                    "bonus_balance": "0",
                },
            )
        s1 = (await admin("/admin/sessions", {"account_id": "4001"}))["gamesessionid"]
        s2 = (await admin("/admin/sessions", {"account_id": "4002"}))["gamesessionid"]
        dead = (await admin("/admin/sessions", {"account_id": "4001", "ttl_seconds": 1}))["gamesessionid"]
        await admin("/admin/players/4001/free-rounds", {"frbid": "frb-77", "pays_into": "bonus"})
        await asyncio.sleep(1.1)  # the session must expire: real time, a real server

        common = ["--url", f"{base}/groove", "--account", "4001", "--session", s1, "--format", "json"]
        rc, out, err = await certify_cli(
            *common,
            "--secret",
            "s3cret-s3cret",
            "--second-account",
            "4002",
            "--second-session",
            s2,
            "--expired-session",
            dead,
            "--frbid",
            "frb-77",
            "--game",
            "slot-abc",
            "--device",
            "mobile",
        )
        assert rc == 0, out + err
        st = statuses(json.loads(out))
        assert {i for i, s in st.items() if s == "skip"} == ADMIN_ONLY
        assert {i for i, s in st.items() if s == "pass"} == ALL - ADMIN_ONLY

        # without the secret, a signing operator is a setup error (exit 2), not 100 failures
        with pytest.raises(certify.CertifyError, match="--secret"):
            await certify.run_certify(certify.Config(url=f"{base}/groove", account="4001", session=s1))

        # --require-all: a skipped scenario (here: no --frbid given) fails the run
        rc, out, err = await certify_cli(*common, "--secret", "s3cret-s3cret", "--only", "freerounds", "--require-all")
        assert rc == 1, out + err
        assert set(statuses(json.loads(out)).values()) == {"skip"}


# The rules whose enforcement lives in the store (row locks, unique keys, remembered
# refusals, exact NUMERIC).  The whole run on PostgreSQL costs ~10 s of fsyncs; this ~2 s.
PG_SUBSET = [
    "idempotency.*.duplicate",
    "idempotency.wager.mismatch_*",
    "concurrency",
    "funds.concurrent_spend",
    "funds.refusal_remembered",
    "rollback.before_wager",
    "rollback.refused_wager",
    "rollback.mixed_split",
    "rollback.wrong_round",
    "rollback.reversewin_*",
    "rounds.result_on_closed",
    "decimal.smallest_unit",
    "decimal.large_exact",
]


@pytest.mark.postgres
async def test_certify_passes_on_postgresql(tmp_path: Path, pg_run_database: str) -> None:
    store = PostgresStore(pg_run_database, schema=pgutil.new_schema_name(), min_size=1, max_size=8)
    async with serve(broken_app(tmp_path, store=store)) as base:  # the real app, no bug, on PostgreSQL
        only = [a for p in PG_SUBSET for a in ("--only", p)]
        rc, out, err = await certify_cli("--url", f"{base}/groove", "--admin-token", BROKEN_TOKEN, *only)
    assert rc == 0, out + err
    expected = len(certify.selected(PG_SUBSET))
    assert expected >= 20
    assert f"{expected} passed, 0 failed, 0 skipped" in out


# --------------------------------------------------------------------------- broken wallets

DOUBLE_DEBIT_BREAKS = {
    "idempotency.wager.duplicate",
    "concurrency.wager.copies",
    "idempotency.wagerbybatch.duplicate",
}
SESSION_CHECK_BREAKS = {
    *(f"expiry.{r}.{k}" for r in certify.SETTLING for k in ("expired", "logged_out")),
    "expiry.result.unknown_account",  # 1000 instead of 110
    "expiry.result.foreign_session",  # 1000 instead of 110
}


@pytest.mark.parametrize(
    ("bug", "breaks", "evidence"),
    [
        (DoubleDebitOnDuplicate, DOUBLE_DEBIT_BREAKS, "money must move once"),
        (SessionCheckedOnSettling, SESSION_CHECK_BREAKS, "got 1000"),
    ],
    ids=["double-debit-on-duplicate", "session-checked-on-settling"],
)
async def test_certify_catches_a_broken_wallet(
    tmp_path: Path, bug: type[WalletService], breaks: set[str], evidence: str
) -> None:
    assert breaks <= ALL
    async with serve(broken_app(tmp_path, bug)) as base:
        rc, out, err = await certify_cli(
            "--url", f"{base}/groove", "--admin-token", BROKEN_TOKEN, "--format", "json", "--concurrency", "10"
        )
    assert rc == 1, err
    report = json.loads(out)
    st = statuses(report)
    failed = {i for i, s in st.items() if s == "fail"}
    assert failed == breaks, f"unexpected: {failed - breaks}, missed: {breaks - failed}"
    assert {i for i, s in st.items() if s == "pass"} == ALL - breaks
    assert report["summary"]["failed"] == len(breaks)
    for s in report["scenarios"]:
        if s["status"] == "fail":
            # the report shows why, with the request that exposed it and the reply
            assert s["message"]
            assert s["exchanges"]
            assert any(e["reply"] for e in s["exchanges"])
    messages = " | ".join(s["message"] for s in report["scenarios"] if s["status"] == "fail")
    assert evidence in messages
    for s in report["scenarios"]:
        for e in s["exchanges"]:
            assert e["http_status"] == 200
            assert e["url"].startswith(f"{base}/groove?request=")
            assert isinstance(json.loads(e["reply"])["code"], int)
            assert BROKEN_TOKEN not in json.dumps(e)


async def test_double_debit_is_shown_with_its_balances(tmp_path: Path) -> None:
    """The text report of the failure names the balance difference, the requests and the replies."""
    async with serve(broken_app(tmp_path, DoubleDebitOnDuplicate)) as base:
        cfg = certify.Config(url=f"{base}/groove", admin_token=BROKEN_TOKEN, only=["idempotency.wager.duplicate"])
        report = await certify.run_certify(cfg)
    text = certify.render_text(report)
    assert "FAIL  idempotency.wager.duplicate" in text
    assert "money must move once" in text
    assert "(difference real -1.1 + bonus 0)" in text
    assert text.count("-> GET") == 4
    assert text.count("<- HTTP 200") == 4
    assert "rule: Idempotency" in text
    assert "0 passed, 1 failed, 0 skipped of 1 scenarios" in text


# --------------------------------------------------------------------------- setup errors, in process


async def test_setup_errors_are_reported_not_scenarios(tmp_path: Path) -> None:
    async with serve(broken_app(tmp_path)) as base:
        with pytest.raises(certify.CertifyError, match="HTTP 401"):
            await certify.run_certify(certify.Config(url=f"{base}/groove", admin_token="wrong-token"))
        with pytest.raises(certify.CertifyError, match="--account and --session"):
            await certify.run_certify(certify.Config(url=f"{base}/groove"))
        with pytest.raises(certify.CertifyError, match="need a live session"):
            await certify.run_certify(certify.Config(url=f"{base}/groove", account="1", session="11_nope"))
        with pytest.raises(certify.CertifyError, match="no scenario matches"):
            await certify.run_certify(
                certify.Config(url=f"{base}/groove", admin_token=BROKEN_TOKEN, only=["no-such-scenario"])
            )
    with pytest.raises(certify.CertifyError):
        await certify.run_certify(certify.Config(url=f"{base}/groove", account="1", session="1_x", timeout=2))


# --------------------------------------------------------------------------- pieces


def test_signature_matches_the_services_own() -> None:
    params = {
        "request": "getbalance",
        "accountid": "5179068",
        "gamesessionid": "11_abc",
        "device": "desktop",
        "nogsgameid": "80102",
        "apiversion": "1.2",
    }
    assert certify.signature("k3y", params) == signature_for("k3y", signed_payload(params))


def test_reply_numbers_outside_decimal_32_10_are_flagged() -> None:
    body, bad = certify.parse_reply('{"a": 1e-10, "b": 0.00000000001, "c": 12345678901234567890123, "d": 140.25}')
    assert body["d"] == Decimal("140.25")
    assert len(bad) == 3
    assert certify.parse_reply('{"balance": 100, "x": 0.0000000001}')[1] == []


def test_scenario_ids_are_unique_and_cover_every_rule_family() -> None:
    ids = [s.id for s in certify.SCENARIOS]
    assert len(ids) == len(set(ids))
    families = {s.category for s in certify.SCENARIOS}
    assert families == {
        "fields",
        "session",
        "expiry",
        "funds",
        "idempotency",
        "concurrency",
        "rounds",
        "rollback",
        "freerounds",
        "signature",
        "decimal",
        "transport",
    }
    for request in (*certify.MONEY_REQUESTS, "wagerbybatch"):
        for case in ("duplicate", "mismatch_amount", "mismatch_account"):
            assert f"idempotency.{request}.{case}" in ids
        assert f"fields.{request}" in ids
    for request in certify.SETTLING:
        assert f"expiry.{request}.expired" in ids


def test_reports_render_and_parse() -> None:
    ex = certify.Exchange("GET", "http://w/groove?request=wager&a=<1>", {}, None, 200, '{"code":200}', 1.5)
    results = [
        certify.ScenarioResult("a.one", "a", "first", "rule 1", "pass", "", 0.1, [ex]),
        certify.ScenarioResult("a.two", "a", "second", "rule 2", "fail", "balance is <wrong> & off", 0.2, [ex]),
        certify.ScenarioResult("b.three", "b", "third", "rule 3", "skip", "needs --secret"),
    ]
    report = certify.Report("http://w/groove", "arguments", "2026-01-01T00:00:00+00:00", 0.5, results)
    assert not report.ok
    data = json.loads(certify.render(report, "json"))
    assert data["summary"] == {"total": 3, "passed": 1, "failed": 1, "skipped": 1}
    root = ET.fromstring(certify.render(report, "junit"))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = root.find(".//testcase[@name='a.two']/failure")
    assert failure is not None
    assert failure.get("message") == "balance is <wrong> & off"
    assert "request=wager&a=<1>" in (failure.text or "")
    assert root.find(".//testcase[@name='b.three']/skipped") is not None
    text = certify.render(report, "text")
    assert "FAIL  a.two" in text
    assert "balance is <wrong> & off" in text
    assert "-> GET http://w/groove" in text
    assert "1 passed, 1 failed, 1 skipped of 3 scenarios" in text
