# The course's commands. `make lab` opens the course, `make test` runs every test; both set up
# .venv first (Python 3.11+ is all a fresh machine needs). `make install` is the setup alone.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
COURSE := $(VENV)/.installed-course
TESTS  := $(VENV)/.installed-tests
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download
# does not work everywhere; the tests pass executable_path). Installed here when missing.
CHROMIUM := /usr/bin/chromium

# Strict nbval: every stored output is compared, after the sanitizer in tests/.
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
          --nbval-cell-timeout=120

# Most tests wait on sockets, browsers and kernels rather than on the CPU: three workers halve
# the wall time even on two cores. loadscope keeps a module's tests (and a notebook's cells,
# which share one kernel) on one worker, in order; modules are dealt out in collection order,
# where the ones marked `minutes` come first (tests/conftest.py). PARALLEL= runs everything in
# one process.
PARALLEL ?= -n 3 --dist loadscope --no-loadscope-reorder

.PHONY: install lab test test-fast bench bench-full bench-chat bench-cluster notebooks exercises clean

install: $(COURSE)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "The course needs Python 3.11 or newer (PYTHON=$(PYTHON))."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(COURSE): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(TESTS): pyproject.toml $(COURSE)
	$(PIP) -e '.[test]'
	@touch $@

lab: $(COURSE)
	$(BIN)/python -m wslab lab

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "The browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; \
	fi

# Lesson 07's reverse proxy and lesson 08's cluster run Debian's nginx and Redis server
# (unprivileged, from temporary folders), and their tests use both. Installed here when
# missing; without them the lessons say so and fall back to wslab's user-space proxy and
# balancer (see wslab/production/nginx.py and wslab/channels/processes.py).
NGINX := /usr/sbin/nginx
REDIS := /usr/bin/redis-server

$(NGINX) $(REDIS):
	@if [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx redis-server >/dev/null; \
	else \
	  echo "Lessons 07 and 08's tests need Debian's nginx and redis-server:" \
	    "sudo apt-get install nginx redis-server"; exit 1; \
	fi

test: $(TESTS) $(CHROMIUM) $(NGINX) $(REDIS)
	$(BIN)/ruff check wslab tests benchmarks
	$(BIN)/python -m wslab exercises build --check
	$(BIN)/python -m pytest $(PARALLEL) $(NBVAL) --durations=10 tests notebooks

# Unit and integration tests only, without the notebooks.
test-fast: $(TESTS)
	$(BIN)/python -m pytest $(PARALLEL) tests

# The must-show ratios of the performance lab, written to benchmarks/results/latest.md.
bench: $(COURSE)
	$(BIN)/python benchmarks/perf_lab.py

bench-full: $(COURSE)
	$(BIN)/python benchmarks/perf_lab.py --full

# Chat fan-out to, and filling of, rooms of 100 and 1,000 clients, written to
# benchmarks/results/chat.md (a few minutes; --quick: 100 and 300).
bench-chat: $(COURSE)
	$(BIN)/python benchmarks/chat_fanout.py --out benchmarks/results/chat.md

# Fan-out of one channel on a cluster of 1, 2 and 4 nodes, as ratios against one node.
bench-cluster: $(COURSE)
	$(BIN)/python benchmarks/cluster_fanout.py

# Re-execute every notebook in place, so that its stored outputs are the ones nbval compares.
notebooks: $(TESTS)
	$(BIN)/python -m wslab notebooks

# Regenerate exercises/ from solutions/ (course authors: this overwrites exercises/).
exercises: $(COURSE)
	$(BIN)/python -m wslab exercises build

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
