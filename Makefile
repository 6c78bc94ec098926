# The two commands of README's quick start: `make demo` and `make test`.
# Each sets itself up: Debian packages (as root), a virtualenv, Python packages.

VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test lint system-deps bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

system-deps:
	@bash .ci/system-deps

demo: system-deps $(STAMP)
	$(BIN)/kanban demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: system-deps $(STAMP) lint
	$(BIN)/pytest -n 2 --dist loadfile -p no:cacheprovider

bench: system-deps $(STAMP)
	$(BIN)/python bench/run.py

bench-quick: system-deps $(STAMP)
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) build dist *.egg-info test-artifacts
