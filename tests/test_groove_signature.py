"""Forging X-Groove-Signature by moving characters between values (issue #14, defect 2).

Groove's "concat" scheme signs the parameter values concatenated without separators, so a
captured signed ``jackpot … amount=10&apiversion=1.2&roundid=77&transactionid=j1`` replayed
as ``amount=101&apiversion=.2&roundid=77j&transactionid=1`` keeps its signature.  Strict
formats make that exact forgery (and most shifts) a 1008; an operator on the "pairs" scheme
(HMAC over the sorted ``name=value`` pairs joined with ``&``) refuses every shift or
re-split: 1008 when the result is malformed, else 1001.  Also wagerbybatch (defect 8): the
body may not name another game than the signed query, and ``request_id`` is required.

The signatures are computed here independently of the service (the README's recipe).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import random
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient

from groove_adapter import groove
from groove_adapter.jsonout import dumps, loads
from groove_adapter.schemas import groove as wire
from tests.conftest import Api
from wallet_store import errors as E
from wallet_store.model import Operator

SECRET = "s3cr3t-signing-key"
ACCT = "2201"
README = Path(__file__).resolve().parent.parent / "README.md"


def concat_sig(params: dict[str, str], secret: str = SECRET) -> str:
    renamed = [("gameid" if k == "nogsgameid" else k, v) for k, v in params.items() if k != "request"]
    payload = "".join(v for _, v in sorted(renamed))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def pairs_sig(params: dict[str, str], secret: str = SECRET) -> str:
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


async def _send(api: Api, params: dict[str, str], sig: str) -> dict[str, Any]:
    resp = await api.client.get("/groove?" + urlencode(params), headers={"X-Groove-Signature": sig})
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = loads(await resp.text())
    return body


async def _signed_player(api: Api, scheme: str | None) -> dict[str, str]:
    """Operator 22 signing with ``scheme`` (None: the default), player 2201 (real 100, bonus 0)."""
    extra = {} if scheme is None else {"signature_scheme": scheme}
    await api.operator("22", signature_secret=SECRET, **extra)
    await api.player(ACCT, operator_id="22", real="100", bonus="0", email="s@example.com")
    sid = await api.session(ACCT)
    return {"accountid": ACCT, "gamesessionid": sid, "device": "desktop", "apiversion": "1.2"}


def _jackpot(common: dict[str, str]) -> dict[str, str]:
    return {
        "request": "jackpot",
        **common,
        "gameid": "80102",
        "amount": "10",
        "roundid": "77",
        "transactionid": "j1",
        "gamestatus": "completed",
    }


FORGERY = {"amount": "101", "apiversion": ".2", "roundid": "77j", "transactionid": "1"}


# --------------------------------------------------------------------------- the forgery


@pytest.mark.parametrize("scheme", [None, "concat", "pairs"])
async def test_the_jackpot_forgery_fails_with_both_schemes(api: Api, scheme: str | None) -> None:
    common = await _signed_player(api, scheme)
    genuine = _jackpot(common)
    sig = pairs_sig(genuine) if scheme == "pairs" else concat_sig(genuine)
    forged = genuine | FORGERY
    if scheme != "pairs":
        assert concat_sig(forged) == sig  # the concatenation is the same: only the formats stop it
    body = await _send(api, forged, sig)
    assert (body["code"], body["status"]) == (1008, "Parameter required"), body
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))
    # nothing was remembered: the genuine request credits 10, once
    body = await _send(api, genuine, sig)
    assert (body["code"], body["status"]) == (200, "Success"), body
    assert await api.balances(ACCT) == (Decimal("110"), Decimal("0"))


async def test_the_forgery_with_a_well_formed_apiversion_fails_with_pairs(api: Api) -> None:
    """Under "pairs" a re-split that keeps every format valid is still refused: 1001."""
    common = await _signed_player(api, "pairs")
    genuine = _jackpot(common)
    forged = genuine | {"roundid": "77j", "transactionid": "1"}  # "77"+"j1" -> "77j"+"1"
    body = await _send(api, forged, pairs_sig(genuine))
    assert (body["code"], body["status"]) == (1001, "Invalid signature"), body
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))


# --------------------------------------------------------------------------- every shift, pairs scheme


def _shifts(params: dict[str, str]) -> list[dict[str, str]]:
    """Every re-split of each two values adjacent in name order (what both schemes sort by):
    each boundary moved by any number of characters either way, empty values included."""
    names = sorted(params)
    out = []
    for left, right in itertools.pairwise(names):
        joint = params[left] + params[right]
        for cut in range(len(joint) + 1):
            if cut != len(params[left]):
                out.append(params | {left: joint[:cut], right: joint[cut:]})
    return out


def _resplits(params: dict[str, str], count: int = 150) -> list[dict[str, str]]:
    """Re-splits of the whole concatenation (name order) at new cut points, several at once
    (deterministic: a fixed seed), each value back under its own name."""
    rng = random.Random(14)
    names = sorted(params)
    joint = "".join(params[k] for k in names)
    out: list[dict[str, str]] = []
    while len(out) < count:
        cuts = [0, *sorted(rng.randint(0, len(joint)) for _ in names[1:]), len(joint)]
        q = {k: joint[a:b] for k, a, b in zip(names, cuts, cuts[1:], strict=False)}
        if q != params:
            out.append(q)
    return out


def _well_formed(q: dict[str, str]) -> bool:
    if q["request"] != "jackpot":
        return False
    try:
        wire.validate(wire.JackpotQ, q)
    except E.ParameterRequired:
        return False
    return True


async def test_no_shift_or_resplit_passes_the_pairs_scheme(api: Api) -> None:
    common = await _signed_player(api, "pairs")
    genuine = _jackpot(common)
    sig = pairs_sig(genuine)
    shifted = _shifts(genuine) + _resplits(genuine)
    refused = {1001: 0, 1008: 0, 110: 0}
    for q in shifted:
        if not _well_formed(q):
            want = (1008, "Parameter required")
        elif q["accountid"] != ACCT:  # no such account, so no operator whose secret could check it
            want = (110, "Operation not allowed")
        else:
            want = (1001, "Invalid signature")
        body = await _send(api, q, sig)
        assert (body["code"], body["status"]) == want, (q, body)
        refused[want[0]] += 1
    assert refused[1001] >= 40, refused  # the signature itself refused these, not the formats
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))
    body = await _send(api, genuine, sig)  # nothing remembered: the genuine one credits once
    assert (body["code"], body["status"]) == (200, "Success"), body
    assert await api.balances(ACCT) == (Decimal("110"), Decimal("0"))


async def test_pairs_covers_names_and_the_request_kind(api: Api) -> None:
    """The same values under other names, or as another request kind, are 1001 (concat does
    not cover names: that is part of its residual risk)."""
    common = await _signed_player(api, "pairs")
    genuine = _jackpot(common)
    sig = pairs_sig(genuine)
    as_result = {k: v for k, v in genuine.items() if k != "amount"} | {"request": "result", "result": "10"}
    body = await _send(api, as_result, sig)
    assert (body["code"], body["status"]) == (1001, "Invalid signature"), body
    body = await _send(api, genuine, concat_sig(genuine))  # the other scheme's signature
    assert (body["code"], body["status"]) == (1001, "Invalid signature"), body
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))


@pytest.mark.parametrize("name", ["transactionid", "zz", "a&b"])
async def test_ampersand_or_equals_in_a_parameter_is_refused(api: Api, name: str) -> None:
    """No name or value may hold ``&`` or ``=``: a pair then splits one way only."""
    common = await _signed_player(api, "pairs")
    forged = _jackpot(common) | {name: "j1&roundid=78"}
    body = await _send(api, forged, pairs_sig(forged))
    assert (body["code"], body["status"]) == (1008, "Parameter required"), body
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))


async def test_concat_residual_risk_is_as_documented(api: Api) -> None:
    """docs/security.md, "Residual risk of concat": a shift that keeps every format valid still
    verifies under concat: why "pairs" is recommended (where every such shift is 1001)."""
    common = await _signed_player(api, None)
    genuine = _jackpot(common) | {"amount": "10.5", "apiversion": "12", "transactionid": "j2"}
    forged = genuine | {"amount": "10.51", "apiversion": "2"}
    body = await _send(api, forged, concat_sig(genuine))
    assert (body["code"], body["realMoneyWin"]) == (200, Decimal("10.51")), body


async def test_concat_operators_keep_working(api: Api) -> None:
    """The default scheme is Groove's: existing integrations keep their signatures."""
    common = await _signed_player(api, None)
    op = await api.admin("GET", "/admin/operators/22", expect=200)
    assert op["signature_scheme"] == "concat"
    q = {"request": "getbalance", **common, "nogsgameid": "80102"}
    body = await _send(api, q, concat_sig(q))
    assert body["code"] == 200, body
    body = await _send(api, q, pairs_sig(q))
    assert (body["code"], body["status"]) == (1001, "Invalid signature"), body


