"""Hub88 groundwork, pure: amounts x 100 000 <-> Decimal exactly, the request/reply models and
their refusals, the ``RS_*`` table, and ``X-Hub88-Signature`` (with Hub88's published vector)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from groove_adapter.hub88 import signature as sig
from groove_adapter.hub88.wire import (
    MODELS,
    PATHS,
    BalanceIn,
    BetIn,
    Refused,
    Reply,
    RollbackIn,
    UserInfoIn,
    UserInfoReply,
    WinIn,
    balance_reply,
    parse,
    refusal_reply,
)
from groove_client import hub88 as client_hub88
from wallet_store.domain.hub88 import (
    ENDPOINTS,
    INT64_MAX,
    NO_ROLLBACK_AFTER,
    Hub88AmountError,
    Status,
    from_units,
    is_wire_int,
    to_units,
)

# --------------------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("units", "value"),
    [
        (0, "0"),
        (1, "0.00001"),
        (123, "0.00123"),
        (356_000, "3.56"),
        (100_500, "1.005"),
        (100_000, "1"),
        (INT64_MAX, "92233720368547.75807"),
    ],
)
def test_units_convert_exactly_both_ways(units: int, value: str) -> None:
    assert from_units(units) == Decimal(value)
    assert to_units(Decimal(value)) == units
    assert to_units(from_units(units)) == units


@pytest.mark.parametrize("bad", [True, False, 1.0, Decimal("1"), "100", None, -1, INT64_MAX + 1, 10**40])
def test_from_units_refuses_anything_but_a_non_negative_int64(bad: object) -> None:
    with pytest.raises(Hub88AmountError):
        from_units(bad)


def test_is_wire_int() -> None:
    assert is_wire_int(0)
    assert is_wire_int(5)
    assert not any(is_wire_int(v) for v in (True, 1.0, Decimal(1), "1", None))


@pytest.mark.parametrize(
    "value",
    [
        "0.000001",  # a sixth decimal
        "1.000005",
        "3.560000000001",
        "-0.000001",  # negative: the same rule
        "-1.000005",
        "0." + "0" * 500 + "1",  # far beyond: refused without building a huge power of ten
        "1" + "0" * 30 + ".000001",
    ],
)
def test_to_units_refuses_what_would_need_rounding(value: str) -> None:
    with pytest.raises(Hub88AmountError, match=r"beyond 5 decimal places|Int64"):
        to_units(Decimal(value))


@pytest.mark.parametrize(
    "value",
    [
        "92233720368547.75808",  # INT64_MAX + 1 unit
        "-92233720368547.75809",
        "1E+20",
        "1E+1000000",  # huge exponent: refused before any arithmetic
        "123456789012345678901234567890",
    ],
)
def test_to_units_refuses_values_beyond_int64(value: str) -> None:
    with pytest.raises(Hub88AmountError, match="Int64"):
        to_units(Decimal(value))


@pytest.mark.parametrize(
    ("value", "units"),
    [
        ("-1.5", -150_000),
        ("-92233720368547.75808", -(2**63)),
        ("1.5000000000000", 150_000),  # trailing zeros beyond the fifth place are exact
        ("0E-1000", 0),
        ("-0", 0),
        ("1.23450" + "0" * 1000, 123_450),
        ("2E+5", 20_000_000_000),
    ],
)
def test_to_units_negative_and_trailing_zeros_are_exact(value: str, units: int) -> None:
    assert to_units(Decimal(value)) == units


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), 1, 1.5, "1"])
def test_to_units_refuses_non_finite_and_non_decimal(bad: Any) -> None:
    with pytest.raises(Hub88AmountError):
        to_units(bad)


@given(st.integers(min_value=0, max_value=INT64_MAX))
def test_every_wire_amount_round_trips(units: int) -> None:
    assert to_units(from_units(units)) == units


@given(st.decimals(allow_nan=False, allow_infinity=False, places=10, min_value=-(9 * 10**13), max_value=9 * 10**13))
def test_to_units_is_exact_or_refuses(value: Decimal) -> None:
    """Never a neighbour: either the exact scaled integer, or a refusal when digits would be lost."""
    exact = value.scaleb(5)
    if exact == exact.to_integral_value():
        assert to_units(value) == int(exact)
    else:
        with pytest.raises(Hub88AmountError, match="beyond 5 decimal places"):
            to_units(value)


def test_reference_examples() -> None:
    assert to_units(Decimal("3.56")) == 356_000
    assert from_units(100_500) == Decimal("1.005")
    assert from_units(12_550_000) == Decimal("125.5")


# --------------------------------------------------------------------------- statuses


def test_the_status_table_is_the_references() -> None:
    # The fifteen statuses of the reference's table (section 7); the client keeps its own copy.
    assert len(Status) == 15
    assert {s.value for s in Status} == client_hub88.STATUSES
    assert Status.OK == "RS_OK"
    assert Status.TRANSACTION_DOES_NOT_EXIST == "RS_ERROR_TRANSACTION_DOES_NOT_EXIST"
    assert set(ENDPOINTS) == set(Status)
    assert all(s.__doc__ for s in Status)  # every status says when it is used
    assert "win" not in ENDPOINTS[Status.TOKEN_EXPIRED]
    assert "rollback" not in ENDPOINTS[Status.TOKEN_EXPIRED]
    assert ENDPOINTS[Status.TRANSACTION_DOES_NOT_EXIST] == {"win"}
    assert Status.NOT_ENOUGH_MONEY in NO_ROLLBACK_AFTER
    assert Status.UNKNOWN not in NO_ROLLBACK_AFTER


# --------------------------------------------------------------------------- requests

BET: dict[str, Any] = {
    "user": "p10042",
    "transaction_uuid": "7f1e2d3c-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
    "supplier_transaction_id": "sup-bet-551",
    "token": "5e1f0c62-2f4b-4a5e-8d7e-91b0c4d2a7f3",
    "supplier_user": "hub88_p10042",
    "round": "r-88123",
    "round_closed": False,
    "reward_uuid": None,
    "request_uuid": "2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f70",
    "is_free": False,
    "is_supplier_promo": False,
    "game_code": "clt_dragonrising",
    "currency": "EUR",
    "bet": None,
    "amount": 200000,
    "meta": None,
}
WIN = BET | {
    "transaction_uuid": "3a5c7e9f-1b2d-4f6a-8c0e-2d4f6a8c0e1b",
    "reference_transaction_uuid": BET["transaction_uuid"],
    "amount": 500000,
}
ROLLBACK: dict[str, Any] = {
    "user": "p10042",
    "transaction_uuid": "5b7d9f1a-3c5e-4a7b-9d1f-4b6d8f0a2c41",
    "supplier_transaction_id": "sup-rb-553",
    "token": "5e1f0c62-2f4b-4a5e-8d7e-91b0c4d2a7f3",
    "round": "r-88123",
    "round_closed": True,
    "request_uuid": "6c8e0a2c-4d6f-4b8c-0e2a-5c7e9a1c3e52",
    "reference_transaction_uuid": BET["transaction_uuid"],
    "game_code": "clt_dragonrising",
    "meta": None,
}


def body(d: Any) -> bytes:
    return json.dumps(d).encode()


def test_the_references_examples_parse() -> None:
    bet = parse(BetIn, body(BET))
    assert isinstance(bet, BetIn)
    assert bet.value == Decimal(2)
    assert bet.game == "clt_dragonrising"
    win = parse(WinIn, body(WIN))
    assert isinstance(win, WinIn)
    assert win.value == Decimal(5)
    assert win.reference_transaction_uuid == BET["transaction_uuid"]
    rb = parse(RollbackIn, body(ROLLBACK))
    assert isinstance(rb, RollbackIn)
    assert rb.KIND == "rollback"
    info = parse(UserInfoIn, body({"user": "p10042", "request_uuid": "0b5a"}))
    assert isinstance(info, UserInfoIn)
    bal = parse(BalanceIn, body({"user": "p1", "token": "t", "request_uuid": "1d0c", "game_code": "g"}))
    assert isinstance(bal, BalanceIn)
    assert set(PATHS.values()) == set(MODELS)


def test_unknown_fields_and_legacy_game_id_are_accepted() -> None:
    bet = parse(BetIn, body({k: v for k, v in BET.items() if k != "game_code"} | {"game_id": 42, "is_billable": True}))
    assert isinstance(bet, BetIn)
    assert bet.game == "42"
    assert isinstance(parse(BalanceIn, body({"token": "t", "request_uuid": "r"})), BalanceIn)  # user may be absent
    rb = {k: v for k, v in ROLLBACK.items() if k not in ("token", "game_code", "round")}
    assert isinstance(parse(RollbackIn, body(rb)), RollbackIn)  # a rollback needs no token nor game


def test_meta_is_free_form() -> None:
    bet = parse(BetIn, body(BET | {"meta": {"selection": "home", "odds": 2.5, "x": [1, {"y": None}]}}))
    assert isinstance(bet, BetIn)
    assert bet.meta is not None
    assert bet.meta["odds"] == Decimal("2.5")


def test_replay_details_name_what_must_match() -> None:
    bet = parse(BetIn, body(BET))
    win = parse(WinIn, body(WIN))
    rb = parse(RollbackIn, body(ROLLBACK))
    assert isinstance(bet, BetIn)
    assert isinstance(win, WinIn)
    assert isinstance(rb, RollbackIn)
    assert bet.details() == {
        "kind": "bet",
        "user": "p10042",
        "round": "r-88123",
        "game": "clt_dragonrising",
        "amount": 200000,
        "currency": "EUR",
    }
    assert win.details()["reference"] == BET["transaction_uuid"]
    assert win.details()["kind"] == "win"
    assert rb.details() == {
        "kind": "rollback",
        "user": "p10042",
        "round": "r-88123",
        "game": "clt_dragonrising",
        "reference": BET["transaction_uuid"],
    }


def refused(model: Any, raw: bytes) -> Refused:
    out = parse(model, raw)
    assert isinstance(out, Refused), out
    return out


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"{" * 40 + b"}" * 40,  # deeper than jsonout allows
        b'{"amount": ' + b"9" * 60 + b"}",  # a number longer than jsonout allows
        b'{"amount": NaN}',
    ],
)
def test_unparsable_bodies_are_wrong_syntax(raw: bytes) -> None:
    r = refused(BetIn, raw)
    assert r.status is Status.WRONG_SYNTAX
    assert r.request_uuid is None


@pytest.mark.parametrize(
    "change",
    [
        {"user": None},
        {"transaction_uuid": ""},
        {"token": "x" * 256},
        {"user": "a\nb"},
        {"currency": "E"},
        {"currency": "EUR-1"},
        {"game_code": None},  # neither game_code nor game_id
        {"bet": "b" * 1001},
    ],
)
def test_missing_and_out_of_bounds_fields_are_wrong_syntax(change: dict[str, Any]) -> None:
    data = {k: v for k, v in (BET | change).items() if v is not None or k not in change}
    r = refused(BetIn, body(data))
    assert r.status is Status.WRONG_SYNTAX, r.message
    assert r.request_uuid == BET["request_uuid"]  # echoed whenever the body carried one


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "200000"},
        {"amount": 2000.5},
        {"amount": 200000.0},
        {"amount": True},
        {"amount": None},
        {"amount": -1},
        {"amount": INT64_MAX + 1},
        {"user": 10042},
        {"round_closed": "false"},
        {"meta": [1]},
        {"game_id": "42"},
    ],
)
def test_wrong_json_types_and_negative_amounts_are_wrong_types(change: dict[str, Any]) -> None:
    r = refused(BetIn, body(BET | change))
    assert r.status is Status.WRONG_TYPES, r.message
    assert r.request_uuid == BET["request_uuid"]


def test_a_request_uuid_that_cannot_be_echoed_is_left_out() -> None:
    assert refused(BetIn, body(BET | {"request_uuid": 5})).request_uuid is None
    assert refused(BetIn, body(BET | {"request_uuid": "x" * 300})).request_uuid is None
    assert refusal_reply(refused(BetIn, b"{}")).wire() == {"status": "RS_ERROR_WRONG_SYNTAX"}


def test_win_needs_its_reference_and_rollback_needs_no_amount() -> None:
    no_ref = {k: v for k, v in WIN.items() if k != "reference_transaction_uuid"}
    assert refused(WinIn, body(no_ref)).status is Status.WRONG_SYNTAX
    rb = parse(RollbackIn, body(ROLLBACK | {"amount": "ignored"}))
    assert isinstance(rb, RollbackIn)


# --------------------------------------------------------------------------- replies


def test_replies() -> None:
    ok = balance_reply(Status.OK, "rq", "p10042", "EUR", Decimal("125.50"))
    assert ok.wire() == {
        "status": "RS_OK",
        "request_uuid": "rq",
        "user": "p10042",
        "currency": "EUR",
        "balance": 12550000,
    }
    nem = balance_reply(Status.NOT_ENOUGH_MONEY, "rq", "p1", "EUR", Decimal("1.5"))
    assert nem.wire()["balance"] == 150000
    with pytest.raises(ValidationError, match="must carry the balance"):
        Reply(status=Status.NOT_ENOUGH_MONEY, request_uuid="rq")
    with pytest.raises(Hub88AmountError):  # a balance Hub88 cannot show is refused, not rounded
        balance_reply(Status.OK, "rq", "p1", "EUR", Decimal("0.000001"))
    with pytest.raises(ValidationError):
        Reply(status=Status.OK, request_uuid="rq", balance=-1)
    info = UserInfoReply(user="p1", status=Status.OK, request_uuid="rq", country="EE", tags=["VIP"])
    assert info.wire() == {"user": "p1", "status": "RS_OK", "request_uuid": "rq", "country": "EE", "tags": ["VIP"]}


# --------------------------------------------------------------------------- signatures

# Hub88's public demo key pair and one row of its published vectors (reference section 3.4).
DEMO_PUBLIC = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx3IRpSri/9SjA7f9me35
v6LtJzn8drb1vg/UeGaPPFR16KsUOPqbGJ2r1pRPJMedqqbO7Agt/HavWDcQhNZl
c9VrVQcWK/w2HD9PflQYv0oQMiPK5Mut/eIdFOpwwwaRAU4s6WOkJdSmP9F4cfr/
amTZZoY59/t3SZWYjgZ9/LDI2X8S3uLW/JPiH+6dm2bU8ykhxoWwLE/piJxynS73
EzM0tgjHyTUMkarhK9qRVZk581/kzmtJLLBZQl9XrQQcIfQ+zFZj7ijddOptxpxq
Cmq8gQNohB56p34yjVH3uAJAaFvIVg5mEkprrvNVDJwGonHSaaq7AICmzrF6h/r5
dwIDAQAB
-----END PUBLIC KEY-----
"""
DEMO_BODY = b'{"test":"test"}'
DEMO_SIGNATURE = (
    "LMYX772LMBO+r83MakogTLoYnUmkR5TTSCMbzbzWPQBgqakoUwjsQnGAbIvA2ZEZXKgbygEW32crr/OzkJbXJp/XSeXPg93IvlOOiaItcPZAIx2"
    "MvBh7tY2vtcNMfodlrEvvG5ySDJQWO4LD/Gv7v6dpJJEsVy7AFdT8Azix2MUGcsljIJFWclYsHjJ96OCm5z4RZeA4tp49QCMKb3AL0TZojxxP"
    "L/9vSO//o4IcGQCQ02Sw7/p1c8EogCKI9AcMA2fmcog5fy853wMoZJem+qzLtQfBNKLmmKvFE02V7AkRdPn4q7ilCFzkpmN3T5Rhmazv5JHUI"
    "vjokR9c0p/4UQ=="
)


