"""Admin report routes under ``/admin/reports``: thin HTTP over :mod:`wallet_store.reports`.

Auth and error mapping come from :func:`groove_adapter.admin.admin_middleware` (Bearer
token; a bad parameter is a 400 with a message, an unknown operator or player a 404).
``?format=json`` (default) or ``?format=csv`` (a header row; every amount an exact decimal
string).  Unknown or repeated query parameters are refused, so a typo never silently yields
an unfiltered report.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from wallet_store import errors as E
from wallet_store import reports as R

from .jsonout import json_response
from .keys import CLOCK, SETTINGS, STORE

DEFAULT_OLDER_THAN = "3600"


def _query(request: web.Request, allowed: frozenset[str]) -> dict[str, str]:
    if len(request.query_string) > request.app[SETTINGS].max_query_bytes:
        raise E.Invalid("query string too long")
    try:
        items = list(request.query.items())
    except UnicodeDecodeError:
        raise E.Invalid("query string is not UTF-8") from None
    out: dict[str, str] = {}
    for k, v in items:
        if k not in allowed:
            raise E.Invalid(f"unknown parameter {k[:40]!r}; allowed: {', '.join(sorted(allowed))}")
        if k in out:
            raise E.Invalid(f"parameter {k} given more than once")
        out[k] = v
    return out


def _required(q: Mapping[str, str], name: str) -> str:
    value = q.get(name)
    if not value:
        raise E.Invalid(f"{name} is required")
    return value


def _render(report: R.Report, fmt: R.Format, name: str) -> web.Response:
    if fmt == "json":
        return json_response(report.to_json())
    return web.Response(
        text=R.to_csv(report.columns, report.rows()),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


async def open_rounds(request: web.Request) -> web.Response:
    q = _query(request, frozenset({"older_than", "operator_id", "format"}))
    fmt = R.parse_format(q.get("format"))
    older_than = R.parse_seconds(q.get("older_than", DEFAULT_OLDER_THAN))
    operator_id = R.check_operator(q["operator_id"]) if "operator_id" in q else None
    report = await R.open_rounds(
        request.app[STORE], now=request.app[CLOCK].now(), older_than=older_than, operator_id=operator_id
    )
    return _render(report, fmt, f"open-rounds-{older_than}s")


async def liability(request: web.Request) -> web.Response:
    q = _query(request, frozenset({"month", "operator_id", "format"}))
    fmt = R.parse_format(q.get("format"))
    month, _, _ = R.parse_month(_required(q, "month"))
    operator_id = R.check_operator(q["operator_id"]) if "operator_id" in q else None
    report = await R.liability(request.app[STORE], month=month, now=request.app[CLOCK].now(), operator_id=operator_id)
    return _render(report, fmt, f"liability-{month}" + (f"-{operator_id}" if operator_id else ""))


async def statement(request: web.Request) -> web.Response:
    q = _query(request, frozenset({"account_id", "from", "to", "currency", "format"}))
    fmt = R.parse_format(q.get("format"))
    account_id = R.check_account(_required(q, "account_id"))
    start = R.parse_instant(_required(q, "from"), "from")
    end = R.parse_instant(_required(q, "to"), "to")
    currency = R.check_currency(q["currency"]) if "currency" in q else None
    report = await R.statement(request.app[STORE], account_id=account_id, start=start, end=end, currency=currency)
    return _render(report, fmt, f"statement-{account_id}")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/admin/reports/open-rounds", open_rounds),
        web.get("/admin/reports/liability", liability),
        web.get("/admin/reports/statement", statement),
    ]
