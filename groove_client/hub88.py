"""A Hub88 client: the requests Hub88 sends to an operator's wallet, built and signed.

The client's own copy of the few Hub88 rules it needs (the server's are in
``wallet_store.domain.hub88`` and ``groove_adapter.hub88``; the client imports nothing of the
server).  Reference: ``shared/reference/hub88-wallet-api.md``.

- Amounts on the wire are JSON integers, the value x 100 000 (:func:`units` refuses a value that
  is not a whole number of 0.00001, it never rounds).
- Every request is a ``POST`` of a compact JSON body to ``<wallet URL><path>``, signed with
  RSA PKCS#1 v1.5 + SHA-256 over exactly the bytes sent, Base64 in ``X-Hub88-Signature``.
- Every reply is HTTP 200 with ``status`` (``RS_OK`` / ``RS_ERROR_*``) and the request's
  ``request_uuid`` echoed.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .jsonio import dumps

SCALE: Final = 100_000
INT64_MAX: Final = 2**63 - 1
HEADER: Final = "X-Hub88-Signature"
MAX_PEM: Final = 16_384  # bytes of a PEM key file read

PATH: Final = {
    "info": "/user/info",
    "balance": "/user/balance",
    "bet": "/transaction/bet",
    "win": "/transaction/win",
    "rollback": "/transaction/rollback",
}

# Every status of the reference's table (section 7); nothing else is a valid reply status.
STATUSES: Final = frozenset(
    {
        "RS_OK",
        "RS_ERROR_UNKNOWN",
        "RS_ERROR_INVALID_PARTNER",
        "RS_ERROR_INVALID_TOKEN",
        "RS_ERROR_INVALID_GAME",
        "RS_ERROR_WRONG_CURRENCY",
        "RS_ERROR_NOT_ENOUGH_MONEY",
        "RS_ERROR_USER_DISABLED",
        "RS_ERROR_INVALID_SIGNATURE",
        "RS_ERROR_TOKEN_EXPIRED",
        "RS_ERROR_WRONG_SYNTAX",
        "RS_ERROR_WRONG_TYPES",
        "RS_ERROR_DUPLICATE_TRANSACTION",
        "RS_ERROR_TRANSACTION_DOES_NOT_EXIST",
        "RS_ERROR_LIMIT_REACHED",
    }
)


def is_int(v: object) -> bool:
    """A JSON integer as parsed: an int that is not a bool (a float, Decimal or string is not)."""
    return isinstance(v, int) and not isinstance(v, bool)


def units(value: Decimal) -> int:
    """``value`` x 100 000 as an int; ValueError when that is not a whole number (never rounded)."""
    if not value.is_finite() or len(value.as_tuple().digits) > 30:
        raise ValueError(f"{value} is not a Hub88 amount")
    scaled = value.scaleb(5)  # exact: at most 30 digits, the client's context keeps 60
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"{value} is not a whole number of 0.00001")
    return int(scaled)


def value(wire_units: int) -> Decimal:
    """The exact Decimal of a Hub88 integer amount (``356000`` -> ``3.56``)."""
    return Decimal(wire_units).scaleb(-5)


class Signer:
    """Signs request bodies as Hub88 does, with an RSA private key (PEM, unencrypted)."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self.key = private_key

    @classmethod
    def from_pem(cls, pem: str | bytes) -> Signer:
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the Hub88 signing key must be an RSA private key")
        return cls(key)

    @classmethod
    def generate(cls) -> Signer:
        """A fresh 2048-bit key pair (tests, and the wrong-key scenario)."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")

    def public_pem(self) -> str:
        """What the wallet must be configured with to verify this signer."""
        return (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )


def new_uuid() -> str:
    return str(uuid.uuid4())


def encode(body: Mapping[str, Any]) -> bytes:
    """Compact JSON, integers as written (the bytes that are signed and sent)."""
    return dumps(body).encode()


@dataclass
class Player:
    """Who the requests are for: the operator's player id, a session token, the wallet currency."""

    user: str
    token: str
    currency: str
    game: str


@dataclass
class Bodies:
    """Request bodies exactly as the reference's examples (sections 5.1-5.5), every id fresh."""

    player: Player

    def info(self, **over: Any) -> dict[str, Any]:
        return {"user": self.player.user, "request_uuid": new_uuid()} | over

    def balance(self, **over: Any) -> dict[str, Any]:
        p = self.player
        return {"user": p.user, "token": p.token, "request_uuid": new_uuid(), "game_code": p.game} | over

    def _transaction(self, tx: str | None, rnd: str | None, round_closed: bool) -> dict[str, Any]:
        p = self.player
        tx = tx or new_uuid()
        return {
            "user": p.user,
            "transaction_uuid": tx,
            "supplier_transaction_id": f"sup-{tx}",
            "token": p.token,
            "round": rnd,
            "round_closed": round_closed,
            "request_uuid": new_uuid(),
            "game_code": p.game,
            "meta": None,
        }

    def bet(self, amount: int, tx: str | None = None, rnd: str | None = None, **over: Any) -> dict[str, Any]:
        p = self.player
        return (
            self._transaction(tx, rnd or f"r-{new_uuid()}", False)
            | {
                "supplier_user": f"hub88_{p.user}",
                "reward_uuid": None,
                "is_free": False,
                "is_supplier_promo": False,
                "currency": p.currency,
                "bet": None,
                "amount": amount,
            }
            | over
        )

    def win(self, reference: str, amount: int, tx: str | None = None, **over: Any) -> dict[str, Any]:
        body = self.bet(amount, tx, round_closed=True)
        return body | {"reference_transaction_uuid": reference} | over

    def rollback(self, reference: str, tx: str | None = None, rnd: str | None = None, **over: Any) -> dict[str, Any]:
        return self._transaction(tx, rnd, True) | {"reference_transaction_uuid": reference} | over
