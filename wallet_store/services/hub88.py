"""The Hub88 wallet protocol as units of work: load -> decide -> persist, on the Groove engine.

Each money request (bet, win, rollback) is one unit of work that

1. locks the player named by ``user`` (the port's locking contract: the lock before any balance
   or record is read) and authenticates the request against the player's operator: its Hub88
   settings must exist and be enabled (else ``RS_ERROR_INVALID_PARTNER``) and the request's
   signature must verify with Hub88's public key configured there (``verify``, a callback of
   the face, which holds the raw body and the header);
2. loads the record under the ``transaction_uuid`` (of any Hub88 kind: the id is unique across
   bet, win and rollback), and for a new request what its decision needs
   (:class:`~wallet_store.domain.hub88_engine.Hub88State`);
3. decides with the pure engine (:mod:`wallet_store.domain.hub88_engine`);
4. persists the effects with the Groove engine's :func:`~wallet_store.services.groove.persist`
   (and a rollback's tombstone).

A request whose ``user`` (or token) names no player of ours cannot name an operator: it is
answered as a stranger (:meth:`Hub88Service._stranger`): ``RS_ERROR_INVALID_SIGNATURE`` unless
the signature verifies with the key of some enabled operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NoReturn

from wallet_store.domain.aggregators import HUB88_BET, HUB88_KINDS, HUB88_ROLLBACK, HUB88_SCOPE, HUB88_WIN
from wallet_store.domain.groove import loss_window_start
from wallet_store.domain.hub88 import Hub88Settings
from wallet_store.domain.hub88_engine import (
    Hub88Decision,
    Hub88State,
    Hub88Tx,
    decide_bet,
    decide_rollback,
    decide_win,
    round_game,
    token_error,
)
from wallet_store.errors import (
    GameNotAllowed,
    InvalidPartner,
    InvalidSignature,
    NotFound,
    NotLoggedOn,
    UnknownAccount,
    WalletError,
)
from wallet_store.model import GameSession, JournalEntry, Operator, Player, TxRecord, Wallet
from wallet_store.ports import Tx
from wallet_store.services.base import ServiceBase
from wallet_store.services.groove import persist

Verify = Callable[[Hub88Settings], bool]
"""Whether the request's signature verifies with an operator's Hub88 public key."""

_DECIDE: dict[str, Callable[[Hub88State, Hub88Tx, datetime], Hub88Decision]] = {
    HUB88_BET: decide_bet,
    HUB88_WIN: decide_win,
    HUB88_ROLLBACK: decide_rollback,
}


@dataclass(frozen=True, slots=True)
class Hub88Answer:
    """What the face replies from: the error (None: ``RS_OK``), the wallet whose balance it
    shows, the player, and the operator's settings (its reply-signing key)."""

    settings: Hub88Settings
    player: Player
    error: WalletError | None = None
    wallet: Wallet | None = None
    record: TxRecord | None = None  # the request's new record (None: a replay or a read)
    duplicate: bool = False  # an identical replay


