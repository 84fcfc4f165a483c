"""Typed application state (``web.AppKey``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from config import Settings
from wallet_store.model import Clock
from wallet_store.ports import WalletStore
from wallet_store.rest_service import RestService
from wallet_store.service import WalletService

if TYPE_CHECKING:
    from .events import BalanceBus
    from .observability import Metrics
    from .ratelimit import RateLimiter
    from .ws import WsHub

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", WalletStore)
SERVICE = web.AppKey("service", WalletService)
CLOCK = web.AppKey("clock", Clock)
REST_SERVICE = web.AppKey("rest_service", RestService)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
# rate limits and live balance updates
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
BUS: web.AppKey[BalanceBus] = web.AppKey("balance_bus")
WS_HUB: web.AppKey[WsHub] = web.AppKey("ws_hub")

# per-request state, read by the logging middleware
GROOVE_LOG: web.RequestKey[dict[str, object]] = web.RequestKey("groove_log")
LOG_EXC: web.RequestKey[BaseException] = web.RequestKey("log_exc")
