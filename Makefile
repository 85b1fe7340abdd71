# django-apikeys — developer commands. `make demo` and `make test` work on a fresh machine.

SHELL := /bin/bash
# The newest Python that runs the newest Django (6.x needs 3.12+); falls back to python3.
PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12 $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 python3.12 2>/dev/null) python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make demo` has a light venv of its own: the package and the example's extras
# only (no test, docs or dev toolchain), so it answers within a minute.
DEMO_VENV ?= .venv-demo
DEMO_PY := $(DEMO_VENV)/bin/python
DEMO_STAMP := $(DEMO_VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help venv demo test test-sqlite test-postgres test-compat test-fast docs bench lint typecheck clean openapi messages

help:
	@echo "make demo         run the example project on SQLite with demo data (http://$(HOST):$(PORT))"
	@echo "make test         every stage: lint, types, SQLite, PostgreSQL, live (Redis), browser, tox, docs;"
	@echo "                  a missing service fails; one summary line per stage; branch coverage"
	@echo "make test-fast    the suite on SQLite without browser, live-server and PostgreSQL-only tests"
	@echo "make test-compat  the suite at the matrix boundaries (tox): lowest and highest Python/Django/DRF"
	@echo "make docs         build the Sphinx docs (warnings are errors)"
	@echo "make bench        the authentication benchmark (see bench/README.rst)"
	@echo "make openapi      regenerate example_project/openapi.yaml (the committed schema)"
	@echo "make messages     refresh the translation catalogues (locale/*/django.po) and compile them"

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,docs,dev]"
	touch $(STAMP)

venv: $(STAMP)

$(DEMO_STAMP): pyproject.toml
	test -x $(DEMO_PY) || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_PY) -m pip install -q --disable-pip-version-check --no-compile -e ".[demo]"
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	cd example_project && DATABASE_URL=sqlite:///$(CURDIR)/demo.sqlite3 ../$(DEMO_PY) manage.py migrate --noinput -v 0
	cd example_project && DATABASE_URL=sqlite:///$(CURDIR)/demo.sqlite3 ../$(DEMO_PY) manage.py seed_demo --host http://$(HOST):$(PORT)
	cd example_project && DATABASE_URL=sqlite:///$(CURDIR)/demo.sqlite3 ../$(DEMO_PY) manage.py runserver $(HOST):$(PORT)

test-sqlite: venv
	$(PY) -m pytest -m "not live and not postgres"

test-postgres: venv
	scripts/with-postgres.sh $(PY) -m pytest -m "not browser"

# The only target that may skip tests whose service is missing (tests/needs.py).
test-fast: venv
	APIKEYS_TESTS_STRICT=0 $(PY) -m pytest -m "not browser and not live and not postgres" -x -q

# The boundaries of the supported matrix, from the built wheel (the full matrix: tox.ini).
test-compat: venv
	# pyenv's interpreters go on PATH directly: tox's discovery runs them without pyenv's shims.
	PATH="$$(ls -d $(HOME)/.pyenv/versions/3.1[1-9]*/bin 2>/dev/null | tr '\n' ':')$$PATH" $(PY) -m tox $(TOX_ARGS) -p 2 -e py311-django52-drf316,py313-django61-drf318 -- -q

docs: venv
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

# Every stage runs; the summary at the end says which failed (scripts/test-all.sh).
test: venv
	PY=$(PY) scripts/test-all.sh

bench:
	bench/run.sh

openapi: venv
	cd example_project && DJANGO_SETTINGS_MODULE=example.settings DATABASE_URL=sqlite:///$(CURDIR)/demo.sqlite3 ../$(PY) manage.py spectacular --validate --fail-on-warn --file openapi.yaml

# Refresh every catalogue under django_apikeys/locale/ from the marked strings,
# then compile. New strings arrive with an empty msgstr and changed ones as
# "#, fuzzy": translate them in django.po (e.g. `grep -n -B3 'msgstr ""$'` or
# `msgattrib --untranslated --only-fuzzy`), remove the fuzzy flags, and run
# `make messages` again. tests/test_translations.py fails until none is left.
messages: venv
	cd django_apikeys && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=$(CURDIR):$(CURDIR)/example_project $(abspath $(PY)) -m django makemessages --all --no-obsolete
	cd django_apikeys && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=$(CURDIR):$(CURDIR)/example_project $(abspath $(PY)) -m django compilemessages

lint: venv
	$(PY) -m ruff check django_apikeys tests example_project bench
	$(PY) -m ruff format --check django_apikeys tests example_project bench

typecheck: venv
	PYTHONPATH=.:example_project $(PY) -m mypy django_apikeys

clean:
	rm -rf $(VENV) $(DEMO_VENV) docs/_build .pgdata demo.sqlite3 test-artifacts .coverage .coverage.* test-coverage.txt
