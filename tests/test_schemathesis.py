"""Schemathesis against the served ``/openapi.json``: every operation, valid and invalid
inputs generated from the document, against a real server on 127.0.0.1 over each backend.

Checked for every generated request: no 5xx, the status code is one the document lists, the
content type and the body conform to the document.  Examples are bounded (``EXAMPLES`` per
operation and mode) so the whole file stays well under a minute.

The server runs in a thread with its own event loop because schemathesis calls it through
``requests`` (synchronous); the game key comes from ``POST /admin/games``.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config import Settings
from groove_adapter.app import create_app
from groove_adapter.openapi import spec
from tests.conftest import ADMIN_TOKEN, BACKENDS
from wallet_store.ports import WalletStore
from wallet_store.sqlite.store import SqliteStore

SPEC = spec()  # the served document, built once for these tests

EXAMPLES = int(os.environ.get("GW_SCHEMATHESIS_EXAMPLES", "25"))  # raise it for a deeper local run
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
START_BOUND = 60  # seconds; a bound on a hung start/stop, not a timing assertion
OPERATIONS = [(method.upper(), path) for path, item in SPEC["paths"].items() for method in item]


class Served:
    """The app on 127.0.0.1 (ephemeral port), in a thread with its own event loop."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app, access_log=None)
        self.thread = threading.Thread(target=self.loop.run_forever, name="served-app", daemon=True)
        self.base = ""

    def start(self) -> str:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(START_BOUND)
        return self.base

    async def _start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(START_BOUND)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(START_BOUND)
            self.loop.close()


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server per backend for the whole module (a server per test would cost more than the tests)."""
    store: WalletStore
    if request.param == "sqlite":
        store = SqliteStore(str(tmp_path_factory.mktemp("schemathesis") / "wallet.db"))
    else:
        from tests import pgutil
        from wallet_store.postgres.store import PostgresStore

        store = PostgresStore(request.getfixturevalue("pg_run_database"), schema=pgutil.new_schema_name())
    settings = Settings(database_url="sqlite:///unused.db", admin_token=SecretStr(ADMIN_TOKEN))
    served = Served(create_app(settings, store=store))
    base = served.start()
    try:
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"

            def admin(path: str, body: dict[str, Any]) -> Any:
                resp = http.post(base + path, json=body, timeout=START_BOUND)
                assert resp.status_code == 201, resp.text
                return resp.json()

            admin("/admin/operators", {"operator_id": "11", "name": "Casino", "currency": "EUR"})
            for acct in ("5179068", "5179069"):
                admin(
                    "/admin/players",
                    {
                        "operator_id": "11",
                        "account_id": acct,
                        "name": "Player",
                        "email": f"p{acct}@example.com",
                        "country": "MT",
                        "city": "Valletta",
                        "real_balance": "100",
                        "bonus_balance": "50",
                    },
                )
            key = admin("/admin/games", {"operator_id": "11", "game_id": "g1", "name": "Slots"})["secret_key"]
        yield {"base": base, "key": key}
    finally:
        served.stop()


# Values the server knows (seeded by the ``server`` fixture).  With them, generated requests
# also reach the success paths, so the 200 bodies are checked too, not only 400s and 404s.
KNOWN: dict[str, Any] = {
    "player_id": "5179068",
    "identity": "5179068",
    "email": "p5179068@example.com",
    "player_email": "p5179068@example.com",
    "player_ids": ["5179068", "5179069"],
    "player_emails": ["p5179069@example.com"],
    "currency": "EUR",
    "walletCode": "EUR",
    "currencyCode": "EUR",
    "from_currency": "EUR",
    "to_currency": "EUR",
}


def use_known(case: schemathesis.Case, serial: int) -> None:
    """Put known values into the generated case wherever a field of that name exists."""
    for container in (case.path_parameters, case.query):
        if container:
            for name in container:
                if name in KNOWN:
                    container[name] = KNOWN[name]
    if isinstance(case.body, dict):
        ref = SPEC["paths"][case.path][case.method.lower()]["requestBody"]["content"]["application/json"]["schema"]
        declared = SPEC["components"]["schemas"][ref["$ref"].rpartition("/")[2]]
        for name in list(case.body):
            if name not in declared["properties"]:
                del case.body[name]  # a known value's field, in a generated body that was not valid anyway
            elif name in KNOWN:
                case.body[name] = KNOWN[name]
        if "amount" in case.body:
            case.body["amount"] = 1 if isinstance(case.body["amount"], (int, float)) else "1.25"
        for name in ("idempotency_key", "idempotencyKey"):
            if name in case.body:
                case.body[name] = f"st-{serial}"
        if "player_id" in case.body:
            case.body.pop("player_email", None)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_openapi_conformance(server: dict[str, Any], method: str, path: str, mode: schemathesis.GenerationMode) -> None:
    base, key = server["base"], server["key"]
    schema = schemathesis.openapi.from_url(base + "/openapi.json", timeout=START_BOUND)
    operation = schema[path][method]
    headers = {"X-Game-Secret-Key": key, "x-api-key": key}
    # Negative mode also drops or breaks the key (a 401 the document lists); positive mode
    # always sends a valid key, so that the inputs, not the auth, are what varies.
    fixed = headers if mode == schemathesis.GenerationMode.POSITIVE else None
    strategy = operation.as_strategy(generation_mode=mode, headers=fixed)
    statuses: list[int] = []

    with requests.Session() as http:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, known=st.booleans())
        def run(case: schemathesis.Case, known: bool) -> None:
            if known:
                use_known(case, len(statuses))
            response = case.call(base_url=base, session=http, headers=headers, timeout=START_BOUND)
            statuses.append(response.status_code)
            case.validate_response(response, checks=CHECKS, headers=headers)

        run()
    assert statuses, "no request was generated"


def test_the_served_document_is_valid_and_complete(server: dict[str, Any]) -> None:
    """``/openapi.json`` is a valid OpenAPI document and describes every REST route the app has."""
    served = requests.get(server["base"] + "/openapi.json", timeout=START_BOUND).json()
    assert served == SPEC
    schemathesis.openapi.from_dict(served).validate()
    app = create_app(Settings(database_url="sqlite:///unused.db"))
    routes = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/") and r.method != "HEAD"
    }
    assert routes == set(OPERATIONS)
