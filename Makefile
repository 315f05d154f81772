# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv as needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-heavy audit bench lint format clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v java >/dev/null || { echo "A JDK 17+ is required (java not found on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

demo: venv
	$(BIN)/pipeline-monitor demo --days 30

test: venv lint
	$(BIN)/python -m pytest -q -m "not heavy"

# Slow, large cases (crashes in subprocesses, a 1 GB blob, ...): CI runs them too, after `make test`.
test-heavy: venv
	$(BIN)/python -m pytest -q -m heavy

# The scale benchmark (not part of `make test`): prints a table, writes bench/RESULTS.md, ends with two ratios.
bench: venv
	$(BIN)/python bench/run.py

# Known vulnerabilities in the pinned requirements (PyPI advisory database).
audit: venv
	$(BIN)/pip-audit --progress-spinner off -r requirements.txt

lint: venv
	$(BIN)/ruff check src tests jobs notebooks bench
	$(BIN)/ruff format --check src tests jobs notebooks bench

format: venv
	$(BIN)/ruff check --fix src tests jobs notebooks bench
	$(BIN)/ruff format src tests jobs notebooks bench

clean:
	rm -rf $(VENV) demo build dist src/*.egg-info .pytest_cache .ruff_cache
