from wallet_store.domain.aggregators import GROOVE_KINDS, HUB88_KINDS, aggregator_of
from wallet_store.domain.groove import GAME_KINDS


def test_every_kind_names_one_aggregator() -> None:
    assert not GROOVE_KINDS & HUB88_KINDS
    assert GAME_KINDS <= GROOVE_KINDS  # every /groove record kind is Groove's
    assert {aggregator_of(k) for k in GROOVE_KINDS} == {"groove"}
    assert {aggregator_of(k) for k in HUB88_KINDS} == {"hub88"}
    assert aggregator_of("rest_credit") is None
