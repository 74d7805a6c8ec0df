# zswaplab — quick start: `make demo`, `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.zswaplab-installed

.PHONY: demo test lint bench vm-test mutation clean

$(PY):
	@$(PYTHON) -m venv $(VENV) || { $(PYTHON) -m pip install --quiet virtualenv && $(PYTHON) -m virtualenv $(VENV); }
	@$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/zswaplab demo

test: $(STAMP)
	@bash scripts/install-test-deps.sh
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check zswaplab tests benchmarks

mutation: $(STAMP)
	ZSWAPLAB_MUTATION_ALL=1 $(PY) -m pytest -q -p no:cacheprovider tests/mutations

bench: $(STAMP)
	$(PY) -m benchmarks

vm-test: $(STAMP)
	bash scripts/vm-test.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
