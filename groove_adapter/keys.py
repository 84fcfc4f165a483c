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
    from .observability import Metrics

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", WalletStore)
SERVICE = web.AppKey("service", WalletService)
CLOCK = web.AppKey("clock", Clock)
REST_SERVICE = web.AppKey("rest_service", RestService)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")

# per-request state, read by the logging middleware
GROOVE_LOG: web.RequestKey[dict[str, object]] = web.RequestKey("groove_log")
LOG_EXC: web.RequestKey[BaseException] = web.RequestKey("log_exc")
