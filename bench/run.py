"""groove-wallet benchmark runner: ``bench/run.sh`` (``make bench``) calls this.

One run, one machine: generates the dataset, measures the bare aiohttp baseline and the
service with wrk, and reports every figure as a ratio to the baseline of the same run.

    .venv/bin/python bench/run.py                    # default: 10k accounts, ~3 minutes
    .venv/bin/python bench/run.py --scale            # + getbalance at 1M accounts
    .venv/bin/python bench/run.py --huge             # + getbalance at 1M and 10M accounts
    .venv/bin/python bench/run.py --profile          # + a py-spy profile of the server under wager load
    .venv/bin/python bench/run.py --duration 60 --repeat 3   # longer, median of 3

Server: pinned to CPU 0 (``taskset -c 0``), the only process on it that we start.  Load:
``taskset -c 1 wrk -t1 -c64 --latency`` (the full-round scenario uses -t64 -c64, one
connection per wrk thread, see bench/lua/round.lua).  Each measurement has a warm-up first.

"paced" rows approximate a fixed offered rate: 64 connections, each waiting an exponential
think time after every reply so that the offered rate is about ``--paced-rate`` req/s.  It is
still closed-loop (wrk 4 has no open-loop mode), so a stall delays the next sends instead of
queueing them: read those p99s as "latency at light load", not as a coordinated-omission-free
constant-rate measurement.

REST rows (balance by e-mail, debit) use a game registered through the admin API at server
start; every bench server runs with ``GW_RATE_LIMIT_ENABLED=false``.  PostgreSQL rows (durable
wager, 1 and 2 instances) run on a fresh database created through ``--pg-url`` and always
dropped at the end.

Writes ``bench/results/<timestamp>.json`` and ``.md`` and ``bench/results/latest.md``.
Every server is stopped when the run ends, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "lua"
RESULTS = BENCH / "results"
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
GROOVE_WALLET = VENV_BIN / "groove-wallet"
ADMIN_TOKEN = "bench-admin-token"
PYSPY_FALLBACK = "/tmp/pyspy/bin/py-spy"

TARGETS_TEXT = {
    "getbalance": "SQLite getbalance ≥ 0.8 x the floor getbalance req/s",
    "wager": "SQLite durable wager ≥ 0.5 x the floor wager req/s, p99 ≤ 30 ms at 64 connections",
    "scale": "getbalance p99 at 10M accounts ≤ 1.2 x p99 at 10k",
    "scale_wager": "wager at 10M accounts ≤ 1.2 x its 10k figure",
    "memory": "memory bounded by settings: server private memory (RssAnon) at 10M ≤ at 10k + the page cache setting",
    "pg": "PostgreSQL, 2 instances: ≥ 0.10 x bare aiohttp req/s, p99 ≤ 60 ms at 64 connections",
    "pg_cpu": "PostgreSQL: service CPU per wager ≤ 350 µs",
    "pg_trips": "PostgreSQL: ≤ 3 round trips per money request",
}

# The REST rows use a game registered through the admin API after the server starts (its
# secret key is shown once and handed to the Lua scripts as BENCH_GAME_KEY); the operator's
# EUR currency is created the same way (a REST debit needs it).  Rate limits are off for every
# bench server (GW_RATE_LIMIT_ENABLED=false): at the default 2000/min (e-mail 1500/min) per
# game, a figure would measure the 429 path after the first second.
REST_OPERATOR = "11"  # gen_dataset.OPERATOR
REST_CURRENCY = "EUR"

# PostgreSQL: a fresh database per run, created through this admin URL and always dropped.
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# --------------------------------------------------------------------------- processes

_LIVE: list[subprocess.Popen[bytes]] = []


def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 15.0) -> int | None:
    """SIGINT (aiohttp shuts down cleanly, the store closes), then SIGTERM, then SIGKILL."""
    if proc.poll() is None:
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            _kill_group(proc, sig)
            try:
                proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
    if proc in _LIVE:
        _LIVE.remove(proc)
    return proc.returncode


def _stop_all() -> None:
    for proc in list(_LIVE):
        stop_process(proc, grace=5.0)


atexit.register(_stop_all)


def _on_signal(signum: int, frame: Any) -> None:
    _stop_all()
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pin(cpu: str | None, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *cmd] if cpu is not None else cmd


class Server:
    """A server subprocess in its own process group, stopped on exit whatever happens."""

    def __init__(self, name: str, cmd: list[str], port: int, log: Path, env: dict[str, str]) -> None:
        self.name, self.cmd, self.port, self.log_path, self.env = name, cmd, port, log, env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # closed in __exit__
        self.proc = subprocess.Popen(
            self.cmd, stdout=self._log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT, start_new_session=True
        )
        _LIVE.append(self.proc)
        try:
            self._wait_healthy()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_healthy(self, timeout: float = 90.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not healthy after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self._log.close()


# --------------------------------------------------------------------------- wrk


@dataclass
class Measurement:
    scenario: str
    server: str
    accounts: int | None
    mode: str  # "load" or "paced"
    threads: int
    connections: int
    duration_s: float
    rps: float
    latency_ms: dict[str, float]
    ok: int
    bad: int
    bad_codes: str = ""
    bad_sample: str = ""
    ok_sample: str = ""
    errors: dict[str, int] = field(default_factory=dict)
    paced_mean_delay_ms: float = 0.0
    repeats: list[float] = field(default_factory=list)
    ratio_rps: float | None = None
    ratio_p99: float | None = None
    group_commit_mean_batch: float | None = None
    group_commits_per_s: float | None = None
    server_cpu: dict[str, Any] | None = None
    host_cpus: dict[str, Any] | None = None
    instances: int = 1  # service instances behind the figure (one wrk process each)
    per_process: list[dict[str, Any]] = field(default_factory=list)  # per wrk process when instances > 1
    acknowledged_total: int = 0  # good replies over the warm-up and every repeat (for the journal check)
    rss_anon_mb: float | None = None  # the server's private memory (RssAnon) at the end of the figure

    @property
    def label(self) -> str:
        n = f"{_fmt_count(self.accounts)}" if self.accounts else "—"
        return f"{self.scenario} [{n}] {self.mode}"


def rss_anon_mb(pid: int) -> float | None:
    """A process's private resident memory (``RssAnon``: heap, SQLite's page cache; not the
    mapped database file, whose pages belong to the OS page cache) in MB, or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _fmt_count(n: int | None) -> str:
    if n is None:
        return "—"
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def run_wrk(
    script: str,
    url: str,
    *,
    threads: int,
    connections: int,
    duration: float,
    env: dict[str, str],
    cpu: str | None,
    path: str = "/groove",
) -> dict[str, Any]:
    """One wrk run; the Lua scripts build every request's path themselves (``path`` is only
    wrk's default request, never sent by our scripts except through wrk.format)."""
    cmd = wrk_cmd(script, url, threads=threads, connections=connections, duration=duration, cpu=cpu, path=path)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=duration + 120, check=False)
    return parse_wrk(proc.returncode, proc.stdout, proc.stderr)


def wrk_cmd(
    script: str, url: str, *, threads: int, connections: int, duration: float, cpu: str | None, path: str
) -> list[str]:
    return pin(
        cpu,
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(LUA / script),
            url + path,
        ],
    )


