# Haneul: `make run` starts the console, `make test` runs every test. Both set up what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := run
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PO := $(wildcard locale/*/LC_MESSAGES/django.po)
MO := $(PO:.po=.mo)

# Development values for `make run` (production takes its own from the environment; see README).
RUN_ENV := HANEUL_DEBUG=$${HANEUL_DEBUG:-1}

.PHONY: run test bench install services messages makemessages static check lint format lock icons clean openstack openstack-stop

$(VENV)/.installed: requirements.lock tools/bootstrap.sh tools/lib.sh
	@tools/bootstrap.sh
	@touch $@

install: $(VENV)/.installed

services:
	@tools/services.sh

locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po
	@msgfmt --check-format -o $@ $<

messages: $(MO)

run: install services messages
	@mkdir -p .run
	@$(RUN_ENV) $(PY) manage.py prepare | tee .run/logins.txt
	@$(RUN_ENV) exec $(PY) tools/run.py

# The local OpenStack on 127.0.0.1 (docs/openstack.md): brings it up, or reuses the healthy one already running.
openstack: install
	@tools/openstack/up.sh

# Stops only the processes `make openstack` started from this clone (its PID files under .openstack/run/).
openstack-stop:
	@python3 tools/openstack/stack.py stop

# The whole suite: lint, the layer contract, then pytest (browser tests last). No test run = failure.
# The OpenStack tests need the local OpenStack: if it cannot come up, the run fails here, saying why.
test: install services messages openstack
	@tools/browser.sh
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/lint-imports --no-cache
	@rc=0; $(BIN)/pytest || rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests: that is a failure." >&2; exit 1; fi; \
	  exit $$rc

# The benchmarks at scale (bench/README.md): seeds 100,000 servers into the development database (the one `make run`
# uses; `bench/seed_servers.py --remove` takes them out again) and prints the figures of every page, API and live case.
bench: install services messages
	@$(RUN_ENV) $(PY) manage.py prepare >/dev/null
	@$(RUN_ENV) $(PY) bench/seed_servers.py
	@$(RUN_ENV) $(PY) bench/server_pages.py
	@$(RUN_ENV) $(PY) bench/live_latency.py

lint: install
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-cache

format: install
	@$(BIN)/ruff check --fix . && $(BIN)/ruff format .

# Refresh the catalogues after changing strings, then translate the new entries in locale/ko.
makemessages: install
	@$(PY) manage.py makemessages -l ko -l en --no-obsolete --ignore=.venv --ignore=.run --ignore=tests

# Re-pin dependencies after editing pyproject.toml.
lock: install
	@$(BIN)/uv pip compile --system-certs pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock -q

clean:
	rm -rf .run test-results
