# Flink Manager: the two set-up commands are `make dev` and `make test`.
# Everything is installed into git-ignored folders: .venv/ (Python) and .cache/
# (pip wheels, the Flink distributions 1.18 to 2.3, Go-built Kubernetes binaries, the job jars).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CACHE := $(CURDIR)/.cache
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
# `make reliability` repeats the reliability matrix this many times; `make test` runs it once.
RELIABILITY_TRIALS ?= 3

export PIP_CACHE_DIR := $(CACHE)/pip
export GOMODCACHE ?= $(CACHE)/go/mod
export GOCACHE ?= $(CACHE)/go/build
export FLINK_MANAGER_CACHE := $(CACHE)

.PHONY: install dev test lint unit component contract e2e reliability bench infra infra-flink infra-kube infra-job infra-job-newest clean

install: $(VENV)/.installed

# flink-manager (the operator) and flink-manager-dev (devstack/: the two fakes and the dev stack, which the
# operator's image does not install).
$(VENV)/.installed: pyproject.toml devstack/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]' -e ./devstack
	touch $@

dev: install infra-job-newest
	$(BIN)/flink-manager dev

# Real Flink of every version of tests/infra/flink/versions.py (jars from the PyPI package), the example job jar
# built against each, and a real kube-apiserver/etcd/kubectl built from Go modules; each is cached and rebuilt only
# when its pin changes.
infra: infra-flink infra-job infra-kube

infra-flink: install
	tests/infra/flink/install.sh

infra-job: infra-flink
	examples/jobs/build.sh $$($(BIN)/python -m tests.infra.flink.versions)

# The dev stack needs only the newest Flink's jars (to build the example job), not the whole matrix.
infra-job-newest: install
	tests/infra/flink/install.sh $$($(BIN)/python -m tests.infra.flink.versions | tail -n 1)
	examples/jobs/build.sh

infra-kube:
	tests/infra/kube/build.sh

lint: install
	$(BIN)/lint-imports

unit: install
	$(PYTEST) tests/unit

component: install infra
	$(PYTEST) tests/component

# One pytest per Flink version, several side by side (FLINK_MANAGER_CONTRACT_JOBS); CONTRACT_ARGS for pytest.
contract: install infra-flink infra-job
	$(BIN)/python -m tests.contract.matrix $(CONTRACT_ARGS)

e2e: install infra
	$(PYTEST) tests/e2e

reliability: install
	RELIABILITY_TRIALS=$(RELIABILITY_TRIALS) $(PYTEST) tests/reliability

test: install infra lint
	$(PYTEST) -rs tests/unit
	$(PYTEST) -rs tests/component
	$(BIN)/python -m tests.contract.matrix
	$(PYTEST) -rs tests/e2e
	RELIABILITY_TRIALS=1 $(PYTEST) -rs tests/reliability

# Figures of the operator's overhead over Flink (printed, and written to bench-results/): about 40 minutes.
bench: install infra-flink infra-job
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .flink-manager bench-results reliability-summary.json
