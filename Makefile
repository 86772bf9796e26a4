# Stepline's two commands: `make demo` (the main job) and `make test` (the gate CI runs).
# Both create .venv and install everything from pyproject.toml on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit functional e2e bench clean

# Debian packages the project uses: git (sources and their tests).
DEBIAN_PACKAGES := git

$(STAMP): pyproject.toml layers/stepline/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Stepline needs Python 3.11 or newer")'
	@missing=""; for tool in $(DEBIAN_PACKAGES); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else echo "Stepline needs:$$missing (install them with your package manager)"; exit 1; fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Until the local engine lands, the demo validates, draws and compiles the example pipelines.
demo: install
	$(BIN)/stepline validate examples/pipelines/*.json examples/pipelines/*.yaml
	@for pipeline in examples/pipelines/*.json examples/pipelines/*.yaml; do \
		echo; $(BIN)/stepline graph "$$pipeline" || exit $$?; done
	@mkdir -p build/asl
	@for pipeline in examples/pipelines/*.json examples/pipelines/*.yaml; do \
		name=$$(basename "$${pipeline%.*}"); \
		$(BIN)/stepline compile "$$pipeline" -o "build/asl/$$name.asl.json" || exit $$?; done
	@echo; echo "Compiled state machines are in build/asl/. Next: docs/ARCHITECTURE.md"

# template.yaml is checked offline: SAM's transform and cfn-lint need no AWS account.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

functional: install
	$(BIN)/pytest tests/functional

test: lint typecheck
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
