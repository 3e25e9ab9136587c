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
	@scripts/setup.sh --for-tests
	cargo fmt --check
	cargo clippy --all-targets --quiet -- -D warnings
	@# The library builds without any GUI crate (the app is the default `gui` feature).
	cargo clippy --lib --no-default-features --quiet -- -D warnings
	@! cargo tree --no-default-features -e normal --prefix none | grep -E '^(eframe|egui|egui_plot|rfd) ' \
		|| (echo "the GUI-free library depends on a GUI crate" && false)
	cargo test
