"""``GET /ws/balance-updates``: live balance updates over a WebSocket (Player Balance API seed).

Protocol (JSON text messages)
-----------------------------
Client to server:

* ``{"action": "subscribe_player_balances", "player_emails": [...], "auth_token": "Bearer <key>"}``
  follows those players.  The game key authenticates either here (``auth_token``) or in
  the ``X-Game-Secret-Key`` header of the upgrade request; a connection must authenticate
  within ``GW_WS_AUTH_TIMEOUT_SECONDS``.  A connection belongs to one game: a token of
  another game is refused.
* ``{"action": "unsubscribe_player_balances", "player_emails": [...]}`` stops following them.
* ``{"action": "ping"}`` answers ``{"type": "pong"}``.

Server to client:

* ``{"type": "subscribed", "subscribed": [...], "not_found": [...], "invalid": [...],
  "following": n}``: the ack.  Only players of the game's operator can be followed;
  anyone else's e-mail is ``not_found``, exactly like an e-mail that does not exist.
* ``{"type": "balance_update", "player_email", "player_id", "currency_id",
  "currency_code", "currency_name", "currency_symbol", "new_balance",
  "available_balance", "reserved_balance", "total_balance"}`` after every committed
  change of a followed player's wallet, from any face (see :mod:`groove_adapter.events`).
  Money as decimal strings; ``available`` = real + bonus, ``total`` = available +
  reserved, ``new_balance`` = available; ``currency_id`` is what the REST face shows.
* ``{"type": "error", "status": 400|401|429, "error": "..."}``.  401 (unauthenticated)
  and 429 (too many connections for the key) then close the connection with 1008.

Limits (settings): open connections per game key and instance
(``GW_WS_MAX_SUBSCRIBERS_PER_KEY``; with the header, the upgrade itself is refused with
429), players followed per connection (``GW_WS_MAX_EMAILS_PER_SUBSCRIPTION``), message
size (``GW_WS_MAX_MESSAGE_BYTES``, larger closes with 1009) and the outgoing queue per
connection (``GW_WS_QUEUE_SIZE``): a client that does not keep up is closed with 1008
"slow consumer", it never slows a write or another client.  A bad upgrade key is HTTP 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from config import Settings
from wallet_store import errors as E
from wallet_store.model import Game, Player, key_hash
from wallet_store.ports import Tx

from .errors import PLAYER_BALANCE, lookup
from .events import BUS, BalanceBus, Subscriber
from .jsonout import JsonLimitError, dumps, json_response, loads
from .keys import REST_SERVICE, STORE
from .rest import EMAIL, PB_KEY_HEADER

HEARTBEAT_SECONDS = 30.0  # ping idle clients; a dead peer is noticed within a minute
CLOSE_SECONDS = 2.0  # how long a close handshake may take before the socket is cut
_MAX_EMAIL = 320


class _Conn:
    """One connection: its socket, its outgoing queue (the bus subscriber) and its game."""

    def __init__(self, ws: web.WebSocketResponse, sub: Subscriber) -> None:
        self.ws = ws
        self.sub = sub
        self.game: Game | None = None
        self.pump: asyncio.Task[None] | None = None


class WsHub:
    """Open connections of this instance: counted per game, closed on overflow or shutdown."""

    def __init__(self, settings: Settings, bus: BalanceBus) -> None:
        self.bus = bus
        self.max_per_key = settings.ws_max_subscribers_per_key
        self.queue_size = settings.ws_queue_size
        self.max_emails = settings.ws_max_emails_per_subscription
        self.auth_timeout = settings.ws_auth_timeout_seconds
        self.max_message = settings.ws_max_message_bytes
        self._per_game: dict[str, int] = {}
        self._conns: dict[Subscriber, _Conn] = {}
        self._closers: set[asyncio.Task[None]] = set()
        self.dropped = 0  # slow consumers closed

    def admit(self, game: Game) -> bool:
        n = self._per_game.get(game.game_id, 0)
        if n >= self.max_per_key:
            return False
        self._per_game[game.game_id] = n + 1
        return True

    def release(self, game: Game) -> None:
        n = self._per_game.get(game.game_id, 0) - 1
        if n > 0:
            self._per_game[game.game_id] = n
        else:
            self._per_game.pop(game.game_id, None)

    def connections(self, game_id: str) -> int:
        return self._per_game.get(game_id, 0)

    def register(self, conn: _Conn) -> None:
        self._conns[conn.sub] = conn

    def unregister(self, conn: _Conn) -> None:
        self._conns.pop(conn.sub, None)
        self.bus.remove(conn.sub)

    def on_overflow(self, sub: Subscriber) -> None:
        """A full queue: stop feeding the client and close it (from the pusher; never waits)."""
        self.bus.remove(sub)
        conn = self._conns.get(sub)
        if conn is None:
            return
        self.dropped += 1
        if conn.pump is not None:
            conn.pump.cancel()
        self._close_soon(conn.ws, WSCloseCode.POLICY_VIOLATION, b"slow consumer")

    def _close_soon(self, ws: web.WebSocketResponse, code: int, reason: bytes) -> None:
        task = asyncio.create_task(_close(ws, code, reason))
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def shutdown(self, app: web.Application) -> None:
        """``on_shutdown``: close every connection (1001), so the server does not wait on them."""
        for conn in list(self._conns.values()):
            self._close_soon(conn.ws, WSCloseCode.GOING_AWAY, b"server shutdown")
        if self._closers:
            await asyncio.wait(set(self._closers))


WS_HUB = web.AppKey("ws_hub", WsHub)


async def _close(ws: web.WebSocketResponse, code: int, reason: bytes) -> None:
    """Close handshake, bounded: a peer that does not answer gets its socket cut."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_SECONDS):
            await ws.close(code=code, message=reason)


