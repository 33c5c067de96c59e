# Two commands do all set-up on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
STORAGE ?= .pipelines
PIPELINE ?= events
EVENTS ?= 300000

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup java browser uv run test lint typecheck schemas check build bench clean

uv:
	@command -v uv >/dev/null 2>&1 || [ -x "$(HOME)/.local/bin/uv" ] || python3 -m pip install --user --quiet uv

java:
	@if ! java -version 2>&1 | grep -q 'version "17'; then \
	  echo "Installing Java 17 (openjdk-17-jre-headless)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	fi

# Headless Chromium renders the quality dashboard in the test suite.
browser:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then \
	  echo "Installing Chromium (headless dashboard test)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

setup: uv java
	@$(UV) sync --frozen --quiet --compile-bytecode

# The events pipeline on a new batch of sample data each time (the second run reads only the new files).
run: setup
	@if [ "$(PIPELINE)" = events ]; then $(UV) run --frozen pipelines generate --events $(EVENTS) --storage $(STORAGE); fi
	$(UV) run --frozen pipelines run $(PIPELINE) --storage $(STORAGE)
	@echo; $(UV) run --frozen pipelines tables $(PIPELINE) --storage $(STORAGE)
	@echo; $(UV) run --frozen pipelines quality $(PIPELINE) --storage $(STORAGE) --html $(STORAGE)/quality.html
	@echo; echo "Dashboard: $(STORAGE)/quality.html   Query: uv run pipelines query --storage $(STORAGE) 'SELECT ...'"

lint: setup
	$(UV) run --frozen ruff check src tests pipelines benchmarks

typecheck: setup
	$(UV) run --frozen mypy src

# CI gate for schemas/: versions follow their compatibility rule and the local lockfile is current.
schemas: setup
	$(UV) run --frozen pipelines registry check

test: setup browser lint typecheck schemas
	$(UV) run --frozen pytest -q

# Benchmarks print ratios measured in one run (never timed tests).
bench: setup
	$(UV) run --frozen python -m benchmarks.decoding

# The package wheel and sdist (the deploy workflow's build check).
build: setup
	$(UV) build --quiet --out-dir build/dist

clean:
	rm -rf $(STORAGE) .pytest_cache .mypy_cache .ruff_cache