async def test_admin_sets_and_shows_the_scheme(api: Api) -> None:
    created = await api.operator("23", signature_secret=SECRET, signature_scheme="pairs")
    assert created["signature_scheme"] == "pairs"
    assert (await api.admin("GET", "/admin/operators/23", expect=200))["signature_scheme"] == "pairs"
    bad = {"operator_id": "24", "name": "C", "currency": "EUR", "signature_scheme": "values"}
    refused = await api.admin("POST", "/admin/operators", bad, expect=400)
    assert refused["fields"][0]["field"] == "signature_scheme", refused


async def test_admin_moves_an_operator_to_pairs_and_rotates_its_secret(api: Api) -> None:
    """PUT /admin/operators/{id}/signature: the next request is checked with the new secret
    and scheme; the old signature stops working at once."""
    common = await _signed_player(api, None)
    q = {"request": "getbalance", **common, "nogsgameid": "80102"}
    assert (await _send(api, q, concat_sig(q)))["code"] == 200
    new_secret = "n3w-s3cr3t-signing-key"
    body = {"signature_secret": new_secret, "signature_scheme": "pairs"}
    updated = await api.admin("PUT", "/admin/operators/22/signature", body, expect=200)
    assert (updated["signature_scheme"], updated["signature_enabled"]) == ("pairs", True), updated
    assert new_secret not in dumps(updated)
    assert (await api.admin("GET", "/admin/operators/22", expect=200))["signature_scheme"] == "pairs"
    for stale in (concat_sig(q), pairs_sig(q), concat_sig(q, new_secret)):
        assert (await _send(api, q, stale))["code"] == 1001
    assert (await _send(api, q, pairs_sig(q, new_secret)))["code"] == 200
    # both fields are required; an unknown operator is 404, a bad scheme 400
    await api.admin("PUT", "/admin/operators/22/signature", {"signature_scheme": "pairs"}, expect=400)
    await api.admin("PUT", "/admin/operators/nope/signature", body, expect=404)
    bad = {"signature_secret": new_secret, "signature_scheme": "values"}
    await api.admin("PUT", "/admin/operators/22/signature", bad, expect=400)
    # null switches the check off (an operator relying on its IP allow-list alone)
    off = await api.admin(
        "PUT", "/admin/operators/22/signature", {"signature_secret": None, "signature_scheme": "pairs"}
    )
    assert off["signature_enabled"] is False
    assert (await _send(api, q, "not-a-signature"))["code"] == 200


