# The two commands of the README: `make run` sets up and starts relarc, `make test` sets up
# and runs every check. Both install only what is missing (scripts/setup.sh).
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1

.PHONY: setup run test build

setup:
	@scripts/setup.sh

run: setup
	cargo run --release --quiet -- $(ARGS)

build: setup
	cargo build --release

test: setup
	cargo fmt --check
	cargo clippy --all-targets --quiet -- -D warnings
	cargo test
