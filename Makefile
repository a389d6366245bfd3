# planner: every target sets up .venv itself; `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RESULTS ?= results
INSTANCE ?= instances/deepseek-2025-02-28.yaml
WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help run test test-fast docs reproduce frontier mixed training reseller reseller-portfolio sweep margins claims simulate trace bench validate clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP) ## solve the reference day and print the plan beside the published 226.75 nodes
	$(BIN)/planner solve $(INSTANCE) --out $(RESULTS)/deepseek-2025-02-28 --overwrite
	@echo "files written under $(RESULTS)/deepseek-2025-02-28/"

test: $(STAMP) ## run the test suite (all of it)
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## the tests without sweeps, Dask, fuzzing and whole studies (under a minute)
	$(BIN)/python -m pytest -m "not slow"

docs: $(STAMP) ## regenerate the generated parts of docs/ (field tables, family sections)
	$(BIN)/python -m planner.report.docs

reproduce: $(STAMP) ## recompute the published arithmetic and set the optimized day beside it
	$(BIN)/planner reproduce --out $(RESULTS)/reproduce --overwrite
	@echo "files written under $(RESULTS)/reproduce/"

frontier: $(STAMP) ## plan cost of the reference day against promised decode speed and TTFT
	$(BIN)/planner frontier $(INSTANCE) --out $(RESULTS)/frontier --overwrite
	@echo "files written under $(RESULTS)/frontier/"

mixed: $(STAMP) ## two served models on owned H800 plus rented H100 and H20 nodes
	$(BIN)/planner solve instances/mixed-fleet.yaml --out $(RESULTS)/mixed-fleet --overwrite
	@echo "files written under $(RESULTS)/mixed-fleet/"

training: $(STAMP) ## the reference day on 278 owned nodes: how much training fits overnight, and when
	$(BIN)/planner solve instances/overnight-training.yaml --out $(RESULTS)/overnight-training --overwrite
	@echo "files written under $(RESULTS)/overnight-training/ (training.csv: each job's start, end and nodes)"

reseller: $(STAMP) ## a reseller's stable service: fleet, provisioning ratio, margin, out-of-sample check, scale sweep
	$(BIN)/planner reseller instances/reseller.yaml --out $(RESULTS)/reseller --overwrite --workers $(WORKERS) \
		--slo-share none,0.8,0.9,0.95,0.99 \
		--compare-with reference/deepseek-2025-02-28.yaml --compare-with reference/luchen-2025-03-01-claim.yaml
	@echo "files written under $(RESULTS)/reseller/"

reseller-portfolio: $(STAMP) ## the reseller's fleet as bought: year's term, month's lease, on-demand, spot, H800 or H20 (about 30 min)
	$(BIN)/planner reseller instances/reseller-portfolio.yaml --out $(RESULTS)/reseller-portfolio --overwrite \
		--workers $(WORKERS) --volumes 1e9,1e10,1e11,1e12 \
		--compare-with reference/deepseek-2025-02-28.yaml --compare-with reference/luchen-2025-03-01-claim.yaml
	@echo "files written under $(RESULTS)/reseller-portfolio/"

sweep: $(STAMP) ## the reference day's margin against output price and against volume (WORKERS=2)
	$(BIN)/planner sweep sweeps/reference-output-price.yaml --out $(RESULTS)/sweeps/reference-output-price --workers $(WORKERS) --overwrite
	$(BIN)/planner sweep sweeps/reference-volume.yaml --out $(RESULTS)/sweeps/reference-volume --workers $(WORKERS) --overwrite
	@echo "files written under $(RESULTS)/sweeps/ (cases.csv, sweep.png, cases/*.json)"

margins: $(STAMP) ## from the published 545 % to a real margin: waterfall, gross margins, marginal cost, break-even
	$(BIN)/planner margins $(INSTANCE) --out $(RESULTS)/margins --overwrite
	@echo "files written under $(RESULTS)/margins/"

claims: $(STAMP) ## the quitting reseller's two claims beside planner's reseller plans, and when each holds
	$(BIN)/planner claims instances/reseller.yaml --claim reference/luchen-2025-03-01-claim.yaml \
		--claim reference/luchen-2025-03-01-cost-claim.yaml --workers $(WORKERS) --out $(RESULTS)/claims --overwrite
	@echo "files written under $(RESULTS)/claims/ (claims.md, claims.json)"

simulate: $(STAMP) ## the reference day's plan replayed request by request (synthetic traffic, about 30 s)
	$(BIN)/planner solve $(INSTANCE) --out $(RESULTS)/simulate --overwrite
	$(BIN)/planner simulate $(RESULTS)/simulate --overwrite
	@echo "files written under $(RESULTS)/simulate/ (sim.csv, sim.json, sim.png beside the plan)"

TRACE := traces/AzureLLMInferenceTrace_code.csv
trace: $(STAMP) ## a request log to a plan and back: the Azure coding hour, planned and replayed against itself
	$(BIN)/planner demand from-trace $(TRACE) --out $(RESULTS)/azure-code/azure-code-demand.csv --period-minutes 5 --served-model coder --overwrite
	$(BIN)/planner solve instances/azure-code.yaml --out $(RESULTS)/azure-code/plan --overwrite
	$(BIN)/planner simulate $(RESULTS)/azure-code/plan --trace $(TRACE) --overwrite
	@echo "files written under $(RESULTS)/azure-code/ (the trace's demand and statistics; the plan with sim.csv, sim.json, sim.png)"

bench: $(STAMP) ## the quick tier of the benchmark suite (python -m bench.run --tier full for all of it)
	$(BIN)/python -m bench.run --tier quick --out $(RESULTS)/bench
	@echo "files written under $(RESULTS)/bench/ (bench-quick.csv and .md); docs/performance.md has the full tier"

validate: $(STAMP) ## validate every shipped instance
	@for f in instances/*.yaml; do $(BIN)/planner validate $$f || exit $$?; done

clean: ## remove results/ (keeps .venv)
	rm -rf $(RESULTS)
