"""The wallet's application service: the Groove money protocol and the administration, as one class.

The faces, the CLI and the tests hold one :class:`WalletService`; its methods are units of
work on a :class:`~wallet_store.ports.WalletStore` (load -> decide -> persist, see
:mod:`wallet_store.services.groove`).  Pure of HTTP and drivers.
"""

from __future__ import annotations

from wallet_store.model import DebitOrder, Wallet, game_mode
from wallet_store.services.admin import AdminService
from wallet_store.services.groove import GrooveService
from wallet_store.services.hub88 import Hub88Service


class WalletService(GrooveService, Hub88Service, AdminService):
    """getaccount, getbalance, the money requests (Groove and Hub88), and operator/player administration."""


def wallet_game_mode(wallet: Wallet, order: DebitOrder) -> int:
    return game_mode(wallet, order)
