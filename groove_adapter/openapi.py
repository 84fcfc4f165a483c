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

PLAYER_ID = {
    **S,
    "description": "a string, though the seed's example shows a number: player ids are the operator's"
    " account ids ([0-9A-Za-z]{1,60}, e.g. Groove's accountid), which need not be numeric and can"
    " exceed a JSON number's exact range",
}
PB_PLAYER = _obj(
    {
        "player_id": PLAYER_ID,
        "player_name": S,
        "player_email": NULL_S,
        "date_joined": S,
        "last_active": {**NULL_S, "description": "the player's last money activity (Groove or REST)"},
    }
)
NULL_INT = {"type": "integer", "nullable": True}
CURRENCY_FIELDS = {
    "currency_id": {**NULL_INT, "description": "the operator's numeric currency id"},
    "currency_code": S,
    "currency_name": S,
    "currency_symbol": S,
}
PB_BALANCE = _obj(
    {
        **CURRENCY_FIELDS,
        "available_balance": MONEY_S,
        "reserved_balance": MONEY_S,
        "total_balance": MONEY_S,
        "last_transaction": NULL_S,
    }
)
PB_SUMMARY = _obj(
    {
        "total_currencies": INT,
        "total_value_usd": {**NULL_S, "description": "null when a funded wallet's currency has no USD rate"},
        "has_funds": BOOL,
        "last_updated": S,
    }
)
PB_VIEW = _obj(
    {"player": PB_PLAYER, "balances": {"type": "array", "items": PB_BALANCE}, "summary": PB_SUMMARY},
    ["player", "balances", "summary"],
)
TOTAL_VALUE = {**NULL_S, "description": "USD value; null when a funded wallet's currency has no USD rate"}
TOTAL_VALUE_ALIAS = {**NULL_S, "description": "alias of total_value (the earlier name), same value"}
PB_BATCH_PLAYER = _obj(
    {
        "player_id": PLAYER_ID,
        "player_email": NULL_S,
        "total_value": TOTAL_VALUE,
        "total_value_usd": TOTAL_VALUE_ALIAS,
        **PB_VIEW["properties"],
    },
    ["player_id", "total_value", "player", "balances"],
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
SUCCESS = {"type": "string", "enum": ["success"]}
PB_TRANSFER = _obj(
    {
        "success": BOOL,
        "status": SUCCESS,
        "transaction_id": S,
        "type": {"type": "string", "enum": ["credit", "debit"]},
        "player_id": S,
        "player_email": NULL_S,
        **CURRENCY_FIELDS,
        "amount": MONEY_S,
        "previous_balance": MONEY_S,
        "new_balance": MONEY_S,
        "available_balance": MONEY_S,
        "reserved_balance": MONEY_S,
        "total_balance": MONEY_S,
        "reason": S,
        "created_at": S,
    },
    ["success", "status", "transaction_id", "new_balance", "currency_name"],
)
PW_TX = _obj(
    {
        "user_identity": S,
        "game_id": {**S, "description": "the game that made the transaction; absent when none did"},
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
TIME_Q = {"type": "string", "format": "date-time", "description": "ISO 8601 with a timezone"}
PB_CONVERT_IN = _obj(
    {
        "player_id": S,
        "player_email": S,
        "from_currency": S,
        "to_currency": S,
        "amount": {"oneOf": [MONEY_S, MONEY_N]},
        "idempotency_key": S,
    },
    ["from_currency", "to_currency", "amount", "idempotency_key"],
)
_CONVERT_SIDE = _obj({**CURRENCY_FIELDS, "amount": MONEY_S, "usd_rate": S, "available_balance": MONEY_S})
PB_CONVERT = _obj(
    {
        "success": BOOL,
        "status": SUCCESS,
        "transaction_id": S,
        "player_id": S,
        "player_email": NULL_S,
        "from": _CONVERT_SIDE,
        "to": _CONVERT_SIDE,
        "new_balance": MONEY_S,
        "currency_name": S,
        "created_at": S,
    },
    ["success", "status", "transaction_id", "new_balance", "currency_name"],
)
PB_CURRENCY = _obj({**CURRENCY_FIELDS, "usd_rate": NULL_S, "start_amount": MONEY_S, "updated_at": S})
# History type filter values (groove_adapter/rest.py): every row has exactly one of them.
PB_HISTORY_TYPE = {
    "type": "string",
    "enum": ["credit", "debit", "none"],
    "description": "direction of the available balance: credit (up), debit (down), none (unchanged:"
    " a hold capture takes reserved funds only, a zero win)",
}
PW_HISTORY_TYPE = {
    "type": "string",
    "enum": ["credit", "debit"],
    "description": "direction of the balance; rows that leave it unchanged (a hold capture) are not listed",
}
PB_HISTORY_ITEM = _obj(
    {
        "transaction_id": S,
        "type": PB_HISTORY_TYPE,
        "kind": S,
        "amount": MONEY_S,
        "balance_before": MONEY_S,
        "balance_after": MONEY_S,
        "reserved_before": MONEY_S,
        "reserved_after": MONEY_S,
        "reason": S,
        "game_id": NULL_S,
        "created_at": S,
    }
)
_BUCKET = _obj({"start": S, "spend": MONEY_S, "wins": MONEY_S, "credits": MONEY_S})
_TREND = _obj({"current": MONEY_S, "previous": MONEY_S, "change": MONEY_S, "change_percent": NULL_S})
PB_ANALYTICS = _obj(
    {
        "player": PB_PLAYER,
        "period": {"type": "string", "enum": ["day", "week"]},
        "from": S,
        "to": S,
        "currencies": {
            "type": "array",
            "items": _obj(
                {
                    **CURRENCY_FIELDS,
                    "spend": MONEY_S,
                    "wins": MONEY_S,
                    "credits": MONEY_S,
                    "buckets": {"type": "array", "items": _BUCKET},
                    "top_spend_categories": {
                        "type": "array",
                        "items": _obj({"category": S, "amount": MONEY_S, "count": INT}),
                    },
                    "trend": _obj({"spend": _TREND, "wins": _TREND}),
                }
            ),
        },
    },
    ["player", "period", "currencies"],
)


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def _errs(schema: dict[str, Any], *codes: int) -> dict[str, Any]:
    return {str(c): {"description": "error", "content": {"application/json": {"schema": schema}}} for c in codes}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


# The game key in the face's header, or as Authorization: Bearer <key> (either one).
PB_SEC: list[dict[str, list[str]]] = [{"GameSecretKey": []}, {"BearerAuth": []}]
PW_SEC: list[dict[str, list[str]]] = [{"ApiKeyAuth": []}, {"BearerAuth": []}]
# The private API's seed lists 400/401/500 only: unknown identity or wallet, a reused
# idempotency key and refusals are 400 (groove_adapter/errors.py PRIVATE).
PW_CODES = (400, 401, 500)

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "groove-wallet REST faces", "version": "1.0.0"},
    "components": {
        "securitySchemes": {
            "GameSecretKey": {"type": "apiKey", "in": "header", "name": "X-Game-Secret-Key"},
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            "BearerAuth": {"type": "http", "scheme": "bearer", "description": "the game key"},
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
                                        "total_value": TOTAL_VALUE,
                                        "total_value_usd": TOTAL_VALUE_ALIAS,
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
        "/api/player-balances/convert": {
            "post": {
                "security": PB_SEC,
                "description": "Move value between two of a player's currencies atomically at the current USD rates.",
                "requestBody": _body(PB_CONVERT_IN),
                "responses": {"200": _ok(PB_CONVERT), **_errs(PB_ERROR, 400, 401, 403, 404, 409, 422)},
            }
        },
        "/api/player-balances/currencies": {
            "get": {
                "security": PB_SEC,
                "responses": {
                    "200": _ok(_obj({"currencies": {"type": "array", "items": PB_CURRENCY}}, ["currencies"])),
                    **_errs(PB_ERROR, 401),
                },
            }
        },
        "/api/player-balances/player/{player_id}/history": {
            "get": {
                "security": PB_SEC,
                "parameters": [
                    {"name": "player_id", "in": "path", "required": True, "schema": S},
                    {"name": "currency", "in": "query", "required": True, "schema": S},
                    {"name": "type", "in": "query", "schema": PB_HISTORY_TYPE},
                    {"name": "from", "in": "query", "schema": TIME_Q},
                    {"name": "to", "in": "query", "schema": TIME_Q},
                    {"name": "page", "in": "query", "schema": {"type": "integer", "default": 1, "minimum": 1}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "default": 20, "minimum": 1, "maximum": 100},
                    },
                ],
                "responses": {
                    "200": _ok(
                        _obj(
                            {
                                "player": PB_PLAYER,
                                "balance": PB_BALANCE,
                                "page": INT,
                                "limit": INT,
                                "total": INT,
                                "transactions": {"type": "array", "items": PB_HISTORY_ITEM},
                            },
                            ["player", "balance", "total", "transactions"],
                        )
                    ),
                    **_errs(PB_ERROR, 400, 401, 404),
                },
            }
        },
        "/api/player-balances/player/{player_id}/analytics": {
            "get": {
                "security": PB_SEC,
                "parameters": [
                    {"name": "player_id", "in": "path", "required": True, "schema": S},
                    {"name": "period", "in": "query", "schema": {"type": "string", "enum": ["day", "week"]}},
                    {"name": "currency", "in": "query", "schema": S},
                    {
                        "name": "from",
                        "in": "query",
                        "schema": {**TIME_Q, "description": "ISO 8601 with a timezone; default: 30 days before to"},
                    },
                    {"name": "to", "in": "query", "schema": TIME_Q},
                ],
                "responses": {"200": _ok(PB_ANALYTICS), **_errs(PB_ERROR, 400, 401, 404)},
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
                    **_errs(PW_ERROR, *PW_CODES),
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
                    **_errs(PW_ERROR, *PW_CODES),
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
                    {"name": "type", "in": "query", "schema": PW_HISTORY_TYPE},
                    {"name": "from", "in": "query", "schema": TIME_Q},
                    {"name": "to", "in": "query", "schema": TIME_Q},
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
                    **_errs(PW_ERROR, *PW_CODES),
                },
            }
        },
    },
}


