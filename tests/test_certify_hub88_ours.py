"""``certify --protocol hub88`` against OUR Hub88 face, on both backends: set up through the
admin API (an operator with Hub88 enabled and the test key, two players, live and expired
tokens), every scenario passes, and the books still add up (``audit``)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from groove_client import certify_hub88 as ch
from tests.conftest import Api, FakeClock
from tests.hub88_helpers import SIGNER, audit_ok, hub88_player


async def test_certify_hub88_passes_against_our_face(api: Api, client: TestClient, clock: FakeClock) -> None:
    expired = await hub88_player(api, "p10042")
    clock.advance(hours=2)
    token = await api.session("p10042")
    second = await hub88_player(api, "p20042", real="50", bonus="0")
    config = ch.Config(
        url=str(client.make_url("/hub88")),
        signer=SIGNER,
        user="p10042",
        token=token,
        expired_token=expired,
        second_user="p20042",
        second_token=second,
        concurrency=10,
    )
    report = await ch.run_certify(config)
    failures = {r.id: r.message for r in report.results if r.status != "pass"}
    assert failures == {}
    assert report.count("pass") == len(ch.SCENARIOS)
    await audit_ok(client)
