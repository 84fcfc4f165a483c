"""The cheaper hot-path pieces behave exactly like what they replaced.

* ``jsonout.dumps`` (exact-type fast path) writes the same text as the plain recursive
  serializer it grew from, for any nesting of the types it accepts, and refuses the same
  things;
* ``LineWriter`` (structlog's output, one write per event-loop iteration) writes every line
  once, in order, with the bytes ``PrintLogger`` would have written;
* request ids made without ``uuid4`` still look like ``uuid4().hex`` and do not repeat;
* the cached metric children count into the same series as ``labels()``.
"""

from __future__ import annotations

import asyncio
import enum
import io
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groove_adapter import jsonout
from groove_adapter.observability import LineWriter, Metrics, new_request_id
from wallet_store import money
from wallet_store.commands import MoneyOutcome
from wallet_store.model import TxRecord, Wallet

# --------------------------------------------------------------------------- jsonout


def _reference_dumps(obj: Any) -> str:
    """The straightforward serializer jsonout.dumps must agree with (its earlier code)."""
    enc = json.encoder.encode_basestring_ascii
    if isinstance(obj, str):
        return enc(obj)
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, Decimal):
        return money.wire(obj)
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, Mapping):
        return "{" + ",".join(enc(str(k)) + ":" + _reference_dumps(v) for k, v in obj.items()) + "}"
    if isinstance(obj, Sequence):
        return "[" + ",".join(_reference_dumps(v) for v in obj) + "]"
    raise TypeError(f"cannot serialize {type(obj).__name__} exactly")


class Colour(enum.IntEnum):
    RED = 1


class Text(str):
    pass


class Dict(dict[str, Any]):
    pass


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(),
    st.decimals(allow_nan=False, allow_infinity=False, places=10, min_value=-(10**21), max_value=10**21),
    st.just(Colour.RED),
    st.builds(Text, st.text(max_size=5)),
    st.just(1.5),  # not exact: refused
)
documents = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers(), st.builds(Text, st.text(max_size=5))), inner),
        st.dictionaries(st.text(max_size=5), inner).map(Dict),
    ),
    max_leaves=25,
)


def _outcome(fn: Any, obj: Any) -> tuple[str, str]:
    try:
        return "ok", fn(obj)
    except TypeError as exc:
        return "refused", str(exc)


@settings(max_examples=1500, deadline=None)
@given(documents)
def test_dumps_matches_the_reference_serializer(obj: Any) -> None:
    assert _outcome(jsonout.dumps, obj) == _outcome(_reference_dumps, obj)


def test_dumps_of_a_reply_is_exact() -> None:
    body = {"code": 200, "status": "Success", "balance": money.parse("140.25"), "bonus_balance": money.ZERO}
    body |= {"tiny": money.parse("0.0000000001"), "ok": True, "none": None, "list": [money.parse("100"), "x"]}
    assert jsonout.dumps(body) == (
        '{"code":200,"status":"Success","balance":140.25,"bonus_balance":0,"tiny":0.0000000001,'
        '"ok":true,"none":null,"list":[100,"x"]}'
    )


# --------------------------------------------------------------------------- LineWriter


def test_line_writer_without_a_loop_writes_at_once() -> None:
    out = io.StringIO()
    w = LineWriter(out)
    w.msg('{"a": 1}')
    assert out.getvalue() == '{"a": 1}\n'
    w.info("é")
    assert out.getvalue() == '{"a": 1}\né\n'


async def test_line_writer_on_the_loop_writes_once_per_iteration_in_order() -> None:
    out = io.StringIO()
    w = LineWriter(out)
    for i in range(5):
        w.msg(f"line {i}")
    assert out.getvalue() == ""  # not yet: the flush is due in the loop's next iteration
    await asyncio.sleep(0)
    assert out.getvalue() == "".join(f"line {i}\n" for i in range(5))
    w.error("after")
    await asyncio.sleep(0)
    assert out.getvalue().splitlines() == [*(f"line {i}" for i in range(5)), "after"]


def test_line_writer_does_not_lose_lines_of_a_loop_that_ended() -> None:
    out = io.StringIO()
    w = LineWriter(out)
    loop = asyncio.new_event_loop()

    async def log(text: str) -> None:
        w.msg(text)

    loop.run_until_complete(log("first"))  # the flush callback never gets to run here
    loop.close()
    asyncio.run(log("second"))  # another loop: what the old one left is written first
    w.msg("third")  # no loop
    w.flush()
    assert out.getvalue() == "first\nsecond\nthird\n"


# --------------------------------------------------------------------------- request ids


def test_request_ids_look_like_uuid4_hex_and_do_not_repeat() -> None:
    ids = [new_request_id() for _ in range(20_000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


# --------------------------------------------------------------------------- metrics


def _sample(text: str, name: str, labels: str) -> float:
    m = re.search(rf"^{name}\{{{labels}\}} (\S+)$", text, re.M)
    assert m is not None, (name, labels)
    return float(m.group(1))


@pytest.mark.parametrize("code", [200, "200"])
def test_cached_children_count_into_the_labels_series(code: int | str) -> None:
    m = Metrics()
    m.observe("groove", "getbalance", code, 0.001)
    m.observe("groove", "getbalance", 200, 0.002)
    m.observe("groove", "getbalance", "200", 0.003)
    m.requests.labels("groove", "getbalance", "200").inc()  # the uncached way, same series
    text = m.render().decode()
    assert _sample(text, "gw_requests_total", 'code="200",face="groove",request="getbalance"') == 4
    assert _sample(text, "gw_request_seconds_count", 'face="groove",request="getbalance"') == 3


def test_money_and_refusal_counters() -> None:
    m = Metrics()
    w = Wallet("a", "EUR", money.parse("1"), money.ZERO)
    rec = TxRecord(
        operator_id="11",
        scope="g",
        kind="wager",
        transaction_id="t",
        account_id="a",
        round_id="r",
        amount=money.parse("2.5"),
        currency="EUR",
        outcome="ok",
        message="",
        wallet_tx="x",
        real=money.parse("2"),
        bonus=money.parse("0.5"),
    )
    outcome = MoneyOutcome(record=rec, wallet=w, order="cash_money", duplicate=False)
    for _ in range(2):
        m.observe_groove("wager", 200, 0.001, outcome)
    m.observe_groove("wager", 1006, 0.001, None)
    m.observe_groove("wager", 200, 0.001, MoneyOutcome(record=rec, wallet=w, order="cash_money", duplicate=True))
    text = m.render().decode()
    assert (
        _sample(text, "gw_money_moved_total", 'aggregator="groove",currency="EUR",direction="debit",request="wager"')
        == 5.0
    )
    assert _sample(text, "gw_refusals_total", 'aggregator="groove",code="1006",request="wager"') == 1
    assert _sample(text, "gw_duplicate_replays_total", 'aggregator="groove",request="wager"') == 1
