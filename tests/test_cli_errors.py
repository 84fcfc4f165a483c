"""The first hour with the real CLI and Makefile (issue #15): one-line errors with the right
exit code (1 runtime, 2 usage), read-only commands that create nothing, ports checked before
any data is loaded, the startup line and log format of ``serve``, ``make run`` / ``reset-demo``.

Every command runs as a subprocess, as a new user would run it.
"""

from __future__ import annotations

import asyncio
import os
import pty
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from groove_adapter.jsonout import loads
from tests import pgutil
from tests.test_cli import CLI, COMMAND_TIMEOUT, ROOT, STARTUP_BOUND, clean_env, curl_urls, free_port

ADMIN_TOKEN = "cli-errors-admin-token-4c1d"
MISSING_SQLITE = "sqlite:///nonexistent/dir/w.db"  # relative: under the working directory


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=env if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


def assert_one_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """Exit ``code`` and exactly one line on stderr, ``groove-wallet: ...``; returns it."""
    lines = proc.stderr.splitlines()
    assert proc.returncode == code, f"rc={proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("groove-wallet: "), proc.stderr
    return lines[0]


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.fixture
def listening() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def pg_url(database: str, port: int | None = None) -> str:
    parts = urlsplit(pgutil.PG_ADMIN_DSN)
    netloc = parts.netloc if port is None else f"{parts.netloc.rsplit(':', 1)[0]}:{port}"
    return urlunsplit((parts.scheme, netloc, "/" + database, "", ""))


# --------------------------------------------------------------------------- read-only commands


READ_ONLY = [
    ["audit"],
    ["report", "open-rounds"],
    ["report", "liability", "--month", "2020-01"],
    ["report", "statement", "--account", "5179068", "--from", "2020-01-01", "--to", "2020-02-01"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: " ".join(c[:2]))
def test_read_only_command_on_a_missing_sqlite_file_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    proc = cli(*command, "--database", MISSING_SQLITE, cwd=tmp_path)
    line = assert_one_line(proc, 1)
    assert "no SQLite database at 'nonexistent/dir/w.db'" in line
    assert str(tmp_path / "nonexistent/dir/w.db") in line  # where a relative path points
    assert files_under(tmp_path) == []  # no directory, no file


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: " ".join(c[:2]))
def test_read_only_command_on_a_file_that_is_not_a_wallet_database(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "empty.db").touch()
    proc = cli(*command, "--database", "sqlite:///empty.db", cwd=tmp_path)
    assert "is not a groove-wallet database" in assert_one_line(proc, 1)
    assert files_under(tmp_path) == ["empty.db"]
    assert (tmp_path / "empty.db").stat().st_size == 0


def test_audit_reads_an_existing_database_by_absolute_path(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'wallet.db'}"  # sqlite:// + /abs/path
    assert db.startswith("sqlite:////")
    assert cli("migrate", "--database", db).returncode == 0
    proc = cli("audit", "--database", db)
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


# --------------------------------------------------------------------------- PostgreSQL errors


@pytest.mark.parametrize("command", [["audit"], ["migrate"], ["serve", "--host", "127.0.0.1"]], ids=lambda c: c[0])
def test_missing_postgres_database_is_one_line(command: list[str]) -> None:
    missing = f"gw_missing_{secrets.token_hex(4)}"
    args = [*command, "--port", str(free_port())] if command[0] == "serve" else command
    proc = cli(*args, "--database", pg_url(missing))
    assert assert_one_line(proc, 1) == (
        f'groove-wallet: cannot connect to PostgreSQL: InvalidCatalogNameError: database "{missing}" does not exist'
    )


@pytest.mark.parametrize("command", [["audit"], ["serve", "--host", "127.0.0.1"]], ids=lambda c: c[0])
def test_unreachable_postgres_is_one_line(command: list[str]) -> None:
    nobody = free_port()  # nothing listens there
    args = [*command, "--port", str(free_port())] if command[0] == "serve" else command
    proc = cli(*args, "--database", pg_url("postgres", nobody))
    line = assert_one_line(proc, 1)
    assert line.startswith("groove-wallet: cannot connect to PostgreSQL: ConnectionRefusedError"), line


