"""``/openapi.json`` is generated from what the faces run: the route tables, the body models the
faces parse with and the reply types their formatters return (issue #16, "one source of truth
for the wire").  No server: the app's router and the document only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, get_type_hints

import pytest
from pydantic import BaseModel, ValidationError

from config import Settings
from groove_adapter import flows, private, rest
from groove_adapter.app import create_app
from groove_adapter.openapi import OPERATIONS, build, spec
from groove_adapter.schemas import rest as S
from groove_adapter.schemas.operations import Op

SPEC = spec()  # the served document, built once for these tests

# The faces that are not REST faces of a game key, and where they are described instead.
NOT_IN_THE_DOCUMENT = {
    "/groove": "the aggregator's query-string protocol (README, docs/security.md)",
    "/hub88": "the Hub88 aggregator protocol: signed JSON POSTs (README, docs/hub88.md)",
    "/admin": "the operator's admin API, Bearer token (README)",
    "/ws": "live balance updates over WebSocket (README)",
    "/healthz": "probe",
    "/readyz": "probe",
    "/metrics": "Prometheus exposition",
    "/openapi.json": "this document",
}


def app_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite:///unused.db"))
    return {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"  # aiohttp adds HEAD beside each GET
    }


def documented() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in SPEC["paths"].items() for method in item}


def ref_name(schema: dict[str, Any]) -> str:
    ref: str = schema["$ref"]
    assert ref.startswith("#/components/schemas/")
    return ref.rpartition("/")[2]


def test_every_route_of_the_app_is_in_the_document_or_named_as_another_face() -> None:
    routes = app_routes()
    rest_routes = {(m, p) for m, p in routes if p.startswith("/api/")}
    assert rest_routes == documented()
    others = {p for _, p in routes - rest_routes}
    unexplained = {p for p in others if not any(p == k or p.startswith(k + "/") for k in NOT_IN_THE_DOCUMENT)}
    assert unexplained == set(), "document these routes in /openapi.json or name their face above"


def test_the_document_is_generated_from_the_route_tables() -> None:
    assert build(OPERATIONS) == SPEC
    assert (*rest.PB_OPERATIONS, *private.OPERATIONS, *flows.OPERATIONS) == OPERATIONS


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_the_documented_body_is_the_model_the_handler_parses_with(op: Op) -> None:
    operation = SPEC["paths"][op.path][op.method.lower()]
    hints = get_type_hints(op.handler)
    hints.pop("return", None)
    params = list(hints.values())
    assert params[0].__name__ == "Request"
    if op.body is None:
        assert "requestBody" not in operation
        assert len(params) == 1, "a handler that takes a body must name its model in the route table"
        return
    # the handler's parameter type, the model restface.bind validates with, and the document's
    assert params[1:] == [op.body]
    assert ref_name(operation["requestBody"]["content"]["application/json"]["schema"]) == op.body.__name__
    assert ref_name(operation["responses"]["200"]["content"]["application/json"]["schema"]) == op.reply.__name__


def test_the_registered_handlers_are_the_route_tables_handlers() -> None:
    app = create_app(Settings(database_url="sqlite:///unused.db"))
    by_route = {(op.method, op.path): op for op in OPERATIONS}
    for r in app.router.routes():
        key = (r.method if r.method != "HEAD" else "GET", r.resource.canonical if r.resource else "")
        if key in by_route:
            assert r.handler.__wrapped__ is by_route[key].handler, key  # type: ignore[attr-defined]


def test_every_component_is_used_and_every_reference_resolves() -> None:
    schemas = SPEC["components"]["schemas"]
    refs: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(ref_name(node))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(SPEC["paths"])
    walk(schemas)
    assert refs <= set(schemas)
    assert set(schemas) <= refs


def test_money_in_the_models_is_exact() -> None:
    """Bodies parse amounts exactly (a Decimal from the JSON text or a string, never a float);
    the document says so for each money field."""
    body = {"currency": "EUR", "amount": Decimal("0.1000000001"), "idempotency_key": "k", "player_id": "1"}
    assert S.TransferIn.model_validate(body).amount == Decimal("0.1000000001")
    assert S.TransferIn.model_validate(body | {"amount": "12.30"}).amount == Decimal("12.30")
    with pytest.raises(ValidationError):
        S.TransferIn.model_validate(body | {"amount": "0"})
    amount = SPEC["components"]["schemas"]["TransferIn"]["properties"]["amount"]
    assert [alt["type"] for alt in amount["oneOf"]] == ["string", "number"]
    assert "exact" in SPEC["components"]["schemas"]["PwTransaction"]["properties"]["amount"]["description"]


def test_bodies_refuse_unknown_fields_and_the_document_says_so() -> None:
    bodies: list[type[BaseModel]] = [op.body for op in OPERATIONS if op.body is not None]
    assert bodies
    for model in bodies:
        assert SPEC["components"]["schemas"][model.__name__]["additionalProperties"] is False, model
