"""Compatibility imports: the service now lives in :mod:`wallet_store.services`.

The Groove money engine is :mod:`wallet_store.domain.groove` (with ``groove_wager`` and
``groove_settle``); its units of work are :mod:`wallet_store.services.groove`, the
administration :mod:`wallet_store.services.admin`, caller authentication
:mod:`wallet_store.services.auth`.
"""

from __future__ import annotations

from wallet_store.domain.groove import CORRECTIONS, GAME_KINDS, LAST_ACTIVE_RESOLUTION, RETRIED_CORRECTIONS, new_tx_id
from wallet_store.services.auth import check_caller, signature_for
from wallet_store.services.wallet import WalletService, wallet_game_mode

__all__ = [
    "CORRECTIONS",
    "GAME_KINDS",
    "LAST_ACTIVE_RESOLUTION",
    "RETRIED_CORRECTIONS",
    "WalletService",
    "check_caller",
    "new_tx_id",
    "signature_for",
    "wallet_game_mode",
]
