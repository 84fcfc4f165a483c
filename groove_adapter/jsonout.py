"""Exact JSON output: Decimals become JSON numbers from their own digits, never via float."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web

from wallet_store import money

_encode_str = json.encoder.encode_basestring_ascii


def dumps(obj: Any) -> str:
    """Serialize dict/list/str/int/bool/None/Decimal; a Decimal is written as an exact number."""
    parts: list[str] = []
    _write(obj, parts)
    return "".join(parts)


def _write(obj: Any, out: list[str]) -> None:
    # Exact types first (one ``type() is`` test each): replies are dicts of str,
    # int and Decimal, and ``isinstance(obj, Mapping)`` is an ABC check.  Everything else, and
    # any subclass, takes the general path below, so the output is the same for every input.
    t = type(obj)
    if t is str:
        out.append(_encode_str(obj))
    elif t is dict:
        out.append("{")
        first = True
        for k, v in obj.items():
            if first:
                first = False
            else:
                out.append(",")
            out.append(_encode_str(k if type(k) is str else str(k)))
            out.append(":")
            vt = type(v)  # the common values inline, without a call each
            if vt is str:
                out.append(_encode_str(v))
            elif vt is Decimal:
                out.append(money.wire(v))
            elif vt is int:
                out.append(int.__repr__(v))
            else:
                _write(v, out)
        out.append("}")
    elif t is Decimal:
        out.append(money.wire(obj))
    elif t is int:
        out.append(int.__repr__(obj))
    else:
        _write_general(obj, out)


def _write_general(obj: Any, out: list[str]) -> None:
    if isinstance(obj, str):
        out.append(_encode_str(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, Decimal):
        out.append(money.wire(obj))
    elif isinstance(obj, int):
        out.append(str(obj))
    elif isinstance(obj, Mapping):
        out.append("{")
        first = True
        for k, v in obj.items():
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(str(k)))
            out.append(":")
            _write(v, out)
        out.append("}")
    elif isinstance(obj, Sequence):
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _write(v, out)
        out.append("]")
    else:
        raise TypeError(f"cannot serialize {type(obj).__name__} exactly")


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json", headers=headers)


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as an exact Decimal (no float ever)."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")
