"""The write flows moved: the rules to :mod:`wallet_store.domain.flows`,
:mod:`~wallet_store.domain.initiate` and :mod:`~wallet_store.domain.purchases`, the use cases
to :mod:`wallet_store.services.flows` and :mod:`~wallet_store.services.purchases`.  This name
stays for existing imports."""

from __future__ import annotations

from .domain.flows import (
    CREDIT_KIND,
    ID_PREFIX,
    LABEL,
    SWEEP_BATCH,
    FlowSettings,
    FlowStatus,
    FlowStep,
    NoPhone,
    Snapshot,
    Step,
    TooManyHolds,
    VerificationFailed,
    WrongClaimant,
    WrongCode,
    WrongState,
    flow_steps,
)
from .domain.purchases import MAX_QUANTITY, USD_CENT, ItemResult, PurchaseResult
from .services.flows import FlowService

__all__ = [
    "CREDIT_KIND",
    "ID_PREFIX",
    "LABEL",
    "MAX_QUANTITY",
    "SWEEP_BATCH",
    "USD_CENT",
    "FlowService",
    "FlowSettings",
    "FlowStatus",
    "FlowStep",
    "ItemResult",
    "NoPhone",
    "PurchaseResult",
    "Snapshot",
    "Step",
    "TooManyHolds",
    "VerificationFailed",
    "WrongClaimant",
    "WrongCode",
    "WrongState",
    "flow_steps",
]
