# Two commands for a fresh machine:
#   make demo   installs the dashboard and runs it on the built-in sandbox
#   make test   installs the test tools (and Prism, with npm) and runs the tests
# Both build .venv with a Python 3.12 or newer found on this machine (PYTHON=... to choose).

PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 python3 \
	$$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# The tests but the browser's wait mostly on HTTP, processes and the database: two pytest-xdist
# workers, a file each at a time (a file's processes and fixtures start once), take half the
# time. The browser tests follow alone: they time what a page does while it polls.
# The PostgreSQL pass runs the tests that reach the database (marked `database` by
# tests/conftest.py from what they use) on PostgreSQL, in a database named after the shell's
# pid (pytest-django creates and drops test_<name>, one per pytest-xdist worker), so that
# parallel runs never meet. Its tests wait mostly on HTTP and the database: two workers, a
# file each at a time (a file's processes and fixtures start once), halve its time.
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/dashboard_$$$$

# Prism, the mock server of the OpenAPI spec that tests/test_contract.py runs the dashboard
# against, installed from contract/package-lock.json when npm is on the machine (else
# those tests are skipped, or fail under CI_REQUIRE_SERVICES=1). No install scripts are run.
PRISM_INSTALLED := contract/node_modules/.installed
# `make demo DEMO_ARGS=--no-serve` prepares everything the demo needs without serving it.
DEMO_ARGS ?=

.PHONY: demo test lint bench venv prism

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is needed (set PYTHON=/path/to/python3.12)"; exit 1; }
	"$(PYTHON)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

venv: $(VENV)/.dev

$(PRISM_INSTALLED): contract/package.json contract/package-lock.json
	cd contract && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

prism:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(PRISM_INSTALLED); \
	else echo "npm is not installed: the contract tests against Prism will be skipped"; fi

demo: $(VENV)/.runtime
	$(BIN)/python manage.py demo $(DEMO_ARGS)

test: $(VENV)/.dev prism
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not browser" -n 2 --dist loadfile
	$(BIN)/python -m pytest -m browser
	DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/python -m pytest -m "database or postgres" -n 2 --dist loadfile

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.dev
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/browser.py
	$(BIN)/python bench/cache.py
