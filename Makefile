# The two commands a newcomer needs (see README.md):
#   make demo   set everything up, start the devnet with the whole network (or reuse it), run
#               one text-to-image task through it and print where its images, its receipt
#               and its history are (`hydrogen demo`; options through DEMO_ARGS, e.g.
#               make demo DEMO_ARGS='--model ~/models/stable-diffusion-v1-5')
#   make test   set everything up, run lint and the whole test suite against real services
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint format unit integration e2e bench down lock

setup:
	@scripts/bootstrap.sh

demo: setup
	$(BIN)/hydrogen demo $(DEMO_ARGS)

test: setup lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: setup
	$(BIN)/pytest tests/unit

integration: setup
	$(BIN)/pytest tests/integration

e2e: setup
	$(BIN)/pytest tests/e2e

# Benchmarks print ratios against a baseline measured in the same run; never part of `test`.
bench: setup
	$(BIN)/python bench/codec.py
	$(BIN)/hydrogen devnet up > /dev/null
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/streams.py
	@command -v wrk >/dev/null && { command -v nginx >/dev/null || test -x /usr/sbin/nginx; } \
	  || { echo "bench/relay.py needs wrk and nginx: sudo apt-get install -y wrk nginx-light"; exit 1; }
	$(BIN)/python bench/relay.py
	$(BIN)/python bench/network.py

down:
	$(BIN)/hydrogen devnet down

# Re-resolve requirements.lock from pyproject.toml in a throwaway environment.
lock:
	rm -rf .cache/lock-venv && python3.11 -m venv .cache/lock-venv
	.cache/lock-venv/bin/pip install -q -e '.[dev]'
	.cache/lock-venv/bin/pip check
	{ echo "# Exact versions installed by scripts/bootstrap.sh. Regenerate with 'make lock' after changing"; \
	  echo "# the dependencies in pyproject.toml."; \
	  .cache/lock-venv/bin/pip freeze --exclude-editable; } > requirements.lock
