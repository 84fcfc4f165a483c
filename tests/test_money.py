"""Unit tests of exact money (no I/O): parsing, wire form, storage form, exact JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from groove_adapter import jsonout
from wallet_store import money

MAX_TEXT = "9999999999999999999999.9999999999"
MAX = Decimal(MAX_TEXT)

# Every Decimal(32,10) value, negatives included.
in_range = st.decimals(min_value=-MAX, max_value=MAX, places=10, allow_nan=False, allow_infinity=False)


# --------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", Decimal(0)),
        ("1", Decimal(1)),
        ("100", Decimal(100)),
        ("140.25", Decimal("140.25")),
        ("0.0000000001", Decimal("0.0000000001")),
        ("-5", Decimal(-5)),
        ("-0.5", Decimal("-0.5")),
        ("007", Decimal(7)),
        ("1.5000000000", Decimal("1.5")),
        ("9" * 22, Decimal("9" * 22)),
        (MAX_TEXT, MAX),
        ("-" + MAX_TEXT, -MAX),
    ],
)
def test_parse_accepts_plain_decimals(text: str, expected: Decimal) -> None:
    value = money.parse(text)
    assert value == expected
    assert isinstance(value, Decimal)
    # always quantized to exactly 10 fractional digits
    assert value.as_tuple().exponent == -10


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "nan",
        "sNaN",
        "-NaN",
        "Infinity",
        "-Infinity",
        "inf",
        "Inf",
        "1e5",
        "1E5",
        "1e-5",
        "1.5e2",
        "+1",
        "+0",
        " 1",
        "1 ",
        "\t1",
        "1\n",
        "",
        "-",
        ".",
        "1.",
        ".5",
        "-.5",
        "--1",
        "1,5",
        "1_000",
        "0x10",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: a Unicode digit, not an ASCII one
        "\uff11",  # FULLWIDTH DIGIT ONE
        "1" * 23,  # 23 integer digits
        "1" * 23 + ".5",
        "-" + "1" * 23,
        "0.12345678901",  # 11 fractional digits
        "1.00000000000",  # 11 fractional digits, even if zeros
        "1.2.3",
        "one",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(money.MoneyError):
        money.parse(text)


@pytest.mark.parametrize("value", [1, Decimal(1), None, b"1"])
def test_parse_rejects_non_strings(value: object) -> None:
    with pytest.raises(money.MoneyError):
        money.parse(value)  # type: ignore[arg-type]


def test_money_error_is_a_value_error() -> None:
    assert issubclass(money.MoneyError, ValueError)


@pytest.mark.parametrize("text", ["-0", "-0.0", "-0.0000000000", "0.0000000000", "-" + "0" * 22])
def test_negative_zero_is_plain_zero(text: str) -> None:
    value = money.parse(text)
    assert value == 0
    assert not value.is_signed()
    assert money.wire(value) == "0"
    assert money.to_db(value) == money.to_db(money.ZERO)


@pytest.mark.parametrize("text", ["100", "140.25", "0.0000000001", MAX_TEXT, "-" + MAX_TEXT, "-140.25", "0"])
def test_parse_wire_round_trip(text: str) -> None:
    assert money.wire(money.parse(text)) == text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("100.00", "100"), ("140.2500", "140.25"), ("0010", "10"), ("0.1000000000", "0.1"), ("-0", "0")],
)
def test_wire_is_canonical(text: str, canonical: str) -> None:
    assert money.wire(money.parse(text)) == canonical


@given(in_range)
def test_wire_never_uses_an_exponent_and_parses_back(value: Decimal) -> None:
    text = money.wire(value)
    assert "e" not in text.lower()
    assert money.parse(text) == value


# --------------------------------------------------------------------------- storage form


@pytest.mark.parametrize(
    "text", ["0", "100", "140.25", "0.0000000001", "-0.0000000001", MAX_TEXT, "-" + MAX_TEXT, "-1", "-140.25"]
)
def test_db_round_trip_examples(text: str) -> None:
    value = money.parse(text)
    stored = money.to_db(value)
    assert len(stored) == 33 + (1 if value < 0 else 0)
    assert money.from_db(stored) == value


@given(in_range)
def test_db_round_trip_property(value: Decimal) -> None:
    stored = money.to_db(value)
    back = money.from_db(stored)
    assert back == value
    assert money.wire(back) == money.wire(value)


@given(in_range, in_range)
def test_db_form_preserves_order(a: Decimal, b: Decimal) -> None:
    da, db = money.to_db(a), money.to_db(b)
    assert (da < db) == (a < b)
    assert (da == db) == (a == b)


def test_db_form_orders_a_sorted_list() -> None:
    values = [money.parse(t) for t in ["-" + MAX_TEXT, "-2", "-1.5", "-1", "-0.0000000001", "0", "0.0000000001", "1"]]
    values.append(MAX)
    assert sorted(values, key=money.to_db) == values
    assert sorted(reversed(values), key=money.to_db) == values


def test_to_db_refuses_out_of_range() -> None:
    with pytest.raises(money.MoneyError):
        money.to_db(MAX + money.QUANTUM)


@pytest.mark.parametrize("stored", ["", "1", "abc", "0" * 34, "-" * 34, "x" * 33, "-" + "x" * 33])
def test_from_db_refuses_corrupt_text(stored: str) -> None:
    # A corrupt stored amount is reported as MoneyError ("corrupt stored amount"), whatever its width.
    with pytest.raises(money.MoneyError):
        money.from_db(stored)


# --------------------------------------------------------------------------- exact arithmetic


def test_add_beyond_range_is_refused() -> None:
    with pytest.raises(money.MoneyError):
        money.add(MAX, money.QUANTUM)


def test_arithmetic_keeps_all_32_digits() -> None:
    # 32 significant digits: the default decimal context (28) would round this.
    assert money.add(money.parse("9999999999999999999999.9999999998"), money.QUANTUM) == MAX
    assert money.sub(MAX, money.QUANTUM) == Decimal("9999999999999999999999.9999999998")


# --------------------------------------------------------------------------- exact JSON


@pytest.mark.parametrize("text", ["100", "140.25", "0.0000000001", MAX_TEXT, "-" + MAX_TEXT, "0"])
def test_jsonout_dumps_exact_numbers(text: str) -> None:
    value = money.parse(text)
    out = jsonout.dumps({"amount": value})
    assert out == '{"amount":' + text + "}"
    back = jsonout.loads(out)["amount"]
    assert back == value
    assert not isinstance(back, float)


def test_jsonout_dumps_nested_structures() -> None:
    body = {"a": [money.parse("1.5"), 2, None, True, False, "x\u00e9"], "b": {"c": money.parse("0.0000000001")}}
    out = jsonout.dumps(body)
    assert out == '{"a":[1.5,2,null,true,false,"x\\u00e9"],"b":{"c":0.0000000001}}'
    back = jsonout.loads(out)
    assert back["a"][0] == Decimal("1.5")
    assert isinstance(back["a"][0], Decimal)
    assert back["b"]["c"] == Decimal("0.0000000001")


@given(in_range)
def test_jsonout_round_trip_property(value: Decimal) -> None:
    back = jsonout.loads(jsonout.dumps([value]))[0]
    assert not isinstance(back, float)
    assert back == value


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", '{"a": NaN}'])
def test_jsonout_loads_rejects_nan_and_infinity(text: str) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        jsonout.loads(text)


def test_jsonout_refuses_unknown_types() -> None:
    with pytest.raises(TypeError):
        jsonout.dumps({"x": object()})


@pytest.mark.parametrize("value", [Decimal(0), Decimal("-0"), Decimal("0E+30"), Decimal("-0E-40"), money.ZERO])
def test_zero_is_stored_and_read_as_the_one_zero_text(value: Decimal) -> None:
    """check, to_db and from_db take a shortcut for zero (most of a wager's amount columns): the text
    and the value must be exactly those of the general path."""
    assert money.to_db(value) == "0" * money.INT_DIGITS + "." + "0" * money.FRAC_DIGITS
    back = money.from_db(money.to_db(value))
    assert str(back) == str(money.ZERO)
    assert not back.is_signed()
    assert str(money.check(value)) == str(money.ZERO)
    assert not money.check(value).is_signed()


@pytest.mark.parametrize("value", [None, 0, "", False])
def test_the_zero_shortcut_never_stores_what_is_not_a_decimal(value: object) -> None:
    """A falsy non-Decimal (a missing value, an int, an empty text) must fail, not be stored as 0."""
    with pytest.raises(AttributeError):
        money.to_db(value)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        money.check(value)  # type: ignore[arg-type]
