# The two commands of the README: `make run` and `make test`. Both start from a fresh
# Debian machine with Python 3.11: they install what is missing, then do their job.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test bench bench-portal install catalogs system-deps-run system-deps-test migrate clean

run: system-deps-run $(VENV)/.installed catalogs
	$(BIN)/haven run

test: system-deps-test $(VENV)/.installed catalogs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The portal's translations: translations/<lang>/*.po merged and compiled into the
# catalog it loads (fails on a string left untranslated).
catalogs: $(VENV)/.installed
	$(BIN)/python -m services.portal.catalogs

install: $(VENV)/.installed

bench: $(VENV)/.installed
	$(BIN)/python -m tests.benchmarks.bench_search --services 100000

bench-portal: $(VENV)/.installed catalogs
	$(BIN)/python -m tests.benchmarks.bench_portal --services 100000

migrate: $(VENV)/.installed
	$(BIN)/haven migrate

system-deps-run:
	@deploy/system-deps.sh run

system-deps-test:
	@deploy/system-deps.sh test

# Re-installs whenever pyproject.toml changes (new dependencies).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) var .pytest_cache
