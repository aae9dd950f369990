# One command to serve, one to test; each installs what it needs into .venv first: `make run` only the
# server's libraries (requirements.txt), the others the tools on top (requirements-dev.txt), both with uv.
PYTHON ?= $(shell for candidate in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do \
	"$$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo "$$candidate"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
TEST_WORKERS ?= auto

.PHONY: run test lint bench openapi soak guarantees mutation clean

$(UV): requirements-installer.txt
	@test -n "$(PYTHON)" || { echo "Python 3.12 is needed (the Lambda runtime's version)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet -r requirements-installer.txt
	touch $(UV)

$(RUN_STAMP): $(UV) requirements.txt layers/wallet/requirements.txt
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.txt
	touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP) requirements-dev.txt
	$(UV) pip install --quiet --python $(BIN)/python -r requirements-dev.txt
	touch $(DEV_STAMP)

run: $(RUN_STAMP)
	$(BIN)/python -m local

# One worker per core, each with its own embedded worlds; tests sharing a module-scoped build stay on one worker.
# Bytecode caches are written even where the environment says not to (PYTHONDONTWRITEBYTECODE, set on CI's
# machines): each worker and each tool a test starts would otherwise compile the same sources again.
test: $(DEV_STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	# SAM's own check of the template (its transform, then cfn-lint on the result); offline, no telemetry
	SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint --template-file template.yaml
	# checkov in its own environment (its pins would downgrade the project's); remaining findings: .checkov.yaml
	$(BIN)/uvx --python $(BIN)/python --no-python-downloads --from checkov==3.3.30 checkov --config-file .checkov.yaml -f template.yaml

# After adding or changing a route: regenerates the published OpenAPI document (tests fail until it matches).
openapi: $(DEV_STAMP)
	$(BIN)/python -m local.openapi

bench: $(DEV_STAMP)
	$(BIN)/python bench/run.py

# The exploring state machine at length: SOAK_EXAMPLES runs of 40 steps from a printed seed
# (replay one with `make soak SEED=...`); its statistics are printed at the end.
SOAK_EXAMPLES ?= 200
soak: $(DEV_STAMP)
	@seed=$${SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; echo "soak seed: $$seed"; \
	WALLET_SOAK_EXAMPLES=$(SOAK_EXAMPLES) $(BIN)/python -m pytest -s -p no:cacheprovider \
		--hypothesis-seed=$$seed tests/unit/test_money_explored.py

# The review's table of issue 14: each money guarantee removed by one line, in a staged copy, its killers run RUNS times.
RUNS ?= 3
guarantees: $(DEV_STAMP)
	nice -n 10 $(BIN)/python -m tests.guarantees --runs $(RUNS) --only "$(ONLY)"

# Mutation testing of the money modules (MODULES=ledger for one), one at a time, niced: CPU-heavy.
MODULES ?= commission money idempotency requests_store ledger_store ledger transfers payments approval
mutation: $(DEV_STAMP)
	rm -rf .mutation && mkdir -p .mutation/src
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t .mutation
	mv .mutation/layers/wallet/wallet .mutation/src/wallet
	# local/lambdas.py names the layer's packages from the layer's folder: an empty stand-in keeps the name,
	# and src/ (first on the path) still serves the mutated modules.
	mkdir .mutation/layers/wallet/wallet && touch .mutation/layers/wallet/wallet/__init__.py
	sed -i 's#pythonpath = \[".", "layers/wallet"\]#pythonpath = [".", "src"]#' .mutation/pyproject.toml
	ln -s ../$(VENV) .mutation/$(VENV)
	cd .mutation && for module in $(MODULES); do \
		nice -n 19 $(BIN)/mutmut run --max-children 1 "wallet.$$module.*" || exit 1; done
	cd .mutation && $(BIN)/mutmut results

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .mutation
