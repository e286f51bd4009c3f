# Quick start: `make run` (serve with demo data) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := FLASK_APP=app.py $(BIN)/flask
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run db test test-pg bench lint fmt clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

db: install
	$(FLASK) db upgrade
	$(FLASK) bank import quizbank/banks/peer-specialist
	$(FLASK) demo seed

run: db
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C to stop)"
	$(FLASK) run --host $(HOST) --port $(PORT)

# The browser tests drive Debian's chromium (Playwright's own browser downloads do not work here);
# the application packet's PDF text is read back with poppler's pdftotext.
test: install
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	@command -v pdftotext >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null)
	$(BIN)/pytest

test-pg: install
	TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test $(BIN)/pytest

bench: install
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/bandit -q -c pyproject.toml --severity-level medium -r app quizbank
	$(BIN)/python -m quizbank validate quizbank/banks/peer-specialist
	$(BIN)/python -m quizbank audit quizbank/banks/peer-specialist

fmt: install
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache *.egg-info