async def _pump(ws: web.WebSocketResponse, sub: Subscriber) -> None:
    """Send the connection's queued messages in order (the only writer of this socket)."""
    try:
        while True:
            text = await sub.queue.get()
            await ws.send_str(text)
            sub.queue.task_done()
    except (ConnectionError, RuntimeError):
        return  # the peer went away; the handler cleans up


def _http_error(status: int, message: str, kind: str) -> web.Response:
    return json_response({"error": message, "kind": kind, "status": status}, status=status)


def _error(status: int, message: str) -> str:
    return dumps({"type": "error", "status": status, "error": message})


async def balance_updates(request: web.Request) -> web.StreamResponse:
    app = request.app
    hub = app[WS_HUB]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=hub.max_message, compress=False)
    if not ws.can_prepare(request).ok:
        return _http_error(400, "this endpoint needs a WebSocket upgrade (GET with Upgrade: websocket)", "Invalid")
    game: Game | None = None
    header_key = request.headers.get(PB_KEY_HEADER)
    if header_key is not None:
        try:
            game = await app[REST_SERVICE].authenticate(header_key)
        except E.WalletError as exc:
            return _http_error(lookup(PLAYER_BALANCE, exc), exc.message, type(exc).__name__)
        if not hub.admit(game):
            return _http_error(
                429, f"at most {hub.max_per_key} live-update connections per game key", "TooManySubscribers"
            )
    try:
        await ws.prepare(request)
    except BaseException:
        if game is not None:
            hub.release(game)
        raise
    conn = _Conn(ws, Subscriber(hub.queue_size, hub.on_overflow))
    if game is not None:
        _bind(conn, game)
    hub.register(conn)
    conn.pump = asyncio.create_task(_pump(ws, conn.sub), name="ws-pump")
    loop = asyncio.get_running_loop()
    auth_deadline = loop.time() + hub.auth_timeout  # from the upgrade: chatter does not extend it
    try:
        while not ws.closed and not conn.sub.dropped:
            try:
                timeout = None if conn.game is not None else max(0.001, auth_deadline - loop.time())
                msg = await ws.receive(timeout=timeout)
            except TimeoutError:
                await _fail(conn, 401, "not authenticated in time: send subscribe_player_balances with auth_token")
                break
            if msg.type is WSMsgType.TEXT:
                if not await _on_text(request, hub, conn, msg.data):
                    break
            elif msg.type is WSMsgType.BINARY:
                conn.sub.offer(_error(400, "send JSON text messages"))
            else:  # CLOSE, CLOSING, CLOSED, ERROR (e.g. a message over the size limit)
                break
    finally:
        hub.unregister(conn)
        if conn.game is not None:
            hub.release(conn.game)
        conn.pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await conn.pump
        if not ws.closed:
            await _close(ws, WSCloseCode.OK, b"")
    return ws


def _bind(conn: _Conn, game: Game) -> None:
    conn.game = game
    conn.sub.game_id = game.game_id
    conn.sub.operator_id = game.operator_id


async def _fail(conn: _Conn, status: int, message: str) -> None:
    """Send an error, let the pump flush it (bounded), then close with 1008."""
    conn.sub.offer(_error(status, message))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_SECONDS):
            await conn.sub.queue.join()
    if conn.pump is not None:
        conn.pump.cancel()
    await _close(conn.ws, WSCloseCode.POLICY_VIOLATION, message[:100].encode())


