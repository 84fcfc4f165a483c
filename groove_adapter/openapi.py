"""``GET /openapi.json``: the OpenAPI 3 document of the REST faces, generated from the route
tables (:data:`groove_adapter.rest.OPERATIONS`, :data:`groove_adapter.flows.OPERATIONS`) and
the models and reply types they name (:mod:`groove_adapter.schemas`), with pydantic's JSON Schema."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter

from . import flows, rest
from .jsonout import json_response
from .schemas.common import PbError, PwError
from .schemas.operations import Op

REF = "#/components/schemas/{model}"
# The game key in the face's header, or as Authorization: Bearer <key> (either one).
PB_SEC: list[dict[str, list[str]]] = [{"GameSecretKey": []}, {"BearerAuth": []}]
PW_SEC: list[dict[str, list[str]]] = [{"ApiKeyAuth": []}, {"BearerAuth": []}]
SECURITY_SCHEMES: dict[str, Any] = {
    "GameSecretKey": {"type": "apiKey", "in": "header", "name": "X-Game-Secret-Key"},
    "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key"},
    "BearerAuth": {"type": "http", "scheme": "bearer", "description": "the game key"},
}
RETRY_AFTER = {"Retry-After": {"description": "whole seconds to wait before retrying", "schema": {"type": "integer"}}}
_PATH_PARAM = re.compile(r"\{([^}]+)\}")


def _name(t: Any) -> str:
    return str(t.__name__)


def _to_openapi_30(node: Any) -> Any:
    """pydantic's JSON Schema (2020-12) in OpenAPI 3.0's dialect: ``nullable`` instead of a
    ``null`` alternative, ``enum`` instead of ``const``, no generated ``title``."""
    if isinstance(node, list):
        return [_to_openapi_30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_openapi_30(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    alts = out.get("anyOf")
    if isinstance(alts, list) and {"type": "null"} in alts:
        rest_ = [a for a in alts if a != {"type": "null"}]
        del out["anyOf"]
        base = rest_[0] if len(rest_) == 1 and "$ref" not in rest_[0] else {"anyOf": rest_}
        out = {**base, **out, "nullable": True}
    if "const" in out:
        out["enum"] = [out.pop("const")]
    return out


def _components(ops: Iterable[Op]) -> dict[str, Any]:
    ops = list(ops)
    inputs: list[tuple[str, Any, TypeAdapter[Any]]] = []
    seen: dict[str, Any] = {}
    types = [(op.body, "validation") for op in ops if op.body is not None]
    types += [(op.reply, "serialization") for op in ops] + [(PbError, "serialization"), (PwError, "serialization")]
    for t, mode in types:
        if seen.setdefault(_name(t), t) is not t:  # a component is named after its type
            raise ValueError(f"two types named {_name(t)} on the wire")
        if not any(name == _name(t) for name, _, _ in inputs):
            inputs.append((_name(t), mode, TypeAdapter(t)))
    _, top = TypeAdapter.json_schemas(inputs, ref_template=REF)
    return {"securitySchemes": SECURITY_SCHEMES, "schemas": _to_openapi_30(top["$defs"])}


def _json(t: Any) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=_name(t))}}}


def _operation(op: Op) -> dict[str, Any]:
    error = PwError if op.private else PbError
    params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in _PATH_PARAM.findall(op.path)
    ]
    for q in op.query:
        schema = q.schema if isinstance(q.schema, dict) else _to_openapi_30(TypeAdapter(q.schema).json_schema())
        params.append({"name": q.name, "in": "query", **({"required": True} if q.required else {}), "schema": schema})
    out: dict[str, Any] = {"security": PW_SEC if op.private else PB_SEC}
    if op.description:
        out["description"] = op.description
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": _json(op.body)}
    responses: dict[str, Any] = {"200": {"description": "OK", "content": _json(op.reply)}}
    responses |= {str(c): {"description": "error", "content": _json(error)} for c in op.errors}
    responses["429"] = {
        "description": "rate limit of the game for this endpoint class exceeded",
        "headers": RETRY_AFTER,
        "content": _json(error),
    }
    out["responses"] = responses
    return out


def build(ops: Iterable[Op]) -> dict[str, Any]:
    """The document of ``ops``: one path item per route, components from their types."""
    ops = list(ops)
    paths: dict[str, Any] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.0.3",
        "info": {"title": "groove-wallet REST faces", "version": "1.0.0"},
        "components": _components(ops),
        "paths": paths,
    }


OPERATIONS: tuple[Op, ...] = (*rest.OPERATIONS, *flows.OPERATIONS)


@functools.cache
def spec() -> dict[str, Any]:
    """The document, built on first use (not at import: importing the app stays cheap)."""
    return build(OPERATIONS)


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(spec())
