# zswaplab — quick start: `make demo`, `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.zswaplab-installed

.PHONY: demo test lint bench vm-test vm-test-ci mutation clean warmup

$(PY):
	@$(PYTHON) -m venv $(VENV) || { $(PYTHON) -m pip install --quiet virtualenv && $(PYTHON) -m virtualenv $(VENV); }
	@$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	@echo "installing zswaplab and its dependencies into $(VENV) (first run only: a few minutes, quiet) ..."
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# compile the numba code ahead (about a second once cached; prints progress while compiling)
warmup: $(STAMP)
	@$(VENV)/bin/zswaplab warmup

demo: warmup
	$(VENV)/bin/zswaplab demo

test: warmup
	@bash scripts/install-test-deps.sh
	ZSWAPLAB_REQUIRE_BROWSER=1 $(PY) -m pytest -q -n 2 -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check zswaplab tests benchmarks

mutation: warmup
	ZSWAPLAB_MUTATION_ALL=1 $(PY) -m pytest -q -p no:cacheprovider tests/mutations tests/vm/test_mutations_vs_kernel.py

bench: warmup
	$(PY) -m benchmarks

vm-test: $(STAMP)
	bash scripts/vm-test.sh

# CI's lean set of boots: the same setup and tests, live boots only for the scenarios below (every other
# scenario is still compared offline against its recorded boots by `make test`)
VM_CI_SCENARIOS ?= parse_probes selftest_zswap_writeback_enabled zswap_max_rotation global_pool_threshold offline_reparent
vm-test-ci: $(STAMP)
	ZSWAPLAB_VM_SCENARIOS="$(VM_CI_SCENARIOS)" bash scripts/vm-test.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
