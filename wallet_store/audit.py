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
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from . import money
from .domain import rounds
from .flows import CREDIT_KIND
from .holds import HOLD, HOLD_CAPTURE, HOLD_RELEASE
from .model import (
    GENESIS_HASH,
    AdminOp,
    Flow,
    Hold,
    ItemPurchase,
    JournalEntry,
    Payment,
    Round,
    TxRecord,
    Wallet,
    verify_entry,
)
from .ports import WalletStore

WalletKey = tuple[str, str]  # (account_id, currency)
HEAD_FORMAT = "groove-wallet-heads/1"
_MOD = 1 << 256
_DRILL_LIMIT = 100  # accounts whose records and entries are compared element by element


@dataclass
class AuditReport:
    wallets: int = 0
    entries: int = 0
    rounds: int = 0
    records: int = 0
    problems: list[str] = field(default_factory=list)
    # where each wallet's journal ends: (seq, hash), what --write-head exports
    heads: dict[WalletKey, tuple[int, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = (
            f"audit: {self.wallets} wallets, {self.entries} journal entries, {self.records} money records,"
            f" {self.rounds} rounds"
        )
        if self.ok:
            return head + ": OK, balances equal the journal"
        lines = [head + f": {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems[:200]]
        if len(self.problems) > 200:
            lines.append(f"  ... and {len(self.problems) - 200} more")
        return "\n".join(lines)


class _Chain:
    def __init__(self, key: tuple[str, str]) -> None:
        self.key = key
        self.seq = 0
        self.hash = GENESIS_HASH
        self.real = money.ZERO
        self.bonus = money.ZERO
        self.reserved = money.ZERO
        self.broken = False


def _check_entry(chain: _Chain, e: JournalEntry, report: AuditReport) -> None:
    where = f"{e.account_id}/{e.currency} seq {e.seq}"
    if chain.broken:
        return
    if e.seq != chain.seq + 1:
        report.problems.append(f"{where}: expected seq {chain.seq + 1} (gap or duplicate)")
        chain.broken = True
        return
    if e.prev_hash != chain.hash:
        report.problems.append(f"{where}: first broken link: prev_hash does not match the previous entry")
        chain.broken = True
        return
    if not verify_entry(e):
        report.problems.append(f"{where}: first broken link: hash does not match the entry's content")
        chain.broken = True
        return
    for name, before, delta, after in (
        ("real", chain.real, e.real_delta, e.real_after),
        ("bonus", chain.bonus, e.bonus_delta, e.bonus_after),
        ("reserved", chain.reserved, e.reserved_delta, e.reserved_after),
    ):
        if money.add(before, delta) != after:
            report.problems.append(f"{where}: {name} {before} + {delta} != {after}")
        if after < 0:
            report.problems.append(f"{where}: {name} balance negative ({after})")
    chain.seq, chain.hash = e.seq, e.hash
    chain.real, chain.bonus, chain.reserved = e.real_after, e.bonus_after, e.reserved_after


def _check_wallet(chain: _Chain | None, w: Wallet, report: AuditReport) -> None:
    where = f"{w.account_id}/{w.currency}"
    c = chain or _Chain((w.account_id, w.currency))
    if c.broken:
        return
    if (w.real, w.bonus, w.reserved) != (c.real, c.bonus, c.reserved):
        report.problems.append(
            f"{where}: wallet real/bonus/reserved {w.real}/{w.bonus}/{w.reserved} but journal says"
            f" {c.real}/{c.bonus}/{c.reserved}"
        )
    if w.seq != c.seq or w.last_hash != c.hash:
        report.problems.append(f"{where}: wallet is at seq {w.seq} but the journal ends at seq {c.seq}")


async def _round_totals(store: WalletStore) -> dict[tuple[str, str, str], Round]:
    """What each round's money must be, from its transactions (:func:`rounds.tally`): live
    bets, paid wins.  Jackpots are payouts outside rounds."""
    sums: dict[tuple[str, str, str], Round] = {}
    async for t in store.transactions():
        if rounds.standing_effect(t) is None:
            continue
        key = (t.account_id, t.scope, t.round_id)
        sums[key] = rounds.tally(sums.get(key) or Round(*key, currency=""), t)
    return sums


# --------------------------------------------------------------------------- records <-> entries


@dataclass(frozen=True, slots=True)
class Expected:
    """One journal entry a record says was written (see the module docstring's table)."""

    account_id: str
    currency: str  # "" when the record does not say (a conversion names no currency)
    kind: str
    reference: str
    a: Decimal  # available delta (real + bonus); for ``adjust``: real after
    b: Decimal  # reserved delta; for ``adjust``: bonus after
    record: str  # how the report names the record

    @property
    def element(self) -> tuple[str, str, str, str]:
        return (self.kind, self.reference, money.wire(self.a), money.wire(self.b))


def entry_element(e: JournalEntry) -> tuple[str, str, str, str]:
    """What a journal entry is matched by: the :attr:`Expected.element` of its record."""
    if e.kind == "adjust":
        a, b = e.real_after, e.bonus_after
    else:
        a, b = money.add(e.real_delta, e.bonus_delta), e.reserved_delta
    return (e.kind, e.reference, money.wire(a), money.wire(b))


def _fold(element: tuple[str, str, str, str]) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(element).encode()).digest(), "big")


class _Multiset:
    """Per-account multiset hash: (sum of element hashes mod 2**256, count)."""

    def __init__(self) -> None:
        self.sums: dict[str, tuple[int, int]] = {}

    def add(self, account_id: str, element: tuple[str, str, str, str]) -> None:
        total, n = self.sums.get(account_id, (0, 0))
        self.sums[account_id] = ((total + _fold(element)) % _MOD, n + 1)


def _tx_expected(t: TxRecord) -> Iterator[Expected]:
    if not t.ok:
        return
    name = f"transaction {t.kind} {t.transaction_id} (operator {t.operator_id}, game {t.scope})"
    ref = f"{t.kind}:{t.transaction_id}"

    def one(kind: str, amount: Decimal) -> Expected:
        return Expected(t.account_id, t.currency, kind, ref, amount, money.ZERO, name)

    if t.kind in ("wager", "wagerAndResult") and t.amount > 0:
        yield one("wager", -t.amount)
    if t.kind == "wagerAndResult" and t.extra:
        leg = json.loads(t.extra)
        if "real_win" in leg:
            win = money.add(money.parse(leg["real_win"]), money.parse(leg["bonus_win"]))
            if win > 0:
                yield one("result", win)
    if t.kind in ("result", "jackpot", "rollback") and t.amount > 0:
        yield one(t.kind, t.amount)
    if t.kind in ("reversewin", "rollbackrollback") and t.amount > 0:
        yield one(t.kind, -t.amount)


def _hold_expected(h: Hold) -> Iterator[Expected]:
    name = f"hold {h.hold_id} ({h.state})"
    zero = money.ZERO
    yield Expected(h.account_id, h.currency, HOLD, h.reference, -h.amount, h.amount, name)
    if h.state == "released":
        yield Expected(h.account_id, h.currency, HOLD_RELEASE, h.reference, h.amount, -h.amount, name)
    elif h.state == "captured":
        yield Expected(h.account_id, h.currency, HOLD_CAPTURE, h.reference, zero, -h.amount, name)


def _admin_expected(op: AdminOp) -> Iterator[Expected]:
    d = json.loads(op.reply)
    name = f"admin op {op.key}"
    if op.key.startswith("adjust:"):
        w = d["wallet"]
        yield Expected(
            d["account_id"],
            w["currency"],
            "adjust",
            d["reference"],
            money.parse(w["real_balance"]),
            money.parse(w["bonus_balance"]),
            name,
        )
    elif op.key.startswith("cv:"):
        acct, ref = d["account_id"], d["reference"]
        yield Expected(acct, "", "convert_out", ref, -money.parse(d["amount"]), money.ZERO, name)
        yield Expected(acct, "", "convert_in", ref, money.parse(d["credited"]), money.ZERO, name)
    elif "direction" in d and "reference" in d:  # REST credit / debit (``pb:`` / ``pw:``)
        amount = money.add(money.parse(d["real"]), money.parse(d["bonus"]))
        kind = f"api_{d['direction']}"
        yield Expected(d["account_id"], d["currency"], kind, d["reference"], amount, money.ZERO, name)


def _ledger_expected(r: Hold | Flow | Payment | ItemPurchase | AdminOp) -> Iterator[Expected]:
    zero = money.ZERO
    if isinstance(r, Hold):
        yield from _hold_expected(r)
    elif isinstance(r, Flow):
        if r.state == "claimed" and r.target_account is not None:
            name = f"{r.kind} {r.flow_id} (claimed)"
            yield Expected(r.target_account, r.currency, CREDIT_KIND[r.kind], r.flow_id, r.amount, zero, name)
    elif isinstance(r, Payment):
        if r.state == "succeeded":
            name = f"payment {r.payment_id} (succeeded)"
            yield Expected(r.account_id, r.currency, "purchase_credit", r.payment_id, r.amount, zero, name)
    elif isinstance(r, ItemPurchase):
        name = f"item purchase {r.purchase_id}"
        yield Expected(r.account_id, r.currency, "item_debit", r.purchase_id, -r.total, zero, name)
    else:
        yield from _admin_expected(r)


_UNREADABLE = (ValueError, KeyError, TypeError, AttributeError)  # json and money errors are ValueErrors


async def expected_entries(store: WalletStore, problems: list[str] | None = None) -> AsyncIterator[Expected]:
    """Every journal entry the records say was written (any order).  A record whose stored
    JSON cannot be read is skipped and, when ``problems`` is given, reported there."""
    async for t in store.transactions():
        try:
            found = list(_tx_expected(t))
        except _UNREADABLE as exc:
            found = []
            if problems is not None:
                problems.append(f"transaction {t.kind} {t.transaction_id}: unreadable record ({exc!r})")
        for x in found:
            yield x
    async for r in store.ledger_records():
        try:
            found = list(_ledger_expected(r))
        except _UNREADABLE as exc:
            found = []
            if problems is not None:
                name = f"admin op {r.key}" if isinstance(r, AdminOp) else type(r).__name__
                problems.append(f"{name}: unreadable record ({exc!r})")
        for x in found:
            yield x


async def _records_side(store: WalletStore, report: AuditReport) -> _Multiset:
    side = _Multiset()
    async for x in expected_entries(store, report.problems):
        report.records += 1
        side.add(x.account_id, x.element)
    return side


async def _drill(store: WalletStore, accounts: set[str], report: AuditReport) -> None:
    """Name what differs, element by element, for ``accounts`` (a few; both sides re-read)."""
    want: dict[str, Counter[tuple[str, str, str, str]]] = {a: Counter() for a in accounts}
    named: dict[tuple[str, tuple[str, str, str, str]], Expected] = {}
    async for x in expected_entries(store):
        if x.account_id in want:
            want[x.account_id][x.element] += 1
            named.setdefault((x.account_id, x.element), x)
    for acct in sorted(accounts):
        left = want[acct]
        async for e in store.journal(acct):
            el = entry_element(e)
            if e.kind == "initial":
                continue
            if left[el] > 0:
                left[el] -= 1
                continue
            report.problems.append(
                f"{e.account_id}/{e.currency} seq {e.seq}: entry {e.kind} {e.reference} ({el[2]}/{el[3]})"
                " belongs to no record that says it applied"
            )
        for el, n in sorted(left.items()):
            if n <= 0:
                continue
            x = named[(acct, el)]
            report.problems.append(
                f"{acct}/{x.currency or '?'}: {x.record} says it applied but the journal has"
                f" {'no' if n == 1 else f'{n} fewer'} entry {x.kind} {x.reference} ({el[2]}/{el[3]})"
            )


async def _cross_check(store: WalletStore, journal_side: _Multiset, report: AuditReport) -> None:
    records_side = await _records_side(store, report)
    differ = {
        acct
        for acct in journal_side.sums.keys() | records_side.sums.keys()
        if journal_side.sums.get(acct, (0, 0)) != records_side.sums.get(acct, (0, 0))
    }
    drilled = set(sorted(differ)[:_DRILL_LIMIT])
    await _drill(store, drilled, report)
    for acct in sorted(differ - drilled):
        report.problems.append(f"{acct}: the journal and the money records disagree (not itemized)")


# --------------------------------------------------------------------------- chain heads


class HeadFileError(ValueError):
    """A head file that cannot be read or is not one."""


def write_heads(path: Path, heads: Mapping[WalletKey, tuple[int, str]]) -> None:
    """Export every wallet's (seq, hash) as JSON, atomically (written aside, then renamed)."""
    body = {
        "format": HEAD_FORMAT,
        "wallets": [
            {"account_id": k[0], "currency": k[1], "seq": seq, "hash": h} for k, (seq, h) in sorted(heads.items())
        ],
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_heads(path: Path) -> dict[WalletKey, tuple[int, str]]:
    """Read a head file written by :func:`write_heads`; :class:`HeadFileError` if it is not one."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("format") != HEAD_FORMAT:
            raise HeadFileError(f"{path}: not a {HEAD_FORMAT} head file")
        out: dict[WalletKey, tuple[int, str]] = {}
        for w in body["wallets"]:
            seq, digest = w["seq"], w["hash"]
            if not isinstance(seq, int) or seq < 1 or not isinstance(digest, str):
                raise HeadFileError(f"{path}: bad head {w!r}")
            out[(str(w["account_id"]), str(w["currency"]))] = (seq, digest)
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HeadFileError(f"{path}: cannot read the head file ({exc})") from exc


def _check_expected_heads(
    expect: Mapping[WalletKey, tuple[int, str]], seen: Mapping[WalletKey, str], report: AuditReport
) -> None:
    for key, (seq, digest) in sorted(expect.items()):
        where = f"{key[0]}/{key[1]}"
        end = report.heads.get(key, (0, GENESIS_HASH))[0]
        if key not in seen:
            report.problems.append(
                f"{where}: the exported head is seq {seq} but the journal ends at seq {end} (truncated)"
            )
        elif seen[key] != digest:
            report.problems.append(f"{where} seq {seq}: hash differs from the exported head (the chain was rewritten)")


def _check_recorded_heads(recorded: Mapping[WalletKey, tuple[int, str]], report: AuditReport) -> None:
    for key in sorted(recorded.keys() | report.heads.keys()):
        mine = report.heads.get(key, (0, GENESIS_HASH))
        head = recorded.get(key, (0, GENESIS_HASH))
        if mine != head:
            report.problems.append(
                f"{key[0]}/{key[1]}: the journal ends at seq {mine[0]} but journal_heads records seq {head[0]}"
                + (" (a different hash)" if mine[0] == head[0] else "")
            )


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
