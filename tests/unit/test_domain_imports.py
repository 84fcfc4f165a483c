"""``wallet_store.model`` is only the old import path of the domain model (the domain's purity
itself is ``test_engine_purity``)."""

from __future__ import annotations

from tests.test_layering import import_graph


def test_the_model_shim_only_re_exports_the_domain() -> None:
    assert import_graph()["wallet_store.model"] <= {
        "wallet_store.domain.model",
        "wallet_store.domain.journal",
        "wallet_store.domain.records",
    }
