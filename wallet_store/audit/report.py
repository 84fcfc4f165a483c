"""The audit's findings: counts, problems, and where each wallet's journal ends."""

from __future__ import annotations

from dataclasses import dataclass, field

WalletKey = tuple[str, str]  # (account_id, currency)


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
