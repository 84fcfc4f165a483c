"""The /groove parameter fast path agrees with the pydantic models it stands in for.

``groove_adapter.schemas.groove.query_fields`` checks plainly valid requests directly and sends everything else through
the request's pydantic model.  Here hypothesis builds parameter sets (valid, borderline and
broken: missing keys, empty, over-long, non-ASCII, Unicode digits, odd amounts) for every
request model, and checks that the outcome is the model's: the same field values (amounts to
the last digit and exponent) or the same ``ParameterRequired`` (field and reason).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from groove_adapter import groove
from groove_adapter.schemas import groove as wire
from wallet_store import errors as E

MODELS = list(wire._FAST_FIELDS)

AMOUNTS = ["1", "0.01", "-5", "0", "-0", "100.5", "9" * 22, "9" * 23, "1.0000000001", "0.0000000001", "1e3"]
AMOUNTS += ["NaN", "", " 1", "١٢", "1.", ".5", "+1", "0x10"]
AMOUNTS += ["2.50", "10.0", "01", "00", "-0.5", "-0.0", "-01", "0.10"]  # not canonical, but "-0.5"
STRINGS = ["", "a", "x" * 16, "x" * 17, "x" * 32, "x" * 33, "x" * 60, "x" * 61, "x" * 64, "x" * 65, "x" * 255]
STRINGS += ["x" * 256, "é", "💰", "ab\n", "\u202e", "bench0000000001", "11_bench0000000001", "desktop", "mobile"]
STRINGS += ["Desktop", "completed", "pending", "1.2", " "]
STRINGS += ["1.02", "01.2", ".2", "1..2", "2.0-beta", "a&b", "a=b", "a b", "a+b", "a%20", "r:1|x@y/z~_-."]
KEYS = ["accountid", "gamesessionid", "device", "apiversion", "request"]
KEYS += sorted({name for fields in wire._FAST_FIELDS.values() for name, _ in fields})

values = st.one_of(st.sampled_from(AMOUNTS), st.sampled_from(STRINGS), st.text(max_size=70))


def _valid(model: type[BaseModel]) -> dict[str, str]:
    q = {"request": "x", "accountid": "bench0000000001", "gamesessionid": "11_s", "device": "desktop"}
    q["apiversion"] = "1.2"
    for name, kind in wire._FAST_FIELDS[model]:
        if kind in (wire._AMOUNT, wire._OPT_AMOUNT):
            q[name] = "2.5"
        elif kind == wire._STATUS:
            q[name] = "completed"
        else:
            q[name] = f"{name}-1"
    return q


@st.composite
def queries(draw: st.DrawFn) -> tuple[type[BaseModel], dict[str, str]]:
    model = draw(st.sampled_from(MODELS))
    q = _valid(model)
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(KEYS))
        if draw(st.booleans()) and key in q:
            del q[key]
        else:
            q[key] = draw(values)
    return model, q


def _model_outcome(model: type[BaseModel], q: dict[str, str]) -> tuple[str, Any]:
    try:
        return "ok", dict(wire.validate(model, q))
    except E.ParameterRequired as exc:
        return "error", exc.message


def _same_values(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a != b or list(a) != list(b):
        return False
    return all(
        not isinstance(v, Decimal) or v.as_tuple() == b[k].as_tuple()  # same digits and exponent
        for k, v in a.items()
    )


@settings(max_examples=1500, deadline=None)
@given(queries())
def test_fast_path_agrees_with_the_models(case: tuple[type[BaseModel], dict[str, str]]) -> None:
    model, q = case
    expected = _model_outcome(model, q)
    fast = wire._fast_params(model, q)
    if fast is not None:  # the fast path accepted: the model must accept with the same values
        assert expected[0] == "ok", (q, expected)
        assert _same_values(fast, expected[1]), (q, fast, expected)
    try:
        got: tuple[str, Any] = ("ok", wire.query_fields(model, q))
    except E.ParameterRequired as exc:
        got = ("error", exc.message)
    assert got[0] == expected[0], (q, got, expected)
    if got[0] == "ok":
        assert _same_values(got[1], expected[1]), (q, got, expected)
    else:
        assert got[1] == expected[1]


def _check(model: type[BaseModel], q: dict[str, str]) -> None:
    expected = _model_outcome(model, q)
    fast = wire._fast_params(model, q)
    if fast is not None:
        assert expected[0] == "ok", (q, expected)
        assert _same_values(fast, expected[1]), (q, fast, expected)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_field_at_its_limits(model: type[BaseModel]) -> None:
    """Each parameter alone set to each borderline value (or dropped), the others valid."""
    for key in KEYS:
        q = _valid(model)
        q.pop(key, None)
        _check(model, q)
        for value in [*AMOUNTS, *STRINGS]:
            _check(model, _valid(model) | {key: value})


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_plain_requests_take_the_fast_path(model: type[BaseModel]) -> None:
    q = _valid(model)
    fast = wire._fast_params(model, q)
    assert fast is not None
    assert _same_values(fast, dict(model.model_validate(q)))


def test_every_field_of_every_model_is_covered() -> None:
    common = set(wire._Common.model_fields)
    for model, fields in wire._FAST_FIELDS.items():
        assert [name for name, _ in fields] == [n for n in model.model_fields if n not in common], model.__name__


def _reference_payload(params: dict[str, str]) -> str:
    """The documented rule, spelled out: values sorted by (name, value), `request` left out,
    nogsgameid sorted as gameid."""
    items = sorted(("gameid" if k == "nogsgameid" else k, v) for k, v in params.items() if k != "request")
    return "".join(v for _, v in items)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from([*KEYS, "nogsgameid", "gameid", "zzz", "Z", ""]), st.text(max_size=8)))
def test_signed_payload_follows_the_rule(params: dict[str, str]) -> None:
    assert groove.signed_payload(params) == _reference_payload(params)
