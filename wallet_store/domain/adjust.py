"""An admin adjustment's reply, as stored under its idempotency key and repeated on replay.

The audit reads it back (``wallet_store/audit.py``): the reference of the journal entry and
the wallet's balances after it.  Pure data: amounts as exact decimal text.
"""

from __future__ import annotations

from typing import Any

from wallet_store import money
from wallet_store.model import Wallet


def wallet_balances(w: Wallet) -> dict[str, Any]:
    """A wallet's balances as the admin face shows them."""
    return {
        "currency": w.currency,
        "real_balance": money.wire(w.real),
        "bonus_balance": money.wire(w.bonus),
        "reserved_balance": money.wire(w.reserved),
        "balance": money.wire(w.total),
    }


def adjustment_reply(account_id: str, reference: str, wallet: Wallet) -> dict[str, Any]:
    """What an adjustment answers (and stores): the account, the entry's reference, the balances."""
    return {"account_id": account_id, "reference": reference, "wallet": wallet_balances(wallet)}
