"""``groove-wallet hub88 set|show`` (an operator's Hub88 settings) and ``groove-wallet hub88-sign``
(the ``X-Hub88-Signature`` of a body read on stdin, for curl examples and manual tests)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

from wallet_store import errors as E
from wallet_store.domain.hub88 import Hub88Settings
from wallet_store.model import SystemClock
from wallet_store.ports import WalletStore
from wallet_store.service import WalletService

from ..hub88 import signature
from ..hub88.admin import settings_json, validate_keys
from .common import CliError, Parser, _settings, _with_store

MAX_BODY = 1_048_576  # bytes hub88-sign reads from stdin


def add_commands(sub: argparse._SubParsersAction[Parser], db: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``hub88`` (set, show) and ``hub88-sign``."""
    h = sub.add_parser("hub88", help="an operator's Hub88 settings: set, show")
    hsub = h.add_subparsers(dest="hub88", required=True)
    hs = hsub.add_parser("set", help="enable (or disable) Hub88 for an operator, with Hub88's public key")
    db(hs)
    hs.add_argument("--operator", required=True)
    hs.add_argument("--public-key", required=True, metavar="PEM_FILE", help="Hub88's public key (verifies requests)")
    hs.add_argument("--private-key", metavar="PEM_FILE", help="the operator's own key: replies are then signed")
    hs.add_argument("--game", action="append", default=[], metavar="CODE", help="an allowed game (default: all)")
    hs.add_argument("--disabled", action="store_true", help="keep the settings but answer RS_ERROR_INVALID_PARTNER")
    hs.set_defaults(fn=cmd_hub88_set)
    hw = hsub.add_parser("show", help="print an operator's Hub88 settings (JSON; never the private key)")
    db(hw)
    hw.add_argument("--operator", required=True)
    hw.set_defaults(fn=cmd_hub88_show)

    sg = sub.add_parser("hub88-sign", help="print the X-Hub88-Signature of the body read on stdin")
    sg.add_argument("--key", required=True, metavar="PEM_FILE", help="RSA private key (PEM, unencrypted)")
    sg.set_defaults(fn=cmd_hub88_sign)


def _read_pem(path: str) -> str:
    try:
        data = Path(path).read_bytes()[: signature.MAX_PEM + 1]
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    return data.decode("ascii", "replace")


def cmd_hub88_set(args: argparse.Namespace) -> int:
    public = _read_pem(args.public_key)
    private = _read_pem(args.private_key) if args.private_key else None
    if problems := validate_keys(public, private):
        raise CliError("; ".join(f"{p['field']}: {p['error']}" for p in problems), code=2)
    s = Hub88Settings(
        operator_id=args.operator,
        enabled=not args.disabled,
        public_key_pem=public,
        private_key_pem=private,
        games=tuple(dict.fromkeys(args.game)),
        updated_at=SystemClock().now(),
    )

    async def save(store: WalletStore) -> Hub88Settings:
        return await WalletService(store, SystemClock()).set_hub88_settings(s)

    try:
        saved = asyncio.run(_with_store(_settings(args), save))
    except E.WalletError as exc:
        raise CliError(exc.message) from None
    print(json.dumps(settings_json(saved), indent=2))
    return 0


def cmd_hub88_show(args: argparse.Namespace) -> int:
    async def show(store: WalletStore) -> Hub88Settings | None:
        return await WalletService(store, SystemClock()).hub88_settings(args.operator)

    found = asyncio.run(_with_store(_settings(args), show, read_only=True))
    if found is None:
        raise CliError(f"operator {args.operator} has no Hub88 settings")
    print(json.dumps(settings_json(found), indent=2))
    return 0


def cmd_hub88_sign(args: argparse.Namespace) -> int:
    """The signature of stdin's bytes exactly as read (sign the very bytes you send)."""
    try:
        key = signature.load_private_key(_read_pem(args.key))
    except signature.Hub88KeyError as exc:
        raise CliError(f"{args.key}: {exc}", code=2) from None
    body = sys.stdin.buffer.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        raise CliError(f"the body on stdin is longer than {MAX_BODY} bytes", code=2)
    print(signature.sign(key, body))
    return 0
