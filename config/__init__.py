"""Settings for groove-wallet."""

from .settings import Settings

__all__ = ["Settings"]