def parse_wrk(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            data["wrk_stdout"] = stdout
            return data
    raise RuntimeError(f"wrk gave no BENCH_JSON (exit {returncode}):\n{stdout}\n{stderr}")


def run_wrk_parallel(
    script: str,
    urls: list[str],
    *,
    threads: int,
    connections: int,
    duration: float,
    envs: list[dict[str, str]],
    cpu: str | None,
) -> dict[str, Any]:
    """One wrk process per URL, started together, ``connections`` split evenly between them
    (wrk takes one URL).  Combined: requests, ok and bad summed; duration the longest of the
    runs; each latency percentile the WORST of the processes (wrk's histograms cannot be
    merged from its output, so the combined percentiles are an upper bound)."""
    if len(urls) == 1:
        return run_wrk(
            script, urls[0], threads=threads, connections=connections, duration=duration, env=envs[0], cpu=cpu
        )
    per = max(1, connections // len(urls))
    procs = [
        subprocess.Popen(
            wrk_cmd(script, u, threads=min(threads, per), connections=per, duration=duration, cpu=cpu, path="/groove"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for u, env in zip(urls, envs, strict=True)
    ]
    runs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=duration + 120)
            runs.append(parse_wrk(proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    lat = {k: max(r["latency_us"][k] for r in runs) for k in runs[0]["latency_us"]}
    lat["min"] = min(r["latency_us"]["min"] for r in runs)
    lat["mean"] = sum(r["latency_us"]["mean"] * r["requests"] for r in runs) / max(1, sum(r["requests"] for r in runs))
    return {
        "requests": sum(r["requests"] for r in runs),
        "duration_us": max(r["duration_us"] for r in runs),
        "bytes": sum(r["bytes"] for r in runs),
        "errors": {k: sum(r["errors"][k] for r in runs) for k in runs[0]["errors"]},
        "paced_mean_delay_ms": runs[0]["paced_mean_delay_ms"],
        "latency_us": lat,
        "ok": sum(r["ok"] for r in runs),
        "bad": sum(r["bad"] for r in runs),
        "bad_codes": ",".join(r["bad_codes"] for r in runs if r["bad_codes"]),
        "bad_sample": next((r["bad_sample"] for r in runs if r["bad_sample"]), ""),
        "ok_sample": next((r["ok_sample"] for r in runs if r["ok_sample"]), ""),
        "per_process": [
            {
                "url": u,
                "connections": per,
                "rps": round(r["requests"] / (r["duration_us"] / 1e6), 1),
                "p50_ms": r["latency_us"]["p50"] / 1000.0,
                "p99_ms": r["latency_us"]["p99"] / 1000.0,
                "bad": r["bad"],
            }
            for u, r in zip(urls, runs, strict=True)
        ],
        "wrk_stdout": "\n".join(r["wrk_stdout"] for r in runs),
    }


def cpu_stat() -> dict[str, list[int]]:
    """/proc/stat per-CPU jiffies: user nice system idle iowait irq softirq steal."""
    out: dict[str, list[int]] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("cpu") and line[3:4].isdigit():
                name, *vals = line.split()
                out[name[3:]] = [int(v) for v in vals[:8]]
    return out


def host_split(
    before: dict[str, list[int]], after: dict[str, list[int]], cpus: dict[str, str | None]
) -> dict[str, Any]:
    """Busy / steal / iowait share of the server's and the load generator's CPU over a figure.
    Steal is time the hypervisor gave our vCPU to someone else: the noisy-neighbour signal."""
    out: dict[str, Any] = {}
    for role, cpu in cpus.items():
        if cpu is None or cpu not in before or cpu not in after:
            continue
        d = [a - b for a, b in zip(after[cpu], before[cpu], strict=False)]
        total = sum(d) or 1
        user, nice, system, _idle, iowait, irq, softirq, steal = (d + [0] * 8)[:8]
        out[role] = {
            "cpu": cpu,
            "busy_pct": round(100.0 * (user + nice + system + irq + softirq) / total, 1),
            "steal_pct": round(100.0 * steal / total, 1),
            "iowait_pct": round(100.0 * iowait / total, 1),
        }
    return out


def thread_times(pid: int) -> dict[int, tuple[str, int, int, int]]:
    """tid -> (name, utime+stime ticks, voluntary, involuntary context switches), from /proc."""
    out: dict[int, tuple[str, int, int, int]] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tids:
        try:
            stat = Path(f"/proc/{pid}/task/{t}/stat").read_text()
            status = Path(f"/proc/{pid}/task/{t}/status").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        vol = invol = 0
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                vol = int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                invol = int(line.split()[1])
        out[int(t)] = (name, ticks, vol, invol)
    return out


def _thread_label(pid: int, tid: int, name: str, others: list[int], server: str) -> str:
    """Main thread = the event loop; then, in creation order, the aiosqlite threads that
    SqliteStore.open() starts: the writer connection first, then the read pool."""
    if tid == pid:
        return "event loop"
    if name.startswith("libuv"):
        return "libuv workers"
    if server in ("baseline", "floor") or server.startswith("pg"):
        return "other threads"
    return "sqlite writer" if others and tid == others[0] else "sqlite readers"


def cpu_split(
    pid: int,
    before: dict[int, tuple[str, int, int, int]],
    after: dict[int, tuple[str, int, int, int]],
    *,
    seconds: float,
    requests: int,
    server: str,
) -> dict[str, Any]:
    """Share of one core used by each server thread over the figure, and CPU/switches per request."""
    hz = os.sysconf("SC_CLK_TCK")
    others = sorted(t for t, v in after.items() if t != pid and not v[0].startswith("libuv"))
    per: dict[str, float] = {}
    switches = 0
    for tid, (name, ticks, vol, invol) in after.items():
        b = before.get(tid, (name, 0, 0, 0))
        label = _thread_label(pid, tid, name, others, server)
        per[label] = per.get(label, 0.0) + (ticks - b[1]) / hz
        switches += (vol - b[2]) + (invol - b[3])
    total = sum(per.values())
    return {
        "core_pct": round(100.0 * total / seconds, 1),
        "threads_pct": {k: round(100.0 * v / seconds, 1) for k, v in sorted(per.items(), key=lambda kv: -kv[1])},
        "cpu_us_per_request": round(1e6 * total / max(requests, 1), 1),
        "threads_us_per_request": {
            k: round(1e6 * v / max(requests, 1), 1) for k, v in sorted(per.items(), key=lambda kv: -kv[1])
        },
        "context_switches_per_request": round(switches / max(requests, 1), 2),
    }


def _sum_splits(splits: list[dict[str, Any]]) -> dict[str, Any]:
    """cpu_split of several server processes (each computed over the same total requests):
    CPU shares and per-request figures add up (core_pct can exceed 100 with 2 instances)."""
    if len(splits) == 1:
        return splits[0]
    out: dict[str, Any] = {"instances": len(splits), "per_instance_core_pct": [c["core_pct"] for c in splits]}
    for key in ("core_pct", "cpu_us_per_request", "context_switches_per_request"):
        out[key] = round(sum(c[key] for c in splits), 2)
    for key in ("threads_pct", "threads_us_per_request"):
        merged: Counter[str] = Counter()
        for c in splits:
            merged.update(c[key])
        out[key] = {k: round(v, 1) for k, v in merged.most_common()}
    return out


def scrape_batches(server: Server) -> tuple[float, float] | None:
    """(sum, count) of the service's gw_group_commit_batch_size histogram, from /metrics."""
    try:
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return None
    total = count = None
    for line in text.splitlines():
        if line.startswith("gw_group_commit_batch_size_sum"):
            total = float(line.split()[-1])
        elif line.startswith("gw_group_commit_batch_size_count"):
            count = float(line.split()[-1])
    return None if total is None or count is None else (total, count)


def admin_json(server: Server, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """An admin API call (Bearer ADMIN_TOKEN); raises with the reply on a non-2xx status."""
    req = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            out: dict[str, Any] = json.loads(r.read())
            return out
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {exc.read()[:500]!r}") from None


def pg_query(url: str, *sql: str) -> list[list[tuple[Any, ...]]]:
    """Run statements on a PostgreSQL database (asyncpg from the project's venv), outside a
    transaction (CREATE/DROP DATABASE need that); returns each statement's rows."""
    import asyncio

    import asyncpg  # the service's own driver; imported here so the SQLite-only runs need no PostgreSQL

    async def go() -> list[list[tuple[Any, ...]]]:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return [[tuple(r) for r in await conn.fetch(q)] for q in sql]
        finally:
            await conn.close()

    return asyncio.run(go())


def pg_url_for(admin_url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(admin_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.a = args
        self.work = Path(args.workdir).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.tag_n = 0
        self.run_id = datetime.now(UTC).strftime("%H%M%S")
        self.measurements: list[Measurement] = []
        self.audits: list[dict[str, Any]] = []
        self.datasets: dict[int, dict[str, Any]] = {}
        self.notes: list[str] = []
        self.inproc_results: list[dict[str, Any]] = []
        self.pg_info: dict[str, Any] | None = None
        self.server_cpu = None if args.no_pin else args.server_cpu
        self.load_cpu = None if args.no_pin else args.load_cpu

    # ------------------------------------------------------------------ helpers

    def log(self, msg: str) -> None:
        print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)

    def tag(self) -> str:
        self.tag_n += 1
        return f"b{self.run_id}x{self.tag_n}"

    def wrk_env(self, accounts: int, delay_ms: float = 0.0, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(BENCH_ACCOUNTS=str(accounts), BENCH_TAG=self.tag(), BENCH_BET=self.a.bet)
        env.update(extra or {})
        if delay_ms > 0:
            env["BENCH_DELAY_MS"] = f"{delay_ms:g}"
        else:
            env.pop("BENCH_DELAY_MS", None)
        return env

    def server_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
        env["GW_SQLITE_SYNCHRONOUS"] = "FULL"  # durable: acknowledged after an fsynced commit
        env["GW_RATE_LIMIT_ENABLED"] = "false"  # REST rows: measure the service, not the 429 path
        if self.a.pg_pool_max:
            env["GW_PG_POOL_MAX"] = str(self.a.pg_pool_max)
            env["GW_PG_POOL_MIN"] = str(min(self.a.pg_pool_max, 100))
        for kv in self.a.server_env:
            k, _, v = kv.partition("=")
            env[k] = v
        return env

    def baseline_server(self) -> Server:
        port = free_port()
        cmd = pin(self.server_cpu, [str(PYTHON), str(BENCH / "baseline_server.py"), "--port", str(port)])
        return Server("baseline", cmd, port, self.work / "baseline.log", self.server_env())

    def floor_server(self, db: Path, mode: str) -> Server:
        """bench/floor_server.py: the least work a getbalance (mode read) or a durable wager
        (mode write) can be, served like the baseline."""
        port = free_port()
        cmd = pin(
            self.server_cpu,
            [str(PYTHON), str(BENCH / "floor_server.py"), "--mode", mode, "--database", str(db), "--port", str(port)],
        )
        return Server("floor", cmd, port, self.work / f"floor-{mode}.log", self.server_env())

    def service_server(self, db: Path | str, name: str, cpu: str | None = "server") -> Server:
        """``db``: a SQLite file, or a postgresql:// URL.  ``cpu``: "server" = the server core."""
        port = free_port()
        database = db if isinstance(db, str) else f"sqlite:///{db}"
        cmd = pin(
            self.server_cpu if cpu == "server" else cpu,
            [
                str(GROOVE_WALLET),
                "serve",
                "--database",
                database,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--admin-token",
                ADMIN_TOKEN,
            ],
        )
        return Server(name, cmd, port, self.work / f"{name}.log", self.server_env())

    # ------------------------------------------------------------------ datasets

    def dataset(self, accounts: int, *, fresh: bool, name: str | None = None) -> Path:
        db = self.work / f"{name or f'bench-{accounts}'}.db"
        meta_path = Path(str(db) + ".meta.json")
        if not fresh and not self.a.regen and db.exists() and meta_path.exists():
            meta = json.loads(meta_path.read_text())
            if meta.get("accounts") == accounts and meta.get("generator_version") == _generator_version():
                self.log(f"reusing dataset {db.name} ({accounts:,} accounts, generated {meta.get('created')})")
                self.datasets[accounts] = meta | {"reused": True, "path": str(db)}
                return db
        self.log(f"generating dataset: {accounts:,} accounts -> {db}")
        cmd = [
            str(PYTHON),
            str(BENCH / "gen_dataset.py"),
            "--database",
            f"sqlite:///{db}",
            "--accounts",
            str(accounts),
            "--force",
        ]
        subprocess.run(cmd, check=True, cwd=ROOT)
        meta = json.loads(meta_path.read_text())
        if name is None:  # named copies (the floor's) are not the run's datasets
            self.datasets[accounts] = meta | {"reused": False, "path": str(db)}
        return db

    def prewarm(self, db: Path) -> None:
        """Read the database file once so it is in the OS page cache (the scale target is about
        index depth, not about the disk)."""
        started = time.perf_counter()
        n = 0
        for path in (db, Path(str(db) + "-wal")):
            if not path.exists():
                continue
            with open(path, "rb", buffering=0) as f:
                while chunk := f.read(8 << 20):
                    n += len(chunk)
        self.log(f"pre-warmed page cache: {n / 1e6:,.0f} MB in {time.perf_counter() - started:.1f}s")

    # ------------------------------------------------------------------ measuring

    def measure(
        self,
        server: Server | list[Server],
        scenario: str,
        script: str,
        *,
        accounts: int,
        threads: int = 1,
        paced: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> Measurement:
        """One figure.  Several servers: one wrk process per server, started together, the
        connections split evenly (see run_wrk_parallel); req/s is the sum."""
        servers = server if isinstance(server, list) else [server]
        first = servers[0]
        conns = self.a.connections
        threads = conns if threads == -1 else threads
        delay = conns / self.a.paced_rate * 1000.0 if paced else 0.0
        duration = self.a.paced_duration if paced else self.a.duration
        mode = "paced" if paced else "load"

        def wrk(seconds: float) -> dict[str, Any]:
            return run_wrk_parallel(
                script,
                [s.url for s in servers],
                threads=threads,
                connections=conns,
                duration=seconds,
                envs=[self.wrk_env(accounts, delay, extra_env) for _ in servers],
                cpu=self.load_cpu,
            )

        acknowledged = 0
        if self.a.warmup > 0:
            acknowledged += wrk(self.a.warmup)["ok"]
        runs = []
        before = [scrape_batches(s) if s.name not in ("baseline", "floor") else None for s in servers]
        for s in servers:
            assert s.proc is not None
        times0 = [thread_times(s.proc.pid) for s in servers if s.proc is not None]
        host0 = cpu_stat()
        for _ in range(max(1, self.a.repeat)):
            runs.append(wrk(duration))
        acknowledged += sum(r["ok"] for r in runs)
        rates = [r["requests"] / (r["duration_us"] / 1e6) for r in runs]
        # the median run: by throughput under load, by p99 when paced (the offered rate is fixed)
        keys = [r["latency_us"]["p99"] for r in runs] if paced else rates
        chosen = runs[keys.index(statistics.median_low(keys))]
        lat = chosen["latency_us"]
        m = Measurement(
            scenario=scenario,
            server=first.name,
            accounts=accounts if first.name not in ("baseline",) else None,
            mode=mode,
            threads=threads,
            connections=conns,
            duration_s=chosen["duration_us"] / 1e6,
            rps=chosen["requests"] / (chosen["duration_us"] / 1e6),
            latency_ms={
                k: lat[k] / 1000.0 for k in ("min", "mean", "p50", "p75", "p90", "p99", "p999", "p9999", "max")
            },
            ok=chosen["ok"],
            bad=chosen["bad"],
            bad_codes=chosen["bad_codes"],
            bad_sample=chosen["bad_sample"],
            ok_sample=chosen["ok_sample"],
            errors=chosen["errors"],
            paced_mean_delay_ms=delay,
            repeats=[round(r, 1) for r in rates],
            instances=len(servers),
            per_process=chosen.get("per_process", []),
            acknowledged_total=acknowledged,
        )
        times1 = [thread_times(s.proc.pid) for s in servers if s.proc is not None]
        rss = [rss_anon_mb(s.proc.pid) for s in servers if s.proc is not None]
        m.rss_anon_mb = max((r for r in rss if r is not None), default=None)
        m.host_cpus = host_split(host0, cpu_stat(), {"server": self.server_cpu, "load": self.load_cpu}) or None
        splits = [
            cpu_split(
                s.proc.pid,
                t0,
                t1,
                seconds=sum(r["duration_us"] / 1e6 for r in runs),
                requests=sum(r["requests"] for r in runs),
                server=s.name,
            )
            for s, t0, t1 in zip(servers, times0, times1, strict=True)
            if s.proc is not None and t0 and t1
        ]
        m.server_cpu = _sum_splits(splits) if splits else None
        after = [scrape_batches(s) if b is not None else None for s, b in zip(servers, before, strict=True)]
        pairs = [(b, a) for b, a in zip(before, after, strict=True) if b is not None and a is not None and a[1] > b[1]]
        if pairs:
            commits = sum(a[1] - b[1] for b, a in pairs)
            m.group_commit_mean_batch = round(sum(a[0] - b[0] for b, a in pairs) / commits, 1)
            m.group_commits_per_s = round(commits / sum(r["duration_us"] / 1e6 for r in runs), 1)
        self.measurements.append(m)
        batch = f"  group commit: {m.group_commit_mean_batch}/batch" if m.group_commit_mean_batch else ""
        if m.rss_anon_mb is not None:
            batch += f"  private memory {m.rss_anon_mb:,.0f} MB"
        if m.server_cpu:
            c = m.server_cpu
            batch += f"  server CPU {c['core_pct']}% of a core: " + ", ".join(
                f"{k} {v}%" for k, v in c["threads_pct"].items() if v >= 0.5
            )
        if m.host_cpus:
            batch += "  host: " + ", ".join(
                f"{k} cpu{v['cpu']} busy {v['busy_pct']}% steal {v['steal_pct']}%" for k, v in m.host_cpus.items()
            )
        if m.per_process:
            batch += "  per instance: " + ", ".join(
                f"{x['rps']:,.0f} req/s p99 {x['p99_ms']:.1f} ms" for x in m.per_process
            )
        flag = batch + ("" if m.bad == 0 else f"  !! {m.bad} non-200 replies: {m.bad_codes} e.g. {m.bad_sample[:200]}")
        self.log(
            f"  {scenario:<12} {mode:<5} {m.rps:>9,.0f} req/s  p50 {m.latency_ms['p50']:7.2f} ms"
            f"  p99 {m.latency_ms['p99']:7.2f} ms  p99.9 {m.latency_ms['p999']:7.2f} ms{flag}"
        )
        return m

    def audit(self, db: Path | str, after: str) -> dict[str, Any]:
        started = time.perf_counter()
        database = db if isinstance(db, str) else f"sqlite:///{db}"
        proc = subprocess.run(
            [str(GROOVE_WALLET), "audit", "--database", database],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=self.server_env(),
            check=False,
        )
        rec: dict[str, Any] = {
            "after": after,
            "ok": proc.returncode == 0,
            "output": (proc.stdout + proc.stderr).strip()[:2000],
            "seconds": round(time.perf_counter() - started, 1),
        }
        self.audits.append(rec)
        self.log(f"  audit after {after}: {'PASS' if rec['ok'] else 'FAIL'}: {rec['output'].splitlines()[0]}")
        return rec

    def rest_setup(self, server: Server) -> dict[str, str]:
        """The operator's EUR currency (a REST debit needs it) and a game with a fresh id,
        through the admin API, as an operator would; returns the wrk env with its key."""
        admin_json(server, "PUT", f"/admin/operators/{REST_OPERATOR}/currencies/{REST_CURRENCY}", {"name": "Euro"})
        game_id = f"bench-{self.tag()}"
        reply = admin_json(
            server, "POST", "/admin/games", {"operator_id": REST_OPERATOR, "game_id": game_id, "name": "Bench"}
        )
        key = reply.get("secret_key")
        if not isinstance(key, str) or not key:
            raise RuntimeError(f"POST /admin/games gave no secret_key: {reply}")
        self.log(f"  registered REST game {game_id} (operator {REST_OPERATOR}); rate limits off on the bench servers")
        return {"BENCH_GAME_KEY": key}

    def db_counts(self, db: Path) -> dict[str, Any]:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            out: dict[str, Any] = {}
            for t in ("players", "journal", "transactions", "rounds"):
                out[t] = c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            out["transactions_by_outcome"] = dict(
                c.execute("SELECT kind || ':' || outcome, count(*) FROM transactions GROUP BY 1").fetchall()
            )
            return out
        finally:
            c.close()

    # ------------------------------------------------------------------ the run

    def run(self) -> dict[str, Any]:
        a = self.a
        started = time.perf_counter()
        only = set(a.only.split(",")) if a.only else None

        def want(name: str) -> bool:
            return only is None or name in only

        small = self.dataset(a.accounts, fresh=True)
        if want("baseline"):
            self.log("baseline: bare aiohttp + uvloop, fixed JSON")
            with self.baseline_server() as s:
                self.measure(s, "baseline", "getbalance.lua", accounts=a.accounts)
                self.measure(s, "baseline", "getbalance.lua", accounts=a.accounts, paced=True)
        if want("floor"):
            # Its own copy of the dataset: the floor's debits bypass the journal (audit would fail).
            floor_db = self.dataset(a.accounts, fresh=True, name=f"floor-{a.accounts}")
            self.log("floor: the least work a getbalance / a durable wager can be (bench/floor_server.py)")
            with self.floor_server(floor_db, "read") as s:
                self.measure(s, "floor_getbalance", "getbalance.lua", accounts=a.accounts)
            with self.floor_server(floor_db, "write") as s:
                self.measure(s, "floor_wager", "wager.lua", accounts=a.accounts)
        if want("getbalance"):
            self.log(f"getbalance @ {a.accounts:,} accounts")
            with self.service_server(small, "service") as s:
                self.measure(s, "getbalance", "getbalance.lua", accounts=a.accounts)
                self.measure(s, "getbalance", "getbalance.lua", accounts=a.accounts, paced=True)
        if want("wager"):
            self.log(f"wager (durable, synchronous=FULL) @ {a.accounts:,} accounts")
            with self.service_server(small, "service") as s:
                self.measure(s, "wager", "wager.lua", accounts=a.accounts)
                self.measure(s, "wager", "wager.lua", accounts=a.accounts, paced=True)
            self.audit(small, "wager")
        if want("round"):
            self.log(f"full round (wager + result) @ {a.accounts:,} accounts, -t{a.connections} -c{a.connections}")
            with self.service_server(small, "service") as s:
                self.measure(s, "round", "round.lua", accounts=a.accounts, threads=-1)
                self.measure(s, "round", "round.lua", accounts=a.accounts, threads=-1, paced=True)
            self.audit(small, "round")
        if want("rest"):
            self.log(f"REST faces @ {a.accounts:,} accounts: balance by e-mail, debit (durable)")
            with self.service_server(small, "service") as s:
                key = self.rest_setup(s)
                for scenario in ("rest_balance_email", "rest_debit"):
                    for paced in (False, True):
                        self.measure(s, scenario, scenario + ".lua", accounts=a.accounts, paced=paced, extra_env=key)
            self.audit(small, "rest")
        counts = self.db_counts(small)
        if want("pg") and a.pg:
            self.pg()
        if a.inproc and (only is None or "inproc" in only):
            self.inproc()
        scale = [1_000_000] if a.scale or a.huge else []
        if a.huge:
            scale.append(10_000_000)
        for n in scale:
            if not want("getbalance"):
                break
            db = self.dataset(n, fresh=False)
            self.prewarm(db)
            self.log(f"getbalance @ {n:,} accounts")
            with self.service_server(db, "service") as s:
                self.measure(s, "getbalance", "getbalance.lua", accounts=n)
                # Again before the paced figure: on this shared VM the OS evicts part of a
                # 12 GB file within a minute (re-reading it took 4.8-15.4 s in one session),
                # and a p99 at 500 req/s then measures the disk, not the index depth.
                self.prewarm(db)
                self.measure(s, "getbalance", "getbalance.lua", accounts=n, paced=True)
                if want("wager"):
                    # Durable wagers on the same file: each a new debit (ids carry the run tag),
                    # so the cached dataset only gains journal entries (not audited here: a
                    # full audit of 10M accounts takes minutes; the 10k rows are audited).
                    self.prewarm(db)
                    self.log(f"wager (durable, synchronous=FULL) @ {n:,} accounts")
                    self.measure(s, "wager", "wager.lua", accounts=n)
        if want("baseline") and a.baseline_again:
            self.log("baseline again (end of run, to see drift on a shared machine)")
            with self.baseline_server() as s:
                self.measure(s, "baseline", "getbalance.lua", accounts=a.accounts)
                self.measure(s, "baseline", "getbalance.lua", accounts=a.accounts, paced=True)
        profile = self.profile(small) if a.profile else None
        return self.report(time.perf_counter() - started, counts, profile)

    def pg(self) -> None:
        """PostgreSQL rows: a fresh database (always dropped at the end), the 10k dataset copied
        into it with ``groove-wallet migrate-data`` (which audits the copy), then the durable
        wager figure with 1 and with 2 service instances, ``groove-wallet audit`` after each,
        and a check that the journal holds at least every acknowledged wager."""
        a = self.a
        name = f"gw_bench_{self.run_id}_{os.getpid()}"
        url = pg_url_for(a.pg_url, name)
        second_cpu = None if a.no_pin else (self.server_cpu if a.pg2_layout == "same" else self.load_cpu)
        info: dict[str, Any] = {
            "database": name,
            "server": urllib.parse.urlsplit(a.pg_url).hostname,
            "pool_max": a.pg_pool_max or "service default (GW_PG_POOL_MAX=10)",
            "layout": {
                "pg_wager_1": f"instance on CPU {self.server_cpu}, wrk on CPU {self.load_cpu}",
                "pg_wager_2": f"instances on CPU {self.server_cpu} and CPU {second_cpu}; two wrk processes "
                f"({a.connections // 2} connections each) on CPU {self.load_cpu}",
                "postgres": "PostgreSQL's own processes are not pinned: they share both cores with the above",
            },
        }
        self.pg_info = info
        self.log(f"PostgreSQL: creating database {name}")
        try:
            pg_query(a.pg_url, f'CREATE DATABASE "{name}"')
        except Exception as exc:  # no server, no rights: the rows say why instead of failing the run
            info["skipped"] = f"cannot create a database through {a.pg_url}: {exc}"
            self.log(f"  PostgreSQL rows skipped: {info['skipped']}")
            self.notes.append("PostgreSQL rows skipped: " + info["skipped"])
            return
        try:
            src = self.dataset(a.accounts, fresh=True, name=f"pg-src-{a.accounts}")
            self.log(f"  loading {a.accounts:,} accounts: groove-wallet migrate-data --from sqlite --to postgresql")
            started = time.perf_counter()
            proc = subprocess.run(
                [str(GROOVE_WALLET), "migrate-data", "--from", f"sqlite:///{src}", "--to", url],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=self.server_env(),
                check=False,
            )
            info["load_seconds"] = round(time.perf_counter() - started, 1)
            info["load_output"] = (proc.stdout + proc.stderr).strip()[-1000:]
            if proc.returncode != 0:
                raise RuntimeError(f"migrate-data failed ({proc.returncode}): {info['load_output']}")
            self.log(f"  loaded in {info['load_seconds']} s")
            q = pg_query(
                url,
                "SHOW synchronous_commit",
                "SHOW fsync",
                "SHOW wal_sync_method",
                "SHOW full_page_writes",
                "SHOW server_version",
                "SELECT count(*) FROM journal",
            )
            info["settings"] = {
                "synchronous_commit": q[0][0][0],
                "fsync": q[1][0][0],
                "wal_sync_method": q[2][0][0],
                "full_page_writes": q[3][0][0],
                "server_version": q[4][0][0],
            }
            opening = int(q[5][0][0])
            self.log(
                "  PostgreSQL "
                + ", ".join(f"{k}={v}" for k, v in info["settings"].items())
                + f"; {opening:,} opening journal entries"
            )
            self.log(f"pg_wager_1: durable wager on PostgreSQL, 1 instance ({info['layout']['pg_wager_1']})")
            with self.service_server(url, "pg1") as s:
                m1 = self.measure(s, "pg_wager_1", "wager.lua", accounts=a.accounts)
            self.audit(url, "pg_wager_1")
            self.log(f"pg_wager_2: durable wager on PostgreSQL, 2 instances ({info['layout']['pg_wager_2']})")
            with self.service_server(url, "pg2a") as s1, self.service_server(url, "pg2b", cpu=second_cpu) as s2:
                m2 = self.measure([s1, s2], "pg_wager_2", "wager.lua", accounts=a.accounts)
            self.audit(url, "pg_wager_2")
            q = pg_query(
                url,
                "SELECT count(*) FROM journal",
                "SELECT kind || ':' || outcome, count(*) FROM transactions GROUP BY 1 ORDER BY 1",
            )
            entries = int(q[0][0][0]) - opening
            acked = m1.acknowledged_total + m2.acknowledged_total
            info["journal_check"] = {
                "acknowledged_wagers": acked,
                "wager_entries": entries,
                "transactions_by_outcome": {str(k): int(v) for k, v in q[1]},
                # wrk stops with up to `connections` requests in flight per run: those may commit
                # without wrk counting the reply, so entries >= acknowledged, not ==.
                "ok": entries >= acked,
            }
            self.log(
                f"  journal: {entries:,} wager entries for {acked:,} acknowledged wagers "
                f"({'OK' if entries >= acked else 'MISSING ENTRIES'})"
            )
            info["round_trips"] = self.pg_round_trips(url)
        finally:
            try:
                pg_query(a.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                info["dropped"] = True
                self.log(f"  dropped database {name}")
            except Exception as exc:
                info["dropped"] = False
                self.log(f"  !! could not drop database {name}: {exc} (drop it by hand)")

    def pg_round_trips(self, url: str) -> dict[str, int] | None:
        """Round trips per request, counted on the real service and this database
        (bench/pg_round_trips.py), after the journal check (its requests are not wrk's)."""
        proc = subprocess.run(
            [str(PYTHON), str(BENCH / "pg_round_trips.py"), "--database", url],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        if proc.returncode != 0:
            self.log(f"  round trips not counted: {(proc.stdout + proc.stderr).strip()[-500:]}")
            return None
        trips: dict[str, int] = json.loads(proc.stdout.strip().splitlines()[-1])
        self.log("  round trips per request: " + ", ".join(f"{k} {v}" for k, v in trips.items()))
        return trips

    def inproc(self) -> None:
        """bench/inproc.py on a fresh copy of the small dataset: the service + store without HTTP."""
        db = self.dataset(self.a.accounts, fresh=True, name=f"inproc-{self.a.accounts}")
        self.log(
            f"in-process (no HTTP): WalletService on SqliteStore, {self.a.connections} tasks, pinned like the server"
        )
        cmd = [str(PYTHON), str(BENCH / "inproc.py"), "--database", f"sqlite:///{db}"]
        cmd += ["--accounts", str(self.a.accounts), "--seconds", f"{self.a.inproc_seconds:g}"]
        cmd += ["--concurrency", "1", str(self.a.connections), "--json"]
        proc = subprocess.run(
            pin(self.server_cpu, cmd), capture_output=True, text=True, cwd=ROOT, env=self.server_env(), check=False
        )
        for line in proc.stdout.splitlines():
            if line.startswith("INPROC_JSON "):
                self.inproc_results = json.loads(line.removeprefix("INPROC_JSON "))
            else:
                self.log("  " + line)
        if proc.returncode != 0:
            self.log(f"  inproc failed ({proc.returncode}): {proc.stderr[-2000:]}")
            self.notes.append(f"inproc failed: {proc.stderr[-500:]}")

    # ------------------------------------------------------------------ profile

    def profile(self, db: Path) -> dict[str, Any] | None:
        pyspy = self.a.py_spy or shutil.which("py-spy") or (PYSPY_FALLBACK if os.path.exists(PYSPY_FALLBACK) else None)
        if pyspy is None:
            self.log("profile skipped: py-spy not found (pip install --target /tmp/pyspy py-spy)")
            return None
        out: dict[str, Any] = {}
        for scenario, script in (("wager", "wager.lua"), ("getbalance", "getbalance.lua")):
            if self.a.profile_scenarios and scenario not in self.a.profile_scenarios.split(","):
                continue
            summary = self._profile_one(pyspy, db, scenario, script)
            if summary is not None:
                out[scenario] = summary
        return out or None

    def _profile_one(self, pyspy: str, db: Path, scenario: str, script: str) -> dict[str, Any] | None:
        secs = self.a.profile_seconds
        raw = self.work / f"profile-{scenario}.txt"
        self.log(f"profile: py-spy record --native --idle {secs}s of the server under {scenario} load")
        with self.service_server(db, f"service-profiled-{scenario}") as s:
            assert s.proc is not None
            load = subprocess.Popen(
                pin(
                    self.load_cpu,
                    [
                        "wrk",
                        "-t1",
                        f"-c{self.a.connections}",
                        f"-d{secs + 6}s",
                        "-s",
                        str(LUA / script),
                        s.url + "/groove",
                    ],
                ),
                env=self.wrk_env(self.a.accounts),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            spy: subprocess.Popen[str] | None = None
            try:
                time.sleep(2)
                # py-spy on the load core: it must not take the server's CPU.
                cmd = [pyspy, "record", "--pid", str(s.proc.pid), "--duration", str(secs)]
                cmd += ["--rate", str(self.a.profile_rate), "--native", "--threads", "--idle"]
                cmd += ["--format", "raw", "-o", str(raw)]
                spy = subprocess.Popen(
                    pin(self.load_cpu, cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
                # the server's thread CPU over the middle of the sampled window (load and py-spy both on)
                window = max(1.0, secs - 2.0)
                time.sleep(1.0)
                times0 = thread_times(s.proc.pid)
                time.sleep(window)
                times1 = thread_times(s.proc.pid)
                spy_out, _ = spy.communicate(timeout=secs + 60)
                wrk_out, _ = load.communicate(timeout=secs + 60)
            finally:
                for child in (load, spy):
                    if child is not None and child.poll() is None:
                        child.kill()
                        child.wait()
        if spy is None or spy.returncode != 0 or not raw.exists():
            self.log(f"profile failed: {spy_out}")
            return None
        summary = summarize_profile(raw.read_text(), secs, self.a.profile_rate)
        line = next((ln for ln in wrk_out.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if line:
            d = json.loads(line.removeprefix("BENCH_JSON "))
            summary["load_rps"] = round(d["requests"] / (d["duration_us"] / 1e6), 1)
            summary["load_bad"] = d["bad"]
        summary["raw_file"] = str(raw)
        if times0 and times1:
            summary["server_cpu"] = cpu_split(
                s.proc.pid,
                times0,
                times1,
                seconds=window,
                requests=int(summary.get("load_rps", 0) * window),
                server="service",
            )
        self.log(
            f"  {scenario}: {summary.get('load_rps', 0):,.0f} req/s while sampled; "
            + "; ".join(
                f"{t}: {', '.join(f'{k} {v}%' for k, v in st['pct'].items())}" for t, st in summary["threads"].items()
            )
        )
        return summary

    # ------------------------------------------------------------------ report

    def report(self, seconds: float, counts: dict[str, Any], profile: dict[str, Any] | None) -> dict[str, Any]:
        base_load = [m for m in self.measurements if m.server == "baseline" and m.mode == "load"]
        base_paced = [m for m in self.measurements if m.server == "baseline" and m.mode == "paced"]
        baseline: dict[str, Any] = {}
        if base_load:
            baseline["rps"] = statistics.fmean(m.rps for m in base_load)
            baseline["p99_ms"] = statistics.fmean(m.latency_ms["p99"] for m in base_load)
            if len(base_load) > 1:
                first, last = base_load[0].rps, base_load[-1].rps
                baseline["drift_pct"] = round(100.0 * (last - first) / first, 1)
        if base_paced:
            baseline["paced_p99_ms"] = statistics.fmean(m.latency_ms["p99"] for m in base_paced)
        for m in self.measurements:
            if m.mode == "load" and baseline.get("rps"):
                m.ratio_rps = m.rps / baseline["rps"]
                m.ratio_p99 = m.latency_ms["p99"] / baseline["p99_ms"]
            elif m.mode == "paced" and baseline.get("paced_p99_ms"):
                m.ratio_p99 = m.latency_ms["p99"] / baseline["paced_p99_ms"]
        targets = self.targets(baseline)
        now = datetime.now(UTC)
        result = {
            "timestamp": now.isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
            "seconds": round(seconds, 1),
            "machine": machine(),
            "config": {k: v for k, v in vars(self.a).items() if k not in ("py_spy",)},
            "baseline": baseline,
            "measurements": [asdict(m) for m in self.measurements],
            "audits": self.audits,
            "datasets": self.datasets,
            "db_after_writes": counts,
            "targets": targets,
            "postgres": self.pg_info,
            "inproc": self.inproc_results,
            "profile": profile,
            "notes": self.notes,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        (RESULTS / f"{stamp}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        md = markdown(result)
        (RESULTS / f"{stamp}.md").write_text(md)
        (RESULTS / "latest.md").write_text(md)
        print()
        print(md)
        self.log(f"wrote bench/results/{stamp}.json, {stamp}.md and latest.md ({seconds:.0f}s)")
        return result

    def targets(self, baseline: dict[str, Any]) -> list[dict[str, Any]]:
        """Issue 17's goals, each with the ratio measured in this run (``met`` None: not measured)."""
        out = [
            self._vs_floor("getbalance", "floor_getbalance", 0.8, None),
            self._vs_floor("wager", "floor_wager", 0.5, 30.0),
        ]
        out += self._scale_targets()
        out += self._pg_targets(baseline)
        return out

    def _find(self, scenario: str, mode: str, accounts: int | None = None) -> Measurement | None:
        for m in self.measurements:
            if m.scenario == scenario and m.mode == mode and (accounts is None or m.accounts == accounts):
                return m
        return None

    def _vs_floor(self, scenario: str, floor: str, ratio: float, p99_ms: float | None) -> dict[str, Any]:
        target = TARGETS_TEXT[scenario]
        m, f = self._find(scenario, "load", self.a.accounts), self._find(floor, "load")
        if m is None or f is None or not f.rps:
            return {"target": target, "measured": "not measured (needs the service and the floor rows)", "met": None}
        r = m.rps / f.rps
        p99 = m.latency_ms["p99"]
        met = r >= ratio and m.bad == 0 and (p99_ms is None or p99 <= p99_ms)
        measured = f"{r:.2f} x floor ({m.rps:,.0f} vs {f.rps:,.0f} req/s), p99 {p99:.1f} ms, {m.bad} non-200"
        return {"target": target, "measured": measured, "met": met}

    def _scale_targets(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for mode in ("load", "paced"):
            small = self._find("getbalance", mode, self.a.accounts)
            big = self._find("getbalance", mode, 10_000_000) or self._find("getbalance", mode, 1_000_000)
            if small and big:
                r = big.latency_ms["p99"] / small.latency_ms["p99"]
                at = _fmt_count(big.accounts)
                out.append(
                    {
                        "target": TARGETS_TEXT["scale"] + f" ({mode})",
                        "measured": f"{at}: {r:.2f} x ({big.latency_ms['p99']:.2f} vs {small.latency_ms['p99']:.2f} ms)"
                        + ("" if big.accounts == 10_000_000 else " — 1M only; 10M needs --huge"),
                        "met": (r <= 1.2) if big.accounts == 10_000_000 else None,
                    }
                )
        if not out:
            out.append({"target": TARGETS_TEXT["scale"], "measured": "not measured (use --huge)", "met": None})
        out.append(self._scale_wager_target())
        out.append(self._memory_target())
        return out

    def _scale_wager_target(self) -> dict[str, Any]:
        small = self._find("wager", "load", self.a.accounts)
        big = self._find("wager", "load", 10_000_000)
        if small is None or big is None or not big.rps:
            return {"target": TARGETS_TEXT["scale_wager"], "measured": "not measured (needs --huge)", "met": None}
        r = small.rps / big.rps  # how much more a wager costs at 10M (throughput at full load)
        p99 = big.latency_ms["p99"] / small.latency_ms["p99"]
        measured = f"10M: {r:.2f} x the time per wager ({big.rps:,.0f} vs {small.rps:,.0f} req/s), p99 {p99:.2f} x"
        return {"target": TARGETS_TEXT["scale_wager"], "measured": measured, "met": r <= 1.2 and big.bad == 0}

    def _memory_target(self) -> dict[str, Any]:
        """The same scenario's private memory at 10M against 10k (wager, else getbalance): what a
        bigger file may add is the page cache filling up to its setting, nothing per account."""
        for scenario in ("wager", "getbalance"):
            small, big = self._find(scenario, "load", self.a.accounts), self._find(scenario, "load", 10_000_000)
            if small and big and small.rss_anon_mb is not None and big.rss_anon_mb is not None:
                break
        else:
            return {"target": TARGETS_TEXT["memory"], "measured": "not measured (needs --huge)", "met": None}
        cache = self.sqlite_cache_mb()
        measured = (
            f"{scenario}: private memory at 10M {big.rss_anon_mb:,.0f} MB vs {small.rss_anon_mb:,.0f} MB at 10k"
            f" (+{big.rss_anon_mb - small.rss_anon_mb:,.0f} MB; page cache setting {cache} MB)"
        )
        return {
            "target": TARGETS_TEXT["memory"],
            "measured": measured,
            "met": big.rss_anon_mb <= small.rss_anon_mb + cache,
        }

    def sqlite_cache_mb(self) -> int:
        """The servers' ``GW_SQLITE_CACHE_MB`` (the writer's page cache): a ``--server-env`` value, else the default."""
        for kv in getattr(self.a, "server_env", None) or []:
            k, _, v = kv.partition("=")
            if k == "GW_SQLITE_CACHE_MB":
                return int(v)
        from config import Settings

        return int(Settings.model_fields["sqlite_cache_mb"].default)

    def _trips_target(self) -> dict[str, Any]:
        counted = (self.pg_info or {}).get("round_trips")
        if not counted:
            return {"target": TARGETS_TEXT["pg_trips"], "measured": "not measured", "met": None}
        money = {k: v for k, v in counted.items() if k != "getbalance"}
        measured = ", ".join(f"{k} {v}" for k, v in counted.items()) + " (bench/pg_round_trips.py)"
        return {"target": TARGETS_TEXT["pg_trips"], "measured": measured, "met": max(money.values()) <= 3}

    def _pg_targets(self, baseline: dict[str, Any]) -> list[dict[str, Any]]:
        pg2 = self._find("pg_wager_2", "load")
        trips = self._trips_target()
        if pg2 is None or not baseline.get("rps"):
            why = "not measured: " + ((self.pg_info or {}).get("skipped") or "no PostgreSQL rows in this run")
            return [
                {"target": t, "measured": why, "met": None} for t in (TARGETS_TEXT["pg"], TARGETS_TEXT["pg_cpu"])
            ] + [trips]
        checks = (self.pg_info or {}).get("journal_check", {})
        durable = ((self.pg_info or {}).get("settings") or {}).get("synchronous_commit") == "on"
        pg_audits = [x for x in self.audits if x["after"].startswith("pg_")]
        sound = (
            pg2.bad == 0 and durable and bool(checks.get("ok")) and bool(pg_audits) and all(x["ok"] for x in pg_audits)
        )
        r, p99 = pg2.rps / baseline["rps"], pg2.latency_ms["p99"]
        out = [
            {
                "target": TARGETS_TEXT["pg"],
                "measured": f"{r:.3f} x ({pg2.rps:,.0f} wagers/s), p99 {p99:.1f} ms, {pg2.bad} non-200, "
                f"synchronous_commit={'on' if durable else 'NOT on'}, audits {'pass' if sound else 'see checks'}",
                "met": r >= 0.10 and p99 <= 60.0 and sound,
            }
        ]
        cpu = (pg2.server_cpu or {}).get("cpu_us_per_request")
        if cpu is None:
            out.append({"target": TARGETS_TEXT["pg_cpu"], "measured": "not measured", "met": None})
        else:
            measured = f"{cpu:.0f} µs (both instances, all threads, per wager of pg_wager_2)"
            out.append({"target": TARGETS_TEXT["pg_cpu"], "measured": measured, "met": cpu <= 350.0})
        return [*out, trips]


def _generator_version() -> int:
    sys.path.insert(0, str(BENCH))
    try:
        import gen_dataset

        return int(gen_dataset.GENERATOR_VERSION)
    finally:
        sys.path.remove(str(BENCH))


# --------------------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    cpu_model = ""
    mhz = ""
    load: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not cpu_model:
                cpu_model = line.split(":", 1)[1].strip()
            if line.startswith("cpu MHz") and not mhz:
                mhz = line.split(":", 1)[1].strip()
    mem = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    pkgs: dict[str, str | None] = {}
    for p in ("aiohttp", "uvloop", "aiosqlite", "pydantic", "pydantic-core", "structlog", "prometheus-client"):
        try:
            pkgs[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            pkgs[p] = None
    wrk_version = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if dirty:
            commit += " (+ uncommitted changes)"
    with contextlib.suppress(OSError):
        load = Path("/proc/loadavg").read_text().split(" ")[:3]
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "cpu_mhz": mhz,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": pkgs,
        "wrk": wrk_version,
        "git": commit,
        "loadavg_at_end": load,
    }


# --------------------------------------------------------------------------- profile summary


_PY_FRAME = re.compile(r"\((?:[^()]*\.py|<[^>]+>):\d+\)$")
_IDLE_MARKERS = ("_queue_SimpleQueue_get", "epoll_pwait", "epoll_wait")
_IO_LEAVES = {
    "fdatasync": "fsync",
    "fsync": "fsync",
    "pwrite64": "file I/O",
    "pread64": "file I/O",
    "write": "socket/file write",
    "writev": "socket/file write",
    "sendmsg": "socket/file write",
    "read": "socket/file read",
    "recv": "socket/file read",
}


def _func(frame: str) -> str:
    """'name (path/file.py:123)' -> 'name (path/file.py)', site-packages and stdlib prefixes cut."""
    head, sep, tail = frame.rpartition(" (")
    if not sep:
        return frame
    path = tail.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "lib/python3.12/", "lib/python3.13/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{head} ({path})"


def _state(frames: list[str]) -> str:
    """What a sampled thread was doing, from its native + Python stack (py-spy --native)."""
    leaf = frames[-1]
    if any(m in f for f in frames for m in _IDLE_MARKERS):
        return "idle"
    name = leaf.split(" (", 1)[0]
    if name in _IO_LEAVES:
        return _IO_LEAVES[name]
    if "pthread_cond" in leaf or "take_gil" in leaf or any("pthread_cond_timedwait" in f for f in frames[-3:]):
        return "GIL wait"
    if name.startswith("0x") and "libc.so" in leaf:
        return "GIL wait"  # unresolved libc leaf under the interpreter: a futex wait (the GIL)
    return "CPU"


def summarize_profile(raw: str, seconds: int, rate: int, top: int = 15) -> dict[str, Any]:
    """Per thread: share of wall time idle / running / waiting for the GIL / in I/O; and the
    Python functions (innermost Python frame) that the CPU samples and the GIL waits land in."""
    per_thread: dict[str, Counter[str]] = {}
    cpu_self: dict[str, Counter[str]] = {}
    cpu_incl: dict[str, Counter[str]] = {}
    gil_wait: Counter[str] = Counter()
    io_at: Counter[str] = Counter()
    names: dict[str, str] = {}
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        frames = stack.split(";")
        tname = frames[0]
        frames = frames[1:] or frames
        if tname not in names:
            names[tname] = tname
        if any("_run_batch" in f for f in frames):
            names[tname] = "sqlite writer thread"
        elif "MainThread" in tname:
            names[tname] = "event loop (main) thread"
        elif any("_run_read" in f for f in frames) and names[tname] == tname:
            names[tname] = "sqlite reader thread"
        st = _state(frames)
        per_thread.setdefault(tname, Counter())[st] += count
        py = [_func(f) for f in frames if _PY_FRAME.search(f)]
        inner = py[-1] if py else _func(frames[-1])
        if st == "CPU":
            cpu_self.setdefault(tname, Counter())[inner] += count
            for f in set(py):
                cpu_incl.setdefault(tname, Counter())[f] += count
        elif st == "GIL wait":
            gil_wait[inner] += count
        elif st != "idle":
            io_at[f"{st}: {inner}"] += count
    threads: dict[str, Any] = {}
    label_count: Counter[str] = Counter()
    for tname, c in sorted(per_thread.items(), key=lambda kv: -sum(v for k, v in kv[1].items() if k != "idle")):
        total = sum(c.values())
        label = names[tname]
        if "thread (" in label:
            label = "other sqlite thread" if "_connection_worker" in label else label
        label_count[label] += 1
        if label_count[label] > 1:
            label = f"{label} #{label_count[label]}"
        busy = total - c["idle"]
        if busy == 0 and label.startswith(("other", "sqlite reader")):
            continue
        cs = cpu_self.get(tname, Counter())
        ci = cpu_incl.get(tname, Counter())
        threads[label] = {
            "samples": total,
            "pct": {k: round(100.0 * v / total, 1) for k, v in c.most_common()},
            "top_cpu_self": [
                {"function": f, "pct_of_thread": round(100.0 * v / total, 1)} for f, v in cs.most_common(top)
            ],
            "top_cpu_inclusive": [
                {"function": f, "pct_of_thread": round(100.0 * v / total, 1)} for f, v in ci.most_common(top)
            ],
        }
    all_samples = sum(sum(c.values()) for c in per_thread.values()) or 1
    return {
        "seconds": seconds,
        "rate_hz": rate,
        "threads": threads,
        "gil_wait_at": [{"function": f, "samples": v} for f, v in gil_wait.most_common(8)],
        "io_at": [
            {"where": f, "samples": v, "pct_all": round(100.0 * v / all_samples, 1)} for f, v in io_at.most_common(8)
        ],
    }


# --------------------------------------------------------------------------- markdown


_STATES = ("CPU", "GIL wait", "fsync", "file I/O", "socket/file write", "socket/file read", "idle")


def _host(x: dict[str, Any], role: str) -> str:
    h = (x.get("host_cpus") or {}).get(role)
    return f"{h['busy_pct']:.0f}% / {h['steal_pct']:.0f}%" if h else "—"


def _others(x: dict[str, Any]) -> str:
    """CPU of the server's core used by anything but the server (other processes, interrupts)."""
    h = (x.get("host_cpus") or {}).get("server")
    c = x.get("server_cpu")
    return f"{max(0.0, h['busy_pct'] - c['core_pct']):.0f}%" if h and c else "—"


def _r(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}x"


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    b = res["baseline"]
    cfg = res["config"]
    lines = [
        f"# groove-wallet bench — {res['timestamp']}",
        "",
        f"`{res['command']}` — {res['seconds']:.0f} s; git {m['git']}",
        "",
        f"Machine: {m['nproc']} CPUs, {m['cpu_model']} ({m['cpu_mhz']} MHz), {m['memory']} RAM, Linux {m['kernel']}; "
        f"Python {m['python']}, SQLite {m['sqlite']}, "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + f"; {m['wrk']}; load average at end {' '.join(m['loadavg_at_end'] or [])}.",
        "",
        f"Server pinned to CPU {cfg['server_cpu']}, wrk to CPU {cfg['load_cpu']}"
        + (" (pinning disabled)" if cfg["no_pin"] else "")
        + f"; {cfg['connections']} connections, {cfg['duration']:g} s per load figure"
        + f", {cfg['paced_duration']:g} s per paced figure"
        + (f" (each the median of {cfg['repeat']} runs)" if cfg["repeat"] > 1 else "")
        + f", {cfg['warmup']:g} s warm-up before each. "
        f"Wager bet {cfg['bet']}; SQLite `synchronous=FULL`"
        + (
            f"; PostgreSQL `synchronous_commit={res['postgres']['settings']['synchronous_commit']}`"
            if (res.get("postgres") or {}).get("settings")
            else ""
        )
        + ". Every service runs with `GW_RATE_LIMIT_ENABLED=false` (the REST faces' per-game limits, "
        "2000/min by default, would otherwise turn the REST figures into 429s).",
        "",
    ]
    if b:
        drift = f", drift start→end {b['drift_pct']:+.1f}%" if "drift_pct" in b else ""
        lines += [
            f"**Baseline** (bare aiohttp + uvloop, fixed JSON): {b['rps']:,.0f} req/s, p99 {b['p99_ms']:.2f} ms at "
            f"{cfg['connections']} connections; paced p99 {b.get('paced_p99_ms', float('nan')):.2f} ms{drift}. "
            "Ratios below are to this baseline (mean of the baseline runs).",
            "",
        ]
    lines += [
        "| scenario | accounts | load | req/s | req/s x baseline | p50 ms | p99 ms | p99.9 ms | p99 x baseline "
        "| non-200 | units/commit |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in res["measurements"]:
        lat = x["latency_ms"]
        if x["mode"] == "load":
            n = x.get("instances", 1)
            load = (
                f"{n} x {x['connections'] // n} conns ({n} instances)" if n > 1 else f"{x['connections']} conns"
            ) + (f" (-t{x['threads']})" if x["threads"] > 1 else "")
            ratio = _r(x["ratio_rps"])
        else:
            load = f"paced ~{cfg['paced_rate']:g}/s"
            ratio = "(paced)"
        rps = f"{x['rps']:,.0f}"
        if x["scenario"] == "round" and x["mode"] == "load":
            rps += f" ({x['rps'] / 2:,.0f} rounds/s)"
        lines.append(
            f"| {x['scenario']} | {_fmt_count(x['accounts'])} | {load} | {rps} | {ratio} | {lat['p50']:.2f} | "
            f"{lat['p99']:.2f} | {lat['p999']:.2f} | {_r(x['ratio_p99'])} | {x['bad']} | "
            f"{x['group_commit_mean_batch'] or ''} |"
        )
    if res.get("inproc"):
        lines += [
            "",
            "In-process, no HTTP (`bench/inproc.py`: WalletService on SqliteStore driven by N asyncio tasks on "
            'uvloop, pinned to the server core, `synchronous=FULL`); "starved" = tasks that completed at most '
            "one operation in the whole figure:",
            "",
            "| scenario | tasks | per s | x baseline | p50 ms | p99 ms | p99.9 ms | max ms | starved tasks |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in res["inproc"]:
            in_ratio: float | None = r["per_s"] / b["rps"] if b.get("rps") else None
            lines.append(
                f"| {r['scenario']} | {r['concurrency']} | {r['per_s']:,.0f} | {_r(in_ratio)} | {r['p50_ms']:.2f} | "
                f"{r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {r['max_ms']:.1f} | {r['starved_tasks']} |"
            )
    lines += [
        "",
        "Server CPU during each figure, from `/proc/PID/task/*/stat` (utime+stime; 100% = the one pinned core). "
        "Threads: event loop = main thread; sqlite writer / readers = the aiosqlite connection threads. "
        "Core busy / steal from `/proc/stat`: steal = time the hypervisor ran someone else on our vCPU "
        "(noisy neighbour); others on server core = core busy minus the server's own CPU (other processes "
        "on the machine). A saturated figure with server CPU well under 100%, steal or others above a few % "
        "was disturbed.",
        "",
        "| scenario | accounts | load | server CPU | event loop | sqlite writer | sqlite readers "
        "| CPU µs/request | ctx switches/request | server core busy / steal | others on server core "
        "| wrk core busy / steal |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in res["measurements"]:
        c = x.get("server_cpu")
        if not c:
            continue
        tp = c["threads_pct"]
        load = f"{x['connections']} conns" if x["mode"] == "load" else f"paced ~{cfg['paced_rate']:g}/s"
        lines.append(
            f"| {x['scenario']} | {_fmt_count(x['accounts'])} | {load} | {c['core_pct']:.0f}% | "
            f"{tp.get('event loop', 0):.0f}% | {tp.get('sqlite writer', 0):.0f}% | "
            f"{tp.get('sqlite readers', 0):.0f}% | "
            f"{c['cpu_us_per_request']:.0f} | {c['context_switches_per_request']:.1f} | "
            f"{_host(x, 'server')} | {_others(x)} | {_host(x, 'load')} |"
        )
    lines += [""]
    pg = res.get("postgres")
    if pg:
        lines += ["## PostgreSQL rows", ""]
        if pg.get("skipped"):
            lines += [f"Not measured: {pg['skipped']}", ""]
        else:
            st = pg.get("settings") or {}
            lines += [
                f"Fresh database `{pg['database']}` on {pg['server']} (PostgreSQL {st.get('server_version', '?')}), "
                f"loaded with `groove-wallet migrate-data` from a fresh {cfg['accounts']:,}-account SQLite dataset "
                f"in {pg.get('load_seconds', '?')} s, dropped at the end "
                f"({'done' if pg.get('dropped') else '**NOT dropped**'}). Durability: "
                f"`synchronous_commit={st.get('synchronous_commit', '?')}`, `fsync={st.get('fsync', '?')}`, "
                f"`wal_sync_method={st.get('wal_sync_method', '?')}`, "
                f"`full_page_writes={st.get('full_page_writes', '?')}` "
                f"(a wager is acknowledged after its transaction's COMMIT returned). Pool: {pg['pool_max']}.",
                "",
                f"Layout (2 CPUs): pg_wager_1: {pg['layout']['pg_wager_1']}; pg_wager_2: {pg['layout']['pg_wager_2']}; "
                f"{pg['layout']['postgres']}. For pg_wager_2 req/s is the sum of the two wrk processes and each "
                "latency percentile the worse of the two (an upper bound: wrk's histograms cannot be merged).",
                "",
            ]
            for x in res["measurements"]:
                if x.get("per_process"):
                    lines.append(
                        f"- {x['scenario']} per instance: "
                        + "; ".join(
                            f"{p['url']}: {p['rps']:,.0f} req/s, p50 {p['p50_ms']:.2f} ms, p99 {p['p99_ms']:.2f} ms, "
                            f"{p['bad']} bad"
                            for p in x["per_process"]
                        )
                    )
            jc = pg.get("journal_check")
            if jc:
                lines.append(
                    f"- journal after the PostgreSQL figures: {jc['wager_entries']:,} wager entries for "
                    f"{jc['acknowledged_wagers']:,} acknowledged wagers (warm-ups included; ≥ expected, wrk stops "
                    f"with requests in flight): **{'OK' if jc['ok'] else 'MISSING'}**; transactions by kind:outcome "
                    f"{jc['transactions_by_outcome']}"
                )
            lines.append("")
    lines += ["## Goals (issue 17)", "", "| target | measured | met |", "|---|---|---|"]
    for t in res["targets"]:
        met = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {t['measured']} | {met} |")
    lines += ["", "## Checks", ""]
    for a in res["audits"]:
        lines.append(f"- `groove-wallet audit` after {a['after']}: **{'PASS' if a['ok'] else 'FAIL'}** — {a['output']}")
    c = res.get("db_after_writes") or {}
    if c:
        lines.append(
            f"- database after the write scenarios: {c.get('journal', 0):,} journal entries, "
            f"{c.get('rounds', 0):,} rounds; transactions by kind:outcome {c.get('transactions_by_outcome')}"
        )
    bad = sum(x["bad"] for x in res["measurements"])
    lines.append(
        f"- replies that were not a success: {bad} (every reply is checked in the wrk Lua `response()`: "
        '/groove bodies must say `"code":200`, the protocol always answers HTTP 200; REST replies must be '
        "HTTP 200 with their success field, `available_balance` or `new_balance`)"
    )
    for n, d in sorted(res["datasets"].items(), key=lambda kv: int(kv[0])):
        how = "reused" if d.get("reused") else f"generated in {d['seconds']} s"
        lines.append(f"- dataset {int(n):,} accounts: {how}, {int(d['bytes']) / 1e6:,.0f} MB")
    for scenario, p in (res.get("profile") or {}).items():
        lines += [
            "",
            f"## Profile: {scenario} load (py-spy --native --idle, {p['seconds']} s at {p['rate_hz']} Hz; "
            f"{p.get('load_rps', 0):,.0f} req/s while sampled)",
            "",
            "Ground truth for the split between threads is /proc (py-spy's stop-the-world samples under-count "
            "short-lived bursts of the sqlite threads): "
            + (
                f"server CPU {p['server_cpu']['core_pct']}% of the core: "
                + ", ".join(f"{k} {v}%" for k, v in p["server_cpu"]["threads_pct"].items())
                if p.get("server_cpu")
                else "n/a"
            )
            + ". py-spy's per-thread states:",
            "",
            "| thread | " + " | ".join(_STATES) + " |",
            "|---|" + "---:|" * len(_STATES),
        ]
        for t, st in p["threads"].items():
            lines.append(f"| {t} | " + " | ".join(f"{st['pct'].get(k, 0.0):.1f}%" for k in _STATES) + " |")
        for t, st in p["threads"].items():
            if not st["top_cpu_self"]:
                continue
            lines += [
                "",
                f"{t}, CPU samples by innermost Python frame (% of the thread's wall time): "
                + ", ".join(f"`{x['function']}` {x['pct_of_thread']}%" for x in st["top_cpu_self"][:12]),
                "",
                f"{t}, CPU inclusive: "
                + ", ".join(f"`{x['function']}` {x['pct_of_thread']}%" for x in st["top_cpu_inclusive"][:12]),
            ]
        if p["gil_wait_at"]:
            lines += ["", "GIL waits at: " + ", ".join(f"`{x['function']}` ({x['samples']})" for x in p["gil_wait_at"])]
        if p["io_at"]:
            lines += ["", "I/O at: " + ", ".join(f"{x['where']} ({x['pct_all']}%)" for x in p["io_at"])]
    lines += [
        "",
        "Figures: req/s = replies per second over the measured interval; latency percentiles are wrk 4.1's "
        "(which adds synthetic samples for replies slower than twice the mean interval — its coordinated-omission "
        'correction). "paced" = 64 connections with exponential think time, offered ≈ the stated rate; closed loop, '
        "so it is latency at light load, not a true constant-rate measurement. round = wager then result on the same "
        "round, one connection per wrk thread; its latency is per request. units/commit = mean units of work per "
        "SQLite group commit during the figure (from the service's /metrics).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="groove-wallet benchmark (see bench/README.md)")
    p.add_argument("--accounts", type=int, default=10_000, help="accounts of the main dataset (default 10000)")
    p.add_argument("--scale", action="store_true", help="also getbalance at 1M accounts")
    p.add_argument("--huge", action="store_true", help="also getbalance at 1M and 10M accounts (~15 GB of disk)")
    p.add_argument("--duration", type=float, default=15, help="seconds per load figure (default 15)")
    p.add_argument("--paced-duration", type=float, default=8, help="seconds per paced figure (default 8)")
    p.add_argument("--warmup", type=float, default=3, help="warm-up seconds before each figure (default 3)")
    p.add_argument("--repeat", type=int, default=1, help="repeat each figure N times, keep the median run")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--paced-rate", type=float, default=500, help="offered req/s of the paced figures")
    p.add_argument("--bet", default="0.01", help="betamount of each wager")
    p.add_argument("--only", help="comma list of baseline,floor,getbalance,wager,round,rest,pg,inproc")
    p.add_argument(
        "--pg-url", default=PG_ADMIN_URL, help="PostgreSQL to create the bench database through (env BENCH_PG_URL)"
    )
    p.add_argument("--no-pg", dest="pg", action="store_false", help="skip the PostgreSQL rows")
    p.add_argument("--pg-pool-max", type=int, default=0, help="GW_PG_POOL_MAX (and _MIN) of the PostgreSQL servers")
    p.add_argument(
        "--pg2-layout",
        choices=("split", "same"),
        default="split",
        help="pg_wager_2: split = second instance on the load CPU (default), same = both on the server CPU",
    )
    p.add_argument("--no-baseline-again", dest="baseline_again", action="store_false", help="skip the end baseline")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--load-cpu", default="1")
    p.add_argument("--no-pin", action="store_true", help="do not use taskset")
    p.add_argument("--server-env", action="append", default=[], metavar="K=V", help="extra env for the servers")
    p.add_argument("--workdir", default=str(BENCH / ".work"), help="datasets and logs (default bench/.work)")
    p.add_argument("--regen", action="store_true", help="regenerate the 1M/10M datasets even if cached")
    p.add_argument("--no-inproc", dest="inproc", action="store_false", help="skip the in-process (no HTTP) figures")
    p.add_argument("--inproc-seconds", type=float, default=5)
    p.add_argument("--profile", action="store_true", help="py-spy record the server under wager load")
    p.add_argument("--profile-seconds", type=int, default=10)
    p.add_argument("--profile-scenarios", default="wager,getbalance", help="comma list (default wager,getbalance)")
    p.add_argument("--profile-rate", type=int, default=100)
    p.add_argument("--py-spy", help=f"py-spy binary (default: PATH, then {PYSPY_FALLBACK})")
    args = p.parse_args(argv)

    for tool in ("wrk",) + (() if args.no_pin else ("taskset",)):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} not found (bench/run.sh installs wrk with apt)")
    if not GROOVE_WALLET.exists():
        raise SystemExit("bench: .venv/bin/groove-wallet not found (make install)")
    if (os.cpu_count() or 1) < 2 and not args.no_pin:
        print("bench: fewer than 2 CPUs; server and load share one (use --no-pin)", file=sys.stderr)
        args.load_cpu = args.server_cpu
    try:
        Bench(args).run()
    finally:
        _stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
