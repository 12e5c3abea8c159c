# alkit — two commands do everything on a fresh clone:
#   make demo   set up, then run the demo comparison on the embedded digits data
#   make test   set up, then run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.alkit-installed
PYTEST_ARGS ?=

.PHONY: setup demo test bench lint clean apt lab

setup: $(STAMP) apt

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[all]"
	@touch $(STAMP)

# Debian packages the project uses (offline Fashion-MNIST); skipped where root/apt are unavailable.
apt:
	@if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
	  || echo "warning: could not install dataset-fashion-mnist; its tests will skip"; \
	else echo "note: not root or no apt-get: dataset-fashion-mnist not installed; its tests will skip"; fi

demo: setup
	$(VENV)/bin/alkit demo

# Unit tests and every notebook (nbmake, smoke mode; the root conftest.py sets ALKIT_SMOKE=1).
test: setup
	$(PY) -m pytest -q -n 2 --nbmake --nbmake-timeout=300 tests notebooks $(PYTEST_ARGS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks

bench: setup
	$(PY) -m benchmarks.run

lint: setup
	$(VENV)/bin/ruff check alkit tests benchmarks dashboard notebooks

clean:
	rm -rf alkit-workspace .pytest_cache
