"""Fuzzing the wire: raw ``/groove`` query strings and REST bodies built by hypothesis.

Whatever arrives, the wallet answers in the protocol's shape (HTTP 200, JSON with ``code``,
``status``, ``apiversion``; ``message`` on errors), never with code 1 (technical error) for bad
input, never with a 5xx on the REST faces, and a rejected request changes nothing.

The hostile-input fuzz (issue #14) sends exponents, deep nesting, NUL bytes, invalid UTF-8 and
huge numbers to every face (/groove GET and wagerbybatch POST, the Player Balance API, the
private wallet API, the admin API, the WebSocket): each is refused with the face's one answer
for bad input, well under a second, and nothing changes.  Every test runs on both backends.
"""

from __future__ import annotations

import io
import time
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groove_adapter.jsonout import loads
from tests.conftest import Api

# Both backends (PostgreSQL included): 150 examples each keeps the file under a minute.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MAX_QUERY = 7000  # stay below aiohttp's request-line limit; the wallet's own limit is 8192

REQUESTS = [
    "getaccount",
    "getbalance",
    "wager",
    "result",
    "wagerAndResult",
    "rollback",
    "jackpot",
    "reversewin",
    "rollbackrollback",
    "wagerbybatch",
]
EXTRA = {
    "getaccount": [],
    "getbalance": ["nogsgameid"],
    "wager": ["gameid", "betamount", "roundid", "transactionid", "frbid"],
    "result": ["gameid", "result", "roundid", "transactionid", "gamestatus", "frbid"],
    "wagerAndResult": ["gameid", "betamount", "result", "roundid", "transactionid", "gamestatus", "frbid"],
    "rollback": ["gameid", "roundid", "transactionid", "rollbackamount"],
    "jackpot": ["gameid", "amount", "roundid", "transactionid", "gamestatus"],
    "reversewin": ["gameid", "amount", "roundid", "transactionid"],
    "rollbackrollback": ["gameid", "rollbackAmount", "roundid", "transactionid"],
    "wagerbybatch": ["request_id", "gameid"],
}
AMOUNT_KEYS = {"betamount", "result", "rollbackamount", "amount", "rollbackAmount"}

# raw tokens, inserted into the query string exactly as written (not re-encoded)
RAW_ODD = [
    "%ff",
    "%FF%FE",
    "%C3%28",
    "%e2%82",
    "%00",
    "%",
    "%zz",
    "%2",
    "%25",
    "%26",
    "%3D",
    "+",
    "%2B1",
    "%20",
    "%EF%BF%BD",
    "%F0%9F%92%B0",
    "a%ffb",
    "1%00",
    ";",
    "%0d%0a",
]
ODD_AMOUNTS = [
    "-0",
    "0",
    "-0.0",
    "0.0000000000",
    "NaN",
    "nan",
    "sNaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e5",
    "1E-3",
    "1e999999999",
    "-1",
    "-0.01",
    "9" * 22,
    "9" * 23,
    "9" * 40 + ".5",
    "9" * 4000,
    "1." + "0" * 10 + "1",
    "0.00000000001",
    "0.0000000001",
    "1_000",
    "0x10",
    " 1",
    "1 ",
    "1,5",
    "+1",
    ".5",
    "5.",
    "١٢",
    "",
    "1/2",
    "true",
    "null",
    "[1]",
    "{}",
]
ODD_STRINGS = ["", " ", "x" * 256, "x" * 255, "\u202e", "é", "💰", "<script>", "' OR 1=1 --", "\t", "../../etc", "null"]

text_values = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
long_values = st.integers(min_value=200, max_value=6000).map(lambda n: "7" * n)
plain_amounts = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False).map(str)
huge_numbers = st.integers(min_value=10**15, max_value=10**60).map(str)
exponents = st.tuples(st.integers(-20, 20), st.integers(-400, 400)).map(lambda t: f"{t[0]}e{t[1]}")


def _enc(v: str) -> str:
    return quote(v, safe="")


encoded_value = st.one_of(
    st.sampled_from(ODD_AMOUNTS),
    st.sampled_from(ODD_STRINGS),
    text_values,
    long_values,
    plain_amounts,
    huge_numbers,
    exponents,
).map(_enc)
raw_value = st.one_of(st.sampled_from(RAW_ODD), st.lists(st.sampled_from(RAW_ODD), min_size=1, max_size=4).map("".join))
any_value = st.one_of(encoded_value, raw_value)


