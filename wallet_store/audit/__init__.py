"""Audit: balances must equal the journal, the journal must equal the records, and the
journal must still reach the head it had.

Streams the journal (ordered by account, currency, seq), the wallets, the recorded chain
heads, the money records and the rounds, and checks:

* each wallet's entries are numbered 1..n with no gap;
* each entry's hash matches its content and links to the previous entry's hash;
* each entry's ``*_after`` equals the previous ``*_after`` plus its delta (before of the
  first entry is zero);
* the wallet's stored balances, seq and last hash equal the last entry's;
* no balance is negative;
* every round's bets, wins and counts equal what its transactions add up to;
* **records <-> entries**: every record whose state says money moved has its journal
  entries, and every journal entry belongs to such a record (below);
* **the chain head is anchored** (below): the ``journal_heads`` table, and optionally a head
  file exported earlier (``--expect-head``).

Records <-> entries
-------------------
Every writer of journal entries leaves a record, and each record says which entries it
wrote, by the entry's ``kind`` and ``reference``:

==========================  =================================================================
record                      entries (kind, reference, amount)
==========================  =================================================================
transactions, ok: wager     ``wager``, ``wager:<txid>``, -amount (when amount > 0; kept when
                            the wager is later rolled back: the rollback is its own entry)
wagerAndResult              ``wager`` -bet and ``result`` +win, both ``wagerAndResult:<txid>``
result / jackpot            ``result`` / ``jackpot``, ``<kind>:<txid>``, +amount
rollback                    ``rollback``, ``rollback:<txid>``, +amount
reversewin                  ``reversewin``, ``reversewin:<txid>``, -amount
rollbackrollback            ``rollbackrollback``, ``rollbackrollback:<txid>``, -amount
hub88_bet                   ``hub88_bet``, ``hub88_bet:<transaction_uuid>``, -amount (kept
                            when rolled back, like a wager; a tombstone moves nothing)
hub88_win / hub88_rollback  ``<kind>``, ``<kind>:<transaction_uuid>``, +amount
holds (any state)           ``hold`` (reference = the flow id): available -amount, reserved
                            +amount; released: ``hold_release`` back; captured:
                            ``hold_capture`` (reserved -amount)
flows, claimed              ``transfer_in`` / ``send_in`` on the recipient, +amount
payments, succeeded         ``purchase_credit``, the payment id, +amount
item purchases              ``item_debit``, the purchase id, -total
admin ops ``adjust:``       ``adjust``, the reply's reference, pinned by the wallet's balances
                            after it (the reply stores them; the delta is not stored)
REST credit/debit           ``api_credit`` / ``api_debit``, the reply's reference, real + bonus
REST conversion ``cv:``     ``convert_out`` -amount and ``convert_in`` +credited, its reference
player creation             ``initial``: allowed only as the wallet's first entry (seq 1)
==========================  =================================================================

An amount is the entry's available delta (real + bonus) with its reserved delta (for
``adjust``: real and bonus after).  Transaction ids are unique per operator and game, not
per account, so several records may expect the same element: the comparison is of
*multisets*, per account, which is exact whatever the duplicates.  To keep memory at one
small record per account, each side is first folded into a per-account multiset hash (the
sum of SHA-256 of each element, mod 2**256, and a count); only for an account whose two
sides differ are both sides read again and compared element by element, so the report
names the wallet, the record without its entry and the entry without its record.

The chain head
--------------
Deleting a wallet's last entries and rewinding its balance, seq and last hash leaves a
chain that is internally consistent.  Three things catch it:

1. the record cross-check above: the records still say the money moved;
2. ``journal_heads``: every save of a wallet also upserts its (seq, hash) there, in the same
   transaction (one small row per wallet write: an upsert on SQLite, one more part of the
   same statement on PostgreSQL).  Triggers refuse to move a head back or delete it, so a
   rewind has to edit the journal, the wallet, the head (dropping its trigger) and the
   records consistently;
3. an exported head: ``groove-wallet audit --write-head FILE`` writes every wallet's
   (seq, hash) after a clean audit; a later ``audit --expect-head FILE`` requires each
   wallet's journal to still contain that entry with that hash.  A chain cut below the head,
   or rewritten and re-linked anywhere at or before it (every later hash changes), fails.
   Operators keep the head files off the database host (a rewind there cannot reach them).

Memory: one small record per wallet, per account and per round (plus the head file).

The checks live in one module each (:mod:`.chains`, :mod:`.records`, :mod:`.heads`; the
findings in :mod:`.report`); :func:`run_audit` runs them in one pass over the streams.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from .. import money
from ..model import Round
from ..ports import WalletStore
from .chains import _Chain, _check_entry, _check_wallet
from .chains import _round_totals as _round_totals
from .heads import HEAD_FORMAT, HeadFileError, _check_expected_heads, _check_recorded_heads, read_heads, write_heads
from .records import Expected, _cross_check, _Multiset, entry_element, expected_entries
from .report import AuditReport, WalletKey

__all__ = [
    "HEAD_FORMAT",
    "AuditReport",
    "Expected",
    "HeadFileError",
    "WalletKey",
    "entry_element",
    "expected_entries",
    "read_heads",
    "run_audit",
    "write_heads",
]


async def run_audit(store: WalletStore, expect_heads: Mapping[WalletKey, tuple[int, str]] | None = None) -> AuditReport:
    """Check everything the module docstring lists; ``expect_heads`` is a head file's content
    (:func:`read_heads`): each wallet's journal must still hold that entry with that hash."""
    report = AuditReport()
    expect = expect_heads or {}
    at_head: dict[WalletKey, str] = {}  # the hash found at each expected head's seq
    journal_side = _Multiset()
    chains: dict[tuple[str, str], _Chain] = {}
    current: _Chain | None = None
    async for e in store.journal():
        key = (e.account_id, e.currency)
        if current is None or current.key != key:
            current = _Chain(key)
            chains[key] = current
        _check_entry(current, e, report)
        report.entries += 1
        report.heads[key] = (e.seq, e.hash)
        if key in expect and expect[key][0] == e.seq:
            at_head[key] = e.hash
        if e.kind == "initial":
            if e.seq != 1:
                report.problems.append(f"{e.account_id}/{e.currency} seq {e.seq}: an opening balance after seq 1")
        else:
            journal_side.add(e.account_id, entry_element(e))
    _check_expected_heads(expect, at_head, report)
    _check_recorded_heads({(h.account_id, h.currency): (h.seq, h.hash) async for h in store.chain_heads()}, report)
    await _cross_check(store, journal_side, report)
    seen: set[tuple[str, str]] = set()
    reserved: dict[tuple[str, str], Decimal] = {}
    async for w in store.wallets():
        report.wallets += 1
        key = (w.account_id, w.currency)
        seen.add(key)
        _check_wallet(chains.get(key), w, report)
        if w.reserved:
            reserved[key] = w.reserved
    for key in chains.keys() - seen:
        report.problems.append(f"{key[0]}/{key[1]}: journal entries for a wallet that does not exist")
    # Reserved funds are exactly the open holds: a hold closed without giving the money back
    # (or money reserved without a hold) is drift too.
    held: dict[tuple[str, str], Decimal] = {}
    async for h in store.open_holds():
        key = (h.account_id, h.currency)
        held[key] = money.add(held.get(key, money.ZERO), h.amount)
        if money.add(h.real, h.bonus) != h.amount:
            report.problems.append(f"hold {h.hold_id}: real {h.real} + bonus {h.bonus} is not its amount {h.amount}")
    for key in sorted(reserved.keys() | held.keys()):
        in_holds, in_wallet = held.get(key, money.ZERO), reserved.get(key, money.ZERO)
        if in_holds != in_wallet:
            report.problems.append(f"{key[0]}/{key[1]}: reserved {in_wallet} but its open holds add up to {in_holds}")
    expected = await _round_totals(store)
    async for r in store.rounds():
        report.rounds += 1
        rkey = (r.account_id, r.game_id, r.round_id)
        where = f"round {r.account_id}/{r.game_id}/{r.round_id}"
        for name, v in (
            ("real_bet", r.real_bet),
            ("bonus_bet", r.bonus_bet),
            ("real_win", r.real_win),
            ("bonus_win", r.bonus_win),
        ):
            if v < 0:
                report.problems.append(f"{where}: {name} negative ({v})")
        exp = expected.pop(rkey, None) or Round(*rkey, currency="")
        got = (r.real_bet, r.bonus_bet, r.real_win, r.bonus_win, r.wagers, r.results)
        want = (exp.real_bet, exp.bonus_bet, exp.real_win, exp.bonus_win, exp.wagers, exp.results)
        if got != want:
            report.problems.append(
                f"{where}: round says bets {r.real_bet}/{r.bonus_bet} wins {r.real_win}/{r.bonus_win}"
                f" ({r.wagers} wagers, {r.results} results) but its transactions add up to bets"
                f" {exp.real_bet}/{exp.bonus_bet} wins {exp.real_win}/{exp.bonus_win}"
                f" ({exp.wagers} wagers, {exp.results} results)"
            )
    for rkey in expected:
        report.problems.append(f"round {rkey[0]}/{rkey[1]}/{rkey[2]}: transactions for a round that does not exist")
    return report
