# Flink Manager: the two set-up commands are `make dev` and `make test`.
# Everything is installed into git-ignored folders: .venv/ (Python) and .cache/
# (pip wheels, the Flink 2.3 distribution, Go-built Kubernetes binaries and helm, the job jar).

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

.PHONY: install dev test lint unit component contract e2e reliability bench infra infra-flink infra-kube infra-job \
	infra-prometheus infra-helm clean

install: $(VENV)/.installed

# flink-manager (the operator) and flink-manager-dev (devstack/: the two fakes and the dev stack, which the
# operator's image does not install).
$(VENV)/.installed: pyproject.toml devstack/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]' -e ./devstack
	touch $@

dev: install infra-job
	$(BIN)/flink-manager dev

# Real Flink 2.3 (jars from the PyPI package), the example job jar, a real kube-apiserver/etcd/kubectl built
# from Go modules, and Prometheus/promtool from Debian's package; each is cached and rebuilt only when its pin
# changes. helm (built from Go modules too, for the chart tests of the e2e tier) is `infra-helm`: `make test`
# builds it in the background while the tiers before e2e run.
infra: infra-flink infra-job infra-kube infra-prometheus

infra-flink: install
	tests/infra/flink/install.sh

infra-job: infra-flink
	examples/jobs/build.sh

infra-kube:
	tests/infra/kube/build.sh

infra-prometheus:
	tests/infra/prometheus/install.sh

infra-helm:
	tests/infra/helm/build.sh

lint: install
	$(BIN)/lint-imports

unit: install
	$(PYTEST) tests/unit

component: install infra
	$(PYTEST) tests/component

contract: install infra-flink infra-job
	$(PYTEST) tests/contract

e2e: install infra infra-helm
	$(PYTEST) tests/e2e

reliability: install
	RELIABILITY_TRIALS=$(RELIABILITY_TRIALS) $(PYTEST) tests/reliability

# helm is compiled in the background (log: .cache/helm/build.log) while unit, component and contract run; the
# second build.sh waits for it (a lock), and builds again if it failed (showing the background log if that fails).
test: install infra lint
	mkdir -p $(CACHE)/helm && (tests/infra/helm/build.sh >$(CACHE)/helm/build.log 2>&1 &)
	$(PYTEST) -rs tests/unit
	$(PYTEST) -rs tests/component
	$(PYTEST) -rs tests/contract
	tests/infra/helm/build.sh || { cat $(CACHE)/helm/build.log; exit 1; }
	$(PYTEST) -rs tests/e2e
	RELIABILITY_TRIALS=1 $(PYTEST) -rs tests/reliability

# Figures of the operator's overhead over Flink (printed, and written to bench-results/): about 40 minutes.
bench: install infra-flink infra-job
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .flink-manager bench-results reliability-summary.json