def _base(name: str, seeded: dict[str, str], n: int) -> dict[str, str]:
    """A well-formed request of that kind (ids from a small pool, so duplicates and mismatches occur)."""
    p = dict(seeded) | {"request": name}
    for k in EXTRA[name]:
        if k in ("gameid", "nogsgameid"):
            p[k] = "80102"
        elif k == "roundid":
            p[k] = f"fr{n % 4}"
        elif k in ("transactionid", "request_id"):
            p[k] = f"ft{n % 6}"
        elif k in AMOUNT_KEYS:
            p[k] = ["1", "0.5", "2.25", "0"][n % 4]
        elif k == "gamestatus":
            p[k] = ["completed", "pending"][n % 2]
        elif k == "frbid":
            continue
    return p


@st.composite
def raw_queries(draw: st.DrawFn, seeded: dict[str, str]) -> str:
    name = draw(st.sampled_from([*REQUESTS, "unknown", "WAGER", "getBalance", "", "wager ", "wager%00"]))
    base = _base(name if name in EXTRA else "wager", seeded, draw(st.integers(0, 1000)))
    base["request"] = name
    pairs: list[tuple[str, str]] = [(_enc(k), _enc(v)) for k, v in base.items()]
    keys = list(base)
    for _ in range(draw(st.integers(0, 5))):
        op = draw(st.sampled_from(["drop", "replace", "repeat", "unknown", "bare", "empty_key", "raw_key"]))
        if op == "drop" and pairs:
            pairs.pop(draw(st.integers(0, len(pairs) - 1)))
        elif op == "replace" and pairs:
            i = draw(st.integers(0, len(pairs) - 1))
            pairs[i] = (pairs[i][0], draw(any_value))
        elif op == "repeat":
            k = draw(st.sampled_from(keys))
            pairs.append((_enc(k), draw(st.one_of(any_value, st.just(_enc(base[k]))))))
        elif op == "unknown":
            pairs.append((_enc(draw(st.text(min_size=1, max_size=12))), draw(any_value)))
        elif op == "bare":
            pairs.append((draw(st.sampled_from(keys)), ""))
        elif op == "empty_key":
            pairs.append(("", draw(any_value)))
        elif op == "raw_key":
            pairs.append((draw(st.sampled_from(RAW_ODD)), draw(any_value)))
    if draw(st.booleans()):
        pairs = draw(st.permutations(pairs))
    parts = [k if (v == "" and draw(st.booleans())) else f"{k}={v}" for k, v in pairs]
    query = "&".join(parts)
    if draw(st.integers(0, 9)) == 0:
        query = draw(st.sampled_from(["&", "&&", "=", "?", "#"])).join([query, ""])
    return query[:MAX_QUERY]


async def _snapshot(api: Api, seeded: dict[str, str]) -> tuple[Any, Any]:
    bal = await api.groove("getbalance", **seeded, nogsgameid="80102")
    bal.pop("apiversion", None)
    player = await api.admin("GET", f"/admin/players/{seeded['accountid']}", expect=200)
    return bal, player


def _check_shape(raw: str, status: int, text: str) -> dict[str, Any]:
    assert status == 200, f"HTTP {status} for {raw!r}: {text}"
    body = loads(text)
    assert isinstance(body, dict), text
    for key in ("code", "status", "apiversion"):
        assert key in body, f"{key} missing for {raw!r}: {text}"
    if body["code"] != 200:
        assert isinstance(body.get("message"), str), f"no message for {raw!r}: {text}"
    assert body["code"] != 1, f"technical error for bad input {raw!r}: {text}"
    return body


@FUZZ
@given(data=st.data())
async def test_groove_fuzzed_query_strings(
    client: TestClient, api: Api, seeded: dict[str, str], data: st.DataObject
) -> None:
    raw = data.draw(raw_queries(seeded), label="query")
    before = await _snapshot(api, seeded)
    method = "POST" if "wagerbybatch" in raw and data.draw(st.booleans(), label="post") else "GET"
    resp = await client.request(method, "/groove?" + raw)
    body = _check_shape(raw, resp.status, await resp.text())
    if body["code"] != 200:
        after = await _snapshot(api, seeded)
        assert after == before, f"rejected {raw!r} ({body}) changed state"


@pytest.mark.parametrize(
    "raw",
    [
        "request=getbalance&accountid=%ff&gamesessionid=x&device=desktop&apiversion=1.2&nogsgameid=1",
        "request=wager&accountid=5179068&gamesessionid=%C3%28&device=desktop&apiversion=1.2",
        "request=%ff",
        "%ff=%ff",
        "request=wager&request=wager",
        "",
        "&&&",
        "request=wager&betamount=" + "9" * 6500,
        "request=getbalance&apiversion=" + "%ff" * 10,
    ],
)
async def test_groove_odd_queries_examples(client: TestClient, api: Api, seeded: dict[str, str], raw: str) -> None:
    before = await _snapshot(api, seeded)
    resp = await client.get("/groove?" + raw)
    body = _check_shape(raw, resp.status, await resp.text())
    assert body["code"] == 1008, body
    assert await _snapshot(api, seeded) == before


