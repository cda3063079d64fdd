# horn: `make demo` trains a real model on the embedded stack; `make test` runs everything.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.horn-installed

.PHONY: demo test install lint unit integration catalog constraints clean bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

# mypy and import-linter read the package as installed (`horn`, `horn.server`, ...):
# scripts/lint-tree.py lays it out under build/lint. The import contracts (the arrows of
# the architecture) are [tool.importlinter] in pyproject.toml.
lint: $(STAMP)
	$(PY) -m ruff check client server worker schemas settings cli tests examples bench scripts
	$(PY) scripts/lint-tree.py build/lint >/dev/null
	$(PY) -m mypy build/lint/horn
	PYTHONPATH=build/lint $(VENV)/bin/lint-imports --no-cache

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

test: $(STAMP)
	scripts/ensure-services.sh
	scripts/ensure-deploy-tools.sh
	scripts/ensure-browser.sh
	$(MAKE) lint
	$(PY) -m pytest -q

# The benchmark suite against a production stack (many minutes; not part of `make test`).
# BENCH_ARGS: e.g. `--quick`, `--only latency,batches`, `--json figures.json`.
bench: $(STAMP)
	scripts/ensure-services.sh
	$(PY) -m bench $(BENCH_ARGS)

# The catalog from the installed Keras, then the static horn.keras modules from it.
catalog: $(STAMP)
	$(PY) -m horn.worker.catalog_gen
	$(PY) -m horn._mirror.codegen

# Pin the Docker images' Python packages to the tested environment.
constraints: $(STAMP)
	PY=$(PY) scripts/freeze-constraints.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
