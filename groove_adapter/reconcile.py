"""``POST /admin/reconcile``: an aggregator's transaction list against our records, and the
Prometheus gauges of the last reconciliation (docs/hub88.md, "Reconciliation").

Query: ``aggregator`` (``groove`` or ``hub88``), ``from``, ``to`` (as ``report statement``),
optional ``operator_id`` and ``all`` (``true``: list the equal transactions too).  Body: the
list, JSON (``application/json``) or CSV (``text/csv``) by Content-Type, at most
:data:`MAX_BODY` bytes.  Reply 200: the report as ``groove-wallet reconcile --json`` prints it,
whether or not there are differences (``ok`` says which).  Auth and error mapping come from
:func:`groove_adapter.admin.admin_middleware`.

Each run of this route sets ``gw_reconcile_differences{aggregator,kind}`` (kind:
``missing_ours``, ``missing_theirs``, ``different``) and
``gw_reconcile_last_run_timestamp_seconds{aggregator}`` in this process.  The CLI command runs
in a process of its own and sets no gauge of the server.
"""

from __future__ import annotations

import time
from typing import Final

from aiohttp import web
from prometheus_client import Gauge

from wallet_store import errors as E
from wallet_store import reconciliation as rc
from wallet_store import reports as R
from wallet_store.domain import reconcile_ours as render
from wallet_store.domain.aggregators import Aggregator
from wallet_store.domain.reconcile import Report

from .jsonout import json_response
from .keys import STORE
from .observability import Metrics
from .reports import _query, _required

MAX_BODY: Final = 64 * 1024 * 1024
_CHUNK: Final = 1 << 16
_TYPES: Final[dict[str, rc.Format]] = {"application/json": "json", "text/csv": "csv"}


class ReconcileGauges:
    """The outcome of the last reconciliation per aggregator, on the service's registry."""

    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.differences = Gauge(
            "gw_reconcile_differences",
            "Differences the last reconciliation (POST /admin/reconcile) found, by aggregator and kind",
            ["aggregator", "kind"],
            registry=r,
        )
        self.last_run = Gauge(
            "gw_reconcile_last_run_timestamp_seconds",
            "Unix time of the last reconciliation (POST /admin/reconcile) per aggregator",
            ["aggregator"],
            registry=r,
        )

    def record(self, aggregator: Aggregator, report: Report) -> None:
        counts = report.counts()
        for kind in render.OUTCOMES:
            self.differences.labels(aggregator, kind).set(counts[kind])
        self.last_run.labels(aggregator).set(time.time())


GAUGES = web.AppKey("reconcile_gauges", ReconcileGauges)


async def _body(request: web.Request) -> tuple[str, rc.Format]:
    fmt = _TYPES.get(request.content_type)
    if fmt is None:
        raise E.Invalid(f"Content-Type must be one of {', '.join(_TYPES)}")
    if (request.content_length or 0) > MAX_BODY:
        raise E.Invalid(f"the list is larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > MAX_BODY:
            raise E.Invalid(f"the list is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    try:
        return b"".join(chunks).decode("utf-8"), fmt
    except UnicodeDecodeError:
        raise E.Invalid("the list is not UTF-8") from None


async def reconcile(request: web.Request) -> web.Response:
    q = _query(request, frozenset({"aggregator", "from", "to", "operator_id", "all"}))
    aggregator = rc.check_aggregator(_required(q, "aggregator"))
    start = R.parse_instant(_required(q, "from"), "from")
    end = R.parse_instant(_required(q, "to"), "to")
    operator_id = R.check_operator(q["operator_id"]) if "operator_id" in q else None
    if q.get("all", "false") not in ("true", "false"):
        raise E.Invalid("all must be true or false")
    text, fmt = await _body(request)
    theirs = rc.parse_list(text, aggregator, fmt)
    report = await rc.reconcile(request.app[STORE], aggregator, theirs, start, end, operator_id)
    request.app[GAUGES].record(aggregator, report)
    return json_response(render.report_json(report, aggregator, start, end, all_lines=q.get("all") == "true"))


def routes() -> list[web.RouteDef]:
    return [web.post("/admin/reconcile", reconcile)]