# --------------------------------------------------------------------------- SQLite path errors


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--host", "127.0.0.1"], ["demo"]], ids=lambda c: c[0])
def test_unwritable_sqlite_path_is_one_line(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    args = [*command, "--port", str(free_port())] if command[0] == "serve" else command
    proc = cli(*args, "--database", "sqlite:///a-file/w.db", cwd=tmp_path)
    line = assert_one_line(proc, 1)
    assert line == "groove-wallet: cannot create the directory 'a-file' of the SQLite database: File exists"


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--host", "127.0.0.1"]], ids=lambda c: c[0])
def test_sqlite_path_that_cannot_be_opened_is_one_line(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "a-dir").mkdir()
    args = [*command, "--port", str(free_port())] if command[0] == "serve" else command
    proc = cli(*args, "--database", "sqlite:///a-dir", cwd=tmp_path)
    line = assert_one_line(proc, 1)
    where = f"'a-dir' ({tmp_path / 'a-dir'})"
    assert line == f"groove-wallet: cannot open the SQLite database {where}: unable to open database file"


# --------------------------------------------------------------------------- busy port


def test_serve_on_a_busy_port_fails_before_touching_the_database(tmp_path: Path, listening: int) -> None:
    db = f"sqlite:///{tmp_path / 'data' / 'wallet.db'}"
    proc = cli("serve", "--host", "127.0.0.1", "--port", str(listening), "--database", db)
    line = assert_one_line(proc, 1)
    assert line.startswith(f"groove-wallet: cannot listen on 127.0.0.1:{listening}: Address already in use"), line
    assert files_under(tmp_path) == []


def test_demo_for_a_busy_port_loads_nothing(tmp_path: Path, listening: int) -> None:
    db = f"sqlite:///{tmp_path / 'data' / 'wallet.db'}"
    proc = cli("demo", "--host", "127.0.0.1", "--port", str(listening), "--database", db)
    line = assert_one_line(proc, 1)
    assert line.startswith(f"groove-wallet: cannot listen on 127.0.0.1:{listening}: Address already in use"), line
    assert proc.stdout == ""
    assert files_under(tmp_path) == []


# --------------------------------------------------------------------------- usage errors (exit 2)


@pytest.mark.parametrize("command", ["certify", "simulate"])
def test_url_without_scheme_is_a_usage_error(command: str) -> None:
    proc = cli(command, "--url", "127.0.0.1:8080/groove", "--admin-token", "x")
    assert assert_one_line(proc, 2) == (
        "groove-wallet: --url '127.0.0.1:8080/groove': give an absolute http:// or https:// URL,"
        " e.g. http://127.0.0.1:8080/groove"
    )


def test_certify_admin_url_without_scheme_is_a_usage_error() -> None:
    proc = cli("certify", "--url", "http://127.0.0.1:9/groove", "--admin-url", "localhost:9", "--admin-token", "x")
    assert "--admin-url 'localhost:9'" in assert_one_line(proc, 2)


@pytest.mark.parametrize("ttl", ["-5", "0", "2592001", "ten"])
def test_open_session_refuses_a_ttl_out_of_range(db: str, ttl: str) -> None:
    assert cli("demo", "--database", db).returncode == 0
    proc = cli("open-session", "--database", db, "--account", "5179068", "--ttl", ttl)
    line = assert_one_line(proc, 2)
    assert line.startswith("groove-wallet: open-session: argument --ttl: "), line


def test_open_session_accepts_the_largest_ttl(db: str) -> None:
    assert cli("demo", "--database", db).returncode == 0
    proc = cli("open-session", "--database", db, "--account", "5179068", "--ttl", "2592000")
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"11_[0-9a-f-]+", proc.stdout.strip())


