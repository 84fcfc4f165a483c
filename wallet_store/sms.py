"""SMS verification: codes, the sender interface and the embedded outbox sender.  No I/O here.

Codes are 6 random digits (:mod:`secrets`), stored only as a salted SHA-256
(:func:`code_hash`, the flow id is the salt) and compared in constant time.  A 6-digit
code hashed without a secret can be recovered by anyone who reads the database and tries
the million candidates, so the hash only keeps codes out of casual view; what protects a
flow is the limited number of attempts (``GW_SMS_CODE_ATTEMPTS``) and the hold's expiry.
Codes are never logged and never returned by the API.

Sending is a transactional outbox.  The unit of work that reserves the funds also writes
the message row (:meth:`SmsSender.outbox_row` decides what the row keeps), so a flow never
exists without its message, and a message never exists without its flow.  After the
commit the service calls :meth:`SmsSender.deliver`:

* :class:`OutboxSender` (the embedded default, for test and staging) keeps the full text in
  the row, state ``outbox``; delivering is a no-op: operators read the messages, codes
  included, through ``GET /admin/sms-outbox``.
* A real provider is one adapter: ``keeps_text = False`` (the stored row is redacted and
  ``queued``), and ``deliver`` calls the provider's API with the text; the service then
  marks the row ``sent`` or ``failed``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Protocol

from .model import SmsMessage

CODE_DIGITS = 6
CODE = re.compile(f"[0-9]{{{CODE_DIGITS}}}")
PHONE = re.compile(r"\+[1-9][0-9]{7,14}")  # E.164
REDACTED = "•" * CODE_DIGITS


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(flow_id: str, code: str) -> str:
    return hashlib.sha256(f"{flow_id}:{code}".encode()).hexdigest()


def code_matches(flow_id: str, code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(code_hash(flow_id, code).encode(), stored_hash.encode())


def mask_phone(phone: str) -> str:
    """``+35699123456`` -> ``+•••••••3456`` (what replies show)."""
    return phone[0] + "•" * max(0, len(phone) - 5) + phone[-4:]


def verification_text(code: str, *, what: str) -> str:
    return f"{code} is your verification code to confirm the {what}. Never share it."


class SmsSender(Protocol):
    """Where verification messages go.  See the module docstring."""

    name: str

    def outbox_row(
        self, *, message_id: str, account_id: str, phone: str, text: str, code: str, purpose: str, now: datetime
    ) -> SmsMessage:
        """The row written to the outbox in the flow's unit of work (pure: no I/O)."""
        ...

    async def deliver(self, message: SmsMessage, text: str) -> None:
        """Send ``text`` to ``message.phone`` after the unit committed; raise on failure.

        Only called for rows in state ``queued``.
        """
        ...


class OutboxSender:
    """The embedded default: the outbox row, with its text, is the delivery (test, staging)."""

    name = "outbox"

    def outbox_row(
        self, *, message_id: str, account_id: str, phone: str, text: str, code: str, purpose: str, now: datetime
    ) -> SmsMessage:
        return SmsMessage(
            message_id=message_id,
            account_id=account_id,
            phone=phone,
            body=text,
            purpose=purpose,
            state="outbox",
            created_at=now,
        )

    async def deliver(self, message: SmsMessage, text: str) -> None:
        return None


class ProviderSender:
    """Base of a real provider's adapter: the stored row is redacted; subclasses send.

    An adapter implements :meth:`deliver` (e.g. one HTTPS call to the provider with the
    phone and the text) and is passed to ``create_app(..., sms=...)``.
    """

    name = "provider"

    def outbox_row(
        self, *, message_id: str, account_id: str, phone: str, text: str, code: str, purpose: str, now: datetime
    ) -> SmsMessage:
        return SmsMessage(
            message_id=message_id,
            account_id=account_id,
            phone=phone,
            body=text.replace(code, REDACTED),
            purpose=purpose,
            state="queued",
            created_at=now,
        )

    async def deliver(self, message: SmsMessage, text: str) -> None:
        raise NotImplementedError("a provider adapter implements deliver()")