# --------------------------------------------------------------------------- strict formats


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("amount", "10.0"),
        ("amount", "010"),
        ("amount", "-0"),
        ("amount", "10."),
        ("apiversion", ".2"),
        ("apiversion", "01.2"),
        ("apiversion", "1.2-beta"),
        ("roundid", "7 7"),
        ("roundid", "77+"),
        ("transactionid", "j%1"),
        ("gamesessionid", "22_é"),
        ("gamestatus", "completed!"),
    ],
)
async def test_malformed_signed_parameters_are_1008(api: Api, name: str, value: str) -> None:
    common = await _signed_player(api, None)
    q = _jackpot(common) | {name: value}
    body = await _send(api, q, concat_sig(q))  # correctly signed: the format alone refuses it
    assert (body["code"], body["status"]) == (1008, "Parameter required"), body
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))


@pytest.mark.parametrize("amount", ["0.0000000001", "140.25", "100", "1234567890123456789012.0123456789"])
async def test_canonical_amounts_are_accepted(api: Api, amount: str) -> None:
    common = await _signed_player(api, None)
    q = _jackpot(common) | {"amount": amount, "roundid": "r:1|a@b/c~d_e-f.g"}
    body = await _send(api, q, concat_sig(q))
    assert (body["code"], body["realMoneyWin"]) == (200, Decimal(amount)), body


# --------------------------------------------------------------------------- README worked example


