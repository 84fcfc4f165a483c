"""Caller authentication of the /groove face: per-operator IP allow-list and HMAC signature.

Pure (no I/O): the service hands it the operator it loaded under the player's lock.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from wallet_store.commands import Caller
from wallet_store.errors import CallerNotAllowed, InvalidSignature
from wallet_store.model import Operator


def signature_for(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


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
        payload = caller.signed_pairs if op.signature_scheme == "pairs" else caller.signed_payload
        expected = signature_for(op.signature_secret, payload)
        given = (caller.signature or "").strip().lower()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise InvalidSignature("invalid signature")
