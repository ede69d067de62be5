# Two commands on a fresh machine: `make run` and `make test`. Each creates .venv when missing.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint install migrate demo bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required (python3.11, python3.12 or python3.13)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/regie migrate

demo: migrate
	$(BIN)/regie demo --if-empty

run: demo
	$(BIN)/regie serve

lint: $(STAMP)
	$(BIN)/ruff check regie tests bench
	$(BIN)/ruff format --check regie tests bench
	$(BIN)/mypy

test-sqlite: $(STAMP)
	REGIE_TEST_DATABASE=sqlite $(BIN)/pytest -q

# Skips (with the reason) when PostgreSQL is not reachable, fails instead under REGIE_REQUIRE_ALL=1.
test-postgres: $(STAMP)
	REGIE_TEST_DATABASE=postgres $(BIN)/pytest -q

test: lint test-sqlite test-postgres

bench: $(STAMP)
	$(BIN)/python bench/lookups.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