def test_readme_worked_example_is_right() -> None:
    """The README's "pairs" example: its payload and signature are what this recipe gives."""
    params = {
        "request": "wager",
        "accountid": "5179068",
        "gamesessionid": "11_s1",
        "device": "desktop",
        "apiversion": "1.2",
        "gameid": "80102",
        "roundid": "r1",
        "transactionid": "t1",
        "betamount": "10",
    }
    text = README.read_text()
    payload = groove.signed_pairs(params)
    assert payload == "&".join(f"{k}={params[k]}" for k in sorted(params))
    assert payload in text
    assert pairs_sig(params, "my-operator-secret") in text
    assert concat_sig(params, "my-operator-secret") in text


# --------------------------------------------------------------------------- wagerbybatch (defect 8)


async def _batch(client: TestClient, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post(
        "/groove?" + urlencode(query),
        data=dumps(body),
        headers={"Content-Type": "application/json", "X-Groove-Signature": concat_sig(query)},
    )
    assert resp.status == 200, await resp.text()
    out: dict[str, Any] = loads(await resp.text())
    return out


def _batch_parts(common: dict[str, str], game: str = "80102") -> tuple[dict[str, str], dict[str, Any]]:
    query = {
        "request": "wagerbybatch",
        "request_id": "req-1",
        "gamesessionid": common["gamesessionid"],
        "gameid": "80102",
        "apiversion": "1.2",
    }
    body = {
        "account_id": ACCT,
        "game_id": game,
        "game_session_id": common["gamesessionid"],
        "device": "desktop",
        "bets": [{"transaction_id": "b1", "round_id": "r1", "amount": Decimal("10")}],
    }
    return query, body


async def test_wagerbybatch_body_game_must_be_the_signed_game(api: Api, client: TestClient) -> None:
    common = await _signed_player(api, None)
    query, body = _batch_parts(common, game="99999")
    out = await _batch(client, query, body)
    assert (out["code"], out["status"]) == (1008, "Parameter required"), out
    assert "game_id" in out["message"]
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))
    # nothing was remembered: the same bet under the signed game is debited once
    query, body = _batch_parts(common)
    out = await _batch(client, query, body)
    assert (out["code"], [b["code"] for b in out["bets"]]) == (200, [200]), out
    assert await api.balances(ACCT) == (Decimal("90"), Decimal("0"))


async def test_wagerbybatch_requires_request_id(api: Api, client: TestClient) -> None:
    common = await _signed_player(api, None)
    query, body = _batch_parts(common)
    del query["request_id"]
    out = await _batch(client, query, body)
    assert (out["code"], out["status"]) == (1008, "Parameter required"), out
    assert "request_id" in out["message"]
    assert await api.balances(ACCT) == (Decimal("100"), Decimal("0"))


# --------------------------------------------------------------------------- stored schemes


async def _v5_sqlite(path: Path) -> None:
    """A database at schema version 5 (before signature_scheme) holding one signing operator."""
    from wallet_store import money
    from wallet_store.sqlite.migrations import MIGRATIONS

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for version, sql in MIGRATIONS[:5]:
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, '2026-01-01T00:00:00Z')", (version,))
    zero = money.to_db(money.ZERO)
    conn.execute(
        "INSERT INTO operators VALUES ('22', 'Casino', 'EUR', 'cash_money', 'old-secret', '', ?, ?,"
        " '2026-01-01T00:00:00.000000Z')",
        (zero, zero),
    )
    conn.commit()
    conn.close()


async def test_an_existing_sqlite_database_upgrades_to_concat(tmp_path: Path) -> None:
    from wallet_store.service import WalletService
    from wallet_store.sqlite.store import SqliteStore

    path = tmp_path / "v5.db"
    await _v5_sqlite(path)
    store = SqliteStore(str(path))
    await store.open()
    try:
        svc = WalletService(store)
        assert (await svc.get_operator("22")).signature_scheme == "concat"
        await svc.create_operator(Operator("23", "New", "EUR", signature_secret=SECRET, signature_scheme="pairs"))
        assert (await svc.get_operator("23")).signature_scheme == "pairs"
    finally:
        await store.close()


