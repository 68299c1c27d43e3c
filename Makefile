# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint check-python

check-python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3.11 --version)"; exit 1; }

$(STAMP): pyproject.toml | check-python
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(VENV)/bin/evalroom --data-dir data/demo demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(STAMP) lint
	bash scripts/install-chromium.sh || test "$$CI" != true  # browser tests skip without it, except in CI
	sh scripts/install-fonts.sh || test "$$CI" != true  # the report's CJK font; PDF tests skip without it
	sh scripts/install-media.sh || test "$$CI" != true  # Janus, coturn: their tests skip without them
	sh scripts/fetch-ocds-schema.sh || test "$$CI" != true  # the published OCDS schema for test_ocds
	$(VENV)/bin/pytest -n 2 --dist loadfile  # two workers, each file on one (README, Tests)
