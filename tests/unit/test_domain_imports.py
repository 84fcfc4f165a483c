"""The domain is pure: its modules import no web framework, no driver and no store."""

from __future__ import annotations

from tests.test_layering import import_graph, imported_names, modules

FORBIDDEN = (
    "aiohttp",
    "aiosqlite",
    "asyncpg",
    "sqlite3",
    "wallet_store.sqlite",
    "wallet_store.postgres",
    "wallet_store.sql",
)


def test_domain_modules_import_nothing_impure() -> None:
    mods = modules()
    domain = [m for m in mods if m.startswith("wallet_store.domain")]
    assert {"wallet_store.domain.model", "wallet_store.domain.selection"} <= set(domain)
    wrong = {
        m: sorted(n for n in imported_names(m, mods[m], with_typing=True) if n.startswith(FORBIDDEN)) for m in domain
    }
    assert {m: names for m, names in wrong.items() if names} == {}


def test_the_model_shim_only_re_exports_the_domain() -> None:
    assert import_graph()["wallet_store.model"] <= {
        "wallet_store.domain.model",
        "wallet_store.domain.journal",
        "wallet_store.domain.records",
    }
