"""Operator Hub88 settings in the admin API: ``GET`` / ``PUT /admin/operators/{operator_id}/hub88``.

The body of a ``PUT`` replaces the settings: ``enabled``, ``public_key_pem`` (Hub88's public
key, which verifies ``X-Hub88-Signature``), ``private_key_pem`` (optional: the operator's own
key, signs replies), ``games`` (the allowed game codes; empty: every game).  Keys must be PEM
RSA keys of at least 2048 bits (:mod:`.signature`); a private key is never shown again (the
reply says only whether one is set).  Bearer auth and error mapping: the admin middleware.
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field, StringConstraints

from wallet_store import errors as E
from wallet_store.domain.hub88 import Hub88Settings
from wallet_store.model import iso

from ..admin import _BadRequest, _body
from ..jsonout import json_response
from ..keys import CLOCK, SERVICE
from ..schemas.common import Body
from . import signature

GameCode = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,255}$")]
Pem = Annotated[str, StringConstraints(min_length=1, max_length=signature.MAX_PEM)]


class Hub88In(Body):
    """An operator's Hub88 settings (all replaced by a PUT)."""

    enabled: bool
    public_key_pem: Pem
    private_key_pem: Pem | None = None
    games: Annotated[list[GameCode], Field(max_length=10_000)] = []


def settings_json(s: Hub88Settings) -> dict[str, Any]:
    return {
        "operator_id": s.operator_id,
        "enabled": s.enabled,
        "public_key_pem": s.public_key_pem,
        "has_private_key": s.private_key_pem is not None,
        "games": list(s.games),
        "updated_at": iso(s.updated_at),
    }


def validate_keys(public_pem: str, private_pem: str | None) -> list[dict[str, str]]:
    """What is wrong with the keys (empty: both are PEM RSA keys of at least 2048 bits)."""
    problems = []
    try:
        signature.load_public_key(public_pem)
    except signature.Hub88KeyError as exc:
        problems.append({"field": "public_key_pem", "error": str(exc)})
    if private_pem is not None:
        try:
            signature.load_private_key(private_pem)
        except signature.Hub88KeyError as exc:
            problems.append({"field": "private_key_pem", "error": str(exc)})
    return problems


async def get_hub88(request: web.Request) -> web.Response:
    operator_id = request.match_info["operator_id"]
    found = await request.app[SERVICE].hub88_settings(operator_id)
    if found is None:
        raise E.NotFound(f"operator {operator_id} has no Hub88 settings")
    return json_response(settings_json(found))


async def put_hub88(request: web.Request) -> web.Response:
    b = await _body(request, Hub88In)
    if problems := validate_keys(b.public_key_pem, b.private_key_pem):
        raise _BadRequest(problems)
    s = Hub88Settings(
        operator_id=request.match_info["operator_id"],
        enabled=b.enabled,
        public_key_pem=b.public_key_pem,
        private_key_pem=b.private_key_pem,
        games=tuple(dict.fromkeys(b.games)),
        updated_at=request.app[CLOCK].now(),
    )
    return json_response(settings_json(await request.app[SERVICE].set_hub88_settings(s)))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/admin/operators/{operator_id}/hub88", get_hub88),
        web.put("/admin/operators/{operator_id}/hub88", put_hub88),
    ]
