"""Chain heads: the head file exported off the database host (``--write-head``/``--expect-head``)
and the ``journal_heads`` table, each compared with where the journal ends."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from ..model import (
    GENESIS_HASH,
)
from .report import AuditReport, WalletKey

HEAD_FORMAT = "groove-wallet-heads/1"


class HeadFileError(ValueError):
    """A head file that cannot be read or is not one."""


def write_heads(path: Path, heads: Mapping[WalletKey, tuple[int, str]]) -> None:
    """Export every wallet's (seq, hash) as JSON, atomically (written aside, then renamed)."""
    body = {
        "format": HEAD_FORMAT,
        "wallets": [
            {"account_id": k[0], "currency": k[1], "seq": seq, "hash": h} for k, (seq, h) in sorted(heads.items())
        ],
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_heads(path: Path) -> dict[WalletKey, tuple[int, str]]:
    """Read a head file written by :func:`write_heads`; :class:`HeadFileError` if it is not one."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("format") != HEAD_FORMAT:
            raise HeadFileError(f"{path}: not a {HEAD_FORMAT} head file")
        out: dict[WalletKey, tuple[int, str]] = {}
        for w in body["wallets"]:
            seq, digest = w["seq"], w["hash"]
            if not isinstance(seq, int) or seq < 1 or not isinstance(digest, str):
                raise HeadFileError(f"{path}: bad head {w!r}")
            out[(str(w["account_id"]), str(w["currency"]))] = (seq, digest)
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HeadFileError(f"{path}: cannot read the head file ({exc})") from exc


def _check_expected_heads(
    expect: Mapping[WalletKey, tuple[int, str]], seen: Mapping[WalletKey, str], report: AuditReport
) -> None:
    for key, (seq, digest) in sorted(expect.items()):
        where = f"{key[0]}/{key[1]}"
        end = report.heads.get(key, (0, GENESIS_HASH))[0]
        if key not in seen:
            report.problems.append(
                f"{where}: the exported head is seq {seq} but the journal ends at seq {end} (truncated)"
            )
        elif seen[key] != digest:
            report.problems.append(f"{where} seq {seq}: hash differs from the exported head (the chain was rewritten)")


def _check_recorded_heads(recorded: Mapping[WalletKey, tuple[int, str]], report: AuditReport) -> None:
    for key in sorted(recorded.keys() | report.heads.keys()):
        mine = report.heads.get(key, (0, GENESIS_HASH))
        head = recorded.get(key, (0, GENESIS_HASH))
        if mine != head:
            report.problems.append(
                f"{key[0]}/{key[1]}: the journal ends at seq {mine[0]} but journal_heads records seq {head[0]}"
                + (" (a different hash)" if mine[0] == head[0] else "")
            )
