# newsdesk — everything a fresh machine with Python 3.11+ needs: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.test-installed
DB ?= data/news.lake.sqlite
PAGES ?= 2000

export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: run test lint bench install clean

# A new venv's pip is old and installs trafilatura without lxml_html_clean: upgrade it first.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make run` installs what running needs; `make test` adds the test tools. PYTHONWARNINGS hides setuptools'
# notice about editable installs of a flat layout, which is not for our users.
$(STAMP): pyproject.toml | $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml | $(STAMP)
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/newsdesk ingest --db $(DB)

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

$(VENV)/.bench-installed: pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(STAMP) $(VENV)/.bench-installed
	$(BIN)/python -m bench --pages $(PAGES)

clean:
	rm -rf $(VENV) data .pytest_cache

# Issue 22's scale run: 10,000 feeds on 500 loopback hosts, PostgreSQL, a Prefect server on it, 2 process workers.
.PHONY: bench-scale bench-faults
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale --feeds 10000 --hosts 500 --workers 2

bench-faults: $(STAMP)
	$(BIN)/python -m bench.faults
