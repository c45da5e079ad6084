# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   runs the whole product on embedded defaults
#   make test   runs lint, type checks, the dependency audit and the full suite (SQLite, and
#               PostgreSQL when WELLBEING_TEST_DATABASE_URL is set)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml setup.py | cksum | cut -d' ' -f1)

.PHONY: demo test lint audit typecheck pytest bench clean

$(STAMP): pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(BIN)/wellbeing demo

lint: $(STAMP)
	$(BIN)/ruff check wellbeing tests migrations bench
	$(BIN)/ruff format --check wellbeing tests bench
	$(BIN)/mypy

# Known vulnerabilities in the pinned dependencies fail the build; an unreachable
# vulnerability service only warns.
audit: $(STAMP)
	$(BIN)/python -m tests.dependency_audit

pytest: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider
	@if [ -n "$$WELLBEING_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$WELLBEING_TEST_DATABASE_URL) =="; \
		WELLBEING_TEST_DB=postgres $(BIN)/python -m pytest -p no:cacheprovider; \
	fi

test: lint audit pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
