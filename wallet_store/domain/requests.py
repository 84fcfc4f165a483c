"""Rules every keyed request of the REST and flow faces shares.  Pure.

* who a request names: a player id of the right form, an e-mail compared normalised (strip +
  lower case), a player of the game's operator (else "not found": no data leak across
  operators), not blocked;
* a keyed write: :func:`replay_or_new` is the one place a stored record under the request's
  idempotency key is turned into "do it", "answer from the record" or a conflict
  (:func:`wallet_store.domain.idempotency.decide`).
"""

from __future__ import annotations

import re
from typing import TypeVar

from wallet_store.domain import idempotency
from wallet_store.errors import AccountBlocked, IdempotencyConflict, Invalid, NotFound
from wallet_store.model import ACCOUNT_ID, Player

IDENTITY = re.compile(r"[0-9A-Za-z._:@-]{1,128}")

K = TypeVar("K", bound=idempotency.Keyed)


def norm_email(email: str | None) -> str | None:
    """E-mail addresses are compared stripped and in lower case."""
    return None if email is None else email.strip().lower()


def valid_account(account_id: str) -> None:
    if not ACCOUNT_ID.fullmatch(account_id):
        raise Invalid("player id must match [0-9A-Za-z]{1,60}")


def valid_identity(identity: str) -> None:
    if not IDENTITY.fullmatch(identity):
        raise Invalid("identity must match [0-9A-Za-z._:@-]{1,128}")


def of_operator(player: Player | None, operator_id: str, what: str = "player not found") -> Player:
    """The player if it is one of the operator's; else NotFound (no data leak)."""
    if player is None or player.operator_id != operator_id:
        raise NotFound(what)
    return player


def active(player: Player, whose: str = "account") -> None:
    """A blocked or self-excluded player moves no money."""
    if player.blocked:
        raise AccountBlocked(f"{whose} is blocked or self-excluded")


def replay_or_new(existing: K | None, fp: idempotency.Fingerprint, idempotency_key: str) -> K | None:
    """The record to replay, or None for a new write; a key holding another request is a conflict."""
    match idempotency.decide(existing, fp):
        case idempotency.Replay(record=done):
            return done
        case idempotency.Mismatch():
            raise IdempotencyConflict(idempotency.reused_by_game(idempotency_key))
    return None
