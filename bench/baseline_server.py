"""The bare aiohttp baseline: what this aiohttp + uvloop can serve with no wallet behind it.

    .venv/bin/python bench/baseline_server.py --port 8090

``GET /groove`` answers a fixed JSON dict shaped like a getbalance reply (serialized per
request with ``web.json_response``, as a trivial handler would), ``GET /healthz`` answers
``{"status": "ok"}``.  Served exactly like ``groove-wallet serve``: ``web.run_app`` on a
uvloop loop, ``access_log=None``.  No middleware, no logging, no store.
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

REPLY = {
    "code": 200,
    "status": "Success",
    "balance": 1000,
    "real_balance": 1000,
    "bonus_balance": 0,
    "game_mode": 1,
    "order": "cash_money",
    "apiversion": "1.2",
}


async def groove(request: web.Request) -> web.Response:
    return web.json_response(REPLY)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/groove", groove)
    app.router.add_get("/healthz", healthz)
    return app


def serve(app: web.Application, host: str, port: int) -> None:
    """Serve ``app`` exactly like ``groove-wallet serve``: ``web.run_app`` on a uvloop loop,
    no access log (also used by floor_server.py, so the floor is served the same way)."""
    loop = None
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        loop = None
    web.run_app(app, host=host, port=port, access_log=None, loop=loop, print=None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="bare aiohttp baseline for bench/run.py")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    args = p.parse_args(argv)
    serve(create_app(), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
