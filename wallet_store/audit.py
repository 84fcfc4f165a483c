"""Audit: balances must equal the journal.

Streams the journal (ordered by account, currency, seq) and the wallets, and checks:

* each wallet's entries are numbered 1..n with no gap;
* each entry's hash matches its content and links to the previous entry's hash;
* each entry's ``*_after`` equals the previous ``*_after`` plus its delta (before of the
  first entry is zero);
* the wallet's stored balances, seq and last hash equal the last entry's;
* no balance is negative;
* every round's bets, wins and counts equal what its transactions add up to.

Memory: one small record per wallet and per round.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from . import money
from .model import GENESIS_HASH, JournalEntry, Wallet, verify_entry
from .ports import WalletStore


@dataclass
class AuditReport:
    wallets: int = 0
    entries: int = 0
    rounds: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = f"audit: {self.wallets} wallets, {self.entries} journal entries, {self.rounds} rounds"
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


@dataclass
class _RoundSum:
    real_bet: Decimal = money.ZERO
    bonus_bet: Decimal = money.ZERO
    real_win: Decimal = money.ZERO
    bonus_win: Decimal = money.ZERO
    wagers: int = 0
    results: int = 0


async def _round_totals(store: WalletStore) -> dict[tuple[str, str, str], _RoundSum]:
    """What each round's money must be, from its transactions: live bets, paid wins.

    Bets: successful wagers still applied (not rolled back) and every successful
    wagerAndResult (never rolled back; "reversed" is its win taken back by reversewin). Wins:
    results and wagerAndResult win legs not reversed.  Jackpots are payouts outside rounds.
    """
    sums: dict[tuple[str, str, str], _RoundSum] = {}
    async for t in store.transactions():
        if not t.ok or t.kind not in ("wager", "wagerAndResult", "result"):
            continue
        s = sums.setdefault((t.account_id, t.scope, t.round_id), _RoundSum())
        if t.kind == "result":
            s.results += 1
            if t.state == "applied":
                s.real_win = money.add(s.real_win, t.real)
                s.bonus_win = money.add(s.bonus_win, t.bonus)
            continue
        if t.state == "applied" or t.kind == "wagerAndResult":
            s.wagers += 1
            s.real_bet = money.add(s.real_bet, t.real)
            s.bonus_bet = money.add(s.bonus_bet, t.bonus)
        if t.kind == "wagerAndResult" and t.extra:
            leg = json.loads(t.extra)
            s.results += 1
            if t.state == "reversed":
                continue
            s.real_win = money.add(s.real_win, money.parse(leg["real_win"]))
            s.bonus_win = money.add(s.bonus_win, money.parse(leg["bonus_win"]))
    return sums


async def run_audit(store: WalletStore) -> AuditReport:
    report = AuditReport()
    chains: dict[tuple[str, str], _Chain] = {}
    current: _Chain | None = None
    async for e in store.journal():
        key = (e.account_id, e.currency)
        if current is None or current.key != key:
            current = _Chain(key)
            chains[key] = current
        _check_entry(current, e, report)
        report.entries += 1
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
        where = f"round {r.account_id}/{r.game_id}/{r.round_id}"
        for name, v in (
            ("real_bet", r.real_bet),
            ("bonus_bet", r.bonus_bet),
            ("real_win", r.real_win),
            ("bonus_win", r.bonus_win),
        ):
            if v < 0:
                report.problems.append(f"{where}: {name} negative ({v})")
        exp = expected.pop((r.account_id, r.game_id, r.round_id), _RoundSum())
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
