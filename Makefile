# Bundle Console: the two commands the README opens with are `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
QT_DEBS := libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 fonts-dejavu-core
# A real Secret Service for the keyring tests (tests/secret_service.py starts a private one).
KEYRING_DEBS := dbus gnome-keyring

.PHONY: run test install system-deps test-tools lint format bench screenshots clean

# Debian packages Qt needs offscreen (and the keyring tests); installed only when one is missing.
system-deps:
	@missing=""; for p in $(QT_DEBS) $(KEYRING_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/python:
	$(PY) -m venv $(VENV)

install: system-deps $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'

# The official mcpb CLI (npm), for tests that pack and sign bundles the way authors do.
MCPB_VERSION := 2.1.2
MCPB := .ci-tools/node_modules/.bin/mcpb
test-tools: $(MCPB)
$(MCPB):
	@command -v npm >/dev/null || { echo "npm not found: tests that need the mcpb CLI will skip"; exit 0; }; \
	npm install -s --no-audit --no-fund --prefix .ci-tools @anthropic-ai/mcpb@$(MCPB_VERSION)

run: install
	$(BIN)/bundle-console $(ARGS)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: install test-tools lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks $(ARGS)

screenshots: install
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m gui.screenshots

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .ci-tools
