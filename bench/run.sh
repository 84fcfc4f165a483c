#!/usr/bin/env bash
# One command for the whole benchmark (`make bench` calls this).  Arguments go to run.py:
#   bench/run.sh                      default run (10k accounts, ~3 minutes)
#   bench/run.sh --scale              + getbalance at 1M accounts
#   bench/run.sh --huge --profile     + 1M and 10M accounts, + a py-spy profile
# Needs: .venv with the project installed (created here if missing, like `make install`),
# wrk (installed with apt-get if missing), taskset (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/groove-wallet ]; then
    echo "bench: creating .venv and installing the project" >&2
    test -x .venv/bin/python || "${PYTHON:-python3}" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev]'
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v wrk >/dev/null 2>&1; then
    echo "bench: installing wrk (Debian package)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if ! command -v taskset >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux >/dev/null
fi

# py-spy only for --profile, into a scratch directory: never into the project's venv.
for arg in "$@"; do
    if [ "$arg" = "--profile" ] && ! command -v py-spy >/dev/null 2>&1 && [ ! -x /tmp/pyspy/bin/py-spy ]; then
        echo "bench: installing py-spy into /tmp/pyspy (not the project venv)" >&2
        .venv/bin/python -m pip install --quiet --target /tmp/pyspy py-spy
    fi
done

exec .venv/bin/python bench/run.py "$@"
