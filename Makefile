# The README's commands. Everything runs from .venv, which `make install` builds from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# checkov has pins of its own: it lives in its own venv, at a fixed version for repeatable scans.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
# Every SAM template of the repository (the stack's and the examples').
TEMPLATES = $(shell find . -name template.yaml -not -path './.venv*' -not -path './.aws-sam/*' -not -path './build/*' | sort)

.PHONY: install run test lint typecheck templatelint security lock openapi unit integration e2e bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/apitokens serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

templatelint: install
	$(BIN)/cfn-lint $(TEMPLATES)

$(CHECKOV_VENV)/.installed:
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $@

# checkov over every template; the checks it skips, each with its reason, are checkov-skips.txt.
security: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
		$(addprefix -f ,$(TEMPLATES)) --skip-check "$$(awk '!/^#/ && NF {print $$1}' checkov-skips.txt | paste -sd, -)"

# The layer's lock (layers/shared/requirements.txt), on purpose: newest versions within
# pyproject.toml's ranges, for the Lambda runtime (Python 3.12, arm64), with hashes.
lock: install
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --quiet --python-version 3.12 --python-platform aarch64-manylinux2014 \
		--generate-hashes --custom-compile-command "make lock" --output-file layers/shared/requirements.lock.tmp
	{ sed -n '/^# The shared layer/,/^# aws-xray-sdk/p' layers/shared/requirements.txt; cat layers/shared/requirements.lock.tmp; } \
		> layers/shared/requirements.txt.new
	rm layers/shared/requirements.lock.tmp
	mv layers/shared/requirements.txt.new layers/shared/requirements.txt

# openapi.json, the committed contract, regenerated from the code (a test fails when it drifts).
openapi: install
	$(BIN)/apitokens openapi > openapi.json

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install
	$(BIN)/pytest tests/e2e

test: lint typecheck templatelint security
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .aws-sam *.egg-info
