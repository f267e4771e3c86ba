# Two entry points for a fresh machine with only python3 and make:
#   make example   set up .venv, then build the bundled example corpus into dist/example-news
#   make test      set up .venv, then lint (ruff, mypy --strict, import contracts) and run
#                  the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: example test lint bench golden mutation clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

example: $(STAMP)
	$(BIN)/corpuskit build --example --out dist/example-news --force

lint: $(STAMP)
	$(BIN)/ruff check corpuskit tests benchmarks
	$(BIN)/ruff format --check corpuskit tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_build.py

# Rebuild the reference corpora with HEAD (or BASE=rev) and with this tree; compare every file.
golden: $(STAMP)
	$(BIN)/python benchmarks/golden.py --base $(or $(BASE),HEAD)

# Mutation testing of the core modules ([tool.mutmut] in pyproject.toml); takes hours on 2
# cores for all of them, so narrow it with e.g. MUTATE="corpuskit.split*".
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet 'mutmut>=3.8,<4'
	$(BIN)/mutmut run --max-children 2 $(MUTATE)
	$(BIN)/mutmut results

clean:
	rm -rf dist build .pytest_cache .hypothesis mutants
