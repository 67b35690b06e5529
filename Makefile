# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test golden screenshots bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/publish issue issues/2022-01-28-all-of-us-are-dead.md

test: $(STAMP)
	$(PY) -m pytest -q

# Regenerate the golden files under tests/golden/ after an intended change.
golden: $(STAMP)
	$(PY) -m tests.regen_golden

# Regenerate the reference screenshots under docs/screenshots/ after a change of design.
screenshots: $(STAMP)
	$(PY) -m pytest -q tests/test_browser.py -k what_a_reader_sees
	$(PY) -m tests.regen_screenshots

bench: $(STAMP)
	$(PY) bench/run $(BENCH_ARGS)

clean:
	rm -rf build .publish
