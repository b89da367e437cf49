# eqconform: the two set-up commands of the README, plus lint, benchmarks and the long soak.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
REPORT_DIR ?= conformance-report
# `make report` needs only what the NumPy report needs; `make test` adds the test tools, the
# browser driver and the frameworks the torch and jax targets audit.
REPORT_STAMP := $(VENV)/.installed-report
STAMP := $(VENV)/.installed
SOURCES := pyproject.toml $(shell find specs impl verify reports -name '*.py' -o -name '*.html' -o -name '*.css' 2>/dev/null)

.PHONY: report test lint bench soak install clean mutation mutation-sample

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the packaging or any source file changes, so `make` never tests stale code.
# setuptools' build/ keeps modules deleted since, which would be installed again: start clean.
$(REPORT_STAMP): $(BIN)/python $(SOURCES)
	rm -rf build
	$(BIN)/python -m pip install --quiet .
	touch $(REPORT_STAMP)

$(STAMP): $(BIN)/python $(SOURCES)
	rm -rf build
	$(BIN)/python -m pip install --quiet ".[test,browser,frameworks,grade]"
	touch $(STAMP) $(REPORT_STAMP)

install: $(STAMP)

report: $(REPORT_STAMP)
	$(BIN)/eqconform report --target numpy -o $(REPORT_DIR)

# The suite in TEST_WORKERS processes (pytest-xdist): most tests wait on audits in processes
# of their own, so one pytest process keeps two cores about 40% idle (13:59 serially, 8:47
# with two workers on CI's 2 cores). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -n $(TEST_WORKERS) $(PYTEST_ARGS)

# ruff (lint, import order, layout) and mypy on the product code. mypy checks it as the package
# `eqconform` (package-dir maps eqconform.specs to specs/ etc., which mypy cannot follow) in a
# tree of links eqconform/<folder> -> <folder>, given as a folder: `-p eqconform` would find the
# installed copy in .venv instead, whatever its age. Errors name eqconform/specs/model.py etc.
PRODUCT := specs impl verify reports
TYPECHECK := build/typecheck
lint: $(STAMP)
	$(BIN)/ruff check $(PRODUCT)
	$(BIN)/ruff format --check $(PRODUCT)
	rm -rf $(TYPECHECK)/eqconform && mkdir -p $(TYPECHECK)/eqconform
	touch $(TYPECHECK)/eqconform/__init__.py
	for folder in $(PRODUCT); do ln -s $(CURDIR)/$$folder $(TYPECHECK)/eqconform/$$folder; done
	cd $(TYPECHECK) && $(abspath $(BIN))/mypy --config-file $(CURDIR)/pyproject.toml \
		--cache-dir mypy-cache eqconform

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py --seeds 20

# Mutation testing of the checker's core (mutation/modules.toml says what, with which tests):
# the score per module and the surviving mutants. `mutation-sample` (CI) runs a fixed few and
# fails on a survivor not listed in mutation/equivalent.toml.
MUTATION_STAMP := $(VENV)/.installed-mutation

$(MUTATION_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet ".[mutation]"
	touch $(MUTATION_STAMP)

mutation: $(MUTATION_STAMP)
	$(BIN)/python mutation/run.py $(MUTATION_ARGS)

mutation-sample: $(MUTATION_STAMP)
	$(BIN)/python mutation/run.py --sample $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) $(REPORT_DIR) build *.egg-info .hypothesis .eqconform
