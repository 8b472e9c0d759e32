# Everyday commands. `make run` and `make test` set everything up on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint format typecheck bench sbom install install-dev translations vendor clean

run: install ## Set up and start the app (SQLite, one process)
	$(BIN)/python app.py

# On every core (pytest-xdist; tests/conftest.py keeps the PostgreSQL servers' tests on one).
PARALLEL = -n auto --dist loadgroup

test: install-dev ## Set up and run the whole test suite
	$(BIN)/python -m pytest $(PARALLEL)

test-fast: install-dev ## Everything except the end-to-end tests against real servers
	$(BIN)/python -m pytest $(PARALLEL) -m "not e2e"

lint: install-dev ## Style and static checks, and the layers of the house
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/reuse lint --lines

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev ## Benchmarks (print figures; never part of the tests)
	$(BIN)/python -m bench

# Generated, not kept in git: it describes the installation it is made from (see sbom/build.py).
sbom: $(VENV)/.installed-dev ## The software bill of materials (CycloneDX JSON) of the app's Python packages
	$(BIN)/python sbom/build.py sbom/samsyn.cdx.json

install: $(VENV)/.installed translations/.compiled
# The test tools; npm's copy of the browser's client, against which tests check static/vendor/;
# the OpenID provider the single sign-on tests log in through (tests/oidc, never served).
install-dev: install $(VENV)/.installed-dev node_modules/.installed tests/oidc/node_modules/.installed

$(VENV)/.installed: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

tests/oidc/node_modules/.installed: tests/oidc/package.json tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Message catalogues are compiled at set-up (and by the app at start when missing or
# older than their text); the .mo files are not kept in git.
translations/.compiled: $(wildcard translations/*/LC_MESSAGES/messages.po) $(VENV)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d translations
	touch $@

translations: install ## Re-extract UI strings and update the catalogues
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output --no-wrap \
		--project Samsyn -o translations/messages.pot .
	$(BIN)/pybabel update --no-wrap --ignore-obsolete --no-fuzzy-matching -i translations/messages.pot -d translations

vendor: node_modules/.installed ## Copy the browser's Socket.IO client from npm into static/vendor/
	cp node_modules/socket.io-client/dist/socket.io.esm.min.js \
		node_modules/socket.io-client/dist/socket.io.esm.min.js.map static/vendor/
	cp node_modules/socket.io-client/LICENSE static/vendor/socket.io-client.LICENSE

clean:
	rm -rf $(VENV) node_modules tests/oidc/node_modules translations/.compiled
