# The two commands: `make run` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help setup run test bench load failover screenshots lint format reset-data

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## install what is missing for everything here: Python 3.13 venv, pip packages, redis-server, Chromium
	@bash scripts/setup.sh --dev --browser

run: ## install only what it runs, start MongoDB + Redis + the app on 127.0.0.1:$$PORT (default 8000), DEBUG off
	@bash scripts/setup.sh && exec $(PY) -m devstack run

test: ## set up, check the import contracts, run the whole suite against real Redis and MongoDB over the wire
	@bash scripts/setup.sh --dev --browser && $(VENV)/bin/lint-imports --no-logo && exec $(PY) -m devstack test $(PYTEST_ARGS)

bench: ## catalog, auth, push, signed-in, job queue, analytics and two-process benchmarks on fresh servers (5,000 products, 5-15 min with the machine) -> docs/benchmarks.md
	@bash scripts/setup.sh --dev && exec $(PY) benchmarks/run_all.py

load: ## set up, then a few minutes of mixed load on a fresh launcher and its invariants (LOAD_ARGS=...)
	@bash scripts/setup.sh --dev && exec $(PY) benchmarks/load.py $(LOAD_ARGS)

failover: ## set up, then kill the Redis primary and an app process under load (Sentinel, 2 app processes, a worker) and print what was lost
	@bash scripts/setup.sh --dev && exec $(PY) benchmarks/redis_failover.py $(FAILOVER_ARGS)

screenshots: ## set up, then capture the README's screenshots from a running app into docs/screenshots/
	@bash scripts/setup.sh --dev --browser && UPDATE_SCREENSHOTS=1 exec $(PY) -m devstack test tests/e2e/test_browser_journeys.py::test_readme_screenshots

lint: ## ruff check and format check, import contracts (pyproject.toml [tool.importlinter])
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports --no-logo

format: ## ruff fix and format
	@$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

reset-data: ## delete local data under var/ (MongoDB and Redis); stop `make run` first
	rm -rf var/mongo var/redis
