#!/usr/bin/env bash
# Fine-tunes an encoder on a lent GPU machine, after `FINE_TUNE=<encoder> scripts/device_bench.sh`
# packed ./carry and ./carry-parts here and every part reached the machine (one call each, see
# the README's "On a lent GPU"). Joins the parts into the encoder's float16 weights, checks
# their SHA-256, starts the training in its own process session (it outlives the call) and
# follows its log for at most WAIT_S seconds; run it again with FOLLOW=1 to keep following.
# What it finds goes to $OUT: the log, and report.json once the run is done.
#   LD_LIBRARY_PATH=<torch lib> PRESET=conll04-ft scripts/device_finetune.sh
#   FOLLOW=1 scripts/device_finetune.sh
#   DEVICE=cpu EPOCHS=1 TRAIN=... DEV=... OUT=/tmp/dry scripts/device_finetune.sh   # a dry run here
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:?set OUT to the folder for the results}"
runs=/tmp/relarc-finetune
log="$runs/train.log"
mkdir -p "$out" "$runs"

follow() {
    local until=$((SECONDS + ${WAIT_S:-540}))
    while [ ! -e "$runs/done" ] && [ $SECONDS -lt $until ]; do sleep 5; done
    tr '\r' '\n' < "$log" | grep -v '^$' > "$out/train.log" || true
    if [ -e "$runs/done" ]; then
        cp "$runs/model/report.json" "$out/" 2>/dev/null || true
        echo "finished with status $(cat "$runs/done")"
    else
        echo "still running: FOLLOW=1 $0 follows it further"
    fi
    tail -n 5 "$out/train.log"
}

if [ "${FOLLOW:-0}" = 1 ]; then
    if [ ! -e "$log" ]; then
        echo "no fine-tuning run on this machine (a fresh one, after the last went back?)" >&2
        exit 1
    fi
    follow
    exit 0
fi

# Join the encoder's parts and check them against the manifest.
manifest=$(find carry/resources -name parts.json 2>/dev/null | head -n 1)
if [ -z "$manifest" ]; then
    echo "carry/ holds no encoder in parts: pack one with FINE_TUNE=<encoder> scripts/device_bench.sh" >&2
    exit 1
fi
enc=$(dirname "$manifest")
python3 - "$manifest" "$enc" carry-parts <<'PY'
import hashlib, json, sys
from pathlib import Path
manifest, enc, parts = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
m = json.loads(manifest.read_text())
missing = [p for p in m["parts"] if not (parts / p).exists()]
if missing:
    sys.exit(f"{parts}: missing {', '.join(missing)} of {len(m['parts'])} parts: carry each in a call of its own")
data = b"".join((parts / p).read_bytes() for p in m["parts"])
if len(data) != m["bytes"] or hashlib.sha256(data).hexdigest() != m["sha256"]:
    sys.exit(f"{parts}: the joined parts are not the packed {m['file']} (size or SHA-256 differs)")
(enc / m["file"]).write_bytes(data)
print(f"{enc / m['file']}: {len(data)} bytes, SHA-256 as packed")
PY

bin=$runs/relarc
gunzip -c carry/relarc.gz > "$bin"
chmod +x "$bin"
data=carry/data/conll04
rm -rf "$runs/model" "$runs/done"
# The issue's protocol for CoNLL04 (20 epochs at most, patience 4, θr chosen on dev).
# shellcheck disable=SC2086
setsid nohup bash -c "RELARC_RESOURCES=carry/resources '$bin' train --preset '${PRESET:-conll04-ft}' \
    --train '${TRAIN:-$data/train.json}' --dev '${DEV:-$data/dev.json}' --epochs '${EPOCHS:-20}' --patience 4 \
    --device '${DEVICE:-cuda}' --seed '${SEED:-42}' ${ARGS:-} --out '$runs/model' > '$log' 2>&1; \
    echo \$? > '$runs/done'" > /dev/null 2>&1 < /dev/null &
follow
