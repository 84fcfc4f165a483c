"""Audit: balances must equal the journal.

Streams the journal (ordered by account, currency, seq) and the wallets, and checks:

* each wallet's entries are numbered 1..n with no gap;
* each entry's hash matches its content and links to the previous entry's hash;
* each entry's ``*_after`` equals the previous ``*_after`` plus its delta (before of the
  first entry is zero);
* the wallet's stored balances, seq and last hash equal the last entry's;
* no balance is negative; rounds have non-negative bets and wins.

Memory is bounded by one wallet at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    async for w in store.wallets():
        report.wallets += 1
        key = (w.account_id, w.currency)
        seen.add(key)
        _check_wallet(chains.get(key), w, report)
    for key in chains.keys() - seen:
        report.problems.append(f"{key[0]}/{key[1]}: journal entries for a wallet that does not exist")
    async for r in store.rounds():
        report.rounds += 1
        for name, v in (
            ("real_bet", r.real_bet),
            ("bonus_bet", r.bonus_bet),
            ("real_win", r.real_win),
            ("bonus_win", r.bonus_win),
        ):
            if v < 0:
                report.problems.append(f"round {r.account_id}/{r.game_id}/{r.round_id}: {name} negative ({v})")
        if r.wagers < 0:
            report.problems.append(f"round {r.account_id}/{r.game_id}/{r.round_id}: negative wager count")
    return report
