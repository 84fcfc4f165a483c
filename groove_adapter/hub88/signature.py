"""``X-Hub88-Signature``: RSA PKCS#1 v1.5 with SHA-256 over the raw request body, standard Base64.

Hub88 signs every wallet request with its private key; the operator verifies it with Hub88's
public key (PEM, ``-----BEGIN PUBLIC KEY-----``).  The signed bytes are the body exactly as
received: no canonicalisation, so verify before parsing, never a re-serialised JSON.  Replies
need no signature (reference section 3.2); :func:`sign` is for an operator that is asked to
sign them anyway, and for tests.  A missing, malformed or wrong signature is the same answer,
``RS_ERROR_INVALID_SIGNATURE``, and nothing changes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HEADER: Final = "X-Hub88-Signature"
MAX_PEM: Final = 16_384  # characters of one PEM key (an RSA-8192 private key is about 6 500)
MAX_SIGNATURE: Final = 2_048  # Base64 characters of one header value (RSA-8192: 1 368)
MIN_KEY_BITS: Final = 2048


class Hub88KeyError(ValueError):
    """A PEM that is not an RSA key of at least :data:`MIN_KEY_BITS` bits (or is encrypted)."""


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """Hub88's public key from its PEM (SubjectPublicKeyInfo or PKCS#1 ``RSA PUBLIC KEY``)."""
    data = _pem_bytes(pem)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise Hub88KeyError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise Hub88KeyError(f"not an RSA public key but {type(key).__name__}")
    return _big_enough(key)


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """An unencrypted RSA private key from its PEM (PKCS#1 ``RSA PRIVATE KEY`` or PKCS#8)."""
    data = _pem_bytes(pem)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise Hub88KeyError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise Hub88KeyError(f"not an RSA private key but {type(key).__name__}")
    _big_enough(key.public_key())
    return key


def _pem_bytes(pem: str | bytes) -> bytes:
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else bytes(pem)
    if len(data) > MAX_PEM:
        raise Hub88KeyError(f"a PEM key longer than {MAX_PEM} characters")
    return data


def _big_enough(key: rsa.RSAPublicKey) -> rsa.RSAPublicKey:
    if key.key_size < MIN_KEY_BITS:
        raise Hub88KeyError(f"an RSA key of {key.key_size} bits; at least {MIN_KEY_BITS} are required")
    return key


def decoded(header_value: str | None) -> bytes | None:
    """The signature bytes of a header value, or None when it cannot be one: missing, too
    long, not Base64, or shorter than a :data:`MIN_KEY_BITS` key's signature.  Cheap: the face
    answers such a request at once, before it reads anything from the store."""
    if not header_value or len(header_value) > MAX_SIGNATURE:
        return None
    try:
        signature = base64.b64decode(header_value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return signature if len(signature) >= MIN_KEY_BITS // 8 else None


def verify(public_key: rsa.RSAPublicKey, raw_body: bytes, header_value: str | None) -> bool:
    """True only when ``header_value`` is a valid signature of exactly ``raw_body``."""
    signature = decoded(header_value)
    if signature is None:
        return False
    try:
        public_key.verify(signature, raw_body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def sign(private_key: rsa.RSAPrivateKey, raw_body: bytes) -> str:
    """The ``X-Hub88-Signature`` value of ``raw_body`` (Base64 with padding)."""
    return base64.b64encode(private_key.sign(raw_body, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def reply_headers(private_key: rsa.RSAPrivateKey | None, raw_body: bytes) -> dict[str, str]:
    """The headers of a reply: its signature when the operator configured a key, else none."""
    return {} if private_key is None else {HEADER: sign(private_key, raw_body)}


def public_pem(private_key: rsa.RSAPrivateKey) -> str:
    """The SubjectPublicKeyInfo PEM of a private key (what the other side configures)."""
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
