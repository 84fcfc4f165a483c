"""Service settings: environment variables prefixed ``GW_`` (or CLI flags, which win).

Every limit the service enforces lives here, with a bounded range.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GW_", extra="ignore", frozen=True)

    # where and what to serve
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    database_url: str = "sqlite:///var/wallet.db"
    admin_token: SecretStr | None = None

    # SQLite
    sqlite_synchronous: Literal["FULL", "EXTRA", "NORMAL"] = "FULL"
    sqlite_max_batch: int = Field(256, ge=1, le=10_000)
    sqlite_queue_size: int = Field(4096, ge=1, le=1_000_000)
    sqlite_read_connections: int = Field(2, ge=1, le=64)

    # PostgreSQL
    pg_pool_min: int = Field(1, ge=0, le=100)
    pg_pool_max: int = Field(10, ge=1, le=200)
    pg_connect_timeout: float = Field(5.0, gt=0, le=120)
    pg_command_timeout: float = Field(10.0, gt=0, le=600)
    pg_max_retries: int = Field(5, ge=0, le=50)

    # request limits
    max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1_048_576)
    max_query_bytes: int = Field(8192, ge=256, le=1_048_576)
    max_batch_bets: int = Field(100, ge=1, le=10_000)
    max_amount: str = "9999999999999999999999.9999999999"

    # sessions
    session_ttl_seconds: int = Field(3600, ge=1, le=30 * 86400)

    # networking
    trusted_proxy_header: str | None = None  # e.g. "X-Forwarded-For", when behind a proxy we trust

    # logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not (v.startswith("sqlite:///") or v.startswith(("postgresql://", "postgres://"))):
            raise ValueError("database_url must be sqlite:///PATH or postgresql://...")
        return v

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:///")

    @property
    def sqlite_path(self) -> str:
        return self.database_url.removeprefix("sqlite:///")
