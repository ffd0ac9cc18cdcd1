# confluence-kb: `make demo` sets everything up and runs the demo; `make test` runs the tests.
# Both are idempotent: a second run reinstalls nothing.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | sha1sum | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: setup assets demo test bench clean help

help:
	@echo "make demo   - set up (.venv, offline assets) and run the demo: emulator, ingest, cited answers"
	@echo "make test   - set up if needed, then run the test suite"
	@echo "make bench  - run the benchmarks under bench/ (prints figures; not tests)"
	@echo "make clean  - remove .venv and the demo data (.kb)"

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@# torch first and pinned: the CPU wheel; an unpinned torch pulls several GB of CUDA packages.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP) assets

assets: $(STAMP)
	@$(BIN)/python -m ingest.assets

demo: setup
	$(BIN)/kb demo

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .kb
