# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# What publish needs (make demo), then what its tests, linters and benchmarks need too (make test).
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test golden screenshots bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(VENV)/bin/publish issue issues/2022-01-28-all-of-us-are-dead.md

test: $(TEST_STAMP)
	$(PY) -m pytest -q

# Regenerate the golden files under tests/golden/ after an intended change.
golden: $(TEST_STAMP)
	$(PY) -m tests.regen_golden

# Regenerate the reference screenshots under docs/screenshots/ after a change of design.
screenshots: $(TEST_STAMP)
	$(PY) -m pytest -q tests/test_browser.py -k what_a_reader_sees
	$(PY) -m tests.regen_screenshots

bench: $(TEST_STAMP)
	$(PY) bench/run $(BENCH_ARGS)

clean:
	rm -rf build .publish
