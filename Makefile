# Two entry points for a fresh machine with only python3 and make:
#   make example   set up .venv, then build the bundled example corpus into dist/example-news
#   make test      set up .venv, then run ruff and the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: example test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

example: $(STAMP)
	$(BIN)/corpuskit build --example --out dist/example-news --force

lint: $(STAMP)
	$(BIN)/ruff check corpuskit tests benchmarks

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_build.py

clean:
	rm -rf dist build .pytest_cache .hypothesis
