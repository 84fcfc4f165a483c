"""The /groove query models: every parameter's strict format, and the fast path that checks
plainly valid queries directly (it must agree with the models: tests/test_groove_fast_params.py).

A bad field is :class:`wallet_store.errors.ParameterRequired` naming it (the protocol's 1008),
before any I/O.  Amounts are exact: canonical decimal text parsed by :func:`wallet_store.money.parse`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from wallet_store import errors as E
from wallet_store import money

M = TypeVar("M", bound=BaseModel)


# Strict formats for every parameter the signature covers (docs/security.md, "Signatures"):
# with Groove's value concatenation a character moved from one value to its neighbour keeps
# the signature, so each value has one spelling and a character set its neighbours mostly
# do not share.  An amount is canonical: the shortest decimal (what replies carry: ``100``,
# ``140.25``, ``0.0000000001``), no leading zeros, no trailing fractional zeros, no bare
# ``.``; ``-`` only before a non-zero amount (refused later as negative, 110).
_CANONICAL_AMOUNT = re.compile(r"-?(?:0|[1-9][0-9]{0,21})(?:\.[0-9]{0,9}[1-9])?")


def canonical_amount(text: str) -> Decimal:
    """A /groove query amount in canonical form, else :class:`money.MoneyError`."""
    if _CANONICAL_AMOUNT.fullmatch(text) is None or text == "-0":
        raise money.MoneyError("not a canonical decimal (no leading or trailing zeros, at most 22.10 digits)")
    return money.parse(text)


def _amount(v: object) -> Decimal:
    if isinstance(v, str):
        return canonical_amount(v)
    return money.coerce(v)


# Limits shared by the pydantic models and the fast path (_fast_params).
ACCOUNT_MAX = 60
SESSION_MAX = 64
ID_MAX = 255
APIVERSION_MAX = 16
STATUS_MAX = 32
# The characters of ids (gamesessionid, gameid, nogsgameid, roundid, transactionid, frbid,
# request_id): ASCII letters, digits and ``- _ . : ~ @ | /``; never ``&``, ``=``, ``%``,
# ``+`` or a space, so a name=value pair (the "pairs" signature scheme) splits one way only.
ID_CHARS = r"0-9A-Za-z_.:~@|/\-"
_ID_RE = re.compile(rf"[{ID_CHARS}]{{1,{ID_MAX}}}")
_SESSION_RE = re.compile(rf"[{ID_CHARS}]{{1,{SESSION_MAX}}}")
# apiversion: dot-separated numbers without leading zeros (``1``, ``1.2``, ``2.10``).
_APIVERSION_RE = re.compile(r"(?:0|[1-9][0-9]{0,5})(?:\.(?:0|[1-9][0-9]{0,5}))*")
# gamestatus: letters only (``completed``, ``pending``; any other word is refused with 110).
_STATUS_RE = re.compile(rf"[A-Za-z]{{0,{STATUS_MAX}}}")

Amount = Annotated[Decimal, BeforeValidator(_amount)]
AccountId = Annotated[str, StringConstraints(pattern=rf"^[0-9A-Za-z]{{1,{ACCOUNT_MAX}}}$")]
SessionId = Annotated[str, StringConstraints(pattern=f"^{_SESSION_RE.pattern}$")]
Id255 = Annotated[str, StringConstraints(pattern=f"^{_ID_RE.pattern}$")]
Device = Literal["desktop", "mobile"]
DEVICES: tuple[str, ...] = get_args(Device)
ApiVersion = Annotated[str, StringConstraints(max_length=APIVERSION_MAX, pattern=f"^{_APIVERSION_RE.pattern}$")]
GameStatus = Annotated[str, StringConstraints(pattern=f"^{_STATUS_RE.pattern}$")]


class _Common(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    accountid: AccountId
    gamesessionid: SessionId
    device: Device
    apiversion: ApiVersion


class GetAccountQ(_Common):
    pass


class GetBalanceQ(_Common):
    nogsgameid: Id255


class WagerQ(_Common):
    gameid: Id255
    betamount: Amount
    roundid: Id255
    transactionid: Id255
    frbid: Id255 | None = None


class ResultQ(_Common):
    gameid: Id255
    result: Amount
    roundid: Id255
    transactionid: Id255
    gamestatus: GameStatus
    frbid: Id255 | None = None


class WagerAndResultQ(_Common):
    gameid: Id255
    betamount: Amount
    result: Amount
    roundid: Id255
    transactionid: Id255
    gamestatus: GameStatus
    frbid: Id255 | None = None


class RollbackQ(_Common):
    gameid: Id255
    roundid: Id255
    transactionid: Id255
    rollbackamount: Amount | None = None


class JackpotQ(_Common):
    gameid: Id255
    amount: Amount
    roundid: Id255
    transactionid: Id255
    gamestatus: GameStatus


class ReverseWinQ(_Common):
    gameid: Id255
    amount: Amount
    roundid: Id255 | None = None
    transactionid: Id255


class RollbackRollbackQ(_Common):
    gameid: Id255
    rollbackAmount: Amount = Field(validation_alias="rollbackAmount")
    roundid: Id255 | None = None
    transactionid: Id255


class BatchQ(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    request_id: Id255  # required: the spec puts it in the (signed) query string
    gamesessionid: SessionId
    gameid: Id255
    apiversion: ApiVersion


class BatchBet(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    transaction_id: Id255
    round_id: Id255
    amount: Amount
    frb_id: Id255 | None = None


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    account_id: AccountId
    game_id: Id255
    game_session_id: SessionId
    device: Device
    bets: list[BatchBet] = Field(min_length=1)


def validate(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "request"
        detail = "missing" if err["type"] == "missing" else "malformed"
        raise E.ParameterRequired(loc, detail) from None


# ---------------------------------------------------------------------- fast path for parameters

_ID, _OPT_ID, _AMOUNT, _OPT_AMOUNT, _STATUS = range(5)

# Beyond the _Common fields, per model, in field order: (query parameter, kind).
_FAST_FIELDS: dict[type[BaseModel], tuple[tuple[str, int], ...]] = {
    GetAccountQ: (),
    GetBalanceQ: (("nogsgameid", _ID),),
    WagerQ: (("gameid", _ID), ("betamount", _AMOUNT), ("roundid", _ID), ("transactionid", _ID), ("frbid", _OPT_ID)),
    ResultQ: (
        ("gameid", _ID),
        ("result", _AMOUNT),
        ("roundid", _ID),
        ("transactionid", _ID),
        ("gamestatus", _STATUS),
        ("frbid", _OPT_ID),
    ),
    WagerAndResultQ: (
        ("gameid", _ID),
        ("betamount", _AMOUNT),
        ("result", _AMOUNT),
        ("roundid", _ID),
        ("transactionid", _ID),
        ("gamestatus", _STATUS),
        ("frbid", _OPT_ID),
    ),
    RollbackQ: (("gameid", _ID), ("roundid", _ID), ("transactionid", _ID), ("rollbackamount", _OPT_AMOUNT)),
    JackpotQ: (("gameid", _ID), ("amount", _AMOUNT), ("roundid", _ID), ("transactionid", _ID), ("gamestatus", _STATUS)),
    ReverseWinQ: (("gameid", _ID), ("amount", _AMOUNT), ("roundid", _OPT_ID), ("transactionid", _ID)),
    RollbackRollbackQ: (
        ("gameid", _ID),
        ("rollbackAmount", _AMOUNT),
        ("roundid", _OPT_ID),
        ("transactionid", _ID),
    ),
}


def _fast_params(model: type[BaseModel], q: Mapping[str, str]) -> dict[str, Any] | None:
    """The model's field values when every parameter is plainly valid, else None.

    Plainly valid: matching the model's own patterns (ASCII only, so lengths are characters
    and no surrogate or Unicode digit can differ between this check and pydantic's), amounts
    accepted by :func:`canonical_amount` (the model's own validator).  The model accepts all
    such input, with the same values; anything else returns None and goes through the model.
    """
    fields = _FAST_FIELDS.get(model)
    if fields is None:
        return None
    account = q.get("accountid")
    session = q.get("gamesessionid")
    device = q.get("device")
    apiversion = q.get("apiversion")
    if (
        account is None
        or ACCOUNT_RE.fullmatch(account) is None
        or session is None
        or _SESSION_RE.fullmatch(session) is None
        or device not in DEVICES
        or apiversion is None
        or len(apiversion) > APIVERSION_MAX
        or _APIVERSION_RE.fullmatch(apiversion) is None
    ):
        return None
    out: dict[str, Any] = {"accountid": account, "gamesessionid": session, "device": device, "apiversion": apiversion}
    for name, kind in fields:
        value = q.get(name)
        if value is None:
            if kind in (_OPT_ID, _OPT_AMOUNT):
                out[name] = None
                continue
            return None
        if kind in (_AMOUNT, _OPT_AMOUNT):
            try:
                out[name] = canonical_amount(value)
            except money.MoneyError:
                return None
        elif (_STATUS_RE if kind == _STATUS else _ID_RE).fullmatch(value) is not None:
            out[name] = value
        else:
            return None
    return out


def query_fields(model: type[BaseModel], q: Mapping[str, str]) -> dict[str, Any]:
    """A request's validated parameters by field name.

    The common case (plain ASCII within limits) is checked directly, which costs a fraction of
    ``model_validate``; everything else, including every invalid request, goes through the
    pydantic model, so values and errors (:class:`E.ParameterRequired` naming the first bad
    field) are always the model's.  tests/test_groove_fast_params.py checks that they agree.
    """
    fast = _fast_params(model, q)
    if fast is not None:
        return fast
    return dict(validate(model, q))


ACCOUNT_RE = re.compile(rf"[0-9A-Za-z]{{1,{ACCOUNT_MAX}}}")
