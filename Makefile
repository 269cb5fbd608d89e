# The few commands a user needs. Run `make help`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
CONFIG ?= clients/demo.yaml
PYTEST_ARGS ?= -n 2

.PHONY: help demo test lint lab data clean mutate

help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP) $@

data/demo/TRUTH.md: | $(STAMP)
	$(BIN)/crm demo-data --out data/demo --seed 7

data: data/demo/TRUTH.md  ## generate the demo client's data if missing

demo: $(STAMP) data/demo/TRUTH.md  ## install, generate demo data, run every notebook on it
	$(BIN)/crm report --config $(CONFIG)

test: $(TEST_STAMP)  ## install test dependencies and run the tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)  ## ruff (crmlib, tests) and mypy (crmlib), configured in pyproject.toml
	$(BIN)/ruff check crmlib tests
	$(BIN)/mypy

MUTATE_STAMP := $(VENV)/.installed-mutate
$(MUTATE_STAMP): pyproject.toml | $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	touch $@

mutate: $(MUTATE_STAMP)  ## mutation testing of the core formula modules (slow; MODULES=... for some)
	nice -n 15 $(BIN)/python tools/mutate.py $(MODULES)

lab: $(STAMP) data/demo/TRUTH.md  ## open the notebooks in JupyterLab (demo data generated if missing)
	$(BIN)/jupyter lab notebooks/

clean:  ## remove the virtual environment and run outputs (completed runs are read-only)
	chmod -R u+w reports/*/ 2>/dev/null || true
	rm -rf $(VENV) reports/*/
