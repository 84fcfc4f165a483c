"""Caller authentication of the /groove face: per-operator IP allow-list and HMAC signature.

Pure (no I/O): the service hands it the operator it loaded under the player's lock.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping

from wallet_store.commands import Caller
from wallet_store.errors import CallerNotAllowed, InvalidSignature
from wallet_store.model import Operator


def signature_for(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_pairs(params: Mapping[str, str]) -> str:
    """What the "pairs" scheme signs: every query parameter, ``request`` included, as
    ``name=value`` (URL-decoded, exactly as received), sorted by name, joined with ``&``.

    Unambiguous because the face refuses any name or value holding ``&`` or ``=``.
    """
    return "&".join([f"{k}={params[k]}" for k in sorted(params)])


def signed_payload(params: Mapping[str, str]) -> str:
    """What the "concat" scheme signs: the values of the query parameters sorted by name;
    ``request`` excluded, ``nogsgameid`` taken as ``gameid``."""
    if "nogsgameid" in params:
        if "gameid" in params:  # two values under one name: they sort by value
            items = sorted(("gameid" if k == "nogsgameid" else k, v) for k, v in params.items() if k != "request")
            return "".join(v for _, v in items)
        renamed = dict(params)
        renamed["gameid"] = renamed.pop("nogsgameid")
        params = renamed
    # Names are unique in a dict, so sorting the names sorts the (name, value) pairs.
    return "".join([params[k] for k in sorted(params) if k != "request"])


def check_caller(op: Operator, caller: Caller) -> None:
    """Per-operator IP allow-list and HMAC-SHA256 signature (constant-time compare)."""
    if op.allowed_networks:
        try:
            ip = ipaddress.ip_address(caller.ip or "")
        except ValueError as exc:
            raise CallerNotAllowed("caller address not allowed") from exc
        if not any(ip in ipaddress.ip_network(n, strict=False) for n in op.allowed_networks):
            raise CallerNotAllowed("caller address not allowed")
    if op.signature_secret:
        # derived here, only for an operator with a secret (most requests need neither text)
        payload = signed_pairs(caller.params) if op.signature_scheme == "pairs" else signed_payload(caller.params)
        expected = signature_for(op.signature_secret, payload)
        given = (caller.signature or "").strip().lower()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise InvalidSignature("invalid signature")
