# Bundle Console: the two commands the README opens with are `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
QT_DEBS := libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 fonts-dejavu-core
# bubblewrap confines every bundle process (core/sandbox); without it bundles run "not isolated".
SANDBOX_DEBS := bubblewrap
# A real Secret Service for the keyring tests (tests/secret_service.py starts a private one).
KEYRING_DEBS := dbus gnome-keyring
# What Qt's xcb platform plugin (a real X display) needs on top: `ldd` of
# PySide6/Qt/plugins/platforms/libqxcb.so and libQt6XcbQpa.so.6, each .so mapped
# to its Debian package (libxcb-cursor0 is dlopen'ed, so ldd alone misses it).
XCB_DEBS := libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 \
  libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 \
  libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0
# The test suite's real-display launch test: a virtual X server and a window probe.
TEST_DEBS := xvfb x11-utils git
STAMP := $(VENV)/.installed
# Most tests wait on subprocesses (spawns, handshakes, timeouts), so pytest-xdist
# workers overlap those waits on 2 cores. loadgroup: a module sharing a
# module-scoped fixture stays on one worker (tests/conftest.py marks it).
# `make test PYTEST_ARGS=` runs serially.
PYTEST_ARGS ?= -n 3 --dist loadgroup

.PHONY: run test install system-deps test-deps test-tools apt-install lint format bench screenshots clean vendor

# Debian packages Qt needs (offscreen and on a real X display) and the keyring tests;
# installed only when one is missing.
system-deps:
	@$(MAKE) -s apt-install DEBS="$(QT_DEBS) $(XCB_DEBS) $(KEYRING_DEBS) $(SANDBOX_DEBS)"

test-deps:
	@$(MAKE) -s apt-install DEBS="$(TEST_DEBS)"

apt-install:
	@have=" $$(dpkg-query -W -f='$${Package}:$${db:Status-Status} ' $(DEBS) 2>/dev/null) "; \
	missing=""; for p in $(DEBS); do case "$$have" in *" $$p:installed "*) ;; *) missing="$$missing $$p";; esac; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/python:
	$(PY) -m venv $(VENV)

# pip runs only when pyproject.toml changed since the last install, so the
# second `make run` starts the window without touching pip.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	@touch $@

# The official mcpb CLI (npm), for tests that pack and sign bundles the way authors do.
MCPB_VERSION := 2.1.2
MCPB := .ci-tools/node_modules/.bin/mcpb
# The MCP Inspector CLI (npm), a real third-party client for the gateway test.
INSPECTOR_VERSION := 2.12.0
INSPECTOR := .ci-tools/node_modules/.bin/mcp-inspector
test-tools: $(MCPB) $(INSPECTOR)
$(MCPB):
	@command -v npm >/dev/null || { echo "npm not found: tests that need the mcpb CLI will skip"; exit 0; }; \
	npm install -s --no-audit --no-fund --prefix .ci-tools @anthropic-ai/mcpb@$(MCPB_VERSION)
$(INSPECTOR): | $(MCPB)
	@command -v npm >/dev/null || { echo "npm not found: the MCP Inspector test will skip"; exit 0; }; \
	npm install -s --no-audit --no-fund --prefix .ci-tools @modelcontextprotocol/inspector@$(INSPECTOR_VERSION)

# Python bundles under resources/ and tests/fixtures/ vendor their dependencies into
# server/lib (MCPB's python layout): pip runs only when a requirements file changed.
vendor: $(STAMP)
	@$(BIN)/python resources/bundles/vendor.py

# Real third-party MCP servers that tests/sandbox/test_real_servers.py runs confined,
# pinned. The PyPI ones get a venv of their own: their mcp pin is theirs, not the console's.
FS_SERVER_VERSION := 2026.8.31
FS_SERVER := .ci-tools/node_modules/.bin/mcp-server-filesystem
PY_SERVERS := mcp-server-time==2026.10.19 mcp-server-git==2026.10.19
PY_SERVERS_STAMP := .ci-tools/py-servers/.installed-$(subst ==,-,$(subst $(eval) ,_,$(PY_SERVERS)))
test-tools: $(FS_SERVER) $(PY_SERVERS_STAMP)
$(FS_SERVER):
	@command -v npm >/dev/null || { echo "npm not found: the server-filesystem test will skip"; exit 0; }; \
	npm install -s --no-audit --no-fund --prefix .ci-tools @modelcontextprotocol/server-filesystem@$(FS_SERVER_VERSION)
$(PY_SERVERS_STAMP):
	rm -rf .ci-tools/py-servers
	$(PY) -m venv .ci-tools/py-servers
	.ci-tools/py-servers/bin/python -m pip install -q $(PY_SERVERS)
	@touch $@

install: system-deps $(STAMP) vendor

# `make run ARGS="--data-dir DIR"` runs on another data directory.
run: install
	$(BIN)/bundle-console $(ARGS)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: install test-deps test-tools lint
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