# --- write flows: transfers, currency sends, purchases (groove_adapter/flows.py) ---------
# Every success carries new_balance (decimal string; null only for requires_action), its
# legacy alias with the same value, and currency_name (the write-response contract).
_FLOW_ID = {"type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"}
_CODE = {"type": "string", "pattern": "^[0-9]{6}$"}
_AMOUNT_IN = {"oneOf": [MONEY_S, MONEY_N]}
_NEW_BALANCE = {**MONEY_S, "description": "available balance of the player the contract names, after the write"}
_NULL_MONEY = {**MONEY_S, "nullable": True}
_STATE = {
    "type": "string",
    "enum": ["pending", "verified", "claimed", "cancelled"],
    "description": "the state the step left the flow in (the names GET /api/transfers/{id} answers)",
}


def _flow_step(id_field: str, details_field: str, party: dict[str, Any]) -> dict[str, Any]:
    details = _obj(
        {
            id_field: S,
            "state": _STATE,
            "amount": MONEY_S,
            "currency": S,
            "currency_name": S,
            **party,
            "note": S,
            "expires_at": S,
            "new_balance": _NEW_BALANCE,
        },
        [id_field, "state", "new_balance"],
    )
    return _obj(
        {
            "success": BOOL,
            "status": {"type": "string", "enum": ["success"]},
            "state": _STATE,
            id_field: S,
            "amount": MONEY_S,
            "currency": S,
            "currency_name": S,
            "new_balance": _NEW_BALANCE,
            "balance_player_id": S,
            "available_balance": MONEY_S,
            "reserved_balance": MONEY_S,
            "total_balance": MONEY_S,
            "expires_at": S,
            details_field: details,
            "verification": _obj({"channel": S, "phone": S, "code_length": INT}),
        },
        ["success", "status", "state", id_field, "new_balance", "currency_name", details_field],
    )