def test_bad_setting_from_the_environment_is_one_usage_line(tmp_path: Path) -> None:
    env = {**clean_env(), "GW_PORT": "abc"}
    proc = cli("migrate", "--database", f"sqlite:///{tmp_path / 'w.db'}", env=env)
    line = assert_one_line(proc, 2)
    assert line.startswith("groove-wallet: bad setting: port: "), line


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'wallet.db'}"


# --------------------------------------------------------------------------- demo ids


def test_demo_groove_ids_are_new_on_every_run_and_never_the_readmes(db: str) -> None:
    first = curl_urls(cli("demo", "--database", db).stdout)
    second = curl_urls(cli("demo", "--database", db).stdout)

    def ids(url: str) -> tuple[str, str]:
        found = dict(re.findall(r"[?&](roundid|transactionid)=([^&]+)", url))
        return found["roundid"], found["transactionid"]

    for urls in (first, second):
        for request in ("wager", "result"):
            round_id, tx_id = ids(urls[request])
            assert re.fullmatch(r"demo-[0-9a-f]{6}-r1", round_id), round_id
            assert re.fullmatch(r"demo-[0-9a-f]{6}-t[12]", tx_id), tx_id
    assert ids(first["wager"]) != ids(second["wager"])


# --------------------------------------------------------------------------- serve's startup line and logs


