# wsside: the two commands a new user needs are `make demo` and `make test`.
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test venv chromium services node-deps pytest node-test check test-py310 test-py313 test-floor test-versions venv310 venv313 venv-floor deps-py310 deps-py313 deps-floor wsside-py310 wsside-py313 wsside-floor run-py310 run-py313 run-floor conformance conformance-fast bench bench-cluster bench-scaling soak dist clean

# The venv, and a wheelhouse with the build backend, for tests/test_release.py to build offline.
$(VPY): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]'
	$(VPY) -m pip download -q -d $(VENV)/wheelhouse \
	  $$($(VPY) -c 'import sys; t = __import__("tomllib" if sys.version_info >= (3, 11) else "tomli"); \
	  print(*t.load(open("pyproject.toml", "rb"))["build-system"]["requires"])')
	touch $(VPY)

venv: $(VPY)

# Debian's Chromium for the browser tests; never a downloaded browser.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
		else echo "browser tests need Debian's chromium: sudo apt-get install -y chromium"; exit 1; fi; \
	fi

# Debian's redis-server and nginx for the production tests (workers, backplane, deploy);
# the tests start their own instances on free loopback ports, never the system services.
services:
	@missing=""; \
	[ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
		else echo "the production tests need Debian's$$missing: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi

node-deps:
	cd node_shim && npm install --no-audit --no-fund --silent
	@if [ -f tests/shim/package.json ]; then cd tests/shim && npm install --no-audit --no-fund --silent; fi
	cd tests/client/types && npm install --no-audit --no-fund --silent
	@for ex in examples/*/; do \
		if [ -f $$ex/package.json ]; then (cd $$ex && npm install --no-audit --no-fund --silent) || exit 1; fi; \
	done

# The package's bytecode for the Python about to run the tests, written before they start:
# where PYTHONDONTWRITEBYTECODE is set, each of the hundreds of wsside processes the tests start
# would compile the package again (0.2 s of CPU each). Only files changed since are compiled.
COMPILE := -m compileall -q sidecar/wsside

pytest: venv
	$(VPY) $(COMPILE)
	$(VPY) -m pytest

node-test: venv node-deps
	$(VPY) $(COMPILE)
	cd tests/shim && npm run test:matrix
	cd node_shim && npm run --silent check:client && npm run --silent test:client

# Static checks: lint and format (ruff) of the package, the tests, the bench scripts and the
# examples; types (mypy --strict) of the package; the layers test; the shim's JavaScript type
# check.
LINTED := sidecar/wsside tests bench examples
check: venv
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy
	$(VPY) -m pytest -q -p no:cacheprovider tests/test_layers.py tests/test_layers_commands.py
	@if node -e "process.exit(require('./node_shim/package.json').scripts?.check ? 0 : 1)"; then \
		cd node_shim && npm install --no-audit --no-fund --silent && npm run --silent check \
		&& echo "node_shim: tsc -p . found no type error"; \
	else echo "SKIPPED: node_shim/package.json has no \"check\" script yet"; fi

# The core suite, run again on the oldest and newest Pythons and on the floor versions (with
# the tests that read what Python itself says or makes: its messages, its venvs).
CORE_TESTS := tests/test_pattern.py tests/test_connection.py tests/test_callbacks.py \
	tests/test_options.py tests/test_responses.py tests/test_rooms.py tests/test_routing.py \
	tests/test_config.py tests/test_reload.py tests/test_deflate.py tests/test_reader.py \
	tests/test_cli_serve.py tests/test_transport.py tests/test_writer_hold.py tests/test_held_frames.py tests/test_handoff.py tests/test_versions.py \
	tests/test_layers.py tests/test_schema.py tests/test_message_check.py tests/test_speed.py \
	tests/test_load_hints.py tests/test_error_tracebacks.py tests/test_send_dataclass.py \
	tests/test_init_gitignore.py tests/test_testing.py tests/test_fellow_workers.py

# The three runs below install wsside's runtime requirements and the core suite's own (its
# runner and plugins: no browser, linter or ASGI server), each into a venv of its own, then
# wsside itself, editable, with no dependencies. `make test-versions` installs the three sets
# of requirements at once and wsside one venv after another (an editable install writes the
# source's egg-info).
CORE_REQS = $(VPY) tests/project_requirements.py $(1) --from test pytest pytest-timeout pytest-asyncio hypothesis

# The oldest Python the package supports, on the core suite (pyenv's 3.10, else python3.10 on
# PATH; skipped where there is neither, a failure under CI), without the `speed` extra:
# asyncio's own event loop and the standard library's JSON.
PY310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python) $(shell command -v python3.10))
test-py310: venv310 run-py310
venv310: deps-py310 wsside-py310
deps-py310: $(VPY)
	@if [ -z "$(PY310)" ]; then \
		if [ -n "$$CI" ]; then echo "FAILED: no Python 3.10 under pyenv or on PATH (CI needs it)"; exit 1; fi; \
		echo "SKIPPED: no Python 3.10 under pyenv or on PATH"; exit 0; \
	fi; \
	$(PY310) -m venv .venv310 && .venv310/bin/python -m pip uninstall -qq -y uvloop orjson && \
	$(call CORE_REQS,redis) | .venv310/bin/python -m pip install -q -r /dev/stdin
wsside-py310:
	@if [ -n "$(PY310)" ]; then .venv310/bin/python -m pip install -q --no-deps -e .; fi
run-py310:
	@if [ -z "$(PY310)" ]; then echo "SKIPPED: no Python 3.10 under pyenv or on PATH"; exit 0; fi; \
	.venv310/bin/python $(COMPILE) && .venv310/bin/python -m pytest -q -p no:cacheprovider $(CORE_TESTS)

# The newest Python here (pyenv's 3.13), on the core suite with the `speed` extra (uvloop,
# orjson): the other end of the range. Skipped, with a line saying so, on a host without it.
PY313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python) $(shell command -v python3.13))
test-py313: venv313 run-py313
venv313: deps-py313 wsside-py313
deps-py313: $(VPY)
	@if [ -z "$(PY313)" ]; then echo "SKIPPED: no Python 3.13 under pyenv or on PATH"; exit 0; fi; \
	$(PY313) -m venv .venv313 && \
	$(call CORE_REQS,redis speed) | .venv313/bin/python -m pip install -q -r /dev/stdin
wsside-py313:
	@if [ -n "$(PY313)" ]; then .venv313/bin/python -m pip install -q --no-deps -e .; fi
run-py313:
	@if [ -z "$(PY313)" ]; then echo "SKIPPED: no Python 3.13 under pyenv or on PATH"; exit 0; fi; \
	.venv313/bin/python $(COMPILE) && .venv313/bin/python -m pytest -q -p no:cacheprovider $(CORE_TESTS)

# Every runtime dependency at the floor of its range (tests/floor-constraints.txt), on the
# core suite; `.venv` has the newest releases.
PY311 ?= python3.11
FLOOR := .venv-floor
venv-floor: deps-floor wsside-floor
deps-floor: $(VPY)
	$(PY311) -m venv $(FLOOR)
	$(call CORE_REQS,redis speed) | $(FLOOR)/bin/python -m pip install -q -c tests/floor-constraints.txt -r /dev/stdin
wsside-floor:
	$(FLOOR)/bin/python -m pip install -q --no-deps -e .

test-floor: venv-floor services run-floor
run-floor:
	$(FLOOR)/bin/python $(COMPILE)
	$(FLOOR)/bin/python -m pytest -q -p no:cacheprovider $(CORE_TESTS) tests/test_backplane.py \
		tests/test_backplane_channels.py tests/test_publisher.py

# The three above with their runs at once (each has its own venv; the tests use temp folders
# and free ports). Their output follows, each under its name, when all three are done; fails
# when any does.
RUNS := run-py310 run-py313 run-floor
test-versions: services
	$(MAKE) --no-print-directory -j3 -Otarget deps-py310 deps-py313 deps-floor
	$(MAKE) --no-print-directory wsside-py310 wsside-py313 wsside-floor
	@logs=$$(mktemp -d); \
	for t in $(RUNS); do \
		($(MAKE) --no-print-directory $$t > $$logs/$$t.log 2>&1; echo $$? > $$logs/$$t.rc) & \
	done; \
	wait; failed=""; \
	for t in $(RUNS); do \
		echo "# make $$t"; cat $$logs/$$t.log; \
		[ "$$(cat $$logs/$$t.rc)" = 0 ] || failed="$$failed $$t"; \
	done; \
	rm -rf $$logs; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

conformance-fast: venv node-deps
	bash tests/compliance/run.sh --fast

# Everything: static checks, unit, integration, shim, browser, the core suite on Python 3.10,
# on 3.13 and on the floor versions, and the fast Autobahn subset.
# The suite runs on PYTEST_WORKERS processes (pytest-xdist), a test file's tests on one of
# them (module fixtures start their servers once): most tests wait on the servers and
# browsers they start, so two processes take about two thirds of the time on 2 cores.
PYTEST_WORKERS ?= 2
test: venv chromium services node-deps
	$(MAKE) --no-print-directory check
	$(VPY) $(COMPILE)
	$(VPY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=20
	$(MAKE) --no-print-directory node-test
	$(MAKE) --no-print-directory test-versions
	$(MAKE) --no-print-directory conformance-fast

# The chat example on http://127.0.0.1:5173/ (Ctrl-C stops Vite and the sidecar).
demo: venv node-deps
	@echo "wsside demo: open http://127.0.0.1:5173/?username=Ada and, in a second tab, http://127.0.0.1:5173/?username=Bob"
	cd examples/chat && WSSIDE_PYTHON=$(CURDIR)/$(VPY) npx --no-install vite --host 127.0.0.1 --port 5173 --strictPort

# The full Autobahn suite (517 cases, ~10 minutes): not part of CI.
conformance: venv node-deps
	bash tests/compliance/run.sh

bench: venv node-deps
	$(VPY) bench/run.py

# Room broadcast across 2 workers through Redis vs python-socketio (installed for the bench only).
bench-cluster: venv services
	$(VPY) -m pip install -q -r bench/requirements.txt
	$(VPY) bench/cluster.py --out bench/results/$$(date +%F)-cluster.md

# How each figure grows with --workers, and the 16-core projection (bench/README.md).
bench-scaling: venv services node-deps
	$(VPY) bench/scaling.py --redis --out bench/results/$$(date +%F)-scaling.md

# Long reliability runs (10,000-connection churn and the like): not part of CI.
soak: venv
	WSSIDE_SOAK=1 $(VPY) -m pytest tests/reliability

# Release files in dist/: the sdist, the wheel built from it (never from the working tree,
# whose ignored build/ can hold modules deleted since), and the npm tarball.
dist: venv
	rm -rf dist build && mkdir dist
	$(VPY) -m pip install -q build
	$(VPY) -m build --outdir dist .
	cd node_shim && npm pack --pack-destination ../dist

clean:
	rm -rf $(VENV) .venv310 .venv313 $(FLOOR) dist build node_shim/node_modules tests/shim/node_modules examples/*/node_modules
