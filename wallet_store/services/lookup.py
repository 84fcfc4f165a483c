"""Loading the players and wallets a REST or flow command names (no decisions beyond "found")."""

from __future__ import annotations

from typing import TypeVar

from wallet_store.domain.balances import WalletChange
from wallet_store.domain.requests import of_operator
from wallet_store.errors import Invalid, NotFound, WalletError
from wallet_store.model import ACCOUNT_ID, Currency, Game, Player
from wallet_store.ports import Tx

T = TypeVar("T")


async def find_player(
    tx: Tx,
    game: Game,
    *,
    account_id: str | None,
    email: str | None,
    lock: bool = False,
    identity: str | None = None,
) -> Player:
    """The player, if it is one of the game's operator's; else NotFound (no data leak).

    ``identity`` (private wallet API) is an external identity the operator registered,
    else a player id.
    """
    player: Player | None
    if identity is not None:
        mapped = await tx.get_identity(game.operator_id, identity)
        if mapped is None and not ACCOUNT_ID.fullmatch(identity):
            raise NotFound("player not found")
        account_id = mapped or identity
    if account_id is not None:
        player = await (tx.lock_player(account_id) if lock else tx.get_player(account_id))
    elif email is not None:
        player = await tx.get_player_by_email(game.operator_id, email)
        if player is not None and lock:
            player = await tx.lock_player(player.account_id)
    else:
        raise Invalid("player_id or player_email is required")
    return of_operator(player, game.operator_id)


async def find_party(tx: Tx, game: Game, *, account_id: str | None, email: str | None, role: str) -> Player:
    """A player of the game's operator by id or e-mail (a flow's party); NotFound otherwise."""
    player: Player | None
    if account_id is not None:
        player = await tx.get_player(account_id)
    elif email is not None:
        player = await tx.get_player_by_email(game.operator_id, email)
    else:
        raise Invalid(f"the {role} player's id or e-mail is required")
    return of_operator(player, game.operator_id, f"{role} player not found")


async def lock(tx: Tx, account_id: str) -> Player:
    player = await tx.lock_player(account_id)
    if player is None:
        raise NotFound("player not found")
    return player


async def locked(tx: Tx, account_id: str) -> Player:
    """A player the unit already locked."""
    player = await tx.get_player(account_id)
    if player is None:
        raise NotFound("player not found")
    return player


async def currencies(tx: Tx, operator_id: str) -> dict[str, Currency]:
    return {c.code: c for c in await tx.list_currencies(operator_id)}


async def save_changes(tx: Tx, changes: tuple[WalletChange, ...]) -> None:
    """Persist wallet changes a decision returned: create a missing wallet, then save it with its entries."""
    for change in changes:
        if change.created is not None:
            await tx.insert_wallet(change.created)
        await tx.save_wallet(change.wallet, list(change.entries))


def raise_or_return(out: T | WalletError) -> T:
    """Raise a refusal a unit returned (so its changes committed), else return its result."""
    if isinstance(out, WalletError):
        raise out
    return out
