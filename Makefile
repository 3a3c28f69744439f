# calibra — the two set-up commands are `make run` and `make test`; both build the environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lock-installed
SAMPLE := var/sample

.PHONY: run test lint typecheck ui bench sample clean env browser screenshots

# The environment is rebuilt only when the lock file (or the project metadata) changes.
$(STAMP): requirements.lock pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

env: $(STAMP)

run: $(STAMP)
	$(BIN)/calibra run --sample

test: $(STAMP) lint typecheck browser
	$(BIN)/python -m pytest

# The site is tested in a real browser: Debian's chromium (root installs it; otherwise say what to run).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "make test needs Debian's chromium for the browser tests: sudo apt-get install chromium"; exit 1; fi; }

lint: $(STAMP)
	$(BIN)/ruff check pipelines models dashboards tests benchmarks
	$(BIN)/ruff format --check pipelines models dashboards tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

ui: $(STAMP)
	$(BIN)/calibra ui

sample: $(STAMP)
	$(BIN)/calibra sample --out $(SAMPLE)

# The README's screenshots, from the site `make run` published.
screenshots: $(STAMP) browser
	$(BIN)/python tests/screenshots.py var/site

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf var site .pytest_cache .mypy_cache .ruff_cache
