# The two commands a newcomer needs: `make run` and `make test`. Both build .venv from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
MANAGE := $(BIN)/python manage.py

.PHONY: run test lint format venv worker clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

venv: $(VENV)/.installed

run: export DJANGO_DEBUG ?= 1
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: venv
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --base-url http://127.0.0.1:$(PORT)
	$(MANAGE) runserver 127.0.0.1:$(PORT)

test: venv
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: venv
	$(BIN)/celery -A referrals_saas worker --beat --loglevel=info

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-artifacts
