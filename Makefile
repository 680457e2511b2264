# Calcapp: `make run` serves the app, `make test` runs everything. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
STRIPE ?=

.DEFAULT_GOAL := help
.PHONY: help run test test-rest test-browser test-slow test-dates test-db lint browser bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

ifeq ($(STRIPE),local)
RUN_NEEDS := $(VENV)/.installed-dev
RUN_WITH := $(BIN)/python -m scripts.run_with_stripe
else
RUN_NEEDS := $(VENV)/.installed
RUN_WITH :=
endif

run: $(RUN_NEEDS)  ## serve on http://$(HOST):$(PORT) (embedded PostgreSQL unless DATABASE_URL; STRIPE=local: billing through localstripe)
	HOST=$(HOST) PORT=$(PORT) $(RUN_WITH) $(BIN)/calcapp serve --migrate

browser: $(VENV)/.installed-dev  ## make sure Playwright has a Chromium
	@if [ -n "$$CHROMIUM_PATH" ] || command -v chromium >/dev/null 2>&1; then \
		echo "browser: $${CHROMIUM_PATH:-$$(command -v chromium)}"; \
	else \
		$(BIN)/python -m playwright install chromium; \
	fi

lint: $(VENV)/.installed-dev  ## ruff, mypy and the import contracts (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint browser  ## lint, then unit, integration (real PostgreSQL) and end-to-end (Chromium) tests
	@echo "The browser tests and the others run at once; each half prints when it is done."
	@tmp=$$(mktemp -d) && chmod 755 "$$tmp" && \
		$(MAKE) --no-print-directory -j2 --output-sync=target test-rest test-browser \
			TEST_TMP="$$tmp" && rm -rf "$$tmp"

# The two halves of `make test`, each a pytest process of its own: Playwright's sync API keeps an
# event loop running in its process, where the asyncio tests cannot run after it, and on two
# cores the halves run side by side in little more time than the longer alone. Exit status 5:
# the PYTEST_ARGS subset has no test in that half. Each half keeps its files in a folder of its
# own (TEST_TMP): pytest makes its shared one private again at every start, which would lock
# the other half's embedded PostgreSQL (another user) out of its data.
HALF_TMP = $(if $(TEST_TMP),--basetemp=$(TEST_TMP)/$@)

test-rest: $(VENV)/.installed-dev  ## the tests `make test` runs but the browser ones
	@command -v promtool >/dev/null 2>&1 || apt-get install -y --no-install-recommends prometheus
	$(BIN)/pytest -m "not slow and not e2e" $(HALF_TMP) $(PYTEST_ARGS) || [ $$? -eq 5 ]

test-browser: browser  ## the browser tests `make test` runs
	$(BIN)/pytest -m "not slow and e2e" $(HALF_TMP) $(PYTEST_ARGS) || [ $$? -eq 5 ]

test-slow: $(VENV)/.installed-dev  ## the long runs `make test` leaves out (fuzzing at length)
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

# The last minute of a month, of a year and of February in a leap year, and the first of a month
# (UTC): each run starts there and the clock goes on, so the runs cross midnight.
DATES ?= 2027-01-31T23:59:00 2027-12-31T23:59:00 2028-02-29T23:59:00 2028-03-01T00:00:05
test-dates: $(VENV)/.installed-dev  ## the database tests with the clock moved to month and year ends (libfaketime)
	@command -v faketime >/dev/null 2>&1 || apt-get install -y faketime
	@for at in $(DATES); do \
		echo "--- database tests from $$at UTC"; \
		TZ=UTC faketime "$$(echo $$at | tr T ' ')" $(BIN)/pytest -q \
			-m "db and not e2e and not slow" $(PYTEST_ARGS) || exit 1; \
	done

test-db: $(VENV)/.installed-dev  ## only the tests that need PostgreSQL (not the browser ones)
	$(BIN)/pytest -m "db and not e2e and not slow" $(PYTEST_ARGS)

bench: browser  ## run the benchmarks (bench/) and write docs/benchmarks.md
	@command -v wrk >/dev/null 2>&1 || apt-get install -y wrk
	$(BIN)/python -m bench.run

clean:  ## remove the virtualenv and caches (keeps .data/, the local database)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