@pytest.mark.postgres
async def test_an_existing_postgres_database_upgrades_to_concat(pg_run_database: str) -> None:
    import asyncpg

    from tests import pgutil
    from wallet_store.postgres.migrations import MIGRATIONS, quote_ident
    from wallet_store.postgres.store import PostgresStore
    from wallet_store.service import WalletService

    schema = pgutil.new_schema_name()
    conn = await asyncpg.connect(pg_run_database)
    try:
        await conn.execute(f"CREATE SCHEMA {quote_ident(schema)}; SET search_path TO {quote_ident(schema)}")
        await conn.execute(
            "CREATE TABLE schema_migrations"
            " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, sql in MIGRATIONS[:5]:
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        await conn.execute(
            "INSERT INTO operators VALUES ('22', 'Casino', 'EUR', 'cash_money', 'old-secret', '{}', 0, 0,"
            " '2026-01-01T00:00:00Z')"
        )
    finally:
        await conn.close()
    store = PostgresStore(pg_run_database, schema=schema, min_size=1, max_size=2)
    await store.open()
    try:
        svc = WalletService(store)
        assert (await svc.get_operator("22")).signature_scheme == "concat"
        await svc.create_operator(Operator("23", "New", "EUR", signature_secret=SECRET, signature_scheme="pairs"))
        assert (await svc.get_operator("23")).signature_scheme == "pairs"
    finally:
        await store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("old_source", [False, True], ids=["v6", "v5"])
async def test_migrate_data_copies_the_scheme(tmp_path: Path, old_source: bool) -> None:
    from tests import pgutil
    from tests.test_cli import run
    from wallet_store.postgres.store import PostgresStore
    from wallet_store.service import WalletService
    from wallet_store.sqlite.store import SqliteStore

    path = tmp_path / "source.db"
    if old_source:
        await _v5_sqlite(path)  # read as it is: migrate-data opens the source read-only
    else:
        src = SqliteStore(str(path))
        await src.open()
        try:
            svc = WalletService(src)
            await svc.create_operator(Operator("22", "Old", "EUR", signature_secret=SECRET))
            await svc.create_operator(Operator("23", "New", "EUR", signature_secret=SECRET, signature_scheme="pairs"))
        finally:
            await src.close()
    dsn = await pgutil.create_run_database()
    try:
        run("migrate-data", "--from", f"sqlite:///{path}", "--to", dsn)
        store = PostgresStore(dsn, min_size=1, max_size=2)
        await store.open()
        try:
            svc = WalletService(store)
            assert (await svc.get_operator("22")).signature_scheme == "concat"
            if not old_source:
                assert (await svc.get_operator("23")).signature_scheme == "pairs"
        finally:
            await store.close()
    finally:
        await pgutil.drop_database(dsn)


# --------------------------------------------------------------------------- certify and simulate sign "pairs"


def test_certify_and_simulate_sign_like_the_service() -> None:
    from groove_client import certify, simulate
    from wallet_store.service import signature_for

    params = _jackpot({"accountid": ACCT, "gamesessionid": "22_s", "device": "desktop", "apiversion": "1.2"})
    for scheme, payload in (("pairs", groove.signed_pairs(params)), ("concat", groove.signed_payload(params))):
        expected = signature_for(SECRET, payload)
        assert certify.signature(SECRET, params, scheme) == expected
        assert simulate._sign(SECRET, params, scheme) == expected
    assert pairs_sig(params) == signature_for(SECRET, groove.signed_pairs(params))


async def test_certify_and_simulate_run_with_the_pairs_scheme(tmp_path: Path) -> None:
    """The real command lines against the real server: an operator created on "pairs"."""
    import asyncio
    import json
    import subprocess

    import aiohttp

    from tests.test_cli import ADMIN_TOKEN, CLI, COMMAND_TIMEOUT, ROOT, Server, clean_env

    async def cli(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            *CLI, *args, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT)
        return int(proc.returncode or 0), out.decode(), err.decode()

    server = Server(tmp_path)
    try:
        base = server.start(f"sqlite:///{tmp_path / 'data' / 'wallet.db'}")
        async with aiohttp.ClientSession() as http:
            await server.wait_healthy(http)
        common = ["--url", f"{base}/groove", "--admin-token", ADMIN_TOKEN, "--signature-scheme", "pairs"]
        rc, out, err = await cli("certify", *common, "--only", "signature", "--format", "json")
        assert rc == 0, out + err
        report = json.loads(out)
        assert {s["status"] for s in report["scenarios"]} == {"pass"}, report
        assert len(report["scenarios"]) == 6
        sim = ["--players", "2", "--rounds", "4", "--seed", "3", "--format", "json"]
        rc, out, err = await cli("simulate", *common, *sim, "--quiet")
        assert rc == 0, out + err
        result = json.loads(out)
        assert (result["ok"], result["unexpected"]) == (True, 0), result
    finally:
        server.stop()
