# Two commands do all set-up on a fresh machine with Python 3.11+ and make:
#   make demo   runs the daily job on the bundled offline example (emails land in outbox/)
#   make test   installs the test extras and runs the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench eval clean browser-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

demo: $(STAMP)
	rm -rf outbox .digest/example.db*
	$(BIN)/digest run --config examples/digest.toml
	@echo
	@echo "The emails are in outbox/ (one .eml per active subscriber):"
	@ls -1 outbox/*.eml

# Browser tests need Debian's chromium + chromium-driver; installed here when missing (root on CI).
browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    for try in 1 2 3; do \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null && break; \
	      echo "apt-get failed (try $$try), retrying"; sleep 10; \
	    done; \
	    command -v chromium >/dev/null && command -v chromedriver >/dev/null; \
	  else echo "note: chromium/chromedriver missing and not root: browser tests will be skipped"; fi; \
	fi

test: $(TSTAMP) browser-deps
	$(BIN)/pytest -q

lint: $(TSTAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(TSTAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Internal evaluation on ../shared/eval (not shipped): ROUGE against Lead-3 and LexRank.
eval: $(TSTAMP)
	$(BIN)/pip install --quiet -e '.[eval]'
	$(BIN)/python ../shared/eval/score.py --digest "$(BIN)/digest" --lexrank

clean:
	rm -rf outbox preview .digest build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
