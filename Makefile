# The two commands: `make up` runs the whole system locally, `make test` runs every test.
# Nothing but Python 3.11+ and make is needed: the first target that needs the
# environment builds it in .venv (uv, pinned; dependencies from uv.lock).

PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
SYNCED := $(VENV)/.synced

.DEFAULT_GOAL := help
.PHONY: help up test lint bench clean venv

help: ## list the targets
	@echo "make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 12
	@echo
	@echo "settings: PORT (8000), REGISTRY_HOME (./.registry), DATABASE_URL, REDIS_URL,"
	@echo "          TEST_DATABASE_URL, TEST_REDIS_URL, PYTHON ($(PYTHON)); see docs/operations.md"

# Rebuilt only when the lock or the project file changes (or after `make clean`).
$(SYNCED): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "error: $(PYTHON) is older than Python 3.11; run make PYTHON=python3.11 ..." >&2; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	VIRTUAL_ENV=$(CURDIR)/$(VENV) UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(VENV) $(VENV)/bin/uv sync --frozen --inexact
	touch $@

venv: $(SYNCED) ## create or update the environment in .venv

up: $(SYNCED) ## run everything locally: database, Redis, migrations, API, worker, beat (Ctrl-C stops)
	$(VENV)/bin/registry up

test: $(SYNCED) ## run every test (embedded servers unless TEST_DATABASE_URL / TEST_REDIS_URL)
	$(VENV)/bin/pytest

lint: $(SYNCED) ## ruff, mypy (strict), import contracts, migrations match the models
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/registry check-migrations

bench: $(SYNCED) ## performance budgets (docs: DESIGN section 10)
	$(VENV)/bin/registry bench

clean: ## remove the environment and caches (keeps the data in ./.registry)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
	find . -path ./.registry -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
