# Tsunagu — the two commands are `make demo` and `make test`; the rest are their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PYTHONDONTWRITEBYTECODE ?= 1
export UV_LINK_MODE ?= copy
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python
DEMO_PORT ?= 8000

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

install: $(UV)  ## install the locked dependencies into .venv
	$(UV) sync --frozen --compile-bytecode --quiet

demo: install  ## run the app on its embedded default (SQLite + filesystem broker) with demo data
	bin/demo $(DEMO_PORT)

demo-stop:  ## stop a demo worker left running
	bin/demo stop

test: install  ## ruff, migrations check, the whole pytest suite (browser tests included) on PostgreSQL
	bin/test

bench: install  ## benchmarks on a separate PostgreSQL database (BENCH_CUSTOMERS=1000000 for the full size)
	bin/bench

lint: install  ## ruff and the layer contracts (lint-imports)
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports --no-cache

format: install  ## apply ruff's fixes and formatting
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

messages: install  ## refresh the translation catalogues (locale/ja)
	DJANGO_DEBUG=true $(PY) manage.py makemessages -l ja --ignore=.venv --ignore=static/vendor --ignore=var
	DJANGO_DEBUG=true $(PY) manage.py compilemessages --ignore=.venv

vendor:  ## refresh static/vendor from the npm registry
	bin/vendor

.PHONY: help install demo demo-stop test bench lint format messages vendor
