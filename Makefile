# Two commands do all set-up on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
STORAGE ?= .pipelines
PIPELINE ?= starter

.PHONY: setup java uv run test lint typecheck check clean

uv:
	@command -v uv >/dev/null 2>&1 || [ -x "$(HOME)/.local/bin/uv" ] || python3 -m pip install --user --quiet uv

java:
	@if ! java -version 2>&1 | grep -q 'version "17'; then \
	  echo "Installing Java 17 (openjdk-17-jre-headless)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	fi

setup: uv java
	@$(UV) sync --frozen --quiet

run: setup
	$(UV) run --frozen pipelines run $(PIPELINE) --storage $(STORAGE)
	@echo; echo "Tables are in $(STORAGE). Try: uv run pipelines query --storage $(STORAGE) 'SHOW TABLES IN starter'"

lint: setup
	$(UV) run --frozen ruff check src tests pipelines

typecheck: setup
	$(UV) run --frozen mypy src

test: setup lint typecheck
	$(UV) run --frozen pytest -q

clean:
	rm -rf $(STORAGE) .pytest_cache .mypy_cache .ruff_cache