# --------------------------------------------------------------------------- REST bodies

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(ODD_AMOUNTS),
    st.sampled_from(["5179068", "EUR", "eur", "p5179068@example.com", "x" * 600]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
TRANSFER_KEYS = ["player_id", "player_email", "currency", "amount", "reason", "idempotency_key", "extra"]
transfer_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={k: json_values for k in TRANSFER_KEYS}),
    st.fixed_dictionaries(
        {"player_id": st.just("5179068"), "currency": st.just("EUR"), "idempotency_key": st.text(min_size=1)},
        optional={"amount": json_scalars, "reason": json_scalars, "player_email": json_scalars},
    ),
    json_values,
)


@pytest_asyncio.fixture
async def game_key(api: Api, seeded: dict[str, str]) -> str:
    game = await api.admin(
        "POST", "/admin/games", {"operator_id": "11", "game_id": "80102", "name": "Fuzz"}, expect=201
    )
    return str(game["secret_key"])


@FUZZ
@given(data=st.data())
async def test_rest_debit_fuzzed_bodies(
    client: TestClient, api: Api, seeded: dict[str, str], game_key: str, data: st.DataObject
) -> None:
    headers = {"X-Game-Secret-Key": game_key}
    before = await api.balances(seeded["accountid"])
    if data.draw(st.booleans(), label="raw bytes"):
        raw = data.draw(st.binary(max_size=300), label="bytes")
        resp = await client.post("/api/player-balances/debit", data=raw, headers=headers)
    else:
        body = data.draw(transfer_bodies, label="body")
        resp = await client.post("/api/player-balances/debit", json=body, headers=headers)
    text = await resp.text()
    assert resp.status < 500, f"{resp.status}: {text}"
    if resp.status >= 400:
        assert await api.balances(seeded["accountid"]) == before, f"rejected debit ({resp.status} {text}) moved money"


# --------------------------------------------------------------------------- hostile input, every face

PB_KEY = "X-Game-Secret-Key"
FAST = 0.5  # seconds: every refusal below is a bounded check that costs microseconds to milliseconds
WS_MAX_MESSAGE = 65_536  # GW_WS_MAX_MESSAGE_BYTES default: larger messages are closed with 1009
FACES = ["groove_get", "wagerbybatch", "pb_debit", "private_tx", "admin_adjust", "ws"]

