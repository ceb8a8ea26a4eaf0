# Two commands do all set-up on a fresh machine with Python 3.11+ and make:
#   make demo   runs the daily job on the bundled offline example (emails land in outbox/)
#   make test   installs the test extras and runs the test suite
# and one opens the editors' desk on a fresh draft of the example:
#   make desk   prepares today's edition in a scratch store (.digest/desk.db) and serves the desk
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: demo desk test lint bench eval clean system-deps

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
	@echo
	@echo "Next (the example's config is examples/digest.toml; every command takes --config):"
	@printf '  %-60s # %s\n' \
	  "$(BIN)/digest status --config examples/digest.toml" "what ran, what was sent, the feeds" \
	  "$(BIN)/digest edition show --config examples/digest.toml" "the edition as it went out" \
	  "make desk" "the editors' desk on a fresh draft" \
	  "$(BIN)/digest init mynews" "start your own newsletter in mynews/"

# The editors' desk on a draft nobody has received: today's edition of the example, prepared
# afresh in a scratch store, served until Ctrl-C; its sends (approve, tests) go to .digest/desk-outbox/.
desk: $(STAMP)
	rm -rf .digest/desk.db* .digest/desk-outbox
	$(BIN)/digest edition prepare --config examples/digest.toml --db .digest/desk.db
	$(BIN)/digest serve --config examples/digest.toml --db .digest/desk.db --transport file:.digest/desk-outbox

# Browser tests need Debian's chromium + chromium-driver, the PostgreSQL tests Debian's
# postgresql (each test session starts a cluster of its own); installed here when missing
# (root on CI). Without them those tests skip, saying why.
PG_CTL = $(firstword $(wildcard /usr/lib/postgresql/*/bin/pg_ctl))
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v pg_ctl >/dev/null || [ -n "$(PG_CTL)" ] || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    for try in 1 2 3; do \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null && break; \
	      echo "apt-get failed (try $$try), retrying"; sleep 10; \
	    done; \
	  else echo "note:$$missing missing and not root: the tests that need them will be skipped"; fi; \
	fi

test: $(TSTAMP) system-deps
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
