"""The hold rules moved to :mod:`wallet_store.domain.holds`; this name stays for existing imports."""

from __future__ import annotations

from .domain.holds import HOLD, HOLD_CAPTURE, HOLD_RELEASE, HoldClosed, available, capture, is_due, release, reserve

__all__ = ["HOLD", "HOLD_CAPTURE", "HOLD_RELEASE", "HoldClosed", "available", "capture", "is_due", "release", "reserve"]
