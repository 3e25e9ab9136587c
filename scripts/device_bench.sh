#!/usr/bin/env bash
# Prepares ./carry for a lent GPU machine, which has torch 2.11.0 (CUDA) but no network and
# takes at most 64 MiB, the tracked working tree (about 33 MB, the shipped models most of it)
# included: the release binary, stripped and gzipped (about 9.5 MB instead of 32), the part of
# the shared data `relarc bench` reads, and small ADE parts for the CUDA-against-CPU check of
# scripts/device_run.sh. An encoder's weights do not fit beside the tree (MiniLM's 90 MB, MPNet's
# 438), hence learned inputs there, unless FINE_TUNE packs one in parts (below).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${RELARC_DATA:-../shared/data}"
make build
rm -rf carry
mkdir -p carry/data/conll04 carry/data/ade carry/data/agree
strip -o carry/relarc target/release/relarc
gzip -9 carry/relarc
cp "$data"/conll04/train.json "$data"/conll04/dev.json carry/data/conll04/
cp "$data"/ade/split_0_train.json "$data"/ade/split_0_test.json carry/data/ade/
# The agreement check: 1,000 training and 200 dev sentences of fold 0's training part, and the
# first 300 of its test part.
python3 - "$data/ade" carry/data/agree <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
train = json.load(open(f"{src}/split_0_train.json"))
test = json.load(open(f"{src}/split_0_test.json"))
for name, part in (("train", train[:1000]), ("dev", train[1000:1200]), ("test", test[:300])):
    json.dump(part, open(f"{dst}/{name}.json", "w"))
PY
tree=$(git ls-files -z | xargs -0 du -cb --apparent-size | tail -1 | cut -f1)
limit=$((64 * 1024 * 1024))
# FINE_TUNE=<encoder resource> adds what scripts/device_finetune.sh needs: the encoder in
# float16, cut into parts that fit beside the tree one call each, and the word vectors'
# rows that the carried corpora use.
if [ -n "${FINE_TUNE:-}" ]; then
    resources="${RELARC_RESOURCES:-resources}"
    .venv/bin/python3 scripts/device_pack_encoder.py "$resources" "$FINE_TUNE" glove-6b-50d \
        carry/data carry carry-parts $((limit - tree - 1024 * 1024))
fi
packed=$(du -sb carry | cut -f1)
echo "carry: $packed bytes, tracked tree $tree, together $((tree + packed)) of $limit"
if [ $((tree + packed)) -gt "$limit" ]; then
    echo "device_bench: the tree and carry/ exceed what a device call takes (64 MiB)" >&2
    exit 1
fi
cat <<'HOW'
On the device (carry the folder `carry`), for example:
  OUT=$OUT LD_LIBRARY_PATH=$(python3 -c "import torch,os;print(os.path.dirname(torch.__file__)+'/lib')") \
    scripts/device_run.sh
then read $OUT/agreement.txt and append the block from $OUT/BENCHMARKS.md to docs/BENCHMARKS.md.
HOW
if [ -n "${FINE_TUNE:-}" ]; then
    echo "then carry each of these in a call of its own, back to back (a machine idle 30 s goes back):"
    ls carry-parts
    echo "and run scripts/device_finetune.sh (the README's \"On a lent GPU\" says how)."
fi
