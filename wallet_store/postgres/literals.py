"""SQL literals for the PostgreSQL backend's closing message (the deferred writes and COMMIT in one
simple-query message, see :mod:`wallet_store.postgres.deferred`).

The simple query protocol takes no parameters, so the writes' values are sent as literals.
This renderer is deliberately small and strict:

* Only the types the deferred writes use: ``None``, ``bool``, ``int``, ``Decimal`` (finite),
  ``str``, an aware ``datetime``, and a flat ``list``/``tuple`` of those (an array).  Anything
  else is refused (:class:`ValueError`), never turned into text by ``str()``.
* Every value but NULL is one quoted string literal (a number and a boolean too), its single
  quotes doubled.  That is the whole escaping, and it is complete only while
  ``standard_conforming_strings`` is on (a backslash is then an ordinary character): the
  store sets it for every connection and checks it before each message that holds literals
  (:func:`require_standard_strings`).  No ``E''`` strings, no dollar quoting.
* NUL cannot be stored in PostgreSQL text: refused here (the parameter path failed on it at
  the server).  So is a lone surrogate (it has no UTF-8 form).
* A quoted literal has no type of its own: the prepared statement it is an argument of gives
  it one (``EXECUTE name('...')`` is read by that parameter's input function), so a value is
  never re-interpreted by an ambiguous cast.
* An aware ``datetime`` is sent in UTC, ISO 8601; ``datetime.max``/``min`` as
  ``infinity``/``-infinity``, exactly as asyncpg's binary codec sends them as parameters.
* An array is the array input syntax (``{"a","b",NULL}``, each element double-quoted with
  ``\\`` and ``"`` escaped by a backslash, as ``array_in`` reads them), then quoted as one
  string literal like any other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_MAX = datetime.max.replace(tzinfo=UTC)
_MIN = datetime.min.replace(tzinfo=UTC)


def require_standard_strings(settings: Any) -> None:
    """Refuse to send literals on a session where a backslash in '...' is an escape."""
    if getattr(settings, "standard_conforming_strings", None) != "on":
        raise ValueError("standard_conforming_strings is not on for this session")


def _text(v: str) -> str:
    if "\x00" in v:
        raise ValueError("a string holds NUL, which PostgreSQL text cannot store")
    try:
        v.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("a string holds a lone surrogate (no UTF-8 form)") from exc
    return v


def _scalar_text(v: Any) -> str:
    """A scalar's text form, as the column type's input function reads it (not yet quoted)."""
    if isinstance(v, str):
        return _text(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, Decimal):
        if not v.is_finite():
            raise ValueError(f"a non-finite decimal: {v}")
        return format(v, "f")
    if isinstance(v, datetime):
        if v.tzinfo is None or v.utcoffset() is None:
            raise ValueError("a naive datetime (no time zone)")
        try:
            utc = v.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError(f"a datetime out of range: {v!r}") from exc
        # asyncpg's binary codec sends datetime.max/min as +/-infinity (and reads them back as
        # such): the same value whichever way it is sent.
        if utc == _MAX:
            return "infinity"
        if utc == _MIN:
            return "-infinity"
        return utc.isoformat()
    raise ValueError(f"no SQL literal for a {type(v).__name__}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _array_element(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, list | tuple):
        raise ValueError("nested arrays are not rendered")
    text = _scalar_text(v)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(v: Any) -> str:
    """``v`` as one SQL literal (see the module's rules)."""
    if v is None:
        return "NULL"
    if isinstance(v, list | tuple):
        return _quote("{" + ",".join(map(_array_element, v)) + "}")
    return _quote(_scalar_text(v))
