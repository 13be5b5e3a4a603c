# The two commands a newcomer needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# Three workers on two cores: much of the suite waits on fsync, subprocesses and the
# browser, so a third worker fills the gaps (each worker gets its own PostgreSQL database).
XDIST ?= -n 3 --dist worksteal

.PHONY: run test install env migrate lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Every time: an existing .env gets the secrets it lacks (what it has is kept).
env: install
	$(PY) -m engine.dotenv .env

migrate: install env
	$(VENV)/bin/hudur migrate

run: migrate
	$(VENV)/bin/hudur serve

# The whole suite; PostgreSQL tests run too when HUDUR_TEST_POSTGRES_URL is set.
test: install
	$(VENV)/bin/pytest $(XDIST) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy rules
	$(VENV)/bin/mypy engine webhooks store scheduler
	$(VENV)/bin/mypy bench tests/support

bench: install
	$(PY) -m bench.ingest

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis hudur.db hudur.db-wal hudur.db-shm
