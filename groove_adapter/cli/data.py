"""``demo``, ``add-player``, ``open-session``: data for trying the wallet out."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from typing import Any

from wallet_store import errors as E
from wallet_store import money
from wallet_store.model import Operator, SystemClock
from wallet_store.ports import WalletStore
from wallet_store.rest_service import RestService
from wallet_store.service import WalletService

from .common import (
    _check_port_free,
    _settings,
    _url_for,
    _with_store,
)

DEMO_OPERATOR = "11"
DEMO_PLAYERS: list[dict[str, Any]] = [
    {
        "account_id": "5179068",
        "name": "Demo Player",
        "email": "demo.player@example.com",
        "country": "MT",
        "city": "Valletta",
        "real": "100",
        "bonus": "50",
    },
    {
        "account_id": "5179069",
        "name": "Bonus Only",
        "email": "bonus.only@example.com",
        "country": "GB",
        "city": "London",
        "real": "0",
        "bonus": "25.5",
    },
    {
        "account_id": "5179070",
        "name": "High Roller",
        "email": "high.roller@example.com",
        "country": "DE",
        "city": "Berlin",
        "real": "10000.1234567891",
        "bonus": "0",
    },
]


DEMO_CURRENCIES = (
    ("EUR", "Euro", "€", "1.08", "0"),
    ("GOLD", "Gold Coins", "GC", "0.01", "500"),
    ("GEMS", "Premium Gems", "PG", "0.1", "0"),
)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.port is not None:  # make run: the port serve will bind must be free before any data is loaded
        _check_port_free(settings.host, settings.port)
    base = (args.base_url or _url_for(settings.host, settings.port)).rstrip("/")
    # The /groove ids the demo prints are new on every run, so they never meet the README's
    # walkthrough ids (t1, t2, r1, ...) nor the ids an earlier run printed.
    run = secrets.token_hex(3)

    async def demo(store: WalletStore) -> list[tuple[str, str]]:
        svc = WalletService(store, SystemClock())
        try:
            await svc.create_operator(
                Operator(
                    operator_id=DEMO_OPERATOR,
                    name="Demo Casino",
                    currency="EUR",
                    debit_order="cash_money",
                    created_at=SystemClock().now(),
                )
            )
            rest = RestService(store, SystemClock())
            for code, name, symbol, rate, start in DEMO_CURRENCIES:
                await rest.set_currency(
                    operator_id=DEMO_OPERATOR,
                    code=code,
                    name=name,
                    symbol=symbol,
                    usd_rate=money.parse(rate),
                    rate_given=True,
                    start_amount=money.parse(start),
                    note="demo",
                )
            for p in DEMO_PLAYERS:
                await svc.create_player(
                    operator_id=DEMO_OPERATOR,
                    account_id=p["account_id"],
                    name=p["name"],
                    email=p["email"],
                    country=p["country"],
                    city=p["city"],
                    currency="EUR",
                    real=money.parse(p["real"]),
                    bonus=money.parse(p["bonus"]),
                )
            await rest.register_identity(
                operator_id=DEMO_OPERATOR, identity="demo-user-1", account_id=DEMO_PLAYERS[0]["account_id"]
            )
            print(
                "demo data created: operator 11 (Demo Casino: EUR, GOLD, GEMS with USD rates), 3 players,"
                " external identity demo-user-1"
            )
        except E.Conflict:
            print("demo data already present; opening fresh sessions")
        sessions = []
        for p in DEMO_PLAYERS:
            s = await svc.open_session(p["account_id"], game_id="80102", currency=None, ttl_seconds=86400)
            sessions.append((p["account_id"], s.session_id))
        # A game key for the REST faces: keys are stored hashed, so each demo run registers a
        # fresh demo game to be able to print its key.
        _, key = await RestService(store, SystemClock()).create_game(
            operator_id=DEMO_OPERATOR, game_id=f"demo{run}", name="Demo Slots"
        )
        keys.append(key)
        return sessions

    keys: list[str] = []
    sessions = asyncio.run(_with_store(settings, demo))
    print("\nopen game sessions (24 h):")
    for acct, sid in sessions:
        print(f"  account {acct}: {sid}")
    acct, sid = sessions[0]
    common = f"accountid={acct}&gamesessionid={sid}&device=desktop&apiversion=1.2"
    print("\ntry (after `make run` has started the server):")
    print(f"  curl '{base}/groove?request=getaccount&{common}'")
    print(f"  curl '{base}/groove?request=getbalance&{common}&nogsgameid=80102'")
    ids = f"gameid=80102&roundid=demo-{run}-r1"
    print(f"  curl '{base}/groove?request=wager&{common}&{ids}&transactionid=demo-{run}-t1&betamount=10'")
    result = f"transactionid=demo-{run}-t2&result=25&gamestatus=completed"
    print(f"  curl '{base}/groove?request=result&{common}&{ids}&{result}'")
    key = keys[0]
    print(f"\nREST game key (shown once): {key}")
    print(f"  curl -H 'X-Game-Secret-Key: {key}' '{base}/api/player-balances/player/{acct}'")
    print(f"  curl -H 'X-Game-Secret-Key: {key}' '{base}/api/player-balances/player/by-email/demo.player@example.com'")
    print(
        f"  curl -X POST -H 'X-Game-Secret-Key: {key}' -H 'Content-Type: application/json'"
        f" {base}/api/player-balances/debit"
        f' -d \'{{"player_id":"{acct}","currency":"EUR","amount":"1.50","idempotency_key":"demo-1"}}\''
    )
    print(
        f"  curl -X POST -H 'X-Game-Secret-Key: {key}' -H 'Content-Type: application/json'"
        f" {base}/api/player-balances/convert"
        f' -d \'{{"player_id":"{acct}","from_currency":"GOLD","to_currency":"GEMS","amount":"100",'
        f'"idempotency_key":"demo-cv-1"}}\''
    )
    print(f"  curl -H 'X-Game-Secret-Key: {key}' '{base}/api/player-balances/player/{acct}/history?currency=EUR'")
    print(f"  curl -H 'X-Game-Secret-Key: {key}' '{base}/api/player-balances/player/{acct}/analytics?period=day'")
    print(f"  curl -H 'x-api-key: {key}' '{base}/api/private/users/{acct}/wallets/balance'")
    print(f"  curl -H 'x-api-key: {key}' '{base}/api/private/users/demo-user-1/wallets/balance'")
    print(f"  curl -H 'x-api-key: {key}' '{base}/api/private/users/{acct}/wallets/EUR/transactions?page=1&limit=20'")
    return 0


def cmd_add_player(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def add(store: WalletStore) -> str:
        svc = WalletService(store, SystemClock())
        p, wallets = await svc.create_player(
            operator_id=args.operator,
            account_id=args.account,
            name=args.name,
            email=args.email,
            country=args.country,
            city=args.city,
            currency=args.currency,
            real=money.parse(args.real) if args.real else None,
            bonus=money.parse(args.bonus) if args.bonus else None,
        )
        w = wallets[0]
        return f"{p.account_id} {w.currency} real={money.wire(w.real)} bonus={money.wire(w.bonus)}"

    try:
        print(asyncio.run(_with_store(settings, add)))
    except (E.WalletError, money.MoneyError) as exc:
        print(f"groove-wallet: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_open_session(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def open_(store: WalletStore) -> str:
        svc = WalletService(store, SystemClock())
        s = await svc.open_session(args.account, game_id=args.game, currency=args.currency, ttl_seconds=args.ttl)
        return s.session_id

    try:
        print(asyncio.run(_with_store(settings, open_)))
    except E.WalletError as exc:
        print(f"groove-wallet: {exc}", file=sys.stderr)
        return 2
    return 0
