"""Exact JSON for the client tools: Decimals in and out from their own digits, never a float.

The client's own copy of the server's rules (``groove_adapter.jsonout``), without aiohttp
replies; the client imports nothing of the server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from itertools import accumulate
from typing import Any

from .money import wire

_encode_str = json.encoder.encode_basestring_ascii

# Input limits of a JSON reply, checked before anything is built from it: a number's text is
# bounded before it becomes an int or Decimal, and nesting before the recursive parser runs.
MAX_DEPTH = 32  # arrays/objects inside each other
MAX_NUMBER_CHARS = 50  # characters of one number, sign and exponent included
MAX_EXPONENT = 50  # |exponent| of a number, both as written and of its leading digit


class JsonLimitError(ValueError):
    """Well-formed or not, the JSON exceeds an input limit (depth or number size)."""


def dumps(obj: Any) -> str:
    """Serialize dict/list/str/int/bool/None/Decimal; a Decimal is written as an exact number."""
    parts: list[str] = []
    _write(obj, parts)
    return "".join(parts)


def _write(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(_encode_str(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, Decimal):
        out.append(wire(obj))
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, Mapping):
        out.append("{")
        for i, (k, v) in enumerate(obj.items()):
            out.append("," if i else "")
            out.append(_encode_str(str(k)) + ":")
            _write(v, out)
        out.append("}")
    elif isinstance(obj, Sequence):
        out.append("[")
        for i, v in enumerate(obj):
            out.append("," if i else "")
            _write(v, out)
        out.append("]")
    else:
        raise TypeError(f"cannot serialize {type(obj).__name__} exactly")


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as an exact Decimal (no float ever).

    Raises ValueError for malformed JSON and its subclass :class:`JsonLimitError` for JSON
    nested deeper than :data:`MAX_DEPTH` or holding a number beyond the limits.
    """
    if isinstance(text, bytes | bytearray):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    _check_depth(text)
    try:
        return json.loads(text, parse_float=_decimal, parse_int=_int, parse_constant=_reject_constant)
    except RecursionError:  # not reached after _check_depth; a second line of defence
        raise JsonLimitError(f"nested deeper than {MAX_DEPTH} levels") from None


_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _check_depth(text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).encode("ascii")
    if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH:
        raise JsonLimitError(f"nested deeper than {MAX_DEPTH} levels")


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonLimitError(f"a number longer than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonLimitError(f"a number longer than {MAX_NUMBER_CHARS} characters")
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or abs(exponent) > MAX_EXPONENT or abs(value.adjusted()) > MAX_EXPONENT:
        raise JsonLimitError(f"a number with an exponent beyond +-{MAX_EXPONENT}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")
