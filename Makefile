# Yunfleet developer commands. `make run` and `make test` are the two entry points (see README.md).
#
# The virtual environment is built from the lock file only: a pinned uv is bootstrapped into .venv
# with pip, then `uv sync --frozen` installs exactly what uv.lock says (the project itself editable).
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup run prepare test lint bench browser vendor-js clean

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "error: Yunfleet needs Python 3.11+; set PYTHON=/path/to/python3.11 (got: $$($(PYTHON) --version 2>&1))" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(UV): $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen
	@touch $@

setup: $(VENV)/.synced

# Sandbox + airflow standalone in the foreground; Ctrl-C stops both. State in .yunfleet/.
run: setup
	$(PY) -m yunfleet.devenv run

# Only the idempotent preparation of .yunfleet/ (config, DB, connections, pools).
prepare: setup
	$(PY) -m yunfleet.devenv prepare

# pytest exit code 5 means "no tests collected": an empty run is reported and fails like any other.
# The whole suite runs as two pytest processes side by side, each with its own platform
# (scripts/run-tests); with test paths in PYTEST_ARGS, or PYTEST_SHARDS=1, as one process.
test: setup
	@PY=$(PY) scripts/run-tests $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests (exit 5); an empty suite does not pass" >&2; fi; \
	exit $$rc

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Every bench/*.py script (helpers start with "_"); figures land in bench/results/.
bench: setup
	@set -e; for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script; done

# Debian's chromium + chromium-driver for the browser tests (root; the test fixture runs the same script
# when the browser is missing).
browser:
	bash scripts/install-chromium.sh

# Refresh the Fleet view's vendored Chart.js from plugins/fleet_view/package-lock.json (needs npm).
vendor-js:
	bash scripts/vendor-js.sh

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache bench/results/*.tmp
