"""Application services: load the state a command needs, decide with the engine, persist."""

from wallet_store.services.wallet import WalletService

__all__ = ["WalletService"]