FLOW_TRANSFER = _flow_step("transfer_id", "transfer_details", {"source_player_id": S, "target_player_id": NULL_S})
FLOW_SEND = _flow_step(
    "send_id", "send_details", {"sender_player_id": S, "recipient_email": NULL_S, "recipient_player_id": S}
)
_HOLD = _obj(
    {
        "hold_id": S,
        "state": {"type": "string", "enum": ["open", "captured", "released"]},
        "amount": MONEY_S,
        "expires_at": S,
        "closed_at": NULL_S,
        "close_reason": NULL_S,
    }
)
FLOW_STATUS = _obj(
    {
        "transfer_id": S,
        "send_id": S,
        "kind": {"type": "string", "enum": ["transfer", "send"]},
        "state": {"type": "string", "enum": ["pending", "verified", "claimed", "cancelled", "expired"]},
        "amount": MONEY_S,
        "currency": S,
        "source_player_id": S,
        "target_player_id": NULL_S,
        "recipient_email": NULL_S,
        "verification_attempts": INT,
        "hold": _HOLD,
        "created_at": S,
        "updated_at": S,
    },
    ["kind", "state", "hold"],
)
PURCHASE = _obj(
    {
        "success": BOOL,
        "status": {"type": "string", "enum": ["success", "requires_action"]},
        "payment_id": S,
        "client_secret": {**NULL_S, "description": "for the 3-D Secure challenge when requires_action"},
        "player_id": S,
        "player_email": NULL_S,
        "currency": S,
        "currency_name": S,
        "usd_amount": MONEY_S,
        "usd_rate": S,
        "amount": MONEY_S,
        "new_balance": {**_NULL_MONEY, "description": "null (present) only when status is requires_action"},
        "purchase_details": _obj(
            {
                "payment_id": S,
                "usd_amount": MONEY_S,
                "amount": MONEY_S,
                "currency": S,
                "currency_name": S,
                "new_balance": _NULL_MONEY,
            },
            ["new_balance"],
        ),
        "available_balance": MONEY_S,
        "reserved_balance": MONEY_S,
        "total_balance": MONEY_S,
        "created_at": S,
    },
    ["success", "status", "payment_id", "new_balance", "currency_name", "purchase_details"],
)
ITEM = _obj(
    {
        "success": BOOL,
        "status": {"type": "string", "enum": ["success"]},
        "purchase_id": S,
        "player_id": S,
        "item_id": S,
        "item_name": S,
        "quantity": INT,
        "unit_price": MONEY_S,
        "total_price": MONEY_S,
        "currency": S,
        "currency_name": S,
        "new_balance": _NEW_BALANCE,
        "balance_info": _obj(
            {
                "currency": S,
                "currency_name": S,
                "previous_balance": MONEY_S,
                "new_balance": _NEW_BALANCE,
                "available_balance": MONEY_S,
                "reserved_balance": MONEY_S,
                "total_balance": MONEY_S,
            },
            ["new_balance"],
        ),
        "created_at": S,
    },
    ["success", "status", "purchase_id", "new_balance", "currency_name", "balance_info"],
)
_WHO = {"player_id": S, "player_email": S}
_IDEM = {"idempotency_key": S}
_FLOW_CODES = (400, 401, 403, 404, 409, 422)


