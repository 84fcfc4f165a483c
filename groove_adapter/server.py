"""Serving the app with connection limits that ``web.run_app`` does not apply by itself.

* **Header and idle deadline** (``GW_IDLE_TIMEOUT_SECONDS``): aiohttp's keep-alive timer runs
  from the moment a connection opens and from each response, and closes the connection if no
  complete request head has arrived by then.  So a client dribbling header lines, or one that
  opens a connection and sends nothing, is cut at the deadline, as is an idle keep-alive.
* **Connection cap** (``GW_MAX_CONNECTIONS``, bounded by the open-files limit minus
  :func:`fd_reserve`): past it a new connection is answered ``503`` and closed at once, so
  the listener can always accept and the store can always open its files and sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal
from collections.abc import Callable

from aiohttp import web

from config import Settings

FD_RESERVE = 64  # descriptors kept free beyond the store's own: listener, logs, DNS, redis
_BUSY_BODY = b'{"error":"too many connections, retry later","kind":"Busy","status":503}'
BUSY_REPLY = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nContent-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


def fd_reserve(settings: Settings) -> int:
    """Descriptors the process needs besides client connections."""
    sqlite_files = 3 * (settings.sqlite_read_connections + 1)  # each connection: db, -wal, -shm
    return FD_RESERVE + settings.pg_pool_max + sqlite_files


def connection_cap(settings: Settings, nofile: int | None = None) -> int:
    """``GW_MAX_CONNECTIONS``, lowered below the open-files limit (``nofile``: the soft
    RLIMIT_NOFILE unless given) so that accepting never runs out of descriptors."""
    if nofile is None:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if nofile == resource.RLIM_INFINITY:
        return settings.max_connections
    return max(1, min(settings.max_connections, nofile - fd_reserve(settings)))


class _Busy(asyncio.Protocol):
    """A connection over the cap: one 503 and close, without reading anything."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(BUSY_REPLY)
        transport.close()


class CappedSite(web.BaseSite):
    """A TCP site that answers connections over ``max_connections`` with :data:`BUSY_REPLY`."""

    __slots__ = ("_host", "_max", "_port", "_refused")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._max = max_connections
        self._refused = 0

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        """The bound port (the requested one before :meth:`start`)."""
        sockets = getattr(self._server, "sockets", None)  # asyncio's and uvloop's servers alike
        if sockets:
            return int(sockets[0].getsockname()[1])
        return self._port

    @property
    def refused(self) -> int:
        """Connections answered 503 because the cap was reached."""
        return self._refused

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        if server is None:
            raise RuntimeError("call runner.setup() before starting the site")

        def protocol() -> asyncio.Protocol:
            if len(server.connections) >= self._max:
                self._refused += 1
                return _Busy()
            return server()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(protocol, self._host, self._port, reuse_address=True)


async def start(
    app: web.Application, settings: Settings, *, handle_signals: bool = False
) -> tuple[web.AppRunner, CappedSite]:
    """Set the app up and listen on ``settings.host:port`` with the limits above."""
    runner = web.AppRunner(
        app, handle_signals=handle_signals, access_log=None, keepalive_timeout=settings.idle_timeout_seconds
    )
    await runner.setup()
    site = CappedSite(runner, settings.host, settings.port, max_connections=connection_cap(settings))
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, site


async def _serve(app: web.Application, settings: Settings, on_started: Callable[[], None] | None) -> None:
    runner, _ = await start(app, settings, handle_signals=True)
    if on_started is not None:
        on_started()
    try:
        await asyncio.Event().wait()  # until SIGINT/SIGTERM (GracefulExit) or cancellation
    finally:
        await runner.cleanup()


def serve(
    app: web.Application,
    settings: Settings,
    loop: asyncio.AbstractEventLoop | None = None,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Run until SIGINT/SIGTERM, like ``web.run_app``, with the limits above; ``on_started``
    is called once the store is open and the port is bound."""
    loop = loop or asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    main = loop.create_task(_serve(app, settings, on_started))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        _hold_signals(loop)
        if not main.done():
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        rest = asyncio.all_tasks(loop)
        for task in rest:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _hold_signals(loop: asyncio.AbstractEventLoop) -> None:
    """Shutdown has begun: a second SIGINT/SIGTERM (``make run`` forwards its own SIGTERM to
    the server it started) is ignored instead of cutting the cleanup short, which left the
    store open and its connection threads keeping the process from exiting."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, _already_stopping)


def _already_stopping() -> None:
    """A signal during shutdown: the shutdown already under way continues."""