def serve_args(port: int, database: str) -> list[str]:
    return [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--database", database]


def read_until(fd: int, needle: bytes, proc: subprocess.Popen[bytes]) -> bytes:
    """Read a pseudo-terminal until ``needle`` shows up (bounded, not timed)."""
    buf = b""
    for _ in range(STARTUP_BOUND * 10):
        if needle in buf:
            return buf
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break  # the child closed its end
        elif proc.poll() is not None:
            break
    raise AssertionError(f"{needle!r} not seen; got {buf!r}")


def serve_on_terminal(port: int, database: str, env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(serve_args(port, database), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    try:
        return read_until(leader, b"serving", proc).decode(errors="replace")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        os.close(leader)


def test_serve_prints_one_startup_line_without_secrets(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'wallet.db'}"
    env = {**clean_env(), "GW_ADMIN_TOKEN": ADMIN_TOKEN}
    port = free_port()
    err_path = tmp_path / "serve.stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(serve_args(port, db), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        for _ in range(STARTUP_BOUND * 20):
            if b'"serving"' in err_path.read_bytes() or proc.poll() is not None:
                break
            select.select([], [], [], 0.05)  # polling a starting process
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    log = err_path.read_text()
    assert ADMIN_TOKEN not in log
    records = [loads(line) for line in log.splitlines() if line.startswith("{")]
    startup = [r for r in records if r.get("event") == "serving"]
    assert len(startup) == 1, log
    rec = startup[0]
    assert rec["url"] == f"http://127.0.0.1:{port}"
    assert rec["database"] == db
    assert rec["admin_token"] == "GW_ADMIN_TOKEN"
    assert rec["faces"].split() == [
        "/admin",
        "/api/currency-purchases",
        "/api/currency-sends",
        "/api/item-purchases",
        "/api/player-balances",
        "/api/private",
        "/api/transfers",
        "/groove",
        "/hub88",
        "/metrics",
        "/openapi.json",
        "/ws",
    ]


def test_startup_line_hides_the_postgres_password_and_says_admin_is_closed() -> None:
    from groove_adapter.cli import _redacted_database

    assert (
        _redacted_database("postgresql://wallet:s3cret@db:5432/wallet?sslmode=require&password=other")
        == "postgresql://wallet:***@db:5432/wallet?sslmode=require&password=***"
    )


def test_serve_logs_for_humans_on_a_terminal(tmp_path: Path) -> None:
    text = serve_on_terminal(free_port(), f"sqlite:///{tmp_path / 'wallet.db'}", clean_env())
    line = next(line for line in text.splitlines() if "serving" in line)
    assert not line.lstrip().startswith("{"), line  # structlog's console renderer, not JSON
    assert "admin_token='none: /admin answers 401 to everyone'" in re.sub(r"\x1b\[[0-9;]*m", "", line)
    assert "/admin (closed)" in line


def test_gw_log_format_json_wins_on_a_terminal(tmp_path: Path) -> None:
    env = {**clean_env(), "GW_LOG_FORMAT": "json"}
    text = serve_on_terminal(free_port(), f"sqlite:///{tmp_path / 'wallet.db'}", env)
    line = next(line for line in text.splitlines() if "serving" in line)
    assert loads(line.strip())["event"] == "serving"


# --------------------------------------------------------------------------- Makefile: run, reset-demo


def make(*args: str) -> list[str]:
    """``make`` with this interpreter's venv as BIN (no install: the stamp is taken as done)."""
    return ["make", "--no-print-directory", "-o", ".venv/.installed", f"BIN={Path(sys.executable).parent}", *args]


def test_make_run_on_a_busy_port_fails_before_loading_demo_data(tmp_path: Path, listening: int) -> None:
    db = tmp_path / "demo" / "wallet.db"
    proc = subprocess.run(
        make("run", f"DB={db}", f"PORT={listening}"),
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("groove-wallet:")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"groove-wallet: cannot listen on 127.0.0.1:{listening}: Address already in use")
    assert "Traceback" not in proc.stderr
    assert not db.exists()
    assert "demo data created" not in proc.stdout


@pytest.mark.parametrize("how", ["PORT", "GW_PORT"])
async def test_make_run_serves_on_the_port_asked_with_the_token_off_the_command_line(tmp_path: Path, how: str) -> None:
    port = free_port()
    env = clean_env()
    args = make("run", f"DB={tmp_path / 'demo.db'}")
    if how == "PORT":
        args.append(f"PORT={port}")
    else:
        env["GW_PORT"] = str(port)
    out_path = tmp_path / "make.out"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert await admin_status(port, proc) == 200  # the demo token reached serve by environment
        output = out_path.read_text()
        assert f"--port {port}" in output
        assert "demo-admin-token" not in output  # the recipe lines make echoes
        pids = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True, check=False).stdout
        cmdlines = [cmdline(pid) for pid in pids.split()]
        assert any(b"serve" in c for c in cmdlines), cmdlines
        assert not any(b"demo-admin-token" in c for c in cmdlines), cmdlines  # what `ps` shows
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""  # pgrep itself, gone already


async def admin_status(port: int, proc: subprocess.Popen[bytes]) -> int:
    """Wait for `make run`'s server, then call /admin with the demo token."""
    auth = {"Authorization": "Bearer demo-admin-token"}
    async with aiohttp.ClientSession() as http:
        for _ in range(STARTUP_BOUND * 20):
            if proc.poll() is not None:
                raise AssertionError(f"make run exited with {proc.returncode}")
            try:
                async with http.get(f"http://127.0.0.1:{port}/admin/players/5179068", headers=auth) as resp:
                    return resp.status
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)  # polling a starting process, not ordering events
    raise AssertionError("make run did not serve")


def test_make_reset_demo_deletes_only_the_demo_database(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    for name in ("wallet.db", "wallet.db-wal", "wallet.db-shm", "other.db", "wallet.db.bak"):
        (var / name).write_text("x")
    proc = subprocess.run(
        make("reset-demo", f"DB={var / 'wallet.db'}"),
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert files_under(var) == ["other.db", "wallet.db.bak"]


# --------------------------------------------------------------------------- stock PostgreSQL


def test_tests_reach_postgres_through_the_database_every_server_has() -> None:
    env = {k: v for k, v in clean_env().items() if k != "GW_TEST_PG_DSN"}
    code = "from tests import pgutil; print(pgutil.PG_ADMIN_DSN)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "postgresql://postgres@127.0.0.1:5432/postgres"
