"""The Hub88 money engine: bet, win and rollback decided on the Groove engine's pieces.

A Hub88 request is decided by a pure function of the state its unit of work loaded
(:class:`Hub88State`), the request (:class:`Hub88Tx`) and the time, like a Groove request:
the same records (:class:`~wallet_store.domain.groove.Ask`), the same way of remembering a
refusal and recording an applied request (:func:`~wallet_store.domain.groove.refuse`,
:func:`~wallet_store.domain.groove.applied`), the same debit split and journal move, the same
limits and round rules, and the same :class:`~wallet_store.domain.groove.Effects`, which the
service persists with the Groove engine's ``persist``.  Only Hub88's own rules are here
(``shared/reference/hub88-wallet-api.md`` sections 6-10):

* **Idempotency** per ``transaction_uuid`` across bet, win and rollback: the record under the
  id, of any kind, replays its answer (``RS_OK`` with the current balance, or the remembered
  refusal) when the request's details (kind, user, round, game, amount, currency, reference)
  are the same, else ``RS_ERROR_DUPLICATE_TRANSACTION``.  The details are the record's
  ``extra`` (canonical JSON, plus ``round_game``: the game of the round the record counts in).
* **Bet**: the token (a game session of ours) must be this player's (``INVALID_TOKEN``) and
  live (``TOKEN_EXPIRED``), neither remembered; then blocked (``USER_DISABLED``), the game
  allowed (``INVALID_GAME``), the currency the session's (``WRONG_CURRENCY``), limits
  (``LIMIT_REACHED``), funds (``NOT_ENOUGH_MONEY``), all remembered.  A bet whose id a rollback
  tombstoned finds the tombstone under its id: ``RS_ERROR_DUPLICATE_TRANSACTION``, no debit.
* **Win**: never refused for the token or a closed round; the referenced bet must be this
  player's, applied and not rolled back (else ``TRANSACTION_DOES_NOT_EXIST``, not remembered:
  a win is retried).  Each win with its own id is credited; it settles the bet's round.
* **Rollback**: refunds exactly what the bet debited; a refused or already rolled-back bet is
  ``RS_OK`` with no money; an unknown bet is ``RS_OK``, no money, and a tombstone (a
  ``hub88_bet`` record in state ``tombstone``) under the bet's id.
* **Exact units**: a balance the reply could not carry exactly (a digit beyond the fifth
  decimal place) refuses the request with :class:`~wallet_store.errors.UnrepresentableAmount`
  (``RS_ERROR_UNKNOWN``) before anything moves; nothing is ever rounded.

Journal entries and records carry the Hub88 kinds (``hub88_bet`` ...) and the entries the
reference ``<kind>:<transaction_uuid>`` (:mod:`wallet_store.domain.aggregators`).

Pure: no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Final

from wallet_store import money
from wallet_store.domain import rounds
from wallet_store.domain.aggregators import HUB88_BET, HUB88_SCOPE
from wallet_store.domain.groove import Ask, Decision, Effects, applied, loss_check, refuse, stale_activity
from wallet_store.domain.groove_settle import _moved as moved
from wallet_store.domain.hub88 import Hub88AmountError, Hub88Settings, to_units
from wallet_store.domain.idempotency import canonical_json
from wallet_store.errors import (
    AccountBlocked,
    AmountOutOfRange,
    GameNotAllowed,
    GamingLimit,
    NotLoggedOn,
    OperationNotAllowed,
    OutOfMoney,
    ParameterMismatch,
    Refusal,
    RoundClosed,
    TokenExpired,
    UnknownCurrency,
    UnrepresentableAmount,
    WagerNotFound,
    WalletError,
    refusal_from_record,
)
from wallet_store.model import (
    GameSession,
    JournalEntry,
    Limits,
    Operator,
    Player,
    Round,
    TxRecord,
    Wallet,
    split_debit,
    split_win,
)

ROUND_GAME: Final = "round_game"


@dataclass(frozen=True, slots=True)
class Hub88Tx:
    """A Hub88 money request as the engine sees it (amounts already exact Decimals).

    ``kind``: one of the Hub88 kinds; ``amount``/``currency``: bet and win only;
    ``reference``: win and rollback (the bet's ``transaction_uuid``).
    """

    kind: str
    transaction_uuid: str
    user: str
    game: str | None
    round: str | None
    amount: Decimal | None = None
    currency: str | None = None
    reference: str | None = None
    token: str | None = None
    round_closed: bool | None = None

    def details(self) -> dict[str, str | Decimal | None]:
        """What must be equal for a request with the same ``transaction_uuid`` to be a replay."""
        found: dict[str, str | Decimal | None] = {
            "kind": self.kind,
            "user": self.user,
            "round": self.round,
            "game": self.game,
        }
        if self.amount is not None:
            found |= {"amount": self.amount, "currency": self.currency}
        if self.reference is not None:
            found["reference"] = self.reference
        return found

    @property
    def own_round(self) -> str:
        """A bet's round id: Hub88's ``round``, or the bet's own id when it names none."""
        return self.round if self.round is not None else self.transaction_uuid


def extra_of(cmd: Hub88Tx, round_game: str | None) -> str:
    """A Hub88 record's ``extra``: the request's details and the game of its round."""
    return canonical_json({**cmd.details(), ROUND_GAME: round_game})


def round_game(rec: TxRecord) -> str:
    """The game of the round a Hub88 record counts in (its ``extra``'s ``round_game``)."""
    game = json.loads(rec.extra).get(ROUND_GAME) if rec.extra else None
    return game if isinstance(game, str) else rec.scope


def _same_details(rec: TxRecord, cmd: Hub88Tx) -> bool:
    if not rec.extra:
        return False
    stored = json.loads(rec.extra)
    stored.pop(ROUND_GAME, None)
    return canonical_json(stored) == canonical_json(cmd.details())


# ---------------------------------------------------------------------- state and decision


@dataclass(frozen=True, slots=True)
class Hub88State:
    """What a Hub88 request is decided from, loaded under the player's lock.

    ``existing``: the record under the request's ``transaction_uuid`` (of any Hub88 kind);
    ``wallet``: the wallet the reply shows (a replay's: in its record's currency; a bet's: in
    its session's; a win's or rollback's: in its bet's, else the player's currency);
    ``session``: a bet's token; ``target``: a win's or rollback's bet record; ``round``: the
    round the request counts in; ``limits``/``recent``: a bet's limits (and the journal since
    the loss window's start, with a loss limit).
    """

    player: Player
    op: Operator
    settings: Hub88Settings
    existing: TxRecord | None = None
    wallet: Wallet | None = None
    session: GameSession | None = None
    target: TxRecord | None = None
    round: Round | None = None
    limits: Limits | None = None
    recent: tuple[JournalEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Hub88Decision:
    """The answer (``error`` None: ``RS_OK``), the wallet whose balance the reply shows, and
    what to persist: the engine's effects and, for a rollback of an unknown bet, the
    tombstone under the bet's id."""

    error: WalletError | None = None
    wallet: Wallet | None = None
    effects: Effects = field(default_factory=Effects)
    tombstone: TxRecord | None = None


def _from(d: Decision, wallet: Wallet | None) -> Hub88Decision:
    """An engine decision (``refuse`` / ``applied``) as a Hub88 one."""
    if d.refusal is not None:
        return Hub88Decision(error=d.refusal, wallet=wallet, effects=d.effects)
    shown = d.outcome.wallet if d.outcome is not None else wallet
    return Hub88Decision(wallet=shown, effects=d.effects)


def _refused(ask: Ask, refusal: Refusal, wallet: Wallet | None) -> Hub88Decision:
    """A remembered refusal (its record under the id replays it)."""
    return _from(refuse(ask, refusal), wallet)


def _unrepresentable(wallet: Wallet) -> UnrepresentableAmount | None:
    try:
        to_units(wallet.total)
    except Hub88AmountError as exc:
        return UnrepresentableAmount(f"balance of {wallet.account_id}/{wallet.currency}: {exc}")
    return None


def _ask(
    s: Hub88State, cmd: Hub88Tx, now: datetime, *, amount: Decimal, currency: str, round_id: str, game: str
) -> Ask:
    return Ask(
        s.op.operator_id,
        cmd.kind,
        HUB88_SCOPE,
        cmd.transaction_uuid,
        cmd.user,
        round_id,
        amount,
        currency,
        now,
        extra=extra_of(cmd, game),
    )


def replay(s: Hub88State, cmd: Hub88Tx, rec: TxRecord) -> Hub88Decision:
    """The answer of a known ``transaction_uuid``: the same details replay, others are duplicates."""
    if not _same_details(rec, cmd):
        return Hub88Decision(error=ParameterMismatch("transaction_uuid already used"), wallet=s.wallet)
    if not rec.ok:
        return Hub88Decision(error=refusal_from_record(rec.outcome, rec.message), wallet=s.wallet)
    return Hub88Decision(wallet=s.wallet)


def token_error(session: GameSession | None, player: Player, now: datetime) -> WalletError | None:
    """A token (game session) that is not this player's (``INVALID_TOKEN``) or not live (``TOKEN_EXPIRED``)."""
    if session is None or session.account_id != player.account_id or session.operator_id != player.operator_id:
        return NotLoggedOn("the token is unknown or not this player's")
    if not session.live(now):
        return TokenExpired("the token's game session expired or was closed")
    return None


# ---------------------------------------------------------------------- bet


def decide_bet(s: Hub88State, cmd: Hub88Tx, now: datetime) -> Hub88Decision:
    """A bet, in the reference's order (see the module)."""
    if s.existing is not None:
        return replay(s, cmd, s.existing)
    if (bad := token_error(s.session, s.player, now)) is not None:
        return Hub88Decision(error=bad, wallet=s.wallet)
    assert cmd.amount is not None
    assert cmd.currency is not None
    assert cmd.game is not None
    amount, game = cmd.amount, cmd.game
    ask = _ask(s, cmd, now, amount=amount, currency=cmd.currency, round_id=cmd.own_round, game=game)
    if s.player.blocked:
        return _refused(ask, AccountBlocked("the player is blocked or self-excluded"), s.wallet)
    if not s.settings.allows(game):
        return _refused(ask, GameNotAllowed(f"game {game!r} is not allowed for this operator"), s.wallet)
    if s.session is None or s.wallet is None or cmd.currency != s.session.currency:
        return _refused(ask, UnknownCurrency("the currency is not the game session's"), s.wallet)
    try:
        loss_check(s.limits, s.recent, amount, now)
        real, bonus = split_debit(s.wallet, amount, s.op.debit_order)
    except (GamingLimit, OutOfMoney) as r:
        return _refused(ask, r, s.wallet)
    wallet, entries = moved(s.wallet, amount, HUB88_BET, -real, -bonus, _ref(cmd), now)
    if (bad := _unrepresentable(wallet)) is not None:
        return Hub88Decision(error=bad, wallet=s.wallet)
    rnd = s.round or Round(cmd.user, game, cmd.own_round, s.wallet.currency, created_at=now)
    effects = Effects(
        wallet=wallet if entries else None,
        entries=entries,
        round=rounds.place_bet(rnd, real, bonus),
        touch=(s.player.account_id, now) if stale_activity(s.player, now) else None,
    )
    return _from(applied(ask, s.op, wallet, effects, real=real, bonus=bonus), wallet)


def _ref(cmd: Hub88Tx) -> str:
    return f"{cmd.kind}:{cmd.transaction_uuid}"


def _live_bet(bet: TxRecord | None, user: str) -> TxRecord | None:
    """The referenced bet when it is this player's, applied and not rolled back."""
    if bet is None or bet.kind != HUB88_BET or not bet.ok or bet.state != "applied" or bet.account_id != user:
        return None
    return bet


# ---------------------------------------------------------------------- win


def decide_win(s: Hub88State, cmd: Hub88Tx, now: datetime) -> Hub88Decision:
    """Credit a win for its bet (``s.target``); settles the bet's round."""
    if s.existing is not None:
        return replay(s, cmd, s.existing)
    assert cmd.amount is not None
    assert cmd.currency is not None
    bet = _live_bet(s.target, cmd.user)
    game = round_game(bet) if bet is not None else (cmd.game or "")
    currency = s.wallet.currency if s.wallet is not None else s.player.currency
    round_id = bet.round_id if bet is not None else (cmd.round or "")
    ask = _ask(s, cmd, now, amount=cmd.amount, currency=cmd.currency, round_id=round_id, game=game)
    if cmd.currency != currency:
        return _refused(ask, UnknownCurrency("the currency is not the bet's"), s.wallet)
    if bet is None or s.wallet is None:
        return Hub88Decision(error=WagerNotFound("the bet is unknown, refused or rolled back"), wallet=s.wallet)
    rnd = s.round or Round(cmd.user, game, bet.round_id, bet.currency, created_at=now)
    real, bonus = split_win(cmd.amount, rnd.real_bet, rnd.bonus_bet, "real")
    try:
        wallet, entries = moved(s.wallet, cmd.amount, cmd.kind, real, bonus, _ref(cmd), now)
    except AmountOutOfRange as r:
        return _refused(ask, r, s.wallet)
    if (bad := _unrepresentable(wallet)) is not None:
        return Hub88Decision(error=bad, wallet=s.wallet)
    # A later win of a closed round (a promotion) is paid without reopening or re-closing it.
    status = "pending" if cmd.round_closed is False or rounds.is_closed(rnd) else "completed"
    rnd = rounds.settle(rnd, real, bonus, status, now)
    effects = Effects(wallet=wallet if entries else None, entries=entries, round=rnd)
    return _from(applied(ask, s.op, wallet, effects, real=real, bonus=bonus), wallet)


# ---------------------------------------------------------------------- rollback


def decide_rollback(s: Hub88State, cmd: Hub88Tx, now: datetime) -> Hub88Decision:
    """Refund the bet (``s.target``) exactly; an unknown bet leaves a tombstone under its id."""
    if s.existing is not None:
        return replay(s, cmd, s.existing)
    assert cmd.reference is not None
    bet = s.target
    currency = s.wallet.currency if s.wallet is not None else s.player.currency
    game = round_game(bet) if bet is not None else (cmd.game or "")
    round_id = bet.round_id if bet is not None else (cmd.round or cmd.reference)
    ask = _ask(s, cmd, now, amount=money.ZERO, currency=currency, round_id=round_id, game=game)
    if bet is None:
        op_id, extra = s.op.operator_id, extra_of(cmd, game)
        late = Ask(op_id, HUB88_BET, HUB88_SCOPE, cmd.reference, cmd.user, round_id, money.ZERO, currency, now, extra)
        tomb = late.record(
            outcome=RoundClosed.__name__, message="the bet was rolled back before it arrived", state="tombstone"
        )
        return _nothing_moves(s, ask, tomb)
    if bet.kind != HUB88_BET or not bet.ok or bet.state != "applied":
        return _nothing_moves(s, ask, None)  # refused, tombstoned or already rolled back
    if bet.account_id != cmd.user:
        return Hub88Decision(error=OperationNotAllowed("the bet is another player's"), wallet=s.wallet)
    if s.wallet is None:
        return Hub88Decision(error=UnknownCurrency("the bet's wallet is missing"), wallet=None)
    try:
        wallet, entries = moved(s.wallet, bet.amount, cmd.kind, bet.real, bet.bonus, _ref(cmd), now)
    except AmountOutOfRange as r:
        return _refused(ask, r, s.wallet)
    if (bad := _unrepresentable(wallet)) is not None:
        return Hub88Decision(error=bad, wallet=s.wallet)
    effects = Effects(
        wallet=wallet if entries else None,
        entries=entries,
        round=None if s.round is None else rounds.withdraw_bet(s.round, bet.real, bet.bonus),
        corrected=replace(bet, state="rolled_back"),
    )
    ask = replace(ask, amount=bet.amount, currency=bet.currency)
    return _from(applied(ask, s.op, wallet, effects, real=bet.real, bonus=bet.bonus), wallet)


def _nothing_moves(s: Hub88State, ask: Ask, tombstone: TxRecord | None) -> Hub88Decision:
    """``RS_OK`` with no money: the rollback's record (amount 0) and perhaps a tombstone."""
    return Hub88Decision(wallet=s.wallet, effects=Effects(record=ask.record(outcome="ok")), tombstone=tombstone)
