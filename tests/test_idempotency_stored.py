"""Rows stored before the idempotency module (another JSON spacing in the fingerprint) still replay.

Until the module, a keyed write stored ``sha256(json.dumps(fields, sort_keys=True))``; new rows
store the canonical compact form.  A retry of an old request must still be a replay (moving
nothing), and another request under an old key still a conflict.  Through HTTP, both backends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import Api
from tests.test_admin import adjust_body
from tests.test_rest_api import PB, Rest, credit, new_game

ADJUST = "/admin/players/5179068/adjust"


def legacy(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


async def on_store(make_store: Any, call: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``call`` on a store of the app's own database."""
    store = make_store()
    await store.open()
    try:
        return await call(store)
    finally:
        await store.close()


async def store_admin_op(make_store: Any, key: str, fingerprint: str, reply: str) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    await on_store(make_store, lambda s: s.write(lambda tx: tx.insert_admin_op(key, fingerprint, reply, at)))


async def test_adjust_stored_with_the_old_fingerprint_replays(
    api: Api, seeded: dict[str, str], make_store: Any
) -> None:
    first = await api.admin("POST", ADJUST, adjust_body("k1"), expect=201)
    old = {"account": "5179068", "currency": "EUR", "real": "10.5", "bonus": "-5", "reason": "goodwill"}
    stored = {k: v for k, v in first.items() if k != "replayed"} | {"reference": "old-ref"}
    await store_admin_op(make_store, "adjust:old", legacy(old), json.dumps(stored))

    again = await api.admin("POST", ADJUST, adjust_body("old", real="10.50"), expect=200)
    assert (again["replayed"], again["reference"]) == (True, "old-ref")
    assert await api.balances("5179068") == (Decimal("110.5"), Decimal("45"))
    other = await api.admin("POST", ADJUST, adjust_body("old", real="10.6"), expect=409)
    assert other["error"] == "idempotency_key was used with a different adjustment"
    assert await api.balances("5179068") == (Decimal("110.5"), Decimal("45"))


async def test_rest_debit_stored_with_the_old_fingerprint_replays(
    api: Api, client: TestClient, make_store: Any
) -> None:
    await api.operator("11")
    await api.player("1001")
    rest = Rest(client, await new_game(api, "11", "g1"))
    status, first, _ = await rest.call("POST", f"{PB}/debit", credit(amount="30", key="k1"))
    assert status == 200
    row = await on_store(make_store, lambda s: s.read(lambda tx: tx.get_admin_op("pb:g1:k1")))
    assert row is not None
    old = {
        "direction": "debit",
        "player_id": "1001",
        "player_email": None,
        "currency": "EUR",
        "amount": "30",
        "reason": "",
        "meta": "{}",
    }
    await store_admin_op(make_store, "pb:g1:old", legacy(old), row[1])

    status, again, headers = await rest.call("POST", f"{PB}/debit", credit(amount="30.00", key="old"))
    assert (status, again, headers["Idempotent-Replayed"]) == (200, first, "true")
    assert await api.balances("1001") == (Decimal("70"), Decimal("50"))
    status, conflict, _ = await rest.call("POST", f"{PB}/debit", credit(amount="31", key="old"))
    assert (status, conflict["kind"]) == (409, "IdempotencyConflict")
    assert await api.balances("1001") == (Decimal("70"), Decimal("50"))
