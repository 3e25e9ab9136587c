#!/usr/bin/env bash
# Times `relarc cv` and `relarc trials` with --jobs 1 and --jobs 2 on slices of the shared
# data (issue 19's "done when"). Run it alone on the machine; it prints the wall times.
#   scripts/jobs_bench.sh [relarc binary] [work folder]
set -euo pipefail
exe=${1:-target/release/relarc}
work=${2:-$(mktemp -d)}
data=${DATA:-../shared/data}
mkdir -p "$work/folds"
slice() { python3 - "$1" "$2" "$3" <<'PY'
import json, sys
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
json.dump(json.load(open(src))[:n], open(out, "w"))
PY
}
for k in 0 1; do
  slice "$data/ade/split_${k}_train.json" 300 "$work/folds/split_${k}_train.json"
  slice "$data/ade/split_${k}_test.json" 60 "$work/folds/split_${k}_test.json"
done
slice "$data/conll04/train.json" 200 "$work/train.json"
slice "$data/conll04/dev.json" 60 "$work/dev.json"
timed() { local t0; t0=$(date +%s.%N); "$@" > /dev/null 2>&1; echo "$(date +%s.%N) - $t0" | bc; }
# Fill the feature cache first, so both timings read it.
"$exe" cv --preset ade-minilm --folds "$work/folds" --epochs 1 --out "$work/warm" > /dev/null 2>&1
"$exe" train --preset conll04-minilm --train "$work/train.json" --dev "$work/dev.json" \
  --epochs 1 --out "$work/warm-t" > /dev/null 2>&1
for jobs in 1 2; do
  s=$(timed "$exe" cv --preset ade-minilm --folds "$work/folds" --epochs 3 --patience 3 \
      --device cpu --jobs $jobs --out "$work/cv$jobs")
  echo "cv, 2 folds of 300 ADE sentences, ade-minilm, 3 epochs, --jobs $jobs: $s s"
done
for jobs in 1 2; do
  s=$(timed "$exe" trials --preset conll04-minilm --train "$work/train.json" --dev "$work/dev.json" \
      --test "$work/dev.json" --n 2 --epochs 2 --patience 2 --device cpu --jobs $jobs --out "$work/tr$jobs")
  echo "trials, dev run + 2 trials on 200 CoNLL04 sentences, conll04-minilm, 2 epochs, --jobs $jobs: $s s"
done
