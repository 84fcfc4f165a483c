"""Idempotent keyed writes: one canonical fingerprint, one decision.

A keyed write (REST credit, debit and convert; a flow's initiate; a purchase; an item
purchase; an admin adjustment) stores the fingerprint of its significant request fields
beside its outcome.  A request that comes again with the same key is decided by
:func:`decide`:

* no record under the key: :class:`New`, do the write;
* a record with the request's fingerprint: :class:`Replay`, answer from the record, move
  nothing;
* a record with another fingerprint: :class:`Mismatch`, the key was used for another request
  (an idempotency conflict).

The fingerprint is the SHA-256 (hex) of canonical JSON of the significant fields: keys
sorted, no whitespace, ASCII only (other characters escaped, so that a lone surrogate from a
JSON body cannot break the encoding), amounts as exact decimal text from
:func:`wallet_store.money.wire` (``10`` and ``10.00`` are one amount), never a float.

Stored fingerprints: rows written before this module hold the digest of the same fields
written by ``json.dumps(fields, sort_keys=True)``, whose separators are ``", "`` and ``": "``.
:meth:`Fingerprint.matches` accepts that form too, so that those rows still replay; new rows
store the canonical form (:attr:`Fingerprint.digest`).

The Groove protocol (``/groove``) does not fingerprint: its transaction ids are compared by
parameter (account, round, amount, each only when the request names it), and a refusal can be
remembered or decided afresh under an id (``WalletService._replay`` and ``_decide_afresh``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, NamedTuple, Protocol, TypeVar

from wallet_store import money

# A significant field: text, a count, an exact amount, or absent.
Field = str | int | Decimal | None


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A request's fingerprint: ``digest`` is stored; ``legacy`` is the form of older rows."""

    digest: str
    legacy: str

    def matches(self, stored: str) -> bool:
        return stored in (self.digest, self.legacy)


def _value(value: Field) -> str | int | None:
    if isinstance(value, Decimal):
        return money.wire(value)
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"a fingerprint field is text, an integer, a Decimal or None, not {type(value).__name__}")


def canonical_json(fields: Mapping[str, Field]) -> str:
    """Sorted keys, no whitespace, ASCII only, Decimals as exact text (never a float)."""
    return json.dumps({k: _value(v) for k, v in fields.items()}, sort_keys=True, separators=(",", ":"))


def _legacy_json(fields: Mapping[str, Field]) -> str:
    return json.dumps({k: _value(v) for k, v in fields.items()}, sort_keys=True)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(fields: Mapping[str, Field]) -> Fingerprint:
    """The fingerprint of a request's significant fields."""
    return Fingerprint(digest=_sha256(canonical_json(fields)), legacy=_sha256(_legacy_json(fields)))


class Keyed(Protocol):
    """A record stored under an idempotency key, with the fingerprint of its request."""

    @property
    def fingerprint(self) -> str: ...


class StoredReply(NamedTuple):
    """An admin-op row (``get_admin_op``): the fingerprint and the stored JSON reply."""

    fingerprint: str
    reply: str


def stored_reply(row: tuple[str, str] | None) -> StoredReply | None:
    return None if row is None else StoredReply(*row)


K = TypeVar("K", bound=Keyed)


@dataclass(frozen=True, slots=True)
class New:
    """Nothing is stored under the key: do the write."""


@dataclass(frozen=True, slots=True)
class Replay(Generic[K]):
    """The same request again: answer from ``record``, move nothing."""

    record: K


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key holds another request."""


def decide(existing: K | None, fp: Fingerprint) -> New | Replay[K] | Mismatch:
    """Decide a keyed write from what is stored under its key."""
    if existing is None:
        return New()
    if fp.matches(existing.fingerprint):
        return Replay(existing)
    return Mismatch()


def reused_by_game(idempotency_key: str) -> str:
    """The conflict message of a key scoped to a game."""
    return f"idempotency key {idempotency_key!r} was already used by this game with a different request"