def _flow_post(body: dict[str, Any], reply: dict[str, Any], *codes: int) -> dict[str, Any]:
    return {
        "post": {
            "security": PB_SEC,
            "requestBody": _body(body),
            "responses": {"200": _ok(reply), **_errs(PB_ERROR, *codes)},
        }
    }


def _flow_get(param: str, reply: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "security": PB_SEC,
            "parameters": [{"name": param, "in": "path", "required": True, "schema": S}],
            "responses": {"200": _ok(reply), **_errs(PB_ERROR, 400, 401, 404)},
        }
    }


SPEC["paths"].update(
    {
        "/api/transfers/initiate-transfer": _flow_post(
            _obj(
                {
                    "source_player_id": S,
                    "source_player_email": S,
                    "target_player_id": S,
                    "target_player_email": S,
                    "currency": S,
                    "amount": _AMOUNT_IN,
                    "note": S,
                    **_IDEM,
                },
                ["currency", "amount", "idempotency_key"],
            ),
            FLOW_TRANSFER,
            *_FLOW_CODES,
        ),
        "/api/transfers/verify-sms": _flow_post(
            _obj({"transfer_id": _FLOW_ID, "verification_code": _CODE}, ["transfer_id", "verification_code"]),
            FLOW_TRANSFER,
            400,
            401,
            404,
            409,
        ),
        "/api/transfers/claim-transfer": _flow_post(
            _obj({"transfer_id": _FLOW_ID, **_WHO}, ["transfer_id"]), FLOW_TRANSFER, 400, 401, 403, 404, 409
        ),
        "/api/transfers/cancel-transfer": _flow_post(
            _obj({"transfer_id": _FLOW_ID}, ["transfer_id"]), FLOW_TRANSFER, 400, 401, 404, 409
        ),
        "/api/transfers/{transfer_id}": _flow_get("transfer_id", FLOW_STATUS),
        "/api/currency-sends/initiate-send": _flow_post(
            _obj(
                {
                    "sender_player_id": S,
                    "sender_player_email": S,
                    "recipient_email": S,
                    "currency": S,
                    "amount": _AMOUNT_IN,
                    "note": S,
                    **_IDEM,
                },
                ["recipient_email", "currency", "amount", "idempotency_key"],
            ),
            FLOW_SEND,
            *_FLOW_CODES,
        ),
        "/api/currency-sends/verify-sms": _flow_post(
            _obj({"send_id": _FLOW_ID, "verification_code": _CODE}, ["send_id", "verification_code"]),
            FLOW_SEND,
            400,
            401,
            404,
            409,
        ),
        "/api/currency-sends/claim-currency": _flow_post(
            _obj({"send_id": _FLOW_ID, "recipient_email": S}, ["send_id", "recipient_email"]),
            FLOW_SEND,
            400,
            401,
            403,
            404,
            409,
        ),
        "/api/currency-sends/cancel-send": _flow_post(
            _obj({"send_id": _FLOW_ID}, ["send_id"]), FLOW_SEND, 400, 401, 404, 409
        ),
        "/api/currency-sends/{send_id}": _flow_get("send_id", FLOW_STATUS),
        "/api/currency-purchases/purchase-currency": _flow_post(
            _obj(
                {
                    **_WHO,
                    "currency": S,
                    "usd_amount": _AMOUNT_IN,
                    "payment_token": {
                        **S,
                        "description": "sandbox: tok_success, tok_requires_action, tok_requires_action_declined,"
                        " tok_declined",
                    },
                    **_IDEM,
                },
                ["currency", "usd_amount", "payment_token", "idempotency_key"],
            ),
            PURCHASE,
            400,
            401,
            402,
            403,
            404,
            409,
        ),
        "/api/currency-purchases/confirm-payment": _flow_post(
            _obj({"payment_id": _FLOW_ID}, ["payment_id"]), PURCHASE, 400, 401, 402, 404, 409
        ),
        "/api/item-purchases/purchase-item": _flow_post(
            _obj(
                {
                    **_WHO,
                    "currency": S,
                    "item_id": S,
                    "item_name": S,
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 10_000},
                    "unit_price": _AMOUNT_IN,
                    **_IDEM,
                },
                ["currency", "item_id", "unit_price", "idempotency_key"],
            ),
            ITEM,
            400,
            401,
            403,
            404,
            409,
            422,
        ),
    }
)


def _add_rate_limit_responses(spec: dict[str, Any]) -> None:
    """Every REST route is rate limited per game and endpoint class (ratelimit.py): 429 with
    ``Retry-After``, in the face's own error shape."""
    retry_after = {
        "Retry-After": {"description": "whole seconds to wait before retrying", "schema": {"type": "integer"}}
    }
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        error = PW_ERROR if path.startswith("/api/private/") else PB_ERROR
        for op in operations.values():
            op.setdefault("responses", {})["429"] = {
                "description": "rate limit of the game for this endpoint class exceeded",
                "headers": retry_after,
                "content": {"application/json": {"schema": error}},
            }


_add_rate_limit_responses(SPEC)


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(SPEC)
