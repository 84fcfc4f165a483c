"""The business predicates the stores select by (no database): open rounds, due holds, refusals,
e-mail normalisation, and that the stores' indexes state the same open state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from wallet_store.domain import rounds, selection
from wallet_store.model import Hold, Round, TxRecord
from wallet_store.money import ZERO, parse
from wallet_store.postgres.migrations import MIGRATIONS as PG_MIGRATIONS
from wallet_store.sqlite.migrations import MIGRATIONS as LITE_MIGRATIONS

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def hold(state: str = "open", expires_in: int = 0, hold_id: str = "h") -> Hold:
    return Hold(
        hold_id=hold_id,
        account_id="p1",
        currency="EUR",
        amount=parse("1"),
        real=parse("1"),
        bonus=ZERO,
        reference="f",
        state=state,  # type: ignore[arg-type]
        created_at=T0,
        expires_at=T0 + timedelta(seconds=expires_in),
    )


@pytest.mark.parametrize(
    ("status", "wagers", "is_open"),
    [("open", 1, True), ("open", 7, True), ("open", 0, False), ("closed", 1, False), ("closed", 0, False)],
)
def test_an_open_round_is_not_closed_and_has_a_live_wager(status: str, wagers: int, is_open: bool) -> None:
    rnd = Round("p1", "g", "r", "EUR", status=status, wagers=wagers)  # type: ignore[arg-type]
    assert selection.round_is_open(rnd) is is_open
    assert selection.round_is_open(rnd) is (not rounds.is_closed(rnd) and rounds.has_wager(rnd))


def test_the_fewest_live_wagers_is_what_the_round_rules_call_live() -> None:
    assert rounds.live_wagers(selection.MIN_LIVE_WAGERS)
    assert not rounds.live_wagers(selection.MIN_LIVE_WAGERS - 1)


def test_a_due_hold_is_open_and_expired_at_now() -> None:
    assert selection.hold_is_due(hold(expires_in=0), T0)  # expiry reached exactly
    assert selection.hold_is_due(hold(expires_in=-5), T0)
    assert not selection.hold_is_due(hold(expires_in=1), T0)
    for closed in ("captured", "released"):
        assert not selection.hold_is_open(hold(closed))
        assert not selection.hold_is_due(hold(closed, expires_in=-5), T0)


def test_due_holds_go_soonest_first_then_by_id() -> None:
    hs = [hold(expires_in=5, hold_id="b"), hold(expires_in=1, hold_id="z"), hold(expires_in=5, hold_id="a")]
    assert [h.hold_id for h in sorted(hs, key=selection.due_order)] == ["z", "a", "b"]


def test_a_refusal_is_a_record_in_the_refused_state() -> None:
    rec = TxRecord("op", "g", "wager", "t", "p1", "r", ZERO, "EUR", "OutOfMoney", "", "w", state="refused")
    assert selection.is_refusal(rec)
    assert not selection.is_refusal(TxRecord("op", "g", "wager", "t", "p1", "r", ZERO, "EUR", "ok", "", "w"))


@pytest.mark.parametrize(
    ("email", "norm"),
    [(None, None), ("Ana@Example.COM", "ana@example.com"), ("  x@y.z\t", "x@y.z"), ("ÉLO@Ex.fr", "élo@ex.fr")],
)
def test_emails_are_looked_up_trimmed_and_lower_case(email: str | None, norm: str | None) -> None:
    assert selection.normalize_email(email) == norm


def test_sql_word_splices_only_plain_words() -> None:
    assert selection.sql_word(selection.OPEN_HOLD) == "'open'"
    for bad in ("open'; DROP TABLE holds; --", "Open", "", "a b"):
        with pytest.raises(ValueError, match="plain word"):
            selection.sql_word(bad)


@pytest.mark.parametrize("migrations", [LITE_MIGRATIONS, PG_MIGRATIONS], ids=["sqlite", "postgres"])
def test_the_partial_hold_indexes_state_the_domains_open_state(migrations: list[tuple[int, str]]) -> None:
    """The due-hold reads state the open state literally so that these indexes serve them."""
    ddl = "\n".join(sql for _, sql in migrations)
    partial = f"WHERE state = {selection.sql_word(selection.OPEN_HOLD)};"
    assert f"CREATE INDEX holds_due ON holds(expires_at) {partial}" in ddl
    assert f"CREATE INDEX holds_account_open ON holds(account_id, expires_at) {partial}" in ddl
