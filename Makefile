# 12366 智能咨询 — `make run` sets up and runs the product; `make test` runs every check.
# Idempotent: environments are rebuilt only when pyproject.toml / bot/requirements-rasa.txt change
# (stamp files under .stamps/ named by their content hash); models and the index skip unchanged inputs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
RASA_VENV := .venv-rasa
TAXBOT := $(VENV)/bin/taxbot

APP_STAMP := .stamps/app-venv-$(shell sha256sum pyproject.toml | cut -c1-16)
RASA_STAMP := .stamps/rasa-venv-$(shell sha256sum bot/requirements-rasa.txt | cut -c1-16)

.PHONY: help venv venv-rasa model kb bot-model browser nginx run run-scaled test lint clean distclean

help:
	@echo "make run        set up everything and run the product (Rasa + app) on the shipped knowledge base"
	@echo "make test       set up, then ruff and the whole pytest suite (incl. the real Rasa round trip)"
	@echo "make run-scaled APPS=2 RASAS=2   app and Rasa replicas behind nginx (PostgreSQL + Redis; README)"
	@echo "make venv | venv-rasa | model | kb | bot-model | lint | clean | distclean"

venv: $(APP_STAMP)
$(APP_STAMP):
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e . --group dev
	@if $(VENV)/bin/python -c 'import rasa' 2>/dev/null; then \
		echo "error: 'rasa' is installed in $(VENV); it belongs only in $(RASA_VENV) (run make distclean)"; exit 1; fi
	@mkdir -p .stamps && rm -f .stamps/app-venv-* && touch $@

venv-rasa: $(RASA_STAMP)
$(RASA_STAMP):
	test -x $(RASA_VENV)/bin/python || $(PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --upgrade pip
	$(RASA_VENV)/bin/pip install --quiet --no-deps -r bot/requirements-rasa.txt
	$(RASA_VENV)/bin/pip install --quiet --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
	@mkdir -p .stamps && rm -f .stamps/rasa-venv-* && touch $@

model: venv
	$(TAXBOT) kb train-model

kb: venv model
	$(TAXBOT) kb init

bot-model: venv venv-rasa
	$(TAXBOT) train-bot

run: venv venv-rasa model kb bot-model
	$(TAXBOT) serve

# scaled mode (README "Scaled mode"): TAXBOT_DATABASE_URL and TAXBOT_TRACKER_STORE_URL on PostgreSQL,
# TAXBOT_LOCK_STORE_URL on Redis must be set; `taxbot serve-scaled` refuses SQLite with a clear message
APPS ?= 2
RASAS ?= 2
run-scaled: venv venv-rasa model bot-model nginx
	$(TAXBOT) kb init
	$(TAXBOT) serve-scaled --apps $(APPS) --rasas $(RASAS)

lint: venv
	$(VENV)/bin/ruff check .

test: venv venv-rasa model bot-model browser nginx
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

# headless Chromium (Debian's) for the browser tests; CJK font so screenshots show Chinese text
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei; fi

# nginx (Debian's) as the reverse proxy of scaled mode; run by `taxbot serve-scaled` as a child process
nginx:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; fi

clean:
	rm -rf var .stamps .pytest_cache .ruff_cache .benchmarks .hypothesis test-artifacts .rasa
	find . -path ./.venv -prune -o -path ./.venv-rasa -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(RASA_VENV) *.egg-info
