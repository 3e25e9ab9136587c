#!/usr/bin/env bash
# Prepares ./carry for a lent GPU machine, which has torch 2.11.0 (CUDA) but no network and
# takes at most 64 MiB: the release binary and the part of the shared data `relarc bench`
# reads. MiniLM's weights (90 MB) do not fit, hence `--inputs learned` there.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${RELARC_DATA:-../shared/data}"
make build
rm -rf carry
mkdir -p carry/data/conll04 carry/data/ade
cp target/release/relarc carry/
cp "$data"/conll04/train.json "$data"/conll04/dev.json carry/data/conll04/
cp "$data"/ade/split_0_train.json "$data"/ade/split_0_test.json carry/data/ade/
du -sh carry
cat <<'HOW'
On the device (carry the folder `carry`), for example:
  LD_LIBRARY_PATH=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__)+'/lib')") \
    carry/relarc bench --device cuda --inputs learned --data carry/data --out $OUT/BENCHMARKS.md
then append the block from $OUT/BENCHMARKS.md to docs/BENCHMARKS.md here.
HOW
