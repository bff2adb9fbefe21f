# Two commands set everything up on a fresh clone: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The local stream engine (kinesalite) from the npm lockfile, with its integrity hashes.
ENGINES := node_modules/.installed

# All state stays in the repository (the pip cache is the only thing written elsewhere).
export CLICKSTREAM_HOME ?= $(CURDIR)/.clickstream
export DAGSTER_HOME ?= $(CLICKSTREAM_HOME)/dagster
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help demo test test-long dev docs bench bench-full peers lint format lock lock-peers \
	clean distclean infra-check

help:
	@echo "make demo   run the main job on the local default"
	@echo "make test   lint and run the test suite"
	@echo "make test-long  a month of traffic through the lake: every check, backfill = full refresh"
	@echo "make dev    local stack + Dagster UI on http://127.0.0.1:3000 (sensors, schedules on)"
	@echo "make docs   dbt docs for analysts on http://127.0.0.1:8580 (CLICKSTREAM_DOCS_PORT)"
	@echo "make bench  benchmarks against goals and peers (about an hour on 2 cores)"
	@echo "make bench-full  the scaling runs too (1 M / 10 M / 30 M events; several hours)"
	@echo "make lint   ruff, import contracts, mypy and sqlfluff (make test runs it first)"
	@echo "make lock   re-resolve requirements/lock.txt from pyproject.toml"
	@echo "make infra-check  synth, cfn-lint, checkov and tests of the AWS deployment (infra/)"
	@echo "make clean  remove local state (.clickstream/); distclean also removes .venv"

$(INSTALLED): pyproject.toml requirements/lock.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the locked environment into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/lock.txt
	@$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	@$(BIN)/python -m pip check
	@touch $@

$(ENGINES): package.json package-lock.json
	@command -v node >/dev/null || { echo "Node.js is required for the local stream (apt-get install nodejs npm)"; exit 1; }
	@echo "installing the local stream engine into node_modules ..."
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: $(INSTALLED) $(ENGINES)
	$(BIN)/clickstream demo

# One test worker per core; a test file stays on one worker, so its module fixtures build once.
TEST_WORKERS ?= auto
# infra-check first: the suite validates the templates it synthesises against the service models.
test: $(INSTALLED) $(ENGINES)
	$(MAKE) lint
	$(MAKE) infra-check
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=20 -m "not long"

# A month of generated traffic through Dagster: every check passes, a backfill equals a full
# refresh (tests/long; tens of minutes).
test-long: $(INSTALLED) $(ENGINES)
	$(BIN)/pytest -m long -p no:cacheprovider tests/long

# The AWS deployment, offline, in its own environments under infra/ (see infra/Makefile).
infra-check:
	$(MAKE) -C infra check PYTHON="$(PYTHON)"

dev: $(INSTALLED) $(ENGINES)
	$(BIN)/clickstream dev

docs: $(INSTALLED)
	$(BIN)/clickstream docs

# The benchmark peers (PySpark, pandas, matplotlib) live in their own environment, never in .venv.
PEERS_VENV := bench/.venv-peers
PEERS := $(PEERS_VENV)/.installed
$(PEERS): bench/peers/requirements.lock
	@test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	@echo "installing the benchmark peers into $(PEERS_VENV) (pyspark builds from source, ~1 min) ..."
	@$(PEERS_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r bench/peers/requirements.lock
	@$(PEERS_VENV)/bin/python -m pip check
	@touch $@

peers: $(PEERS)

# The dashboards' page times are taken in Debian's Chromium.
BROWSER := @command -v chromium >/dev/null || { echo "the benchmarks time the dashboards in Chromium: apt-get install chromium"; exit 1; }

bench: $(INSTALLED) $(ENGINES) $(PEERS)
	$(BROWSER)
	$(BIN)/python -m bench

bench-full: $(INSTALLED) $(ENGINES) $(PEERS)
	$(BROWSER)
	$(BIN)/python -m bench --full

# The same checks run on each commit once `.venv/bin/pre-commit install` is done
# (.pre-commit-config.yaml); docs/adr/0002-layout.md says what the import contracts hold.
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests --processes 0
	$(BIN)/sqlfluff lint --config dbt_project/.sqlfluff-athena dbt_project/models dbt_project/tests --processes 0

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Maintainers: re-resolve the lock after changing dependencies in pyproject.toml.
TOOLS := $(CLICKSTREAM_HOME)/tools
lock:
	@test -x $(TOOLS)/bin/uv || ($(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install --quiet uv==0.13.9)
	UV_CACHE_DIR=$(TOOLS)/cache $(TOOLS)/bin/uv pip compile pyproject.toml --extra dev --extra dashboards \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	  --no-header --quiet -o requirements/lock.txt

lock-peers:
	@test -x $(TOOLS)/bin/uv || ($(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install --quiet uv==0.13.9)
	UV_CACHE_DIR=$(TOOLS)/cache $(TOOLS)/bin/uv pip compile bench/peers/requirements.in \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	  --no-header --quiet -o bench/peers/requirements.lock

clean:
	rm -rf $(CLICKSTREAM_HOME)

distclean: clean
	rm -rf $(VENV) $(PEERS_VENV) node_modules
