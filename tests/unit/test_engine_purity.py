"""The engine is pure: no module of wallet_store/domain reaches, even through another module,
a web framework, a database driver, the storage port, a store or a service."""

from __future__ import annotations

from tests.test_layering import import_graph, imported_names, modules

FORBIDDEN = ("aiohttp", "aiosqlite", "asyncpg", "wallet_store.ports", "wallet_store.services", "wallet_store.sqlite")
FORBIDDEN_TOO = ("wallet_store.postgres", "wallet_store.sql", "wallet_store.service", "groove_adapter")


def _reached(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_the_domain_reaches_no_driver_store_or_service() -> None:
    mods, graph = modules(), import_graph()
    domain = [m for m in mods if m.startswith("wallet_store.domain")]
    engine = {"wallet_store.domain.transfers", "wallet_store.domain.flows", "wallet_store.domain.purchases"}
    assert engine <= set(domain)
    wrong: dict[str, list[str]] = {}
    for m in domain:
        names = _reached(m, graph) | {n for r in {m} | _reached(m, graph) for n in imported_names(r, mods[r])}
        bad = sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN + FORBIDDEN_TOO))
        if bad:
            wrong[m] = bad
    assert wrong == {}
