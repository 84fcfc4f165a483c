"""``GET /openapi.json``: a static OpenAPI 3 description of the REST faces (kept true by tests)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .jsonout import json_response


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


S: dict[str, Any] = {"type": "string"}
MONEY_S = {"type": "string", "description": "exact decimal string, at least 2 places"}
MONEY_N = {"type": "number", "description": "exact decimal number (never rounded through float)"}
NULL_S = {"type": "string", "nullable": True}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}

PB_PLAYER = _obj({"player_id": S, "player_name": S, "player_email": NULL_S, "date_joined": S, "last_active": NULL_S})
PB_BALANCE = _obj(
    {
        "currency_id": S,
        "currency_name": S,
        "currency_symbol": S,
        "available_balance": MONEY_S,
        "reserved_balance": MONEY_S,
        "total_balance": MONEY_S,
        "last_transaction": NULL_S,
    }
)
PB_SUMMARY = _obj(
    {
        "total_currencies": INT,
        "total_value_usd": {**NULL_S, "description": "null: no exchange rates configured"},
        "has_funds": BOOL,
        "last_updated": S,
    }
)
PB_VIEW = _obj(
    {"player": PB_PLAYER, "balances": {"type": "array", "items": PB_BALANCE}, "summary": PB_SUMMARY},
    ["player", "balances", "summary"],
)
PB_BATCH_PLAYER = _obj(
    {"player_id": S, "player_email": NULL_S, **PB_VIEW["properties"]}, ["player_id", "player", "balances"]
)
PB_ERROR = _obj({"error": S, "kind": S, "status": INT}, ["error", "status"])
PB_TRANSFER_IN = _obj(
    {
        "player_id": S,
        "player_email": S,
        "currency": S,
        "amount": {"oneOf": [MONEY_S, MONEY_N]},
        "reason": S,
        "idempotency_key": S,
    },
    ["currency", "amount", "idempotency_key"],
)
PB_TRANSFER = _obj(
    {
        "success": BOOL,
        "transaction_id": S,
        "type": {"type": "string", "enum": ["credit", "debit"]},
        "player_id": S,
        "player_email": NULL_S,
        "currency_id": S,
        "currency_name": S,
        "amount": MONEY_S,
        "previous_balance": MONEY_S,
        "new_balance": MONEY_S,
        "available_balance": MONEY_S,
        "reserved_balance": MONEY_S,
        "total_balance": MONEY_S,
        "reason": S,
        "created_at": S,
    },
    ["success", "transaction_id", "new_balance", "currency_name"],
)
PW_TX = _obj(
    {
        "user_identity": S,
        "game_id": NULL_S,
        "currency_code": S,
        "type": {"type": "string", "enum": ["credit", "debit"]},
        "amount": MONEY_N,
        "balance_before": MONEY_N,
        "balance_after": MONEY_N,
        "reason": S,
        "meta": {"type": "object", "additionalProperties": True},
        "_id": S,
        "created_at": S,
        "updated_at": S,
    }
)
PW_ERROR = _obj({"error": BOOL, "message": S}, ["error", "message"])


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def _errs(schema: dict[str, Any], *codes: int) -> dict[str, Any]:
    return {str(c): {"description": "error", "content": {"application/json": {"schema": schema}}} for c in codes}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


PB_SEC: list[dict[str, list[str]]] = [{"GameSecretKey": []}]
PW_SEC: list[dict[str, list[str]]] = [{"ApiKeyAuth": []}]

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "groove-wallet REST faces", "version": "1.0.0"},
    "components": {
        "securitySchemes": {
            "GameSecretKey": {"type": "apiKey", "in": "header", "name": "X-Game-Secret-Key"},
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key"},
        }
    },
    "paths": {
        "/api/player-balances/player/{player_id}": {
            "get": {
                "security": PB_SEC,
                "parameters": [{"name": "player_id", "in": "path", "required": True, "schema": S}],
                "responses": {"200": _ok(PB_VIEW), **_errs(PB_ERROR, 400, 401, 404)},
            }
        },
        "/api/player-balances/player/by-email/{email}": {
            "get": {
                "security": PB_SEC,
                "parameters": [{"name": "email", "in": "path", "required": True, "schema": S}],
                "responses": {"200": _ok(PB_VIEW), **_errs(PB_ERROR, 400, 401, 404)},
            }
        },
        "/api/player-balances/batch": {
            "post": {
                "security": PB_SEC,
                "requestBody": _body(
                    _obj(
                        {
                            "player_emails": {"type": "array", "items": S},
                            "player_ids": {"type": "array", "items": S},
                            "include_summary": BOOL,
                        }
                    )
                ),
                "responses": {
                    "200": _ok(
                        _obj(
                            {
                                "players": {"type": "array", "items": PB_BATCH_PLAYER},
                                "not_found": {"type": "array", "items": _obj({"player_id": S, "player_email": S})},
                                "summary": _obj(
                                    {
                                        "total_players": INT,
                                        "found": INT,
                                        "not_found": INT,
                                        "total_value_usd": NULL_S,
                                        "has_funds": BOOL,
                                    }
                                ),
                            },
                            ["players", "not_found"],
                        )
                    ),
                    **_errs(PB_ERROR, 400, 401),
                },
            }
        },
        "/api/player-balances/credit": {
            "post": {
                "security": PB_SEC,
                "requestBody": _body(PB_TRANSFER_IN),
                "responses": {"200": _ok(PB_TRANSFER), **_errs(PB_ERROR, 400, 401, 403, 404, 409)},
            }
        },
        "/api/player-balances/debit": {
            "post": {
                "security": PB_SEC,
                "requestBody": _body(PB_TRANSFER_IN),
                "responses": {"200": _ok(PB_TRANSFER), **_errs(PB_ERROR, 400, 401, 403, 404, 409, 422)},
            }
        },
        "/api/private/users/{identity}/wallets/balance": {
            "get": {
                "security": PW_SEC,
                "parameters": [{"name": "identity", "in": "path", "required": True, "schema": S}],
                "responses": {
                    "200": _ok(
                        _obj(
                            {
                                "error": BOOL,
                                "data": {
                                    "type": "array",
                                    "items": _obj({"currency_code": S, "currency_name": S, "balance": MONEY_N}),
                                },
                            },
                            ["error", "data"],
                        )
                    ),
                    **_errs(PW_ERROR, 400, 401, 404),
                },
            }
        },
        "/api/private/users/{identity}/wallet/{walletCode}/transactions": {
            "post": {
                "security": PW_SEC,
                "parameters": [
                    {"name": "identity", "in": "path", "required": True, "schema": S},
                    {"name": "walletCode", "in": "path", "required": True, "schema": S},
                ],
                "requestBody": _body(
                    _obj(
                        {
                            "currency": S,
                            "amount": MONEY_N,
                            "type": {"type": "string", "enum": ["credit", "debit"]},
                            "reason": S,
                            "meta": {"type": "object", "additionalProperties": True},
                            "idempotencyKey": S,
                        },
                        ["currency", "amount", "type", "idempotencyKey"],
                    )
                ),
                "responses": {
                    "200": _ok(_obj({"error": BOOL, "data": PW_TX}, ["error", "data"])),
                    **_errs(PW_ERROR, 400, 401, 404, 409),
                },
            }
        },
        "/api/private/users/{identity}/wallets/{currencyCode}/transactions": {
            "get": {
                "security": PW_SEC,
                "parameters": [
                    {"name": "identity", "in": "path", "required": True, "schema": S},
                    {"name": "currencyCode", "in": "path", "required": True, "schema": S},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "default": 1, "minimum": 1}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "default": 20, "minimum": 1, "maximum": 100},
                    },
                    {"name": "type", "in": "query", "schema": {"type": "string", "enum": ["credit", "debit"]}},
                ],
                "responses": {
                    "200": _ok(
                        _obj(
                            {
                                "error": BOOL,
                                "data": _obj(
                                    {
                                        "wallet": _obj({"currency_code": S, "balance": MONEY_N}),
                                        "page": INT,
                                        "limit": INT,
                                        "total": INT,
                                        "transactions": {"type": "array", "items": PW_TX},
                                    }
                                ),
                            },
                            ["error", "data"],
                        )
                    ),
                    **_errs(PW_ERROR, 400, 401, 404),
                },
            }
        },
    },
}


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(SPEC)
