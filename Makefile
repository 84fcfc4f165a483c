# groove-wallet: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= var/wallet.db
# `make run PORT=9000` or `GW_PORT=9000 make run` (likewise HOST / GW_HOST, ADMIN_TOKEN / GW_ADMIN_TOKEN)
HOST   ?= $(or $(GW_HOST),127.0.0.1)
PORT   ?= $(or $(GW_PORT),8080)
ADMIN_TOKEN ?= $(or $(GW_ADMIN_TOKEN),demo-admin-token)

.PHONY: install run reset-demo demo test lint typecheck pytest bench crashtest clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Creates the venv, installs, loads the demo data (once per database; later runs open fresh
# sessions), serves on $(HOST):$(PORT).  A busy port fails before any data is loaded.  The
# admin token goes by environment, not on the command line (where `ps` would show it).
run: export GW_ADMIN_TOKEN := $(ADMIN_TOKEN)
run: $(STAMP)
	mkdir -p $(dir $(DB))
	$(BIN)/groove-wallet demo --database sqlite:///$(DB) --host $(HOST) --port $(PORT)
	$(BIN)/groove-wallet serve --database sqlite:///$(DB) --host $(HOST) --port $(PORT)

# Deletes the demo database (and its WAL files) only: the next `make run` starts from fresh demo data.
reset-demo:
	rm -f -- $(DB) $(DB)-wal $(DB)-shm $(DB)-journal

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

# Benchmark vs a bare aiohttp baseline (see bench/README.md); e.g. make bench BENCH_ARGS="--huge --profile"
bench: $(STAMP)
	bench/run.sh $(BENCH_ARGS)

# Long crash test: kill -9 the real server 20 times under load; prints violations (must be 0).
crashtest: $(STAMP)
	$(BIN)/python tools/crashtest.py --kills 20 --seconds 60

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
