"""Each wallet's journal chain (sequence, hash links, balance arithmetic) and the wallet row that
must equal where its chain ends; each round's totals from its transaction records."""

from __future__ import annotations

from .. import money
from ..domain import rounds
from ..model import (
    GENESIS_HASH,
    JournalEntry,
    Round,
    Wallet,
    verify_entry,
)
from ..ports import WalletStore
from .report import AuditReport


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
        key = rounds.round_key(t)
        sums[key] = rounds.tally(sums.get(key) or Round(*key, currency=""), t)
    return sums
