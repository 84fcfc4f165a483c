"""Property: random sequences of REST credits/debits, converts, and holds (reserve, capture,
release) decided by the pure engine conserve money and never leave a negative balance.

A simple model keeps, per currency, what came in from outside and went out (credits, debits)
and what a conversion took and gave; the sum of every wallet's real + bonus + reserved must
equal it after each step, every open hold must be exactly the wallet's reserved balance, and a
replayed credit moves nothing.  A conversion never creates value: credited x rate_to <=
amount x rate_from.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.unit.engine import NOW, currency, operator, player
from wallet_store import money
from wallet_store.domain import holds, idempotency
from wallet_store.domain.balances import WalletChange
from wallet_store.domain.flows import close_hold
from wallet_store.domain.transfers import (
    ConvertCmd,
    ConvertState,
    Direction,
    TransferCmd,
    TransferState,
    decide_convert,
    decide_transfer,
)
from wallet_store.errors import OutOfMoney
from wallet_store.model import DebitOrder, Hold, Wallet, move

D = Decimal
PLAYERS = ("p1", "p2")
CURRENCIES = {"EUR": currency("EUR", "1"), "GOLD": currency("GOLD", "0.37")}
orders = st.sampled_from(["cash_money", "bonus_money"])
amounts = st.integers(min_value=1, max_value=50_000).map(lambda c: money.check(D(c).scaleb(-2)))


class Engine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.wallets: dict[tuple[str, str], Wallet] = {}
        self.expected: dict[str, Decimal] = dict.fromkeys(CURRENCIES, money.ZERO)
        self.holds: dict[str, Hold] = {}
        self.stored: dict[str, idempotency.StoredReply] = {}
        self.n = 0

    def _apply(self, change: WalletChange) -> None:
        w = change.wallet
        assert change.created is None or (w.account_id, w.currency) not in self.wallets
        assert [e.seq for e in change.entries] == list(range(w.seq - len(change.entries) + 1, w.seq + 1))
        self.wallets[(w.account_id, w.currency)] = w

    def _expect(self, code: str, delta: Decimal) -> None:
        self.expected[code] = money.add(self.expected[code], delta)

    @rule(
        direction=st.sampled_from(["credit", "debit"]),
        who=st.sampled_from(PLAYERS),
        code=st.sampled_from(list(CURRENCIES)),
        amount=amounts,
        order=orders,
    )
    def transfer(self, direction: Direction, who: str, code: str, amount: Decimal, order: DebitOrder) -> None:
        self.n += 1
        cmd = TransferCmd("g1", "pb", direction, who, None, code, amount, "r", "{}", f"k{self.n}")
        state = TransferState(player(who), CURRENCIES[code], None, self.wallets.get((who, code)), operator(order))
        try:
            d = decide_transfer(state, cmd, now=NOW, reference=f"api:g1:{self.n}")
        except OutOfMoney:
            w = self.wallets.get((who, code))
            assert direction == "debit"
            assert w is None or w.total < amount
            return
        assert d.change is not None
        assert d.outcome is not None
        self._apply(d.change)
        self._expect(code, amount if direction == "credit" else -amount)
        self.stored[cmd.key] = idempotency.StoredReply(d.outcome.fingerprint, d.outcome.reply)
        again = decide_transfer(
            replace_stored(state, self.stored[cmd.key], d.change.wallet), cmd, now=NOW, reference="x"
        )
        assert again.replayed
        assert again.change is None
        assert again.facts == d.facts

    @rule(who=st.sampled_from(PLAYERS), code=st.sampled_from(list(CURRENCIES)), amount=amounts)
    def bonus(self, who: str, code: str, amount: Decimal) -> None:
        """Bonus money from outside (as an operator grants it), so splits have two sides."""
        w = self.wallets.get((who, code)) or Wallet(who, code, updated_at=NOW)
        new, entry = move(w, kind="bonus", bonus=amount, reference="bonus", now=NOW)
        self._apply(WalletChange(new, (entry,)))
        self._expect(code, amount)

    @rule(who=st.sampled_from(PLAYERS), src=st.sampled_from(list(CURRENCIES)), amount=amounts)
    def convert(self, who: str, src: str, amount: Decimal) -> None:
        self.n += 1
        dst = next(c for c in CURRENCIES if c != src)
        cmd = ConvertCmd("g1", who, None, src, dst, amount, f"k{self.n}")
        state = ConvertState(
            player(who),
            CURRENCIES[src],
            CURRENCIES[dst],
            None,
            self.wallets.get((who, src)),
            self.wallets.get((who, dst)),
            operator(),
        )
        try:
            d = decide_convert(state, cmd, now=NOW, reference=f"cv:g1:{self.n}")
        except OutOfMoney:
            return
        for change in d.changes:
            self._apply(change)
        self._expect(src, -amount)
        self._expect(dst, d.facts.credited)
        assert d.facts.credited * d.facts.rate_to <= amount * d.facts.rate_from

    @rule(who=st.sampled_from(PLAYERS), code=st.sampled_from(list(CURRENCIES)), amount=amounts, order=orders)
    def reserve(self, who: str, code: str, amount: Decimal, order: DebitOrder) -> None:
        w = self.wallets.get((who, code))
        if w is None or w.total < amount:
            return
        self.n += 1
        new, entry, hold = holds.reserve(
            w,
            amount,
            "cash_money",
            hold_id=f"h{self.n}",
            reference=f"tr_{self.n}",
            expires_at=NOW.replace(year=2027),
            now=NOW,
        )
        self._apply(WalletChange(new, (entry,)))
        self.holds[hold.hold_id] = hold

    @rule(data=st.data(), capture=st.booleans())
    def close(self, data: st.DataObject, capture: bool) -> None:
        if not self.holds:
            return
        hold = self.holds.pop(data.draw(st.sampled_from(sorted(self.holds))))
        source = self.wallets[(hold.account_id, hold.currency)]
        if not capture:
            closing = close_hold(hold, source, None, "cancelled", NOW)
            self._apply(closing.change)
            return
        other = next(p for p in PLAYERS if p != hold.account_id)
        dst = self.wallets.get((other, hold.currency)) or Wallet(other, hold.currency, updated_at=NOW)
        src, src_e, paid, dst_e, _ = holds.capture(hold, source, dst, credit_kind="transfer_in", now=NOW)
        assert (paid.real - dst.real, paid.bonus - dst.bonus) == (hold.real, hold.bonus)  # the split is kept
        self._apply(WalletChange(src, (src_e,)))
        self._apply(WalletChange(paid, (dst_e,)))

    @invariant()
    def money_is_conserved_and_never_negative(self) -> None:
        for code, want in self.expected.items():
            held = [w for (_, c), w in self.wallets.items() if c == code]
            assert sum((money.add(w.total, w.reserved) for w in held), money.ZERO) == want
        for w in self.wallets.values():
            assert w.real >= 0
            assert w.bonus >= 0
            assert w.reserved >= 0
            open_holds = [
                h.amount for h in self.holds.values() if (h.account_id, h.currency) == (w.account_id, w.currency)
            ]
            assert w.reserved == sum(open_holds, money.ZERO)


def replace_stored(state: TransferState, stored: idempotency.StoredReply, wallet: Wallet) -> TransferState:
    return TransferState(state.player, state.currency, stored, wallet, state.operator)


TestEngine = Engine.TestCase
TestEngine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
