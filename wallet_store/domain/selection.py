"""Which records the stores' filtered reads select: the business predicates, decided once here.

A store filters in SQL only where an index serves the filter or a count would otherwise load
every row; it then takes the values below (never its own literal of "open" or "refused"), and
the Python predicates here say the same thing of a record in memory (the contract suite checks
that both backends select exactly what these predicates accept).

* an **open round** (money in limbo): not closed, with a live wager;
* a **due hold**: still open, its expiry reached;
* a **plain refusal**: a transaction record that moved nothing and may be replaced;
* a player's e-mail is looked up by its **normalised** form (unique per operator).

The due-hold rule is :func:`wallet_store.domain.holds.is_due` and the e-mail form
:func:`wallet_store.domain.requests.norm_email` (trimmed, lower case, computed in Python for
both backends: ``str.lower`` is not PostgreSQL's ``lower()`` outside ASCII); they are
re-exported here as :func:`hold_is_due` and :func:`normalize_email`.

Pure: no I/O, no driver or store import.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from .holds import is_due as hold_is_due
from .model import Round, TxRecord, TxState
from .records import Hold, HoldState
from .requests import norm_email as normalize_email
from .rounds import live_wagers

__all__ = [
    "MIN_LIVE_WAGERS",
    "OPEN_HOLD",
    "OPEN_ROUND",
    "REFUSED",
    "due_order",
    "hold_is_due",
    "hold_is_open",
    "is_refusal",
    "normalize_email",
    "round_is_open",
    "sql_word",
]

#: The state of a hold that still reserves money (closed ones are captured or released).
OPEN_HOLD: Final[HoldState] = "open"
#: The status of a round that still takes wagers and results.
OPEN_ROUND: Final = "open"
#: The fewest live wagers (placed minus rolled back) that leave money in a round.
MIN_LIVE_WAGERS: Final = 1
#: The state of a record that refused a request and moved nothing (replaceable).
REFUSED: Final[TxState] = "refused"

_SQL_WORD = re.compile(r"[a-z_]+")


def sql_word(value: str) -> str:
    """``value`` as an SQL string literal, for a predicate that must stand in the statement's
    text (a partial index is used only when the query states its condition literally).  Only a
    plain lower-case word is accepted, so nothing but these constants can be spliced in."""
    if not _SQL_WORD.fullmatch(value):
        raise ValueError(f"not a plain word: {value!r}")
    return f"'{value}'"


def round_is_open(rnd: Round) -> bool:
    """A round with money in limbo: not closed and with a live wager."""
    return rnd.status == OPEN_ROUND and live_wagers(rnd.wagers)


def hold_is_open(hold: Hold) -> bool:
    """A hold that still reserves money."""
    return hold.state == OPEN_HOLD


def due_order(hold: Hold) -> tuple[datetime, str]:
    """The order due holds are released in: soonest expiry first, then by id."""
    return hold.expires_at, hold.hold_id


def is_refusal(rec: TxRecord) -> bool:
    """A record that refused its request and moved nothing (a later request may replace it)."""
    return rec.state == REFUSED
