"""Every ``certify`` scenario fails a wallet that gets its rule wrong (issue #14, defect 11).

``BREAKS`` maps every registered scenario to the broken wallets (``tests/certify_bugs.py``) it
must fail; a scenario added without one fails ``test_every_scenario_has_a_bug``.  Each bug is
served once (the real app with that one fake in it) and certify runs only the scenarios mapped
to it: every one of them must fail, and for the bug's reason (its ``evidence``), not another.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from groove_client import certify
from tests import certify_bugs as B
from tests.broken_wallet import ADMIN_TOKEN, serve

SETTLING = certify.SETTLING
MONEY = (*certify.MONEY_REQUESTS, "wagerbybatch")

BREAKS: dict[str, tuple[B.Bug, ...]] = {
    **{f"fields.{r}": (B.DROPS_A_REPLY_FIELD,) for r in (*MONEY, "getaccount", "getbalance", "error")},
    **{
        f"session.{r}.{k}": (B.SESSION_ID_IGNORED,)
        for r in ("getaccount", "getbalance", "wager")
        for k in ("unknown", "foreign", "expired", "logged_out")
    },
    "session.getbalance.unknown_account": (B.SESSION_ID_IGNORED,),
    **{f"expiry.{r}.{k}": (B.SESSION_CHECKED_ON_SETTLING,) for r in SETTLING for k in ("expired", "logged_out")},
    "expiry.result.unknown_account": (B.SESSION_CHECKED_ON_SETTLING,),
    "expiry.result.foreign_session": (B.SESSION_CHECKED_ON_SETTLING,),
    "funds.insufficient": (B.OUT_OF_MONEY_AS_110,),
    "funds.whole_balance": (B.OUT_OF_MONEY_AS_110,),
    "funds.refusal_remembered": (B.REFUSALS_FORGOTTEN,),
    "funds.concurrent_spend": (B.RACY_FUNDS,),
    "funds.blocked": (B.REFUSALS_FORGOTTEN,),
    "funds.gaming_limit": (B.LIMITS_IGNORED,),
    "funds.batch_independent": (B.OUT_OF_MONEY_AS_110,),
    **{f"idempotency.{r}.duplicate": (B.DUPLICATE_NOT_FLAGGED,) for r in MONEY},
    **{f"idempotency.{r}.mismatch_{k}": (B.MISMATCH_REPLAYED,) for r in MONEY for k in ("amount", "account")},
    **{f"concurrency.{r}.copies": (B.DUPLICATE_NOT_FLAGGED,) for r in ("wager", "result", "rollback")},
    "rounds.result_on_closed": (B.ROUNDS_NEVER_CLOSE,),
    "rounds.wager_on_closed": (B.ROUNDS_NEVER_CLOSE,),
    "rounds.pending_results": (B.ROUNDS_NEVER_CLOSE,),
    "rounds.result_without_wager": (B.EVERY_ROUND_HAS_A_WAGER,),
    "rounds.bad_gamestatus": (B.ANY_GAMESTATUS,),
    "rollback.unknown": (B.UNKNOWN_WAGER_AS_110,),
    "rollback.before_wager": (B.NO_TOMBSTONES, B.UNKNOWN_WAGER_AS_110),
    "rollback.settled": (B.RESULTS_NOT_COUNTED,),
    "rollback.refused_wager": (B.UNKNOWN_WAGER_AS_110, B.OUT_OF_MONEY_AS_110),
    "rollback.mixed_split": (B.REFUNDS_TO_REAL,),
    "rollback.wrong_round": (B.ROUND_FROM_TRANSACTION, B.POISONED_BY_WRONG_ROUND),
    "rollback.reversewin_wrong_round": (B.ROUND_FROM_TRANSACTION, B.POISONED_BY_WRONG_ROUND),
    "rollback.reversewin_wager_and_result": (B.NO_WIN_OF_WAGER_AND_RESULT,),
    "freerounds.wager_zero": (B.FREE_ROUNDS_REFUSED,),
    "freerounds.wager_nonzero": (B.FRBID_IGNORED,),
    "freerounds.result_without_wager": (B.FREE_ROUNDS_REFUSED, B.FRBID_IGNORED),
    "freerounds.round": (B.FREE_ROUNDS_REFUSED,),
    "signature.valid": (B.SIGNATURE_CASE_SENSITIVE,),
    **{
        f"signature.{k}": (B.SIGNATURE_NOT_CHECKED,)
        for k in ("missing", "wrong_secret", "tampered", "settling", "wagerbybatch")
    },
    "decimal.reply_format": (B.AMOUNTS_AS_STRINGS,),
    "decimal.smallest_unit": (B.EIGHT_DECIMALS,),
    "decimal.ten_places": (B.EIGHT_DECIMALS,),
    "decimal.large_exact": (B.FLOAT_AMOUNTS,),
    **{
        f"decimal.reject_{k}": (B.LENIENT_AMOUNTS,) for k in ("11_decimals", "23_digits", "exponent", "nan", "infinity")
    },
    "decimal.negative_wager": (B.ABSOLUTE_AMOUNTS,),
    "decimal.negative_result": (B.ABSOLUTE_AMOUNTS,),
    "transport.missing_parameter": (B.MISSING_AMOUNT_IS_ZERO,),
}
# The wagers that the existing double-debit wallet must fail too (money moved twice, not just the flag).
for _id in ("idempotency.wager.duplicate", "concurrency.wager.copies", "idempotency.wagerbybatch.duplicate"):
    BREAKS[_id] += (B.DOUBLE_DEBIT_ON_DUPLICATE,)

BUGS: list[B.Bug] = list(dict.fromkeys(b for bugs in BREAKS.values() for b in bugs))


def test_every_scenario_has_a_bug() -> None:
    """A scenario without a broken wallet that it fails is a scenario nobody proved can fail."""
    registered = [s.id for s in certify.SCENARIOS]
    assert set(BREAKS) == set(registered), (
        f"no bug for {sorted(set(registered) - set(BREAKS))}; unknown {sorted(set(BREAKS) - set(registered))}"
    )
    assert all(BREAKS.values())
    assert len({b.name for b in BUGS}) == len(BUGS)


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
async def test_certify_fails_the_wallet_that_gets_its_rule_wrong(tmp_path: Path, bug: B.Bug) -> None:
    scenarios = sorted(s for s, bugs in BREAKS.items() if bug in bugs)
    async with serve(bug.app(tmp_path)) as base:
        cfg = certify.Config(url=f"{base}/groove", admin_token=ADMIN_TOKEN, only=scenarios, concurrency=8)
        report = await certify.run_certify(cfg)
    got = {r.id: r for r in report.results}
    assert sorted(got) == scenarios
    passed = sorted(i for i, r in got.items() if r.status != "fail")
    assert not passed, f"{bug.name}: certify passed a wallet that breaks {passed}"
    wrong = {i: r.message for i, r in got.items() if not re.search(bug.evidence, r.message)}
    assert not wrong, f"{bug.name}: failed for another reason than /{bug.evidence}/: {wrong}"
