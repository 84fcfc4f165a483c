"""Regulator reports: open rounds, month-end player-funds liability, player statement.

Pure report builders over the :class:`~wallet_store.ports.WalletStore` Protocol (read units
and the streams); no HTTP.  Both the admin API (``groove_adapter.reports``) and the CLI
(``groove-wallet report ...``) call them and render the same object as JSON or CSV.

Money is exact throughout: values come from the store as Decimal(32,10) and are only added
here, in a context that raises rather than rounds (:data:`_EXACT`); a total across many
wallets may exceed Decimal(32,10) and is still exact.  On the wire every amount is a string
written from its own digits (``money.wire``).

**Open rounds** (money in limbo): rounds with a live wager and no completed result
(``status = 'open' AND wagers > 0``; a round whose wagers were all rolled back is not in
limbo) opened *strictly* more than ``older_than`` seconds before ``now``.  A round's age
counts from its creation (its first wager), not from its last pending result.

**Month-end liability** of month ``YYYY-MM`` is the state at the cutoff, the first instant
of the next month in UTC (an event stamped exactly at the cutoff belongs to the next month):

* *balances*: each wallet's real, bonus and reserved balances after its highest-``seq``
  journal entry created before the cutoff (a wallet with no entry before the cutoff did not
  exist yet and is not counted);
* *open bets*: the stakes of rounds open at the cutoff.  A round was open at the cutoff when
  it was created before it and was not closed before it (``closed_at`` empty or at/after
  the cutoff: a round closes once, by a completed result, and never reopens).  Its stake at
  the cutoff is rebuilt from the applied transaction records created before the cutoff:
  wagers and wagerAndResults add their real/bonus split, rollbacks subtract it,
  rollbackrollbacks add it back.  Later rollbacks or wagers do not change a past month.
  A round whose stake at the cutoff is made of no live wager is not counted.
* *liability* = available (real + bonus) + reserved + open bets.  Open bets were already
  debited from the balances, so nothing is counted twice.

It refuses a month that has not ended yet.  Cost: one pass over the journal, the rounds and
the transaction records (memory: the rounds open at the cutoff); run it off-peak.

**Statement** of one player over ``[from, to)``: per wallet, the opening balances (after
the last journal entry created before ``from``; zero when none), every journal entry created
in the period in ``seq`` order with its balances before and after, and the closing
balances (after the last movement; the opening ones when there was none).  Opening + the
sum of the movements' deltas = closing, per balance (``reconciled``; false only if the
journal was altered, which ``groove-wallet audit`` then reports).


The builders live in one module each (:mod:`.limbo`, :mod:`.month_end`, :mod:`.statements`;
what they share in :mod:`.common`); this package re-exports them.
"""

from __future__ import annotations

from .common import (
    FORMATS,
    MAX_OLDER_THAN,
    MAX_STATEMENT_DAYS,
    MAX_STATEMENT_MOVEMENTS,
    Format,
    check_account,
    check_currency,
    check_operator,
    parse_format,
    parse_instant,
    parse_month,
    parse_seconds,
    to_csv,
)
from .limbo import OpenRound, OpenRoundsReport, open_rounds
from .month_end import LiabilityLine, LiabilityReport, liability
from .statements import Balances, StatementReport, WalletStatement, statement

Report = OpenRoundsReport | LiabilityReport | StatementReport

__all__ = [
    "FORMATS",
    "MAX_OLDER_THAN",
    "MAX_STATEMENT_DAYS",
    "MAX_STATEMENT_MOVEMENTS",
    "Balances",
    "Format",
    "LiabilityLine",
    "LiabilityReport",
    "OpenRound",
    "OpenRoundsReport",
    "Report",
    "StatementReport",
    "WalletStatement",
    "check_account",
    "check_currency",
    "check_operator",
    "liability",
    "open_rounds",
    "parse_format",
    "parse_instant",
    "parse_month",
    "parse_seconds",
    "statement",
    "to_csv",
]
