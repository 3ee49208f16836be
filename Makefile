# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# The providers' SDKs that cannot share the project's environment: smstools-api-client needs
# pydantic 1, and seven.io's JavaScript clients run on Node.js.
SDK_VENV := .venv-sdk
SDK_STAMP := $(SDK_VENV)/.installed-smstools-0.0.10
JS_SDKS := tests/compat/sdk
JS_STAMP := $(JS_SDKS)/node_modules/.installed-$(shell cat $(JS_SDKS)/package.json | cksum | cut -d' ' -f1)

.PHONY: run test bench lint typecheck clean sdks

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

$(SDK_STAMP):
	test -x $(SDK_VENV)/bin/python || $(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/python -m pip install --quiet 'smstools-api-client==0.0.10'
	touch $@

$(JS_STAMP): $(JS_SDKS)/package.json
	cd $(JS_SDKS) && npm install --no-audit --no-fund --loglevel=error
	rm -f $(JS_SDKS)/node_modules/.installed-* && touch $@

sdks: $(SDK_STAMP) $(JS_STAMP)

run: $(STAMP)
	$(BIN)/smsbridge serve

test: $(STAMP) sdks
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(SDK_VENV) $(JS_SDKS)/node_modules smsbridge.db smsbridge.db-wal smsbridge.db-shm smsbridge.db-writer
