# calibra — the two set-up commands are `make run` and `make test`; both build the environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.lock-installed
SAMPLE := var/sample
ENV_LOCK := $(VENV).lock
PYTEST := $(BIN)/python -m pytest
# Tests run in TEST_WORKERS processes (pytest-xdist), whole modules per process so a module's fixtures are built
# once; each process runs its own sample pipeline. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
# --no-loadscope-reorder: modules go to the workers heaviest first (tests/conftest.py), not by number of tests.
PARALLEL := -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: run test test-fast soak lint typecheck ui bench sample clean env browser screenshots

# The environment is rebuilt only when the lock file (or the project metadata) changes. The build holds a lock
# (flock on $(ENV_LOCK)): a second `make` that needs the environment while another one is installing it waits
# for it, then finds it built, instead of deleting it under the first one's feet. A line per stage shows where
# the build is, and pip lists what it collects and installs.
$(STAMP): requirements.lock pyproject.toml
	@echo "calibra: the environment in $(VENV) needs building (waiting for any other install to finish)"
	@flock $(ENV_LOCK) sh -c '\
	  set -e; \
	  if [ -f $(STAMP) ] && [ $(STAMP) -nt requirements.lock ] && [ $(STAMP) -nt pyproject.toml ]; then \
	    echo "calibra: the environment was built meanwhile"; exit 0; fi; \
	  rm -rf $(VENV); \
	  echo "calibra: [1/4] creating $(VENV) with $(PYTHON)"; \
	  $(PYTHON) -m venv $(VENV); \
	  echo "calibra: [2/4] upgrading pip"; \
	  $(BIN)/python -m pip install --quiet --upgrade "pip>=24"; \
	  echo "calibra: [3/4] installing the locked dependencies (requirements.lock; a few minutes the first time)"; \
	  $(BIN)/python -m pip install --require-hashes -r requirements.lock; \
	  echo "calibra: [4/4] installing calibra itself (editable)"; \
	  $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .; \
	  touch $(STAMP); \
	  echo "calibra: environment ready"'

env: $(STAMP)

run: $(STAMP)
	$(BIN)/calibra run --sample

# Test tiers (pytest markers applied in tests/conftest.py): `make test` is everything but the soak tier,
# within 8 minutes on two cores; `make test-fast` needs no pipeline run, browser or child process; `make soak` is
# the slow rest (the full fault study, every sample page in Chromium, the tiny benchmark).
test: $(STAMP) lint typecheck browser
	$(PYTEST) $(PARALLEL) -m "not soak"

test-fast: $(STAMP)
	$(PYTEST) $(PARALLEL) -m "not pipeline and not browser and not process and not soak"

soak: $(STAMP) browser
	$(PYTEST) $(PARALLEL) -m soak

# The site is tested in a real browser: Debian's chromium (root installs it; otherwise say what to run). apt
# waits for the package manager's lock (another install) instead of failing on it.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then \
	    flock /tmp/calibra-apt.lock sh -c 'apt-get -o DPkg::Lock::Timeout=900 update -qq && \
	      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq chromium >/dev/null'; \
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
	rm -rf var site .pytest_cache .mypy_cache .ruff_cache $(ENV_LOCK)
