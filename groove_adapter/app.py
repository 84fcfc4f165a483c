"""The one application factory, used by the CLI and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from config import Settings
from wallet_store.factory import make_store
from wallet_store.model import Clock, SystemClock
from wallet_store.ports import WalletStore
from wallet_store.rest_service import RestService
from wallet_store.service import WalletService

from . import admin, rest
from .groove import groove
from .jsonout import json_response
from .keys import CLOCK, METRICS, REST_SERVICE, SERVICE, SETTINGS, STORE
from .observability import InstrumentedStore, Metrics, metrics_handler, observe_middleware
from .openapi import openapi_json


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ok = await request.app[STORE].ping()
    return json_response({"status": "ready" if ok else "unavailable"}, status=200 if ok else 503)


def create_app(settings: Settings, *, store: WalletStore | None = None, clock: Clock | None = None) -> web.Application:
    """Build the app.  Nothing connects here: the store opens in ``cleanup_ctx``."""
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[observe_middleware, admin.admin_middleware],
        # Let long query strings reach /groove so they get the protocol's 1008, not a bare 400.
        handler_args={"max_line_size": settings.max_query_bytes + 1024},
    )
    metrics = Metrics()
    raw_store = store if store is not None else make_store(settings)
    batch_observer = getattr(raw_store, "batch_observer", "missing")
    if batch_observer is None:
        raw_store.batch_observer = metrics.batch_size.observe  # type: ignore[attr-defined]
    instrumented = InstrumentedStore(raw_store, metrics)
    the_clock: Clock = clock or SystemClock()
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[STORE] = instrumented
    app[CLOCK] = the_clock
    app[SERVICE] = WalletService(instrumented, the_clock, session_ttl=settings.session_ttl_seconds)
    app[REST_SERVICE] = RestService(instrumented, the_clock)

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        await raw_store.open()
        yield
        await raw_store.close()

    app.cleanup_ctx.append(store_ctx)
    app.router.add_get("/groove", groove)
    app.router.add_post("/groove", groove)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_routes(admin.routes())
    app.router.add_routes(rest.routes())
    app.router.add_get("/openapi.json", openapi_json)
    return app
