"""The storage contract of the Hub88 operator settings (schema version 8), on both backends."""

from __future__ import annotations

from typing import Any

from tests.contract.support import T0, T_LATE, seed
from wallet_store.domain.hub88 import Hub88Settings


async def test_hub88_settings_are_saved_replaced_and_listed(store: Any) -> None:
    await seed(store, ["p1"])
    assert await store.read(lambda tx: tx.get_hub88_settings("op1")) is None
    assert await store.read(lambda tx: tx.list_hub88_settings()) == []
    first = Hub88Settings("op1", True, "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n", T0)
    await store.write(lambda tx: tx.save_hub88_settings(first))
    assert await store.read(lambda tx: tx.get_hub88_settings("op1")) == first
    second = Hub88Settings("op1", False, "pem", T_LATE, private_key_pem="private", games=("g1", "ä g2"))
    await store.write(lambda tx: tx.save_hub88_settings(second))
    assert await store.read(lambda tx: tx.get_hub88_settings("op1")) == second
    assert await store.read(lambda tx: tx.list_hub88_settings()) == [second]
