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
    sqlite_cache_mb: int = Field(64, ge=2, le=65_536)  # the writer's page cache
    sqlite_mmap_mb: int = Field(256, ge=0, le=1_048_576)  # readers map this much of the file (0 = off)
    sqlite_checkpoint_pages: int = Field(10_000, ge=100, le=1_000_000)  # WAL auto-checkpoint threshold

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

    # connection limits (groove_adapter/server.py): a connection must deliver a complete request
    # head within idle_timeout_seconds of opening or of its previous response, or it is closed
    # (slow headers and idle keep-alive alike); at most max_connections are open at once, and
    # never more than the open-files limit minus a reserve for the store, logs and the listener.
    idle_timeout_seconds: float = Field(30.0, gt=0, le=3600)
    max_connections: int = Field(4096, ge=1, le=1_000_000)

    # sessions
    session_ttl_seconds: int = Field(3600, ge=1, le=30 * 86400)

    # monitoring: background audit every N seconds, exported as gw_audit_* metrics (0 = off)
    audit_interval_seconds: float = Field(600.0, ge=0, le=86_400)

    # networking
    trusted_proxy_header: str | None = None  # e.g. "X-Forwarded-For", when behind a proxy we trust

    # logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # auto: for humans (structlog's console renderer) when stderr is a terminal, else JSON lines
    log_format: Literal["auto", "json", "console"] = "auto"

    # REST rate limits: requests per minute per game and endpoint class, plus a burst
    # allowance in percent of that figure (the Player Balance API seed: 2000 / 100 / 1500,
    # +50 %).  Per-game overrides live in the store (PUT /admin/games/{id}/rate-limits).
    rate_limit_enabled: bool = True
    rate_limit_individual_per_min: int = Field(2000, ge=1, le=1_000_000)
    rate_limit_batch_per_min: int = Field(100, ge=1, le=1_000_000)
    rate_limit_email_per_min: int = Field(1500, ge=1, le=1_000_000)
    rate_limit_write_per_min: int = Field(2000, ge=1, le=1_000_000)
    rate_limit_burst_percent: int = Field(50, ge=0, le=1000)
    rate_limit_cache_seconds: float = Field(10.0, ge=0, le=3600)  # how long an instance caches overrides
    # Shared limits across instances (redis:// or rediss://); unset: per-instance, in memory.
    redis_url: str | None = None
    redis_key_prefix: str = Field("gw:rl:", min_length=1, max_length=64)
    redis_timeout_seconds: float = Field(0.25, gt=0, le=10)
    redis_retry_seconds: float = Field(5.0, gt=0, le=600)  # after a Redis failure, local limits this long

    # live balance updates (GET /ws/balance-updates)
    ws_max_subscribers_per_key: int = Field(50, ge=1, le=100_000)  # open connections per game, per instance
    ws_queue_size: int = Field(256, ge=1, le=100_000)  # messages queued per client before it is dropped
    ws_max_emails_per_subscription: int = Field(100, ge=1, le=10_000)  # players one connection may follow
    ws_auth_timeout_seconds: float = Field(10.0, gt=0, le=300)  # time to authenticate after connecting
    ws_max_message_bytes: int = Field(65_536, ge=1024, le=4 * 1_048_576)  # largest client message

    # holds and write flows (transfers, currency sends, purchases; wallet_store.flows)
    hold_ttl_seconds: int = Field(3600, ge=60, le=30 * 86400)  # a transfer/send's hold expires after this
    hold_sweep_interval_seconds: float = Field(30.0, gt=0, le=3600)  # how often expired holds are released
    sms_code_attempts: int = Field(3, ge=1, le=10)  # wrong codes before the flow is cancelled
    max_pending_holds: int = Field(10, ge=1, le=1000)  # open transfers/sends per player
    max_purchase_usd: int = Field(10_000, ge=1, le=1_000_000)  # largest currency purchase, USD

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not (v.startswith("sqlite:///") or v.startswith(("postgresql://", "postgres://"))):
            raise ValueError("database_url must be sqlite:///PATH or postgresql://...")
        return v

    @field_validator("redis_url", mode="before")
    @classmethod
    def _redis_scheme(cls, v: object) -> object:
        if v == "":
            return None  # GW_REDIS_URL= (set but empty) means "no Redis"
        if isinstance(v, str) and not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url must be redis://, rediss:// or unix://")
        return v

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:///")

    @property
    def sqlite_path(self) -> str:
        """``sqlite:///rel/path`` is relative to the working directory, ``sqlite:////abs/path`` absolute."""
        return self.database_url.removeprefix("sqlite:///")

    def json_logs(self, stderr_is_terminal: bool) -> bool:
        return self.log_format == "json" or (self.log_format == "auto" and not stderr_is_terminal)
