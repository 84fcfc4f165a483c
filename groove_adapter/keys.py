"""Typed application state (``web.AppKey``) of the core objects and per-request log state.

At run time this module imports only ``config`` and ``wallet_store``; for typing, only
``ratelimit`` (which imports nothing of this package).  The key of an object that a face
module defines and uses lives beside its class (``events.BUS``, ``observability.METRICS``,
``ws.WS_HUB``), so no import circle runs through here (``tests/test_layering.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from config import Settings
from wallet_store.model import Clock
from wallet_store.ports import WalletStore
from wallet_store.rest_service import RestService
from wallet_store.service import WalletService

if TYPE_CHECKING:
    from .ratelimit import RateLimiter

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", WalletStore)
SERVICE = web.AppKey("service", WalletService)
CLOCK = web.AppKey("clock", Clock)
REST_SERVICE = web.AppKey("rest_service", RestService)
# rate limits
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")

# per-request state, read by the logging middleware
GROOVE_LOG: web.RequestKey[dict[str, object]] = web.RequestKey("groove_log")
LOG_EXC: web.RequestKey[BaseException] = web.RequestKey("log_exc")
