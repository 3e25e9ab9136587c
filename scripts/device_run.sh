#!/usr/bin/env bash
# Runs on a lent GPU machine, from the repository root, after scripts/device_bench.sh packed
# ./carry here: unpacks the binary, checks that CUDA and the CPU agree, then `relarc bench`.
# Everything it finds goes to $OUT (agreement.txt, BENCHMARKS.md, the runs' reports).
#   LD_LIBRARY_PATH=<torch lib> scripts/device_run.sh            # on the device
#   DEVICE=cpu OUT=/tmp/dry scripts/device_run.sh                # a dry run here, CPU against CPU
# AGREE_ONLY=1 skips the bench. Issue 17 asks for agreement before any long GPU run.
set -euo pipefail
cd "$(dirname "$0")/.."
device="${DEVICE:-cuda}"
out="${OUT:?set OUT to the folder for the results}"
mkdir -p "$out"
bin="$out/relarc"
gunzip -c carry/relarc.gz > "$bin"
chmod +x "$bin"
data=carry/data
"$bin" doctor > "$out/doctor.txt" 2>&1 || true

# Training: the same seed, data and epochs on the CPU and on $device. Learned inputs, because
# the pre-trained files cannot travel; the model is the ADE preset's otherwise.
train_on() {
    "$bin" train --preset ade-learned --train "$data/agree/train.json" --dev "$data/agree/dev.json" \
        --epochs 5 --patience 5 --threshold 0.9 --seed 42 --device "$1" --out "$out/agree-$2" \
        > "$out/agree-$2.log" 2>&1
}
train_on cpu cpu
train_on "$device" dev
# Prediction: each model on its own device, and the CPU model again on $device, which
# isolates inference (same weights) from training (same recipe).
predict_on() {
    "$bin" predict --model "$out/agree-$1" --device "$2" --input "$data/agree/test.json" \
        --output "$out/pred-$3.json" > /dev/null 2>&1
}
predict_on cpu cpu cpu
predict_on cpu "$device" cpu-model-on-dev
predict_on dev "$device" dev
{
    echo "device: $device"
    python3 - "$out" "$data/agree/test.json" "$bin" <<'PY'
import json, subprocess, sys
out, gold, relarc = sys.argv[1], sys.argv[2], sys.argv[3]
def load(name):
    return [(sorted((e["type"], e["start"], e["end"]) for e in s["entities"]),
             sorted((r["type"], r["head"], r["tail"]) for r in s["relations"]))
            for s in json.load(open(name))]
def same(a, b):
    a, b = load(a), load(b)
    return sum(x == y for x, y in zip(a, b)), len(a)
def f1(pred):
    run = subprocess.run([relarc, "eval", "--gold", gold, "--pred", pred, "--json"],
                         check=True, capture_output=True, text=True)
    return json.loads(run.stdout)["ner"]["micro"]["f1"]
n, m = same(f"{out}/pred-cpu.json", f"{out}/pred-cpu-model-on-dev.json")
print(f"inference: the CPU-trained model predicts the same on both devices in {n} of {m} sentences")
for side in ("cpu", "dev"):
    r = json.load(open(f"{out}/agree-{side}/report.json"))
    losses = " ".join(f"{h['loss']:.4f}" for h in r["history"])
    print(f"training on {side}: losses by epoch {losses}; test NER micro F1 {f1(f'{out}/pred-{side}.json'):.4f}")
n, m = same(f"{out}/pred-cpu.json", f"{out}/pred-dev.json")
print(f"training: the two models predict the same in {n} of {m} sentences")
PY
} | tee "$out/agreement.txt"

if [ "${AGREE_ONLY:-0}" != 1 ]; then
    "$bin" bench --device "$device" --inputs learned --data "$data" --out "$out/BENCHMARKS.md"
fi
