# BigLedger Integrations. `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-fast bench lint clean

setup: $(STAMP)

# uv installs in seconds where pip takes a minute; bytecode is compiled because this
# machine sets PYTHONDONTWRITEBYTECODE (prefect would import 2x slower on every start).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	UV_COMPILE_BYTECODE=1 $(BIN)/uv pip install -q -p $(BIN)/python -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/bigledger demo

test: setup
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/pytest -q -m "not e2e"

bench: setup
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .bigledger .pytest_cache .ruff_cache *.egg-info
