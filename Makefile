# The two commands of README's quick start: `make demo` and `make test`.
# Each sets itself up: Debian packages (as root), a virtualenv, Python packages.

VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: demo test test-quick lint system-deps bench bench-quick clean vendor

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

# The whole suite, as CI runs it; the 25 slowest tests and the time per package close the run.
# Bytecode is cached for the run (PYTHONDONTWRITEBYTECODE set empty): every `kanban serve`
# and CLI subprocess of the tests then loads this checkout's compiled modules rather than
# compiling them again. Files go to the workers longest first (tests/conftest.py).
PYTEST = PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder \
	-p no:cacheprovider

test: system-deps $(STAMP) lint
	$(PYTEST) --durations=25

# The edit loop: lint, types, contracts and the SQLite tests that start no browser, server
# or other process (docs/testing.md).
test-quick: $(STAMP) lint
	$(PYTEST) --durations=10 -m "not browser and not server and not postgresql"

bench: system-deps $(STAMP)
	$(BIN)/python bench/run.py

bench-quick: system-deps $(STAMP)
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) build dist *.egg-info test-artifacts

# The on-phone barcode reader of the scan page's live camera: zxing-cpp compiled to
# WebAssembly, the npm package zxing-wasm (reader build only). npm is needed here, at build
# time, and nowhere else: the files are committed under static/vendor/zxing_wasm/ and served
# by the app itself (never from a CDN). Bump ZXING_WASM and run `make vendor` to update.
ZXING_WASM = 3.1.6
ZXING_WASM_DIR = static/vendor/zxing_wasm

vendor:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	npm install --prefix "$$tmp" --no-audit --no-fund --ignore-scripts zxing-wasm@$(ZXING_WASM) >/dev/null && \
	src="$$tmp/node_modules/zxing-wasm" && \
	rm -rf $(ZXING_WASM_DIR) && mkdir -p $(ZXING_WASM_DIR)/reader && \
	cp "$$src/dist/es/share.js" $(ZXING_WASM_DIR)/share.js && \
	cp "$$src/dist/es/reader/index.js" $(ZXING_WASM_DIR)/reader/index.js && \
	cp "$$src/dist/reader/zxing_reader.wasm" $(ZXING_WASM_DIR)/zxing_reader.wasm && \
	cp "$$src/LICENSE" $(ZXING_WASM_DIR)/LICENSE && \
	cp tests/data/zxing-cpp-samples-LICENSE.txt $(ZXING_WASM_DIR)/LICENSE-zxing-cpp && \
	printf '%s\n' "zxing-wasm $$(node -p "require('$$src/package.json').version") (npm), reader build." \
	  "LICENSE: zxing-wasm's (MIT). The WebAssembly is zxing-cpp (Apache License 2.0, LICENSE-zxing-cpp)." \
	  "Made by \`make vendor\`; do not edit." > $(ZXING_WASM_DIR)/VERSION && \
	echo "$(ZXING_WASM_DIR): zxing-wasm $(ZXING_WASM)"
