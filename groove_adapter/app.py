"""The one application factory, used by the CLI and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from functools import partial

from aiohttp import web

from config import Settings
from wallet_store.factory import make_store
from wallet_store.flows import FlowService, FlowSettings
from wallet_store.model import Clock, SystemClock
from wallet_store.payments import PaymentProvider
from wallet_store.ports import WalletStore
from wallet_store.rest_service import RestService
from wallet_store.service import WalletService
from wallet_store.sms import SmsSender

from . import admin, events, flows, ratelimit, reconcile, reports, rest, ws
from .events import BUS
from .groove import groove
from .hub88 import admin as hub88_admin
from .hub88 import face as hub88_face
from .jsonout import json_response
from .keys import CLOCK, RATE_LIMITER, REST_SERVICE, SERVICE, SETTINGS, STORE
from .observability import METRICS, InstrumentedStore, Metrics, audit_monitor_ctx, metrics_handler, observe_middleware
from .openapi import openapi_json
from .ws import WS_HUB


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    ok = await request.app[STORE].ping()
    return json_response({"status": "ready" if ok else "unavailable"}, status=200 if ok else 503)


@web.middleware
async def edge_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """The app's one middleware: every request is observed (log line, metrics, request id);
    an /admin request also passes the admin guard (Bearer token, its error table) inside it.
    One layer instead of two on every /groove, /hub88 and REST request."""
    if request.path.startswith("/admin"):
        return await observe_middleware(request, partial(admin.admin_middleware, handler=handler))
    return await observe_middleware(request, handler)


def create_app(
    settings: Settings,
    *,
    store: WalletStore | None = None,
    clock: Clock | None = None,
    sms: SmsSender | None = None,
    payments: PaymentProvider | None = None,
) -> web.Application:
    """Build the app.  Nothing connects here: the store opens in ``cleanup_ctx``.

    ``sms`` / ``payments``: the SMS sender and payment provider of the write flows
    (default: the store's SMS outbox and the sandbox payment provider).
    """
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[edge_middleware],
        # Let long query strings reach /groove so they get the protocol's 1008, not a bare 400.
        handler_args={"max_line_size": settings.max_query_bytes + 1024},
    )
    metrics = Metrics()
    raw_store = store if store is not None else make_store(settings)
    batch_observer = getattr(raw_store, "batch_observer", "missing")
    if batch_observer is None:
        raw_store.batch_observer = metrics.batch_size.observe  # type: ignore[attr-defined]
    # Live updates: every committed write publishes the wallets it changed (events.py).  The
    # publishing wrapper sits innermost, so every service built on the store below publishes.
    bus = events.BalanceBus()
    bus.fanout = events.fanout_for(raw_store, bus, connect_timeout=settings.pg_connect_timeout)
    instrumented = InstrumentedStore(
        events.PublishingStore(raw_store, bus.publish, committed=metrics.observe_entries), metrics
    )
    the_clock: Clock = clock or SystemClock()
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[reconcile.GAUGES] = reconcile.ReconcileGauges(metrics)
    app[STORE] = instrumented
    app[CLOCK] = the_clock
    app[SERVICE] = WalletService(instrumented, the_clock, session_ttl=settings.session_ttl_seconds)
    app[REST_SERVICE] = RestService(instrumented, the_clock)
    app[flows.FLOWS] = FlowService(
        instrumented,
        the_clock,
        settings=FlowSettings(
            hold_ttl_seconds=settings.hold_ttl_seconds,
            code_attempts=settings.sms_code_attempts,
            max_pending_holds=settings.max_pending_holds,
            max_purchase_usd=Decimal(settings.max_purchase_usd),
        ),
        sms_sender=sms,
        payments=payments,
    )
    app[BUS] = bus
    app[WS_HUB] = ws.WsHub(settings, bus)
    # Redis (when configured) uses its server's clock unless a clock was injected (tests).
    limiter = ratelimit.make_limiter(settings, instrumented, the_clock, injected_clock=clock is not None)
    app[RATE_LIMITER] = limiter

    async def store_ctx(app: web.Application) -> AsyncIterator[None]:
        try:
            await raw_store.open()
        except BaseException:
            await raw_store.close()  # what opened before the failure (SQLite: the writer connection)
            raise
        yield
        await raw_store.close()

    app.cleanup_ctx.append(store_ctx)
    app.cleanup_ctx.append(audit_monitor_ctx(metrics, raw_store, settings.audit_interval_seconds))
    app.cleanup_ctx.append(flows.sweeper_ctx)  # releases expired holds; stops before the store closes
    app.cleanup_ctx.append(events.bus_ctx(bus, instrumented))  # after the store opens, stops before it closes
    app.cleanup_ctx.append(ratelimit.limiter_ctx(limiter))
    app.on_shutdown.append(app[WS_HUB].shutdown)  # close live-update sockets so shutdown does not wait
    app.router.add_get("/groove", groove)
    app.router.add_post("/groove", groove)
    app.router.add_routes(hub88_face.routes())
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_routes(admin.routes())
    app.router.add_routes(hub88_admin.routes())
    app.router.add_routes(reports.routes())
    app.router.add_routes(reconcile.routes())
    app.router.add_routes(rest.routes())
    app.router.add_routes(flows.routes())
    app.router.add_routes(flows.admin_routes())
    app.router.add_routes(ws.routes())
    app.router.add_get("/openapi.json", openapi_json)
    return app