class Hub88Service(ServiceBase):
    """``/user/info``, ``/user/balance`` and the money requests of the Hub88 face."""

    # ------------------------------------------------------------------ authentication

    async def _authenticate_hub88(
        self, tx: Tx, operator_id: str, verify: Verify, op: Operator | None = None
    ) -> tuple[Operator, Hub88Settings]:
        """The operator (``op`` when already loaded) and its Hub88 settings, once the body's
        signature verifies with its Hub88 key."""
        settings = await tx.get_hub88_settings(operator_id)
        if op is None:
            op = await tx.get_operator(operator_id)
        if settings is None or not settings.enabled or op is None:
            raise InvalidPartner("Hub88 is not enabled for this operator")
        if not verify(settings):
            raise InvalidSignature("X-Hub88-Signature does not verify with the operator's Hub88 key")
        return op, settings

    async def _stranger(self, tx: Tx, verify: Verify, error: WalletError) -> NoReturn:
        """A request naming no player of ours: ``error`` when its signature verifies with some
        enabled operator's key, else :class:`InvalidSignature`.  Always raises."""
        if any(s.enabled and verify(s) for s in await tx.list_hub88_settings()):
            raise error
        raise InvalidSignature("X-Hub88-Signature does not verify with any operator's Hub88 key")

    async def check_signed(self, verify: Verify) -> None:
        """Raise :class:`InvalidSignature` unless some enabled operator's key verifies the request
        (for a body refused before it names anyone: syntax, types)."""

        async def unit(tx: Tx) -> None:
            if not any(s.enabled and verify(s) for s in await tx.list_hub88_settings()):
                raise InvalidSignature("X-Hub88-Signature does not verify with any operator's Hub88 key")

        await self.store.read(unit)

    # ------------------------------------------------------------------ administration

    async def hub88_settings(self, operator_id: str) -> Hub88Settings | None:
        return await self.store.read(lambda tx: tx.get_hub88_settings(operator_id))

    async def set_hub88_settings(self, settings: Hub88Settings) -> Hub88Settings:
        """Insert or replace an operator's Hub88 settings (the keys were validated by the caller)."""

        async def unit(tx: Tx) -> Hub88Settings:
            if await tx.get_operator(settings.operator_id) is None:
                raise NotFound(f"operator {settings.operator_id} not found")
            await tx.save_hub88_settings(settings)
            return settings

        return await self._write(unit)

    # ------------------------------------------------------------------ reads

    async def user_info(self, user: str, verify: Verify) -> Hub88Answer:
        async def unit(tx: Tx) -> Hub88Answer:
            player = await tx.get_player(user)
            if player is None:
                await self._stranger(tx, verify, UnknownAccount("unknown user"))
            _, settings = await self._authenticate_hub88(tx, player.operator_id, verify)
            return Hub88Answer(settings, player)

        return await self.store.read(unit)

    async def user_balance(self, token: str, user: str | None, game: str | None, verify: Verify) -> Hub88Answer:
        """The balance of the token's wallet; the token must be live and ``user``'s (when given)."""
        now = self.clock.now()

        async def unit(tx: Tx) -> Hub88Answer:
            session = await tx.get_session(token)
            owner = user if user is not None else (session.account_id if session is not None else None)
            player = await tx.get_player(owner) if owner is not None else None
            if player is None:
                error = UnknownAccount("unknown user") if user is not None else NotLoggedOn("unknown token")
                await self._stranger(tx, verify, error)
            _, settings = await self._authenticate_hub88(tx, player.operator_id, verify)
            wallet = await tx.get_wallet(player.account_id, session.currency if session else player.currency)
            if (bad := token_error(session, player, now)) is not None:
                return Hub88Answer(settings, player, bad, wallet)
            if not settings.allows(game):
                return Hub88Answer(settings, player, GameNotAllowed(f"game {game!r} is not allowed"), wallet)
            return Hub88Answer(settings, player, None, wallet)

        return await self.store.read(unit)

    # ------------------------------------------------------------------ money

    async def money(self, cmd: Hub88Tx, verify: Verify) -> Hub88Answer:
        """A bet, win or rollback: one unit of work (see the module)."""
        if cmd.kind not in HUB88_KINDS:
            raise ValueError(f"not a Hub88 kind: {cmd.kind!r}")

        async def unit(tx: Tx) -> Hub88Answer | None:
            now = self.clock.now()
            player, loaded_op = await tx.lock_player_and_operator(cmd.user)
            if player is None:
                return None  # a stranger: answered from a read, off the writer (below)
            op, settings = await self._authenticate_hub88(tx, player.operator_id, verify, loaded_op)
            s = await self._load(tx, cmd, Hub88State(player, op, settings), now)
            decided = _DECIDE[cmd.kind](s, cmd, now)
            await persist(tx, decided.effects)
            if decided.tombstone is not None:
                await tx.insert_tx(decided.tombstone)
            replayed = s.existing is not None and decided.error is None
            record = decided.effects.record
            return Hub88Answer(settings, player, decided.error, decided.wallet, record, replayed)

        answer = await self._write(unit)
        if answer is None:  # _stranger always raises
            return await self.store.read(lambda tx: self._stranger(tx, verify, UnknownAccount("unknown user")))
        return answer

    async def _load(self, tx: Tx, cmd: Hub88Tx, s: Hub88State, now: datetime) -> Hub88State:
        existing = await _existing(tx, s.op.operator_id, cmd)
        if existing is not None:
            wallet = await tx.get_wallet(cmd.user, existing.currency) or await tx.get_wallet(
                cmd.user, s.player.currency
            )
            return replace(s, existing=existing, wallet=wallet)
        if cmd.kind == HUB88_BET:
            return await _load_bet(tx, cmd, s, now)
        return await _load_settle(tx, cmd, s)


async def _existing(tx: Tx, operator_id: str, cmd: Hub88Tx) -> TxRecord | None:
    """The record under the request's ``transaction_uuid``, of any Hub88 kind (its own first),
    read in one statement."""
    kinds = (cmd.kind, *sorted(HUB88_KINDS - {cmd.kind}))
    found = await tx.get_txs(operator_id, HUB88_SCOPE, cmd.transaction_uuid, kinds)
    return next((found[k] for k in kinds if k in found), None)


async def _load_bet(tx: Tx, cmd: Hub88Tx, s: Hub88State, now: datetime) -> Hub88State:
    player = s.player
    session: GameSession | None = await tx.get_session(cmd.token) if cmd.token else None
    mine = session is not None and session.account_id == player.account_id
    currency = session.currency if session is not None and mine else player.currency
    wallet = await tx.get_wallet(player.account_id, currency)
    rnd = await tx.get_round(player.account_id, cmd.game or "", cmd.own_round)
    limits = await tx.get_limits(player.account_id)
    recent: tuple[JournalEntry, ...] = ()
    if limits is not None and limits.any_loss_limit:
        recent = tuple(await tx.journal_since(player.account_id, currency, loss_window_start(now)))
    return replace(s, session=session, wallet=wallet, round=rnd, limits=limits, recent=recent)


async def _load_settle(tx: Tx, cmd: Hub88Tx, s: Hub88State) -> Hub88State:
    """A win's or rollback's bet, its wallet and round (the player's wallet when no bet of his)."""
    bet = await tx.get_tx(s.op.operator_id, HUB88_SCOPE, HUB88_BET, cmd.reference or "")
    mine = bet is not None and bet.account_id == cmd.user
    wallet = await tx.get_wallet(cmd.user, bet.currency if bet is not None and mine else s.player.currency)
    rnd = None
    if bet is not None and mine and bet.ok:
        rnd = await tx.get_round(cmd.user, round_game(bet), bet.round_id)
    return replace(s, target=bet, wallet=wallet, round=rnd)
