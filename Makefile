# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv as needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo test browser test-heavy test-connect audit bench house lint format clean

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

# The report's browser tests drive Debian's chromium: installed here where we may (root with apt-get, as in CI);
# anywhere else they skip with one line saying how to get it (REQUIRE_BROWSER_TESTS=1 makes that a failure).
# Two workers (a Spark test keeps about one core busy, mostly its driver), each with its own Spark session; a
# file's tests stay on one worker, so its module fixtures are built once. Budget: 5 minutes on 2 cores.
TEST_WORKERS ?= 2
test: venv lint browser
	$(BIN)/python -m pytest -q -m "not heavy" -n $(TEST_WORKERS) --dist loadfile

browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && apt-get install -y -qq chromium; \
	fi

# Slow, large cases (crashes in subprocesses, a 1 GB blob, ...): CI runs them too, after `make test`.
test-heavy: venv
	$(BIN)/python -m pytest -q -m heavy -n $(TEST_WORKERS) --dist loadfile

# The end-to-end tests through Spark Connect, as on serverless: SPARK_REMOTE=local[2] makes get_spark() start a
# local Connect server with Delta in the test process, and every test talks to it over gRPC (job, incremental
# nights, the report's data, notify's dry run, the notebooks). Budget: about 10 minutes on 2 cores. Tests that cannot run over
# Connect are marked `classic_only` (with the reason) and skipped here; they run in `make test`.
CONNECT_TESTS := tests/test_connect.py tests/test_nightly.py tests/test_incremental.py tests/test_notebooks.py \
	tests/test_notify.py::test_dry_run_prints_the_digest_and_every_alert_and_writes_nothing \
	tests/test_notify.py::test_dry_run_without_an_alerts_section_uses_the_default_rules \
	tests/test_report_browser.py::test_load_report_data_keeps_the_window \
	tests/test_report_browser.py::test_report_of_an_empty_lakehouse_says_to_run_the_job_first
test-connect: venv
	SPARK_REMOTE="local[2]" $(BIN)/python -m pytest -q $(CONNECT_TESTS)

# The scale benchmark (not part of `make test`): prints a table, writes bench/RESULTS.md, ends with two ratios.
bench: venv
	$(BIN)/python bench/run.py

# Known vulnerabilities in what .venv installed from requirements.txt (PyPI's advisory data; --strict: a
# package that cannot be audited fails). Where PyPI's JSON API is not served (a mirror of the simple index
# only, as on this project's build machines) nothing can be audited: say so loudly instead of passing quietly.
# pip-audit asks for name/version (the unversioned page is served even where these are not).
PYPI_JSON := https://pypi.org/pypi/rich/15.0.0/json
audit: venv
	@if $(BIN)/python -c "import urllib.request; urllib.request.urlopen('$(PYPI_JSON)', timeout=10)" 2>/dev/null; then \
		$(BIN)/pip-audit --progress-spinner off --strict --skip-editable; \
	else \
		echo "make audit: NOT AUDITED - PyPI's vulnerability data ($(PYPI_JSON)) is unreachable from this machine"; \
	fi

# The house at a glance: the longest functions (tools/house.py), then the duplicated blocks (the `duplicates`
# command of the build machines; elsewhere a line says it is missing).
house:
	@$(PYTHON) tools/house.py
	@if command -v duplicates >/dev/null; then duplicates --most 20 --seconds 60; \
	else echo "make house: no 'duplicates' command on this machine, duplicated blocks not listed"; fi

lint: venv
	$(BIN)/ruff check src tests jobs notebooks bench tools
	$(BIN)/ruff format --check src tests jobs notebooks bench tools

format: venv
	$(BIN)/ruff check --fix src tests jobs notebooks bench tools
	$(BIN)/ruff format src tests jobs notebooks bench tools

clean:
	rm -rf $(VENV) demo build dist src/*.egg-info .pytest_cache .ruff_cache
