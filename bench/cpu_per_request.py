"""Server CPU time per request: the figure that survives a shared, noisy machine.

    .venv/bin/python bench/cpu_per_request.py                          # this tree, 3 repeats
    .venv/bin/python bench/cpu_per_request.py --code before=../a --code after=. --repeat 5
    .venv/bin/python bench/cpu_per_request.py --simultaneous --code before=../a --code after=.

Wall-clock throughput moves with whatever else the machine runs; the CPU time the server
process spends per request served moves much less.  For each scenario this starts a fresh
server (``groove-wallet serve`` on a copy of a generated 10k-account SQLite dataset,
``synchronous=FULL``; or the bare aiohttp baseline), pinned to ``--server-cpu``, warms it up
with wrk, then reads ``utime+stime`` of every server thread from ``/proc/PID/task/*/stat``
before and after a ``wrk -t1 -c64 -dN`` run pinned to ``--load-cpu``, and divides by the
replies wrk counted (every reply body is checked for ``"code":200`` by the Lua scripts).

``--code LABEL=DIR`` runs the service from another copy of the source tree (``PYTHONPATH=DIR``
and working directory DIR, which come before the editable install), so a before/after pair is
measured in one session, alternately (A B, B A, ...) or, with ``--simultaneous``, at the same
time (both servers on the same core under the same interference: the most stable ratio on a
shared machine; the absolute figures are then those of half a core).  The medians are printed,
with each other label as the median (min-max) of its per-repeat ratios to the first label.
The background audit is switched off (``GW_AUDIT_INTERVAL_SECONDS=0``: it would scan
the journal in the middle of a figure); everything else is the default configuration,
including the JSON access log (to a file, as in production).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = ROOT / ".venv" / "bin" / "python"
TICK = os.sysconf("SC_CLK_TCK")
SCENARIOS = {"baseline": "getbalance.lua", "getbalance": "getbalance.lua", "wager": "wager.lua"}


@dataclass
class Figure:
    label: str
    scenario: str
    requests: int
    bad: int
    cpu_s: float
    loop_s: float
    seconds: float

    @property
    def us_per_request(self) -> float:
        return self.cpu_s * 1e6 / max(self.requests, 1)

    @property
    def loop_us_per_request(self) -> float:
        return self.loop_s * 1e6 / max(self.requests, 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu(pid: int) -> tuple[float, float]:
    """(all threads, main thread) CPU seconds of a process, from /proc."""
    total = main = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that just ended (its time is lost; none end during a figure)
        t = (int(fields[11]) + int(fields[12])) / TICK
        total += t
        if task.name == str(pid):
            main = t
    return total, main


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not become ready")


def _wrk_start(args: argparse.Namespace, port: int, scenario: str, seconds: int, tag: str) -> subprocess.Popen[str]:
    env = dict(os.environ, BENCH_ACCOUNTS=str(args.accounts), BENCH_TAG=tag, BENCH_BET="0.01")
    env.pop("BENCH_DELAY_MS", None)
    cmd = ["taskset", "-c", str(args.load_cpu), "wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s"]
    cmd += ["-s", str(BENCH / "lua" / SCENARIOS[scenario]), f"http://127.0.0.1:{port}"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wrk_result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err}")
    for line in out.splitlines():
        if line.startswith("BENCH_JSON "):
            return dict(json.loads(line.removeprefix("BENCH_JSON ")))
    raise RuntimeError(f"no result from wrk:\n{out}")


def _start_server(
    args: argparse.Namespace, label: str, code: Path, scenario: str, db: Path
) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    work = BENCH / ".work"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
    env.update(GW_SQLITE_SYNCHRONOUS="FULL", GW_AUDIT_INTERVAL_SECONDS="0", PYTHONPATH=str(code))
    if scenario == "baseline":
        cmd = [str(PYTHON), str(BENCH / "baseline_server.py"), "--port", str(port)]
    else:
        database = args.pg_dbs.get(label) or _sqlite_copy(label, scenario, db)
        # cwd=code: `python -c` puts the working directory first on sys.path, before PYTHONPATH.
        cmd = [str(PYTHON), "-c", "import sys; from groove_adapter.cli import main; sys.exit(main())", "serve"]
        cmd += ["--database", database, "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--admin-token", "bench-admin-token"]
    cmd = ["taskset", "-c", str(args.server_cpu), *cmd]
    with open(work / f"cpu-{label}-{scenario}.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, port


def _sqlite_copy(label: str, scenario: str, db: Path) -> str:
    copy = BENCH / ".work" / f"cpu-{label}-{scenario}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(copy) + suffix).unlink(missing_ok=True)
    shutil.copyfile(db, copy)
    return f"sqlite:///{copy}"


def _pg(url: str, *sql: str) -> None:
    import asyncio

    import asyncpg  # only for --pg-url

    async def go() -> None:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            for q in sql:
                await conn.execute(q)
        finally:
            await conn.close()

    asyncio.run(go())


def _pg_databases(args: argparse.Namespace, codes: list[tuple[str, Path]], db: Path) -> dict[str, str]:
    """--pg-url: one fresh database per code tree, the dataset copied in by ``migrate-data``
    (run from that tree); dropped by :func:`_drop_pg_databases`."""
    parts = urllib.parse.urlsplit(args.pg_url)
    made: dict[str, str] = {}
    for i, (label, code) in enumerate(codes):
        name = f"gw_cpu_{os.getpid()}_{i}"
        _pg(args.pg_url, f'CREATE DATABASE "{name}"')
        made[label] = urllib.parse.urlunsplit(parts._replace(path="/" + name))
        args.pg_dbs = made  # dropped at the end even if a later copy fails
        env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")} | {"PYTHONPATH": str(code)}
        cli = [str(PYTHON), "-c", "import sys; from groove_adapter.cli import main; sys.exit(main())"]
        copy = [*cli, "migrate-data", "--from", f"sqlite:///{db}", "--to", made[label]]
        subprocess.run(copy, check=True, cwd=code, env=env, stdout=subprocess.DEVNULL)
    return made


def _drop_pg_databases(args: argparse.Namespace) -> None:
    for url in args.pg_dbs.values():
        name = urllib.parse.urlsplit(url).path.lstrip("/")
        _pg(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(args: argparse.Namespace, codes: list[tuple[str, Path]], scenario: str, db: Path, n: int) -> list[Figure]:
    """One figure per code tree: one after the other, or all at once (``--simultaneous``)."""
    if not args.simultaneous:
        return [f for c in codes for f in measure_group(args, [c], scenario, db, n)]
    return measure_group(args, codes, scenario, db, n)


def measure_group(
    args: argparse.Namespace, codes: list[tuple[str, Path]], scenario: str, db: Path, n: int
) -> list[Figure]:
    servers: list[tuple[str, subprocess.Popen[bytes], int]] = []
    try:
        for label, code in codes:
            proc, port = _start_server(args, label, code, scenario, db)
            servers.append((label, proc, port))
        for _, proc, port in servers:
            _wait_ready(port, proc)
        tag = f"c{os.getpid()}n{n}"
        for w in [_wrk_start(args, port, scenario, args.warmup, f"{tag}w{label}") for label, _, port in servers]:
            _wrk_result(w)
        before = [_cpu(proc.pid) for _, proc, _ in servers]
        loads = [_wrk_start(args, port, scenario, args.duration, f"{tag}m{label}") for label, _, port in servers]
        results = [_wrk_result(w) for w in loads]
        after = [_cpu(proc.pid) for _, proc, _ in servers]
    finally:
        for label, proc, _ in servers:
            _stop(proc)
            for suffix in ("", "-wal", "-shm"):  # the copy (SQLite) of the dataset (tens of MB each)
                Path(f"{BENCH / '.work'}/cpu-{label}-{scenario}.db{suffix}").unlink(missing_ok=True)
    figures = []
    for (label, _, _), r, (cpu0, main0), (cpu1, main1) in zip(servers, results, before, after, strict=True):
        bad = int(r["bad"]) + sum(int(v) for v in r["errors"].values())
        figures.append(Figure(label, scenario, int(r["requests"]), bad, cpu1 - cpu0, main1 - main0, args.duration))
    return figures


def _paired(figures: list[Figure], scenario: str, label: str, first: str) -> str:
    """Median (min-max) of the per-repeat ratios label/first: each pair ran back to back, so
    it saw about the same machine load (more robust than a ratio of medians)."""
    mine = [f for f in figures if f.label == label and f.scenario == scenario]
    base = [f for f in figures if f.label == first and f.scenario == scenario]
    ratios = sorted(a.us_per_request / b.us_per_request for a, b in zip(mine, base, strict=True))
    return f"{statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--code", action="append", default=[], help="LABEL=DIR source tree to serve (repeatable)")
    p.add_argument("--scenarios", default="baseline,getbalance,wager")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--duration", type=int, default=8, help="seconds per figure (wrk takes whole seconds)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--load-cpu", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write every figure here")
    p.add_argument(
        "--simultaneous",
        action="store_true",
        help="load every --code server at the same time (same interference for all; ratios only)",
    )
    p.add_argument(
        "--pg-url",
        help="serve getbalance/wager on PostgreSQL: a fresh database per --code tree created through this"
        " admin URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end",
    )
    args = p.parse_args()
    args.pg_dbs = {}
    codes = [(c.partition("=")[0], Path(c.partition("=")[2]).resolve()) for c in args.code] or [("tree", ROOT)]
    scenarios = [s for s in args.scenarios.split(",") if s]
    for s in scenarios:
        if s not in SCENARIOS:
            p.error(f"unknown scenario {s}")
    work = BENCH / ".work"
    work.mkdir(exist_ok=True)
    db = work / f"cpu-dataset-{args.accounts}.db"
    if "getbalance" in scenarios or "wager" in scenarios:
        gen = [str(PYTHON), str(BENCH / "gen_dataset.py"), "--database", f"sqlite:///{db}"]
        subprocess.run([*gen, "--accounts", str(args.accounts), "--force"], check=True, cwd=codes[0][1])
    try:
        if args.pg_url and db.exists():
            _pg_databases(args, codes, db)
        figures = run_all(args, codes, scenarios, db)
    finally:
        _drop_pg_databases(args)
    return report(args, codes, scenarios, figures)


def run_all(args: argparse.Namespace, codes: list[tuple[str, Path]], scenarios: list[str], db: Path) -> list[Figure]:
    figures: list[Figure] = []
    for n in range(args.repeat):
        for scenario in scenarios:
            order = codes if n % 2 == 0 else codes[::-1]
            for f in measure(args, order, scenario, db, n):
                figures.append(f)
                label = f.label
                print(
                    f"  {n + 1}/{args.repeat} {scenario:<10} {label:<8} {f.requests / f.seconds:8.0f} req/s"
                    f"  {f.us_per_request:6.0f} µs CPU/req (loop thread {f.loop_us_per_request:4.0f})"
                    f"  bad={f.bad}",
                    file=sys.stderr,
                    flush=True,
                )
    return figures


def report(args: argparse.Namespace, codes: list[tuple[str, Path]], scenarios: list[str], figures: list[Figure]) -> int:
    backend = "PostgreSQL" if args.pg_dbs else "SQLite"
    print(f"\n{backend}: median of {args.repeat}, server CPU µs per request (all threads / event-loop thread):")
    first = codes[0][0]
    print(
        f"| scenario | {' | '.join(label for label, _ in codes)} |"
        + (" CPU ratio, paired median (min-max) |" if len(codes) > 1 else "")
    )
    print("|---|" + "---:|" * (len(codes) + (1 if len(codes) > 1 else 0)))
    for scenario in scenarios:
        cells, meds = [], {}
        for label, _ in codes:
            fs = [f for f in figures if f.label == label and f.scenario == scenario]
            meds[label] = statistics.median(f.us_per_request for f in fs)
            loop = statistics.median(f.loop_us_per_request for f in fs)
            rps = statistics.median(f.requests / f.seconds for f in fs)
            cells.append(f"{meds[label]:.0f} / {loop:.0f} ({rps:,.0f} req/s)")
        ratio = "".join(f" {_paired(figures, scenario, label, first)} |" for label, _ in codes[1:])
        print(f"| {scenario} | {' | '.join(cells)} |{ratio}")
    if args.json:
        args.json.write_text(json.dumps([f.__dict__ | {"us_per_request": f.us_per_request} for f in figures], indent=1))
    bad = sum(f.bad for f in figures)
    if bad:
        print(f"WARNING: {bad} replies were not code 200 (see bench/.work/cpu-*.log)", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
