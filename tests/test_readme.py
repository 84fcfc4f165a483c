"""Every shell command of README.md and deploy/README.md, run as written, in order.

How it works (and how to write the README so that it keeps passing):

* Blocks fenced as ```sh, ```bash or ```shell are commands; ```console blocks too (only the
  one-line ``$ `` commands; the rest is output). Any other fence (plain ```, json, yaml,
  text, ...) is not run: use it for usage synopses, configuration and output.
* All command blocks of README.md, then deploy/README.md, run in ONE bash session in
  document order, so variables and functions defined by one block are seen by the next.
  A command is a complete shell statement (continuation lines and multi-line quotes
  included); the first one that exits non-zero stops the run and fails the test, naming
  its file and line.
* The session plays a new user after ``make run``: a demo server is started the way the
  Makefile does (``groove-wallet demo`` then ``groove-wallet serve``, admin token
  ``demo-admin-token``) on a free port with a fresh database ``var/wallet.db`` in a
  temporary directory, which is also the session's working directory (with ``.venv``
  linked to the suite's virtualenv). ``localhost:8080`` / ``127.0.0.1:8080`` in commands
  become that port. The venv's ``bin`` is NOT on the session's PATH: a README that uses
  bare ``groove-wallet`` must say ``. .venv/bin/activate`` first, as a user has to.
* ``curl`` is wrapped (``-sS``, a time bound; the HTTP status is recorded, the body kept):
  an HTTP status >= 400 fails the command unless the README shows it as expected.
* Expected replies: comment lines right under a command that start with a JSON value, or
  with an HTTP status and optionally a JSON value, e.g. ``# {"code":200,...}`` or
  ``# 429 {"error":"...",...}``. The JSON may continue on the following comment lines;
  text after it is prose. It is compared with the reply (the curl body, else stdout):
  only the fields it shows; ``...`` elides members/items, a string containing ``...``
  matches any string with those fixed parts (``"11_..."``), ``"..."`` and ``"<...>"``
  placeholders match any value, numbers compare as exact Decimals. A status comment
  (``# 404`` alone or followed by the JSON) makes that status the expected one (and the
  only one allowed); any other text after ``#`` is prose and not checked.
* Commands that cannot run here are skipped BY NAME with their reason (each is reported
  as a skipped test ``test_readme_skipped[FILE:LINE]``):
  - a whole block: an HTML comment on the line before its fence,
    ``<!-- readme-test: skip (needs Docker) -->``;
  - one command: a comment line right before it, ``# readme-test: skip (needs websocat)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "deploy/README.md")
ADMIN_TOKEN = "demo-admin-token"  # the Makefile's ADMIN_TOKEN
README_PORT = "8080"
COMMAND_LANGS = {"sh", "bash", "shell", "console"}
RUN_BOUND_SECONDS = 240  # a bound on a hung session, not a timing assertion (a run takes ~15 s)
STARTUP_BOUND_SECONDS = 60

FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
BLOCK_SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((.+)\)\s*-->")
COMMAND_SKIP = re.compile(r"^#\s*readme-test:\s*skip\s*\((.+)\)\s*$")
REPLY_START = re.compile(r"^(?:(?P<status>[1-5]\d\d)(?:\s+|$))?(?P<json>[{\[].*)?$")


# --------------------------------------------------------------------------- extraction


@dataclass
class Command:
    doc: str
    line: int  # 1-based line of the command's first line
    text: str
    skip: str | None = None
    status: int | None = None  # expected HTTP status (a "# 429 ..." comment)
    reply: Any = None  # lenient-parsed expected JSON, or None
    reply_line: int = 0

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def first_line(self) -> str:
        lines = self.text.strip().splitlines()
        return next((s for s in lines if not s.lstrip().startswith("#")), lines[0])


@dataclass
class Block:
    doc: str
    lang: str
    line: int  # line of the opening fence
    lines: list[tuple[int, str]] = field(default_factory=list)
    skip: str | None = None


def read_blocks(doc: str, text: str) -> list[Block]:
    blocks: list[Block] = []
    current: Block | None = None
    indent = ""
    previous = ""
    for no, raw in enumerate(text.splitlines(), start=1):
        m = FENCE.match(raw)
        if current is None:
            if m:
                skip = BLOCK_SKIP.search(previous)
                indent = m.group(1)
                current = Block(doc, m.group(3).lower(), no, skip=skip.group(1) if skip else None)
            elif raw.strip():
                previous = raw
            continue
        if m and not m.group(3) and raw.strip().startswith(("```", "~~~")):
            blocks.append(current)
            current = None
            previous = ""
            continue
        current.lines.append((no, raw[len(indent) :] if raw.startswith(indent) else raw.lstrip()))
    if current is not None:
        raise AssertionError(f"{doc}:{current.line}: code fence never closed")
    return blocks


def shell_complete(text: str) -> bool:
    """A complete statement: bash parses it and it does not end with a line continuation."""
    if text.rstrip().endswith("\\"):
        return False
    proc = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True, check=False)
    return proc.returncode == 0


def block_commands(block: Block) -> list[Command]:
    lines = block.lines
    if block.skip:  # not parsed: it may hold what is not shell (websocat's messages)
        text = "\n".join(s for _, s in lines if s.strip()) or "(empty block)"
        return [Command(block.doc, block.line, text, skip=block.skip)]
    if block.lang == "console":
        lines = [(no, s[2:]) for no, s in lines if s.startswith("$ ")]
    commands: list[Command] = []
    pending_skip: str | None = None
    i = 0
    while i < len(lines):
        no, s = lines[i]
        stripped = s.strip()
        if not stripped or stripped.startswith("#"):
            m = COMMAND_SKIP.match(stripped)
            if m:
                pending_skip = m.group(1)
            i += 1
            continue
        start, buf = no, [s]
        i += 1
        while not shell_complete("\n".join(buf)):
            if i >= len(lines):
                raise AssertionError(f"{block.doc}:{start}: incomplete shell command at the end of its block")
            buf.append(lines[i][1])
            i += 1
        cmd = Command(block.doc, start, "\n".join(buf), skip=block.skip or pending_skip)
        pending_skip = None
        i = read_reply(cmd, lines, i)
        commands.append(cmd)
    return commands


def read_reply(cmd: Command, lines: list[tuple[int, str]], i: int) -> int:
    """Parse an expected-reply comment right under ``cmd``; return the index after it."""
    if i >= len(lines) or not lines[i][1].strip().startswith("#"):
        return i
    first = lines[i][1].strip()[1:].strip()
    m = REPLY_START.match(first)
    if not m or not (m.group("status") or m.group("json")):
        return i
    cmd.reply_line = lines[i][0]
    if m.group("status"):
        cmd.status = int(m.group("status"))
    if not m.group("json"):
        return i + 1
    text = m.group("json")
    j = i + 1
    while True:
        try:
            cmd.reply = parse_lenient(text)
            return j
        except Incomplete:
            if j >= len(lines) or not lines[j][1].strip().startswith("#"):
                raise AssertionError(
                    f"{cmd.doc}:{cmd.reply_line}: expected-reply comment is not complete JSON: {text!r}"
                ) from None
            text += "\n" + lines[j][1].strip()[1:]
            j += 1
        except ValueError as exc:
            raise AssertionError(f"{cmd.doc}:{cmd.reply_line}: expected-reply comment is not JSON: {exc}") from None


def all_commands() -> list[Command]:
    commands: list[Command] = []
    for doc in DOCS:
        for block in read_blocks(doc, (ROOT / doc).read_text()):
            if block.lang in COMMAND_LANGS:
                commands.extend(block_commands(block))
    return commands


# --------------------------------------------------------------------------- lenient JSON


class Incomplete(ValueError):
    """The text ended inside the value (it continues on the next comment line)."""


class Any_:
    def __repr__(self) -> str:
        return "<any>"


ANY = Any_()
ELLIPSIS = object()


@dataclass(frozen=True)
class Pattern:
    """A string with ``...`` elisions: the fixed parts in order."""

    text: str

    def matches(self, s: str) -> bool:
        parts = [re.escape(p) for p in self.text.split("...")]
        return re.fullmatch(".*".join(parts), s, flags=re.DOTALL) is not None


class Lenient:
    """JSON with ``...`` as an elided member/item and placeholder strings; trailing text ignored."""

    NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def peek(self) -> str:
        self.ws()
        if self.i >= len(self.s):
            raise Incomplete
        return self.s[self.i]

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise ValueError(f"expected {ch!r} at {self.s[self.i : self.i + 20]!r}")
        self.i += 1

    def value(self) -> Any:
        ch = self.peek()
        if self.s.startswith("...", self.i):
            self.i += 3
            return ELLIPSIS
        if ch == "{":
            return self.obj()
        if ch == "[":
            return self.arr()
        if ch == '"':
            return self.string()
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(word, self.i):
                self.i += len(word)
                return val
        m = self.NUMBER.match(self.s, self.i)
        if not m:
            raise ValueError(f"not JSON at {self.s[self.i : self.i + 20]!r}")
        self.i = m.end()
        return Decimal(m.group())

    def string(self) -> Any:
        try:
            s, self.i = json.decoder.scanstring(self.s, self.i + 1)
        except json.JSONDecodeError as exc:
            raise Incomplete from exc
        if s == "..." or re.fullmatch(r"<[^<>]*>", s):
            return ANY
        return Pattern(s) if "..." in s else s

    def obj(self) -> dict[str, Any]:
        self.expect("{")
        out: dict[str, Any] = {}
        while self.peek() != "}":
            if self.s.startswith("...", self.i):
                self.i += 3
            else:
                key = self.string()
                if not isinstance(key, str):
                    raise ValueError(f"placeholder as a key: {key!r}")
                self.expect(":")
                v = self.value()
                out[key] = ANY if v is ELLIPSIS else v
            if self.peek() == ",":
                self.i += 1
        self.i += 1
        return out

    def arr(self) -> list[Any]:
        self.expect("[")
        out: list[Any] = []
        while self.peek() != "]":
            out.append(self.value())
            if self.peek() == ",":
                self.i += 1
        self.i += 1
        return out


def parse_lenient(text: str) -> Any:
    return Lenient(text).value()


def mismatches(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` contradicts ``expected`` (only the parts ``expected`` shows)."""
    if expected is ANY:
        return []
    if isinstance(expected, Pattern):
        ok = isinstance(actual, str) and expected.matches(actual)
        return [] if ok else [f"{path}: expected a string like {expected.text!r}, got {actual!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        out: list[str] = []
        for k, v in expected.items():
            if k not in actual:
                out.append(f"{path}.{k}: missing (expected {v!r})")
            else:
                out.extend(mismatches(v, actual[k], f"{path}.{k}"))
        return out
    if isinstance(expected, list):
        return list_mismatches(expected, actual, path)
    if isinstance(expected, Decimal):
        ok = isinstance(actual, int | float | Decimal) and not isinstance(actual, bool)
        if ok and Decimal(str(actual)) == expected:
            return []
        return [f"{path}: expected {expected}, got {actual!r}"]
    if expected is None or isinstance(expected, bool | str):
        return (
            []
            if type(actual) is type(expected) and actual == expected
            else [f"{path}: expected {expected!r}, got {actual!r}"]
        )
    raise AssertionError(f"unexpected expected-value {expected!r}")


def list_mismatches(expected: list[Any], actual: Any, path: str) -> list[str]:
    if not isinstance(actual, list):
        return [f"{path}: expected an array, got {actual!r}"]
    items = [e for e in expected if e is not ELLIPSIS]
    elided = len(items) != len(expected)
    if len(actual) < len(items) or (not elided and len(actual) != len(items)):
        return [f"{path}: expected {len(items)}{'+' if elided else ''} items, got {len(actual)}: {actual!r}"]
    out: list[str] = []
    for n, e in enumerate(items):
        out.extend(mismatches(e, actual[n], f"{path}[{n}]"))
    return out


def parse_reply(text: str) -> Any:
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


# --------------------------------------------------------------------------- the session

PRELUDE = r"""
__rt_n=0
curl() {
    command curl -sS --max-time 60 -w '%{stderr}\n@@readme-test-http-status %{http_code}\n' "$@" \
        | tee -a "$__rt_dir/$__rt_n.body"
    return "${PIPESTATUS[0]}"
}
__rt_end() {  # N RC EXPECTED_STATUS
    echo "$2" > "$__rt_dir/$1.rc"
    if [ "$2" != 0 ]; then exit 0; fi
    local s
    for s in $(sed -n 's/^@@readme-test-http-status //p' "$__rt_dir/$1.err"); do
        if [ "$3" != "-" ]; then
            if [ "$s" != "$3" ]; then echo "HTTP $s (the README shows $3)" > "$__rt_dir/$1.http"; exit 0; fi
        elif [ "$s" -ge 400 ] || [ "$s" = 000 ]; then
            echo "HTTP $s (the README shows no error)" > "$__rt_dir/$1.http"; exit 0
        fi
    done
}
"""


def session_script(commands: list[Command], port: int) -> str:
    parts = [PRELUDE]
    for n, cmd in enumerate(commands):
        if cmd.skip:
            continue
        text = re.sub(r"\b(localhost|127\.0\.0\.1):" + README_PORT + r"\b", rf"\1:{port}", cmd.text)
        expected = str(cmd.status) if cmd.status else "-"
        parts.append(
            f'__rt_n={n}\n{{\n{text}\n}} >"$__rt_dir/{n}.out" 2>"$__rt_dir/{n}.err" </dev/null\n'
            f"__rt_end {n} $? {expected}\n"
        )
    parts.append('echo done > "$__rt_dir/finished"\n')
    return "".join(parts)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def session_env(workdir: Path) -> dict[str, str]:
    """A new user's shell: no GW_* settings, no virtualenv active."""
    venv_bin = str(Path(sys.prefix) / "bin")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GW_", "PYTEST_")) and k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env["HOME"] = str(workdir)
    return env


class DemoServer:
    """``make run``'s two steps, on a free port, in ``workdir`` (database var/wallet.db)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.bin = Path(sys.prefix) / "bin" / "groove-wallet"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "serve.log"

    def start(self) -> str:
        assert self.bin.exists(), f"{self.bin} missing: run the suite from the venv (make test)"
        (self.workdir / "var").mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GW_")}
        db = "sqlite:///var/wallet.db"
        demo = subprocess.run(
            [str(self.bin), "demo", "--database", db, "--admin-token", ADMIN_TOKEN,
             "--base-url", f"http://127.0.0.1:{self.port}"],
            cwd=self.workdir, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert demo.returncode == 0, f"groove-wallet demo failed:\n{demo.stdout}\n{demo.stderr}"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [str(self.bin), "serve", "--database", db, "--host", "127.0.0.1", "--port", str(self.port),
                 "--admin-token", ADMIN_TOKEN],
                cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.wait_healthy()
        return demo.stdout

    def wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_BOUND_SECONDS
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"groove-wallet serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"groove-wallet serve not healthy in {STARTUP_BOUND_SECONDS} s:\n{self.output()}")
            time.sleep(0.05)  # polling a starting process, not ordering events

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


def run_session(commands: list[Command], workdir: Path, port: int, env: dict[str, str]) -> Path:
    outdir = workdir / ".readme-test"
    outdir.mkdir()
    script = workdir / ".readme-test.sh"
    script.write_text(session_script(commands, port))
    env = {**env, "__rt_dir": str(outdir)}
    with open(outdir / "session.log", "wb") as log:
        proc = subprocess.Popen(
            ["bash", str(script)], cwd=workdir, env=env, stdout=log, stderr=log, start_new_session=True
        )
    try:
        proc.wait(timeout=RUN_BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the README session did not finish in {RUN_BOUND_SECONDS} s") from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything a README command left running
        proc.wait()
    return outdir


def _read(p: Path) -> str:
    return p.read_text(errors="replace") if p.exists() else ""


def verdicts(commands: list[Command], outdir: Path) -> list[str]:
    """One message per failed command, in README order; stops at the command that ended the run."""
    failures: list[str] = []
    for n, cmd in enumerate(commands):
        if cmd.skip:
            continue
        rc_file = outdir / f"{n}.rc"
        out, err = _read(outdir / f"{n}.out"), _read(outdir / f"{n}.err")
        err = re.sub(r"\n?@@readme-test-http-status \d+\n?", "\n", err).strip()
        head = f"{cmd.where}: {cmd.first_line}"
        if not rc_file.exists():
            failures.append(f"{head}\n  never ran (the session ended before it)")
            break
        rc = int(_read(rc_file))
        if rc != 0:
            msg = f"{head}\n  exit status {rc}\n  stdout: {out.strip()[-1500:]}\n  stderr: {err[-1500:]}"
            body = _read(outdir / f"{n}.body").strip()
            statuses = re.findall(r"@@readme-test-http-status (\d+)", _read(outdir / f"{n}.err"))
            if statuses:
                msg += f"\n  curl: HTTP {', '.join(statuses)}, reply: {body[-1500:]}"
            failures.append(msg)
            break
        if (outdir / f"{n}.http").exists():
            body = _read(outdir / f"{n}.body").strip()
            failures.append(f"{head}\n  {_read(outdir / f'{n}.http').strip()}\n  reply: {body[-1500:]}")
            break
        if cmd.reply is not None:
            failures.extend(reply_failures(cmd, n, outdir, out))
    return failures


def reply_failures(cmd: Command, n: int, outdir: Path, stdout: str) -> list[str]:
    body_file = outdir / f"{n}.body"
    text = (_read(body_file) if body_file.exists() else stdout).strip()
    where = f"{cmd.doc}:{cmd.reply_line} (reply of {cmd.where}: {cmd.first_line})"
    try:
        actual = parse_reply(text)
    except ValueError:
        return [f"{where}\n  the README shows a JSON reply; got: {text[-1500:]!r}"]
    found = mismatches(cmd.reply, actual)
    if not found:
        return []
    return [f"{where}\n  " + "\n  ".join(found) + f"\n  reply: {text[-1500:]}"]


# --------------------------------------------------------------------------- the tests

try:
    COMMANDS, EXTRACTION_ERROR = all_commands(), ""
except AssertionError as exc:  # reported by the test, not as a collection error of the whole suite
    COMMANDS, EXTRACTION_ERROR = [], str(exc)
SKIPPED = [c for c in COMMANDS if c.skip]


def test_readme_commands_run_as_written() -> None:
    """Start the demo like ``make run``, run every README command in order, compare the replies."""
    if EXTRACTION_ERROR:
        pytest.fail(f"cannot read the README's commands: {EXTRACTION_ERROR}", pytrace=False)
    assert len(COMMANDS) - len(SKIPPED) > 50, "the README test found too few commands: is the extraction broken?"
    workdir = Path(tempfile.mkdtemp(prefix="readme-test-"))
    server = DemoServer(workdir)
    try:
        (workdir / ".venv").symlink_to(sys.prefix)
        server.start()
        outdir = run_session(COMMANDS, workdir, server.port, session_env(workdir))
        failures = verdicts(COMMANDS, outdir)
        if not failures and not (outdir / "finished").exists():
            log = _read(outdir / "session.log")[-1500:]
            failures.append(f"the session stopped early without a failed command (an `exit` in the README?)\n{log}")
        if failures:
            pytest.fail("README commands that do not work as written:\n\n" + "\n\n".join(failures), pytrace=False)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("cmd", SKIPPED, ids=[c.where for c in SKIPPED])
def test_readme_skipped(cmd: Command) -> None:
    """Each command the README marks as not runnable here, reported by name with its reason."""
    lines = [s for s in cmd.text.splitlines() if s.strip() and not s.lstrip().startswith("#")]
    more = f" (+{len(lines) - 1} more lines)" if len(lines) > 1 else ""
    pytest.skip(f"{cmd.where} {cmd.first_line!r}{more}: {cmd.skip}")


# --------------------------------------------------------------------------- the harness itself


def test_lenient_reply_comments() -> None:
    exp = parse_lenient('{"code":200,"id":"11_...","tx":"...","same":"<same id>",...,"n":29.5,"a":[1,...]} (prose)')
    actual = parse_reply('{"code":200,"id":"11_ab","tx":7,"same":"x","other":1,"n":29.50,"a":[1,2,3]}')
    assert mismatches(exp, actual) == []
    wrong = parse_reply('{"code":"200","id":"12_ab","tx":7,"same":"x","n":29.51,"a":[]}')
    assert mismatches(exp, wrong) == [
        "$.code: expected 200, got '200'",
        "$.id: expected a string like '11_...', got '12_ab'",
        "$.n: expected 29.5, got Decimal('29.51')",
        "$.a: expected 1+ items, got 0: []",
    ]
    with pytest.raises(Incomplete):
        parse_lenient('{"code":200,')


def _session_of(markdown: str, tmp_path: Path) -> list[str]:
    commands = [c for b in read_blocks("T.md", markdown) if b.lang in COMMAND_LANGS for c in block_commands(b)]
    return verdicts(commands, run_session(commands, tmp_path, 1, session_env(tmp_path)))


def test_harness_reports_the_failing_line(tmp_path: Path) -> None:
    markdown = (
        'text\n\n```sh\nX=1\necho \'{"a":\'$X\', "b":"x"}\'\n# {"a":2,\n#  ...}\n'
        '# readme-test: skip (needs Docker)\ndocker ps\n```\n\n```json\n{"not": "run"}\n```\n\n'
        "```sh\nfalse\necho never\n```\n"
    )
    failures = _session_of(markdown, tmp_path)
    assert failures[0].startswith("T.md:6 (reply of T.md:5: echo"), failures
    assert "$.a: expected 2, got Decimal('1')" in failures[0]
    assert failures[1].startswith("T.md:17: false\n  exit status 1"), failures
    assert len(failures) == 2


def test_harness_checks_http_status(tmp_path: Path) -> None:
    """An HTTP error fails its command unless the README shows that status; the body is compared."""
    import functools
    import http.server
    import threading

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "ok.json").write_text('{"a": 1.50, "b": [1, 2]}')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    port = int(httpd.server_address[1])

    def session(markdown: str, name: str) -> list[str]:
        commands = [c for b in read_blocks("T.md", markdown) for c in block_commands(b)]
        (tmp_path / name).mkdir()
        return verdicts(commands, run_session(commands, tmp_path / name, port, session_env(tmp_path)))

    try:
        ok = '```sh\ncurl localhost:8080/ok.json\n# {"a":1.5,"b":[1,...]}\ncurl localhost:8080/missing\n# 404\n```\n'
        passing = session(ok, "a")
        unexpected = session('```bash\ncurl localhost:8080/missing   # {"not":"a reply"}\n```\n', "b")
        no_error = session("```sh\ncurl localhost:8080/ok.json\n# 404\n```\n", "c")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
    assert passing == []
    assert len(unexpected) == 1
    assert unexpected[0].startswith("T.md:2: curl localhost:8080/missing   #"), unexpected
    assert "\n  HTTP 404 (the README shows no error)\n  reply: <!DOCTYPE" in unexpected[0], unexpected
    assert no_error == [
        'T.md:2: curl localhost:8080/ok.json\n  HTTP 200 (the README shows 404)\n  reply: {"a": 1.50, "b": [1, 2]}'
    ]


def test_malformed_reply_comment_names_its_line() -> None:
    (block,) = read_blocks("T.md", '```sh\necho hi\n# {"a":1,\n```\n')
    with pytest.raises(AssertionError, match=r"T\.md:3: expected-reply comment is not complete JSON"):
        block_commands(block)
