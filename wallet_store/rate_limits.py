"""Per-game rate-limit overrides of the REST faces (schema version 5).

The limits themselves (requests per minute per game and endpoint class, plus a burst
allowance) are enforced by the HTTP adapter (:mod:`groove_adapter.ratelimit`); the store
only keeps what an operator changed for one game.  ``None`` means "the service default"
(settings ``GW_RATE_LIMIT_*``), so a row never freezes a default that is later changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Bounds of an override (and of the settings): at least 1 request per minute, at most a
# million; a burst of 0 % (no burst) to 1000 % (11x the per-minute figure at once).
MAX_PER_MINUTE = 1_000_000
MAX_BURST_PERCENT = 1000


@dataclass(frozen=True, slots=True)
class GameRateLimits:
    """One game's overrides; ``None`` fields fall back to the service defaults."""

    game_id: str
    updated_at: datetime
    individual_per_min: int | None = None
    batch_per_min: int | None = None
    email_per_min: int | None = None
    write_per_min: int | None = None
    burst_percent: int | None = None

    def __post_init__(self) -> None:
        for name in ("individual_per_min", "batch_per_min", "email_per_min", "write_per_min"):
            v = getattr(self, name)
            if v is not None and not 1 <= v <= MAX_PER_MINUTE:
                raise ValueError(f"{name} must be between 1 and {MAX_PER_MINUTE}")
        if self.burst_percent is not None and not 0 <= self.burst_percent <= MAX_BURST_PERCENT:
            raise ValueError(f"burst_percent must be between 0 and {MAX_BURST_PERCENT}")
