# pingce developer and user entry points. Every target creates the venv it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is installed in the same pip call as everything else so no dependency can pull a
# different (multi-GB CUDA) build; override TORCH_SPEC on machines with another wheel.
TORCH_SPEC ?= torch==2.13.0
PIP := $(PY) -m pip install --disable-pip-version-check -q
# rapidocr pulls the GUI OpenCV (needs libGL) over the headless one; keep headless only.
HEADLESS_CV := bash scripts/opencv-headless.sh $(PY)

.PHONY: demo test bench lint format clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-installed: pyproject.toml | $(PY)
	$(PIP) "$(TORCH_SPEC)" -e ".[all]"
	$(HEADLESS_CV)
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(PY)
	$(PIP) "$(TORCH_SPEC)" -e ".[all,dev]"
	$(HEADLESS_CV)
	touch $@ $(VENV)/.demo-installed

$(VENV)/.bench-installed: pyproject.toml | $(PY)
	$(PIP) "$(TORCH_SPEC)" -e ".[all,dev,bench]"
	$(HEADLESS_CV)
	touch $@ $(VENV)/.test-installed $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(VENV)/bin/pingce demo

# Debian packages first (installed when root with apt-get, else listed; never fails): a test
# whose package is missing skips, naming it, and pytest's summary lists the skips by package.
test: $(VENV)/.test-installed
	bash scripts/system-packages.sh
	$(PY) -m pytest -q

bench: $(VENV)/.bench-installed
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: $(VENV)/.test-installed
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
