"""Payment providers for currency purchases: the interface and the embedded sandbox.  No I/O.

The purchase use case (:mod:`wallet_store.flows`) records the payment first (state
``processing``), then asks the provider to charge, then records the outcome and credits in
one unit of work.  Providers must be idempotent by ``payment_id`` (our id, sent as the
provider's idempotency key), so a retried or concurrent request can ask again and gets the
same answer; the credit itself happens once because the payment row is settled under the
player's lock.

The sandbox (:class:`SandboxPaymentProvider`) decides by documented test tokens, like
payment providers' own test modes:

========================================  ===============================================
token                                     outcome
========================================  ===============================================
``tok_success``                           charged at once: ``status: "success"``
``tok_requires_action``                   3-D Secure: ``requires_action`` + client_secret;
                                          ``confirm-payment`` then succeeds
``tok_requires_action_declined``          3-D Secure, then ``confirm-payment`` is declined
``tok_declined``                          declined (``402``, nothing credited)
========================================  ===============================================

Any other token is a ``400``.  The sandbox is stateless: the intent id it returns carries
the scenario, so it works across instances and restarts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from .errors import Invalid, Refusal

ProviderStatus = Literal["succeeded", "requires_action", "declined"]


class UnknownPaymentToken(Invalid):
    """The payment token is not one the provider knows."""


class PaymentDeclined(Refusal):
    """The payment was declined; nothing was credited."""


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    status: ProviderStatus
    provider_ref: str
    client_secret: str | None = None
    message: str = ""


class PaymentProvider(Protocol):
    name: str

    def check_token(self, token: str) -> None:
        """Refuse (:class:`UnknownPaymentToken`) a token that cannot be charged, before
        anything is recorded: a bad token is bad input, not a payment attempt."""
        ...

    async def charge(self, *, payment_id: str, usd_amount: Decimal, token: str) -> PaymentOutcome:
        """Create and confirm a charge of ``usd_amount`` USD; idempotent by ``payment_id``."""
        ...

    async def confirm(self, *, payment_id: str, provider_ref: str) -> PaymentOutcome:
        """The charge's outcome after the customer's action (3-D Secure); idempotent."""
        ...


SANDBOX_TOKENS: dict[str, str] = {
    "tok_success": "ok",
    "tok_requires_action": "3ds",
    "tok_requires_action_declined": "3dsno",
    "tok_declined": "no",
}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


class SandboxPaymentProvider:
    """Decides by test token; never moves real money.  See the module docstring."""

    name = "sandbox"

    def check_token(self, token: str) -> None:
        if token not in SANDBOX_TOKENS:
            known = ", ".join(sorted(SANDBOX_TOKENS))
            raise UnknownPaymentToken(f"unknown payment token; the sandbox accepts {known}")

    async def charge(self, *, payment_id: str, usd_amount: Decimal, token: str) -> PaymentOutcome:
        self.check_token(token)
        scenario = SANDBOX_TOKENS[token]
        ref = f"pi_sbx_{scenario}_{_digest(payment_id)}"
        if scenario == "ok":
            return PaymentOutcome("succeeded", ref)
        if scenario == "no":
            return PaymentOutcome("declined", ref, message="card declined (sandbox tok_declined)")
        return PaymentOutcome("requires_action", ref, client_secret=f"{ref}_secret_{_digest('secret', payment_id)}")

    async def confirm(self, *, payment_id: str, provider_ref: str) -> PaymentOutcome:
        if provider_ref != "" and provider_ref.startswith("pi_sbx_"):
            scenario = provider_ref.split("_")[2]
            if scenario in ("ok", "3ds"):
                return PaymentOutcome("succeeded", provider_ref)
            if scenario == "3dsno":
                return PaymentOutcome(
                    "declined", provider_ref, message="authentication failed (sandbox tok_requires_action_declined)"
                )
            if scenario == "no":
                return PaymentOutcome("declined", provider_ref, message="card declined (sandbox tok_declined)")
        raise Invalid("not a sandbox payment")