async def _on_text(request: web.Request, hub: WsHub, conn: _Conn, text: str) -> bool:
    """Handle one client message; False when the connection was closed."""
    try:
        data = loads(text)
    except JsonLimitError as exc:  # an attack, not a typo: answer and close (1008)
        await _fail(conn, 400, f"message refused: {exc}")
        return False
    except (ValueError, UnicodeDecodeError):
        conn.sub.offer(_error(400, "message is not valid JSON"))
        return True
    if not isinstance(data, dict):
        conn.sub.offer(_error(400, "message must be a JSON object"))
        return True
    action = data.get("action")
    if action == "ping":
        conn.sub.offer(dumps({"type": "pong"}))
        return True
    if action not in ("subscribe_player_balances", "unsubscribe_player_balances"):
        conn.sub.offer(_error(400, "action must be subscribe_player_balances, unsubscribe_player_balances or ping"))
        return True
    if not await _authenticate(request, hub, conn, data.get("auth_token")):
        return False
    emails = _emails(data.get("player_emails"), hub.max_emails)
    if isinstance(emails, str):
        conn.sub.offer(_error(400, emails))
        return True
    if action == "subscribe_player_balances":
        await _subscribe(request, hub, conn, emails)
    else:
        _unsubscribe(request, conn, emails)
    return True


async def _authenticate(request: web.Request, hub: WsHub, conn: _Conn, token: Any) -> bool:
    """Bind the connection to the token's game (or check it matches the bound one)."""
    if token is not None and not isinstance(token, str):
        await _fail(conn, 401, "auth_token must be a string 'Bearer <game key>'")
        return False
    secret = None if token is None else token.removeprefix("Bearer ").strip()
    if conn.game is not None:
        if secret is not None and not hmac.compare_digest(key_hash(secret), conn.game.key_hash):
            await _fail(conn, 401, "auth_token is not the key this connection authenticated with")
            return False
        return True
    try:
        game = await request.app[REST_SERVICE].authenticate(secret)
    except E.AuthenticationFailed:
        await _fail(conn, 401, "missing or invalid game key (auth_token 'Bearer <key>' or X-Game-Secret-Key)")
        return False
    if not hub.admit(game):
        await _fail(conn, 429, f"at most {hub.max_per_key} live-update connections per game key")
        return False
    _bind(conn, game)
    return True


def _emails(raw: Any, limit: int) -> list[str] | str:
    """The message's distinct e-mails (first spelling kept), or an error text."""
    if not isinstance(raw, list) or not raw:
        return "player_emails must be a non-empty list of e-mail addresses"
    if len(raw) > limit:
        return f"at most {limit} player e-mails per subscription"
    out: dict[str, str] = {}
    for e in raw:
        if not isinstance(e, str) or len(e) > _MAX_EMAIL:
            return "player_emails must contain strings of at most 320 characters"
        out.setdefault(e.strip().lower(), e)
    return list(out.values())


async def _subscribe(request: web.Request, hub: WsHub, conn: _Conn, emails: list[str]) -> None:
    game = conn.game
    if game is None:
        raise RuntimeError("subscribe before authentication")
    valid = [e for e in emails if EMAIL.fullmatch(e)]
    invalid = [e for e in emails if not EMAIL.fullmatch(e)]

    async def unit(tx: Tx) -> list[tuple[str, Player | None]]:
        return [(e, await tx.get_player_by_email(game.operator_id, e)) for e in valid]

    try:
        found = await request.app[STORE].read(unit)
    except E.WalletError as exc:
        conn.sub.offer(_error(503, f"cannot look up players now: {exc.message}"))
        return
    # Only the game's operator's players: get_player_by_email is scoped by operator, and
    # the check below keeps it so whatever the store does.
    hits = [(e, p) for e, p in found if p is not None and p.operator_id == game.operator_id]
    new = {p.account_id for _, p in hits} - set(conn.sub.emails)
    if len(conn.sub.emails) + len(new) > hub.max_emails:
        conn.sub.offer(_error(400, f"at most {hub.max_emails} player e-mails per subscription"))
        return
    bus = request.app[BUS]
    for e, p in hits:
        bus.follow(conn.sub, p.account_id, game.operator_id, e)
    hit_emails = {e for e, _ in hits}
    conn.sub.offer(
        dumps(
            {
                "type": "subscribed",
                "subscribed": [e for e in valid if e in hit_emails],
                "not_found": [e for e in valid if e not in hit_emails],
                "invalid": invalid,
                "following": len(conn.sub.emails),
            }
        )
    )


def _unsubscribe(request: web.Request, conn: _Conn, emails: list[str]) -> None:
    wanted = {e.strip().lower() for e in emails}
    gone = [acct for acct, e in conn.sub.emails.items() if e.strip().lower() in wanted]
    removed = [conn.sub.emails[a] for a in gone]
    bus = request.app[BUS]
    for acct in gone:
        bus.unfollow(conn.sub, acct)
    conn.sub.offer(dumps({"type": "unsubscribed", "player_emails": removed, "following": len(conn.sub.emails)}))


def routes() -> list[web.RouteDef]:
    return [web.get("/ws/balance-updates", balance_updates)]
