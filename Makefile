# Two commands do everything:  `make dev` (run the whole system locally)  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/dev.txt requirements/sam-policies.txt src/requirements.txt pyproject.toml | sha1sum | cut -c1-12)
# checkov has a virtualenv of its own: it pins a boto3 older than the project's (requirements/checkov.txt).
CHECKOV_VENV := .venv-checkov
LAMBDA_VENV := .venv-lambda
LAMBDA_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha1sum requirements/checkov.txt | cut -c1-12)

.PHONY: install dev test lint typecheck cfn-lint checkov bandit unit e2e openapi browser browser-test web-regions bench bench-lambda load clean

$(STAMP): requirements/dev.txt requirements/sam-policies.txt src/requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --upgrade --target $(VENV)/sam-policies -r requirements/sam-policies.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@# The operations CLI on PATH too, where this machine lets us (a developer or CI machine as root).
	@if [ -w /usr/local/bin ] && [ ! -e /usr/local/bin/prakerja -o -L /usr/local/bin/prakerja ]; then \
		ln -sf "$(CURDIR)/$(VENV)/bin/prakerja" /usr/local/bin/prakerja; fi
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

$(CHECKOV_STAMP): requirements/checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements/checkov.txt
	@rm -f $(CHECKOV_VENV)/.installed-*; touch $(CHECKOV_STAMP)

## Run the whole system on this machine (moto as AWS, registry stand-in, API on 127.0.0.1:$${PRAKERJA_PORT:-3000}).
dev: install
	$(PY) -m infra.local

## Every check and every test (CI runs this).
test: install browser lint typecheck cfn-lint checkov bandit
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy src infra
	@for f in functions/*/app.py; do $(VENV)/bin/mypy --follow-imports=silent "$$f" || exit 1; done

cfn-lint: install
	$(VENV)/bin/cfn-lint template.yaml

## checkov over template.yaml: 0 failed checks; every skip sits in the template (resource Metadata) with its reason.
checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

## bandit over the code: 0 issues; every exception is a `# nosec <id> # reason` on its line.
bandit: install
	@# bandit warns about each line a multi-line nosec'd expression spans; only its findings matter
	$(VENV)/bin/bandit -q -r src functions infra 2> >(grep -v 'nosec encountered' >&2)

## docs/openapi.json from the handlers' routes and the pydantic models (a test fails when it is stale).
openapi: install
	$(PY) -m infra.openapi

unit: install
	$(PY) -m pytest -q tests/unit

e2e: install
	$(PY) -m pytest -q tests/e2e

## Debian's Chromium for the browser tests (Playwright's own browser download is not used).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing chromium with apt-get"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	fi
	@$(CHROMIUM) --version 2>/dev/null

## The web client in a real browser (screenshots in tests/browser/artifacts/).
browser-test: install browser
	$(PY) -m pytest -q tests/browser

## Copy the server's NIK region list into the web client (a test fails when they differ).
web-regions:
	cp src/prakerja/domain/data/regions.json web/regions.json

## Benchmarks (print figures; not part of `make test`).
bench: install
	$(PY) -m infra.bench.cold_start
	$(PY) -m infra.bench.aws_calls

## The cold-start benchmark on the Lambda runtime's Python (3.13): the layer's pinned dependencies
## and the repo's boto3 pin in .venv-lambda (needs python3.13 on PATH, e.g. from pyenv).
bench-lambda: install $(LAMBDA_VENV)/.stamp
	BENCH_PYTHON=$(LAMBDA_VENV)/bin/python $(PY) -m infra.bench.cold_start

$(LAMBDA_VENV)/.stamp: src/requirements.txt requirements/dev.txt
	@test -x $(LAMBDA_VENV)/bin/python || $(LAMBDA_PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/python -m pip install -q --disable-pip-version-check -r src/requirements.txt \
		$$(grep -E '^boto3==' requirements/dev.txt)
	touch $@

## The funnel under load with Locust (local stack unless LOAD_HOST / --host): LOAD_USERS, LOAD_CONCURRENCY,
## LOAD_TIME_LIMIT_S, LOAD_SCRYPT_N, LOAD_STATUS_READS; results in load-results/<run>/. See README "Load test".
load: install
	$(PY) -m infra.load $(LOAD_ARGS)

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(LAMBDA_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
