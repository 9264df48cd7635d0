# vu: the two commands of the README, and a few for analysts.
#   make reports   install everything and produce the reports for the latest delår
#   make test      install the test dependencies and run the whole test suite
#   (append UV=uv to install with uv instead of pip)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup reports test chromium axe refresh-notebooks lab bench clean

# UV=uv installs with uv (https://pypi.org/project/uv/) instead of pip: about 5 s instead of 90 s.
UV ?=

$(STAMP): pyproject.toml jupyter-config/jupyter_server_config.d/vu.json
ifeq ($(strip $(UV)),)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
else
	test -x $(BIN)/python || $(UV) venv --seed --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(BIN)/python -e '.[lab,test]'
endif
	mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	cp jupyter-config/jupyter_server_config.d/vu.json $(VENV)/etc/jupyter/jupyter_server_config.d/
	touch $(STAMP)

setup: $(STAMP)

reports: setup
	$(BIN)/vu run

# Headless Chromium for the offline-HTML test (Debian package; needs root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; \
	  else echo "chromium saknas och kan inte installeras här (kräver root och apt-get): webbläsartestet hoppas över"; fi; }

# axe-core for the accessibility test (tests/test_a11y.py): npm package pinned in tests/axe/package-lock.json,
# installed into tests/axe/node_modules (git-ignored); the test loads the file, the page stays offline.
# npm itself comes from Debian (nodejs, npm) when missing and we run as root, as CI does.
axe:
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "npm saknas och kan inte installeras här (kräver root och apt-get): tillgänglighetstestet hoppas över"; fi; }
	@if command -v npm >/dev/null 2>&1 && [ ! -f tests/axe/node_modules/axe-core/axe.min.js ]; then \
	  npm ci --prefix tests/axe --no-audit --no-fund --silent; fi

test: setup chromium axe
	$(BIN)/python -m pytest -n 2 tests
	$(BIN)/python -m pytest --nbval tests/notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly

# Execute notebooks/*.ipynb with their default parameters and store the outputs in
# tests/notebooks/, the baselines nbval compares against. Run on purpose, review the diff.
refresh-notebooks: setup
	$(BIN)/python -m vu_lib.publish.notebooks refresh

lab: setup
	$(BIN)/vu lab

bench: setup
	$(BIN)/python benchmarks/bench_model.py
	$(BIN)/python benchmarks/bench_batch.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_lab.py

clean:
	rm -rf reports/*/ data/.exempel
