# Stepline's two commands: `make demo` (the main job) and `make test` (the gate CI runs).
# Both create .venv on first use: `make demo` installs only the runtime packages the demo runs
# ([project.dependencies]); `make test` (and `make install`) adds the development tools ([dev]).

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
STAMP   := $(VENV)/.installed
PIP     := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: install runtime demo test lint typecheck browser unit functional e2e bench clean

# Debian packages the project uses: git (sources and their tests).
DEBIAN_PACKAGES := git

$(RUNTIME): pyproject.toml layers/stepline/requirements.txt
	@echo "==> checking for Python 3.11+ and git"
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Stepline needs Python 3.11 or newer")'
	@missing=""; for tool in $(DEBIAN_PACKAGES); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else echo "Stepline needs:$$missing (install them with your package manager)"; exit 1; fi; \
	fi
	@test -x $(BIN)/python || { echo "==> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing Stepline and its runtime packages into $(VENV) (about half a minute the first time)"
	@$(PIP) -e .
	@touch $@

runtime: $(RUNTIME)

$(STAMP): $(RUNTIME)
	@echo "==> installing the development tools into $(VENV): pytest, ruff, mypy, moto, SAM CLI, Playwright (a few minutes the first time)"
	@$(PIP) --upgrade pip
	@$(PIP) -e '.[dev]'
	@touch $@

install: $(STAMP)

# The demo: a git repository made from examples/sample-app, one commit, and the local demo
# pipeline run on the embedded engine — source, build (tests + package), approval decided
# through its review link's HTTP endpoint, release into .stepline/releases with a smoke test.
DEMO_REPO := .stepline/demo/sample-app
demo: runtime
	@echo "==> making a git repository from examples/sample-app in $(DEMO_REPO)"
	@rm -rf $(DEMO_REPO) && mkdir -p $(dir $(DEMO_REPO)) && cp -R examples/sample-app $(DEMO_REPO)
	@cd $(DEMO_REPO) && git init --quiet --initial-branch=main && git add --all && \
		git -c user.name="Stepline demo" -c user.email=demo@stepline.invalid commit --quiet \
		--message "Sample app: add numbers, with tests and a smoke test"
	@echo "==> validating and running examples/pipelines/local-demo.yaml"
	$(BIN)/stepline validate examples/pipelines/local-demo.yaml
	$(BIN)/stepline run examples/pipelines/local-demo.yaml --approve --comment "demo: tests passed"
	@echo
	@echo "Released: $$(ls -td .stepline/releases/*/ | head -1)"
	@echo "Next: $(BIN)/stepline executions · $(BIN)/stepline serve (then open the sign-in link it prints)"
	@echo "      README.md walks through a pipeline; docs/ARCHITECTURE.md explains the parts."

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

e2e: browser
	$(BIN)/pytest tests/e2e

# The console's end-to-end tests need a real browser: Debian's chromium, driven by Playwright.
browser: install
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
		else echo "the console tests need Debian's chromium (apt-get install chromium)"; exit 1; fi; }

test: lint typecheck browser
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
