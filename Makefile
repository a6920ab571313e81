# Flink Manager: the two set-up commands are `make dev` and `make test`.
# Everything is installed into git-ignored folders: .venv/ (Python) and .cache/
# (pip wheels, the Flink distributions 1.18 to 2.3, Go-built Kubernetes binaries and helm, the job jars).

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

.PHONY: install dev test lint format unit component contract e2e reliability bench bench-full image infra infra-flink \
	infra-kube infra-job infra-job-newest infra-image infra-prometheus infra-helm clean

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
# built against each, a real kube-apiserver/etcd/kubectl built from Go modules, and Prometheus/promtool from
# Debian's package; each is cached and rebuilt only when its pin changes. helm (built from Go modules too, for
# the chart tests of the e2e tier) is `infra-helm`: `make test` builds it in the background while the tiers
# before e2e run.
infra: infra-flink infra-job infra-kube infra-prometheus

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

# The operator's image from deploy/Dockerfile, cached by a hash of its inputs; prints its size and Python packages.
# Docker builds it where its daemon answers (on the public Python base); elsewhere podman (installed from Debian's
# packages when missing) on a Debian bookworm base that mmdebstrap makes from Debian's packages.
image:
	tests/infra/image/build.sh

# The image the e2e tier runs: always with podman (a network of the container's own that reaches this machine's
# loopback, where the tests' API server and Flink listen), on the Debian base.
infra-image:
	FLINK_MANAGER_CONTAINER_ENGINE=podman tests/infra/image/build.sh

# Static checks (tools/lint.py prints one table of figures and fails when one crosses its limit). LINT_FORMAT=1
# also checks the format and the import order (ruff format --check, ruff's I001); `make format` fixes both.
# The limits: MAX_MODULE_LINES and MAX_FUNCTION_LINES (reconcile/ and controller/), MAX_RUFF, MAX_MYPY,
# MAX_DUPLICATES (pylint's duplicate-code over operator/) and MAX_DEAD (vulture over operator/).
LINT_FORMAT ?= 1
MAX_MODULE_LINES ?= 400
MAX_FUNCTION_LINES ?= 50
MAX_RUFF ?= 0
MAX_MYPY ?= 0
MAX_DUPLICATES ?= 0
MAX_DEAD ?= 0
LINT_ARGS := --max-module-lines $(MAX_MODULE_LINES) --max-function-lines $(MAX_FUNCTION_LINES) \
	--max-ruff $(MAX_RUFF) --max-mypy $(MAX_MYPY) --max-duplicates $(MAX_DUPLICATES) --max-dead $(MAX_DEAD) \
	$(if $(filter 1,$(LINT_FORMAT)),--format-check)

infra-prometheus:
	tests/infra/prometheus/install.sh

infra-helm:
	tests/infra/helm/build.sh

lint: install
	$(BIN)/python tools/lint.py $(LINT_ARGS)

format: install
	$(BIN)/ruff check --select I --fix operator devstack tests tools
	$(BIN)/ruff format operator devstack tests tools

unit: install
	$(PYTEST) tests/unit

component: install infra
	$(PYTEST) tests/component

# One pytest per Flink version, several side by side (FLINK_MANAGER_CONTRACT_JOBS); CONTRACT_ARGS for pytest.
contract: install infra-flink infra-job
	$(BIN)/python -m tests.contract.matrix $(CONTRACT_ARGS)

e2e: install infra infra-image infra-helm
	$(PYTEST) tests/e2e

# The real-fault tier (tests/reliability/real) runs the real kube-apiserver, etcd and Flink.
reliability: install infra
	RELIABILITY_TRIALS=$(RELIABILITY_TRIALS) $(PYTEST) tests/reliability

# helm is compiled in the background (log: .cache/helm/build.log) while unit, component and contract run; the
# second build.sh waits for it (a lock), and builds again if it failed (showing the background log if that fails).
# The infrastructure and the static checks side by side (downloads overlap the Go build; apt-get calls take turns
# on a lock), each target's output printed whole when it ends.
test: install
	$(MAKE) -j4 --output-sync=target infra infra-image lint
	mkdir -p $(CACHE)/helm && (tests/infra/helm/build.sh >$(CACHE)/helm/build.log 2>&1 &)
	$(PYTEST) -rs tests/unit
	$(PYTEST) -rs tests/component
	$(BIN)/python -m tests.contract.matrix
	tests/infra/helm/build.sh || { cat $(CACHE)/helm/build.log; exit 1; }
	$(PYTEST) -rs tests/e2e
	RELIABILITY_TRIALS=1 $(PYTEST) -rs tests/reliability

# Figures of the operator's overhead over Flink (printed, and written to bench-results/bench.json): `make bench`
# the headline figures in about 7 minutes (N = 200, 1,000 and 2,000 on the simulator, a short steady
# state and an operator restart at 2,000, a whole-cluster recovery at 500); `make bench-full` the whole sweep
# (N from 50 to 2,000, 5-minute steady states, reaction to failures, a real Flink point): about 40 minutes.
BENCH_QUICK := --overhead-n 200,1000,2000 --scale-n 2000 --repeat 3 --repeat-large 1 --steady-seconds 30 \
	--probes 0 --restart-n 2000 --recovery-n 500 --no-real-flink
bench: install
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m tests.bench $(BENCH_QUICK) $(BENCH_ARGS)

bench-full: install infra-flink infra-job
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .flink-manager bench-results reliability-summary.json .mypy_cache
