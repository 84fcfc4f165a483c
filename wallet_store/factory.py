"""Pick the storage backend from the settings' database URL."""

from __future__ import annotations

from config import Settings

from .ports import WalletStore


def make_store(settings: Settings) -> WalletStore:
    if settings.is_sqlite:
        from .sqlite.store import SqliteStore

        return SqliteStore(
            settings.sqlite_path,
            synchronous=settings.sqlite_synchronous,
            max_batch=settings.sqlite_max_batch,
            queue_size=settings.sqlite_queue_size,
            read_connections=settings.sqlite_read_connections,
            cache_mb=settings.sqlite_cache_mb,
            mmap_mb=settings.sqlite_mmap_mb,
            checkpoint_pages=settings.sqlite_checkpoint_pages,
        )
    from .postgres.store import PostgresStore

    return PostgresStore(
        settings.database_url,
        min_size=settings.pg_pool_min,
        max_size=settings.pg_pool_max,
        connect_timeout=settings.pg_connect_timeout,
        command_timeout=settings.pg_command_timeout,
        max_retries=settings.pg_max_retries,
    )
