# Two commands do everything:  `make dev` (run the whole system locally)  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/dev.txt src/requirements.txt pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install dev test lint typecheck cfn-lint unit e2e bench load clean

$(STAMP): requirements/dev.txt src/requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -r requirements/dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	@# The operations CLI on PATH too, where this machine lets us (a developer or CI machine as root).
	@if [ -w /usr/local/bin ] && [ ! -e /usr/local/bin/prakerja -o -L /usr/local/bin/prakerja ]; then \
		ln -sf "$(CURDIR)/$(VENV)/bin/prakerja" /usr/local/bin/prakerja; fi
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

## Run the whole system on this machine (moto as AWS, registry stand-in, API on 127.0.0.1:$${PRAKERJA_PORT:-3000}).
dev: install
	$(PY) -m infra.local

## Every check and every test (CI runs this).
test: install lint typecheck cfn-lint
	$(PY) -m pytest -q -p no:cacheprovider

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy src infra
	@for f in functions/*/app.py; do $(VENV)/bin/mypy --follow-imports=silent "$$f" || exit 1; done

cfn-lint: install
	$(VENV)/bin/cfn-lint template.yaml

unit: install
	$(PY) -m pytest -q tests/unit

e2e: install
	$(PY) -m pytest -q tests/e2e

## Benchmarks (print figures; not part of `make test`).
bench: install
	$(PY) -m infra.bench.cold_start
	$(PY) -m infra.bench.aws_calls

## The funnel under load with Locust (local stack unless LOAD_HOST / --host): LOAD_USERS, LOAD_CONCURRENCY,
## LOAD_TIME_LIMIT_S, LOAD_SCRYPT_N, LOAD_STATUS_READS; results in load-results/<run>/. See README "Load test".
load: install
	$(PY) -m infra.load $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