def test_hub88_published_test_vector_verifies() -> None:
    key = sig.load_public_key(DEMO_PUBLIC)
    assert len(DEMO_BODY) == 15
    assert len(DEMO_SIGNATURE) == 344
    assert sig.verify(key, DEMO_BODY, DEMO_SIGNATURE)
    assert sig.verify(key, DEMO_BODY, " " + DEMO_SIGNATURE + "\n")  # header whitespace is not the signature


@pytest.mark.parametrize(
    "body_",
    [b'{"test": "test"}', b'{"test":"tesT"}', b'{"test":"test"}\n', b'{"test":"test"} ', b""],
)
def test_any_changed_byte_fails_the_vector(body_: bytes) -> None:
    assert not sig.verify(sig.load_public_key(DEMO_PUBLIC), body_, DEMO_SIGNATURE)


@pytest.mark.parametrize(
    "header",
    [None, "", "not base64!", DEMO_SIGNATURE[:-4], DEMO_SIGNATURE.replace("L", "M", 1), "A" * 5000, "QUJD"],
)
def test_missing_or_malformed_signatures_fail(header: str | None) -> None:
    assert not sig.verify(sig.load_public_key(DEMO_PUBLIC), DEMO_BODY, header)


@pytest.fixture(scope="module")
def keypair() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_sign_and_verify_raw_bytes(keypair: rsa.RSAPrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = keypair.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")  # Hub88's sample format loads
    private = sig.load_private_key(pem)
    public = sig.load_public_key(sig.public_pem(private))
    raw = body(BET)
    s = sig.sign(private, raw)
    assert len(s) == 344
    assert sig.verify(public, raw, s)
    assert not sig.verify(public, json.dumps(BET, separators=(",", ":")).encode(), s)  # re-serialised: different bytes
    assert not sig.verify(sig.load_public_key(DEMO_PUBLIC), raw, s)  # another key
    assert sig.reply_headers(None, raw) == {}  # replies unsigned unless the operator has a key
    assert sig.verify(public, raw, sig.reply_headers(private, raw)[sig.HEADER])


def test_bad_keys_are_refused(keypair: rsa.RSAPrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    with pytest.raises(sig.Hub88KeyError, match="not a PEM public key"):
        sig.load_public_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(sig.Hub88KeyError, match="longer than"):
        sig.load_public_key("A" * (sig.MAX_PEM + 1))
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(sig.Hub88KeyError, match="1024 bits"):
        sig.load_public_key(sig.public_pem(small))
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(sig.Hub88KeyError, match="not an RSA public key"):
        sig.load_public_key(ec_pem)
    encrypted = keypair.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(sig.Hub88KeyError, match="unencrypted"):
        sig.load_private_key(encrypted)
    with pytest.raises(sig.Hub88KeyError):
        sig.load_private_key(DEMO_PUBLIC)
