"""The REST faces' service moved to :mod:`wallet_store.services.rest` (its rules to
:mod:`wallet_store.domain`); this name stays for existing imports."""

from __future__ import annotations

from .domain.analytics import (
    Analytics,
    Bucket,
    CurrencyAnalytics,
    HistoryItem,
    HistoryPage,
    build_analytics,
    entry_direction,
    history_item,
    spend_category,
)
from .domain.balances import BatchResult, PlayerBalances, available, total
from .domain.requests import IDENTITY
from .domain.transfers import Conversion, Direction, Transfer
from .services.rest import MAX_BATCH, RestService

__all__ = [
    "IDENTITY",
    "MAX_BATCH",
    "Analytics",
    "BatchResult",
    "Bucket",
    "Conversion",
    "CurrencyAnalytics",
    "Direction",
    "HistoryItem",
    "HistoryPage",
    "PlayerBalances",
    "RestService",
    "Transfer",
    "available",
    "build_analytics",
    "entry_direction",
    "history_item",
    "spend_category",
    "total",
]