big_exponents = st.one_of(st.integers(51, 10**10), st.integers(-(10**10), -51))
hostile_tokens: st.SearchStrategy[bytes] = st.one_of(
    # exponents: as a JSON number and as a JSON string
    st.builds(lambda m, e: f"{m}e{e}".encode(), st.integers(-99, 99), big_exponents),
    st.builds(lambda m, e: f'"{m}E{e:+d}"'.encode(), st.integers(1, 9), big_exponents),
    # huge numbers: long digit runs, long fractions, past Python's 4300-digit int limit
    st.integers(60, 200_000).map(lambda n: b"9" * n),
    st.integers(60, 5_000).map(lambda n: b"0." + b"0" * n + b"1"),
    st.integers(23, 60).map(lambda n: b"1" + b"0" * n),
    # nesting, arrays and objects
    st.integers(33, 100_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(33, 20_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    # NUL bytes, invalid UTF-8 and the non-numbers
    st.sampled_from(
        [
            b'"1\\u0000"',
            b'"\\u0000"',
            b'"1\x00"',
            b"1\x00",
            b"\x00",
            b"\xff",
            b'"\xc3\x28"',
            b'"1\xff"',
            b"\xed\xa0\x80",
            b"NaN",
            b"-Infinity",
            b'"1e1000000000"',
            b"-0e-1000000000",
            b"1e100000000",
        ]
    ),
)


def _json_with(template: str, token: bytes) -> bytes:
    """``template`` (JSON with one ``@`` where the amount goes) with the raw token in that place."""
    head, _, tail = template.partition("@")
    return head.encode() + token + tail.encode()


async def _face_state(api: Api, seeded: dict[str, str]) -> tuple[Any, Any]:
    """Balances and the journal (a statement over the test clock's year)."""
    player = await api.admin("GET", f"/admin/players/{seeded['accountid']}", expect=200)
    q = urlencode({"account_id": seeded["accountid"], "from": "2025-06-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"})
    journal = await api.admin("GET", "/admin/reports/statement?" + q, expect=200)
    return player, journal


async def _post(client: TestClient, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    resp = await client.post(path, data=io.BytesIO(body), headers=headers | {"Content-Type": "application/json"})
    text = await resp.text()
    return resp.status, loads(text)


async def _hostile_request(
    face: str, token: bytes, n_bets: int, client: TestClient, api: Api, seeded: dict[str, str], key: str
) -> None:
    """Send ``token`` in the amount's place on ``face`` and assert that face's one refusal."""
    acct, sid = seeded["accountid"], seeded["gamesessionid"]
    if face == "groove_get":
        q = urlencode(seeded | {"request": "wager", "gameid": "80102", "roundid": "h1", "transactionid": "h1"})
        resp = await client.get(f"/groove?{q}&betamount={quote(token[:2000], safe='')}")
        body = _check_shape(repr(token[:80]), resp.status, await resp.text())
        assert (body["code"], body["apiversion"]) == (1008, "1.2"), body
    elif face == "wagerbybatch":
        q = urlencode(
            {
                "request": "wagerbybatch",
                "request_id": "fz1",
                "gamesessionid": sid,
                "gameid": "80102",
                "apiversion": "1.2",
            }
        )
        n_bets = min(n_bets, max(1, 900_000 // len(token)))  # within the 1 MiB body limit
        bets = ",".join(f'{{"transaction_id":"hb{i}","round_id":"hr{i}","amount":@}}' for i in range(n_bets))
        template = (
            f'{{"account_id":"{acct}","game_id":"80102","game_session_id":"{sid}","device":"desktop","bets":[{bets}]}}'
        )
        head, *parts = template.split("@")
        raw = head.encode() + b"".join(token + p.encode() for p in parts)
        resp = await client.post("/groove?" + q, data=io.BytesIO(raw))
        body = _check_shape(repr(token[:80]), resp.status, await resp.text())
        assert (body["code"], body["apiversion"]) == (1008, "1.2"), body
    elif face == "pb_debit":
        template = f'{{"player_id":"{acct}","currency":"EUR","amount":@,"idempotency_key":"hk"}}'
        status, body = await _post(client, "/api/player-balances/debit", _json_with(template, token), {PB_KEY: key})
        assert (status, body["status"]) == (400, 400), body
    elif face == "private_tx":
        template = '{"currency":"EUR","amount":@,"type":"credit","idempotencyKey":"hk"}'
        path = f"/api/private/users/{acct}/wallet/EUR/transactions"
        status, body = await _post(client, path, _json_with(template, token), {"x-api-key": key})
        assert (status, body["error"]) == (400, True), body
    elif face == "admin_adjust":
        template = '{"currency":"EUR","real":@,"reason":"fuzz","idempotency_key":"hk"}'
        path = f"/admin/players/{acct}/adjust"
        status, body = await _post(client, path, _json_with(template, token), api.auth)
        assert (status, body["error"]) == (400, "invalid request"), body
    else:
        await _hostile_ws(client, key, _json_with('{"action":@}', token))


async def _hostile_ws(client: TestClient, key: str, message: bytes) -> None:
    """The one answer per message: over the size limit, close 1009; not UTF-8, close 1007 (the
    WebSocket protocol's own checks); anything else, a 400 error (and for an input limit, 1008)."""
    async with client.ws_connect("/ws/balance-updates", headers={PB_KEY: key}) as ws:
        await ws.send_frame(message, aiohttp.WSMsgType.TEXT)
        msg = await ws.receive(timeout=5)
        if len(message) > WS_MAX_MESSAGE:
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1009), msg
            return
        try:
            message.decode("utf-8")
        except UnicodeDecodeError:
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.CLOSE, 1007), msg
            return
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        reply = loads(msg.data)
        assert (reply["type"], reply["status"]) == ("error", 400), reply


@FUZZ
@given(data=st.data())
async def test_hostile_input_on_every_face_is_refused_fast_and_changes_nothing(
    client: TestClient, api: Api, seeded: dict[str, str], game_key: str, data: st.DataObject
) -> None:
    face = data.draw(st.sampled_from(FACES), label="face")
    token = data.draw(hostile_tokens, label="token")
    n_bets = data.draw(st.integers(1, 20), label="bets")
    before = await _face_state(api, seeded)
    started = time.perf_counter()
    await _hostile_request(face, token, n_bets, client, api, seeded, game_key)
    elapsed = time.perf_counter() - started
    assert elapsed < FAST, f"{face} took {elapsed:.2f} s for {token[:80]!r}"
    assert await _face_state(api, seeded) == before, f"{face} refused {token[:80]!r} but state changed"
