# alkit — two commands do everything on a fresh clone:
#   make demo   set up, then run the demo comparison on the embedded digits data
#   make test   set up, then run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.alkit-installed
PYTEST_ARGS ?=

.PHONY: setup demo test bench bench-seed bench-sweep gpu-check lint clean apt lab dashboard

setup: $(STAMP) apt

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[all]"
	@touch $(STAMP)

# Debian packages the project uses: offline Fashion-MNIST, and Chromium for the dashboard's browser test
# (Playwright drives Debian's Chromium; `playwright install` is never run). Skipped where root/apt are
# unavailable; the tests that need them then skip with a reason.
APT_PKGS := $(if $(wildcard /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz),,dataset-fashion-mnist) \
            $(if $(wildcard /usr/bin/chromium),,chromium)
apt:
	@if [ -z "$(strip $(APT_PKGS))" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian packages: $(strip $(APT_PKGS))"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PKGS) >/dev/null) \
	  || echo "warning: could not install $(strip $(APT_PKGS)); the tests that need them will skip"; \
	else echo "note: not root or no apt-get: $(strip $(APT_PKGS)) not installed; the tests that need them will skip"; fi

demo: setup
	$(VENV)/bin/alkit demo

# Unit tests and every notebook (nbmake, smoke mode; the root conftest.py sets ALKIT_SMOKE=1).
# --dist loadgroup: the Ray tests (xdist_group "ray") share one pytest worker, so one Ray runs at a time.
test: setup
	$(PY) -m pytest -q -n 2 --dist loadgroup --nbmake --nbmake-timeout=300 tests notebooks $(PYTEST_ARGS)

# The Streamlit dashboard on http://127.0.0.1:8501 (DASHBOARD_ARGS="--port 8600 --workspace runs" to change).
dashboard: setup
	$(VENV)/bin/alkit dashboard $(DASHBOARD_ARGS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks

bench: setup
	$(PY) -m benchmarks.run

# On a CUDA machine: the registry, host-sync and determinism tests, `make bench` and a short Fashion-MNIST
# entropy run on the GPU, into benchmarks/results/gpu.json. Without CUDA it stops with a message;
# GPU_CHECK_ARGS="--allow-cpu --quick" is a dry run on the CPU (written to a temp file, never gpu.json).
gpu-check: setup
	$(PY) -m benchmarks.gpu_check $(GPU_CHECK_ARGS)

# DAL / VAAL / ASAL speed targets on real data (about 15 minutes: two WGAN-GP trainings for ASAL)
bench-seed: setup
	$(PY) -m benchmarks.seed_papers

# The same sweep (digits, 4 strategies x 10 seeds x 10 rounds) on the serial, process and Ray engines, into
# benchmarks/results/sweep.json (about 5 minutes on 2 idle cores; speed-ups mean something only on an idle machine).
bench-sweep: setup
	$(PY) -m benchmarks.sweep_engines

lint: setup
	$(VENV)/bin/ruff check alkit tests benchmarks notebooks

clean:
	rm -rf alkit-workspace .pytest_cache
