"""The idempotency module alone: no database, no HTTP."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wallet_store import money
from wallet_store.domain.idempotency import (
    Field,
    Mismatch,
    New,
    Replay,
    StoredReply,
    canonical_json,
    decide,
    fingerprint,
    stored_reply,
)


@dataclass(frozen=True)
class Record:
    fingerprint: str
    payload: str = "reply"


def old_digest(obj: dict[str, Any], **kw: Any) -> str:
    """The three ``_fingerprint`` functions before this module (``default=str`` in one only)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, **kw).encode()).hexdigest()


amounts = st.decimals(min_value=Decimal("-1e21"), max_value=Decimal("1e21"), places=10, allow_nan=False)
texts = st.text(max_size=20)
values: st.SearchStrategy[Field] = st.one_of(st.none(), texts, st.integers(-(10**6), 10**6), amounts)
requests = st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=8)


def spell_again(value: Decimal) -> Decimal:
    """The same amount written with more trailing zeros (``10`` -> ``10.000``, ``1.5`` -> ``1.5000``)."""
    text = format(value, "f")
    return Decimal(text + ("000" if "." in text else ".000"))


# --------------------------------------------------------------------------- fingerprint


def test_canonical_json_is_sorted_compact_and_exact() -> None:
    fields = {"b": Decimal("10.50"), "a": "x", "n": None, "q": 3}
    assert canonical_json(fields) == '{"a":"x","b":"10.5","n":null,"q":3}'


def test_equal_amount_spellings_fingerprint_the_same() -> None:
    """``10`` and ``10.00`` are one amount (the REST and admin faces replay ``10.50`` for ``10.5``)."""
    assert fingerprint({"amount": Decimal("10")}) == fingerprint({"amount": Decimal("10.00")})
    assert fingerprint({"amount": Decimal("10")}) == fingerprint({"amount": Decimal("1E+1")})
    assert fingerprint({"amount": Decimal("10")}) != fingerprint({"amount": Decimal("10.0000000001")})


def test_float_is_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        fingerprint({"amount": 10.5})  # type: ignore[dict-item]


def test_non_ascii_and_lone_surrogate_are_escaped() -> None:
    assert canonical_json({"r": "café \ud800"}) == '{"r":"caf\\u00e9 \\ud800"}'
    fingerprint({"r": "\ud800"})  # no UnicodeEncodeError


@given(requests, st.randoms())
def test_stable_under_key_order(fields: dict[str, Field], rnd: random.Random) -> None:
    items = list(fields.items())
    rnd.shuffle(items)
    assert fingerprint(dict(items)) == fingerprint(fields)


@given(requests)
def test_stable_under_amount_spelling(fields: dict[str, Field]) -> None:
    respelled = {k: spell_again(v) if isinstance(v, Decimal) else v for k, v in fields.items()}
    assert fingerprint(respelled) == fingerprint(fields)


@given(requests, st.text(min_size=1, max_size=8), values, values)
def test_different_significant_fields_differ(fields: dict[str, Field], key: str, a: Field, b: Field) -> None:
    assume(canonical_json({key: a}) != canonical_json({key: b}))  # another value, not another spelling
    assert fingerprint(fields | {key: a}).digest != fingerprint(fields | {key: b}).digest


@given(requests, st.text(min_size=1, max_size=8), values)
def test_a_missing_field_differs_from_a_present_one(fields: dict[str, Field], key: str, v: Field) -> None:
    without = {k: x for k, x in fields.items() if k != key}
    assert fingerprint(without).digest != fingerprint(without | {key: v}).digest


@given(requests)
def test_rows_stored_before_the_module_still_match(fields: dict[str, Field]) -> None:
    """Stored rows hold ``sha256(json.dumps(fields, sort_keys=True))`` of the wired fields."""
    wired = {k: money.wire(v) if isinstance(v, Decimal) else v for k, v in fields.items()}
    fp = fingerprint(fields)
    assert fp.legacy == old_digest(wired) == old_digest(wired, default=str)
    assert fp.matches(old_digest(wired))
    assert fp.matches(fp.digest)
    assert decide(Record(old_digest(wired)), fp) == Replay(Record(old_digest(wired)))


def test_new_digest_is_the_canonical_form() -> None:
    fp = fingerprint({"amount": Decimal("1.5"), "currency": "EUR"})
    assert fp.digest == hashlib.sha256(b'{"amount":"1.5","currency":"EUR"}').hexdigest()
    assert fp.legacy == hashlib.sha256(b'{"amount": "1.5", "currency": "EUR"}').hexdigest()
    assert fp.digest != fp.legacy


# --------------------------------------------------------------------------- decide


def test_decide_new() -> None:
    assert decide(None, fingerprint({"a": "1"})) == New()


def test_decide_replay_returns_the_stored_record() -> None:
    fp = fingerprint({"a": "1"})
    rec = Record(fp.digest, "stored")
    assert decide(rec, fp) == Replay(rec)


def test_decide_mismatch() -> None:
    stored = Record(fingerprint({"a": "1"}).digest)
    assert decide(stored, fingerprint({"a": "2"})) == Mismatch()


def test_admin_op_rows() -> None:
    fp = fingerprint({"a": "1"})
    assert stored_reply(None) is None
    row = stored_reply((fp.legacy, '{"ok": true}'))
    assert row == StoredReply(fp.legacy, '{"ok": true}')
    assert decide(row, fp) == Replay(StoredReply(fp.legacy, '{"ok": true}'))


@given(requests, requests)
def test_decide_matches_fingerprint_equality(first: dict[str, Field], second: dict[str, Field]) -> None:
    stored = Record(fingerprint(first).digest)
    same = canonical_json(first) == canonical_json(second)
    assert decide(stored, fingerprint(second)) == (Replay(stored) if same else Mismatch())
