# vu: the two commands of the README, and a few for analysts.
#   make reports   install everything and produce the reports for the latest delår
#   make test      install the test dependencies and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup reports test chromium refresh-notebooks lab bench clean

$(STAMP): pyproject.toml jupyter-config/jupyter_server_config.d/vu.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
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

test: setup chromium
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

clean:
	rm -rf reports/*/ data/.exempel
