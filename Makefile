# The two commands users and CI rely on: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.yaml
# `make run PORT=8081` (HOST=...) serves elsewhere than config.yaml's server.host / server.port
PORT   ?=
HOST   ?=
PYTEST_ARGS ?=
# every core (pytest-xdist); a module's tests stay on one worker, so module fixtures are built once
XDIST ?= -n auto --dist loadfile

.PHONY: run test install install-test lint typecheck bench contract-deep memory-soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(VENV)/.installed

# installed again only when pyproject.toml changes (the package itself is editable): `make run` starts at once
# pip's build warnings go to .venv/install.log, shown only when the install fails
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing wfgateway into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/pip install -q -e . > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@touch $@

install-test: $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)  # the console's browser tests drive it

run: install
	$(BIN)/wfgateway serve --config $(CONFIG)$(if $(HOST), --host $(HOST))$(if $(PORT), --port $(PORT))

test: install-test
	$(BIN)/python -m pytest -q -p no:cacheprovider $(XDIST) $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check src adapters tests bench

# mypy over src/ and adapters/ (also part of `make test`: tests/foundation/test_typecheck.py)
typecheck: install-test
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/foundation/test_typecheck.py

# every benchmark in bench/, short runs; BENCH_ARGS=--full for the README's figures (long)
bench: install-test
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

# Several hundred examples per operation and every coverage case (hours); DIALECT=conductor runs one dialect.
contract-deep: install-test
	WFGATEWAY_FUZZ_PROFILE=full $(BIN)/python -m pytest -q tests/contract $(if $(DIALECT),-k $(DIALECT))

# Resident memory of one gateway at start, after a warm-up and through an hour of mixed load (README "Memory").
memory-soak: install-test
	$(BIN)/python -m bench.memory --warmup 120 --soak 3600 --sample 300 $(if $(PROCESSES),--processes $(PROCESSES))

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
