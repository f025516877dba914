# TracRemoteUserAuth: `make demo` serves a throwaway Trac with the plugin,
# `make test` runs the whole suite. Both set up what they need.

PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
DEMO_DIR ?= .demo
DEMO_PORT ?= 8000
PYTEST_ARGS ?=

# Trac 1.6 imports pkg_resources, which setuptools 81 and later drop.
DEPS = 'setuptools<81' wheel Trac==1.6 'gunicorn>=22' 'psycopg2-binary' \
       pytest hypothesis

.PHONY: demo test bench venv system-packages clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(DEPS)

venv: $(PY)

system-packages:
	@bash tools/system-packages.sh

# The plugin is installed into its own folder, never into the virtualenv:
# the tests check that it loads both from pip's install and from an egg
# dropped into plugins/, which they can only tell apart that way.
demo: $(PY)
	rm -rf $(DEMO_DIR)
	$(PY) -m pip install --quiet --no-deps --no-build-isolation \
	    --target $(DEMO_DIR)/site .
	PYTHONPATH=$(DEMO_DIR)/site $(PY) tools/demo.py \
	    --dir $(DEMO_DIR) --port $(DEMO_PORT)

test: $(PY) system-packages
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(PY)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) build dist *.egg-info
