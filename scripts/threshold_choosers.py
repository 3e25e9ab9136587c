#!/usr/bin/env python3
"""How well ways of choosing the relation threshold θr carry over to unseen sentences.

Give it predictions written with a tiny θr, so that every candidate relation is kept with its
probability (`relarc predict ... --threshold 0.000001`), and the gold file they were predicted
from (--gold, --pred). Two measurements:

  without --choose-*: the file is cut into random halves --rounds times; each chooser picks
                      θr on one half and is scored on the other, both ways, and the two
                      halves' relations are scored together (cross-fitting).
  --choose-gold/--choose-pred: θr is chosen on that file (a dev part) and scored on --gold.

Relation F1 is strict micro F1 (type and both arguments' spans and types), as relarc's own
θr choice uses; the choosers pick from a grid of thresholds 0.05 apart in logit units, so
"relarc's" rule is its highest-F1 choice on that grid. Standard library only.
"""
import argparse
import bisect
import json
import math
import random

GRID_STEP = 0.05  # in logit units
GRID = [1 / (1 + math.exp(-(-10 + i * GRID_STEP))) for i in range(int(24 / GRID_STEP) + 1)]


def relation_key(sentence, r):
    ents = sentence["entities"]
    h, t = ents[r["head"]], ents[r["tail"]]
    return (r["type"], h["type"], h["start"], h["end"], t["type"], t["start"], t["end"])


def load(gold_path, pred_path):
    """Per sentence: its candidates (probability, right?) and its number of gold relations."""
    gold = json.load(open(gold_path))
    pred = json.load(open(pred_path))
    if len(gold) != len(pred):
        raise SystemExit(f"{pred_path} has {len(pred)} sentences, {gold_path} {len(gold)}")
    out = []
    for g, p in zip(gold, pred):
        keys = {relation_key(g, r) for r in g.get("relations", [])}
        if any(r.get("score") is None for r in p.get("relations", [])):
            raise SystemExit(f"{pred_path}: a predicted relation has no score")
        cands = [(r["score"], relation_key(p, r) in keys) for r in p.get("relations", [])]
        out.append((cands, len(keys)))
    return out


def curve(sentences):
    """Relation F1 at every grid threshold (kept: probability above it)."""
    cands = sorted(c for s in sentences for c in s[0])
    probs = [p for p, _ in cands]
    gold = sum(s[1] for s in sentences)
    right_above = [0] * (len(cands) + 1)  # right candidates from index i on
    for i in range(len(cands) - 1, -1, -1):
        right_above[i] = right_above[i + 1] + cands[i][1]
    f1 = []
    for th in GRID:
        i = bisect.bisect_right(probs, th)
        kept, tp = len(cands) - i, right_above[i]
        f1.append(2 * tp / max(kept + gold, 1))
    return f1


def f1_at(sentences, th):
    tp = kept = gold = 0
    for cands, g in sentences:
        gold += g
        for p, right in cands:
            if p > th:
                kept += 1
                tp += right
    return tp, kept, gold


def smooth(values, half_width):
    n = len(values)
    return [
        sum(values[max(0, i - half_width) : min(n, i + half_width + 1)])
        / (min(n, i + half_width + 1) - max(0, i - half_width))
        for i in range(n)
    ]


def best_or_default(f1, default=0.9, margin=0.0):
    """The highest grid θ with the best F1; the default unless it beats the default's F1."""
    best = max(range(len(f1)), key=lambda i: (f1[i], i))
    at_default = min(range(len(GRID)), key=lambda i: abs(GRID[i] - default))
    return GRID[best] if f1[best] > f1[at_default] + margin else default


# Each rule picks θr from the F1 curve of the sentences it may see.
CHOOSERS = {
    "fixed 0.9": lambda f1: 0.9,
    "F1-maximising (relarc's)": best_or_default,
    "smoothed over ±0.5 logit": lambda f1: best_or_default(smooth(f1, 10)),
    "smoothed over ±1 logit": lambda f1: best_or_default(smooth(f1, 20)),
    "smoothed over ±2 logit": lambda f1: best_or_default(smooth(f1, 40)),
    "moves only for +1 point": lambda f1: best_or_default(f1, margin=0.01),
}


def choices(sentences):
    """Every rule's θr on `sentences`, from one F1 curve."""
    f1 = curve(sentences)
    return {name: choose(f1) for name, choose in CHOOSERS.items()}


def halves(sentences, rounds, seed):
    rng = random.Random(seed)
    scores = {name: [] for name in CHOOSERS}
    for _ in range(rounds):
        order = list(range(len(sentences)))
        rng.shuffle(order)
        cut = len(order) // 2
        a = [sentences[i] for i in order[:cut]]
        b = [sentences[i] for i in order[cut:]]
        picked = [(choices(pick), score) for pick, score in ((a, b), (b, a))]
        for name in CHOOSERS:
            tp = kept = gold = 0
            for chosen, score in picked:
                t, k, g = f1_at(score, chosen[name])
                tp, kept, gold = tp + t, kept + k, gold + g
            scores[name].append(200 * tp / (kept + gold))
    on_all = choices(sentences)
    for name, v in scores.items():
        mean = sum(v) / len(v)
        sd = math.sqrt(sum((x - mean) ** 2 for x in v) / len(v))
        th = on_all[name]
        print(f"  {name:26s} RE {mean:6.2f} ± {sd:.2f} over {rounds} splits   (θr on all: {th:.3f})")


def chosen_on(choose_set, score_set):
    for name, th in choices(choose_set).items():
        t, k, g = f1_at(choose_set, th)
        tt, tk, tg = f1_at(score_set, th)
        print(f"  {name:26s} θr {th:.3f}   where chosen RE {200*t/(k+g):6.2f}   scored RE {200*tt/(tk+tg):6.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", required=True)
    ap.add_argument("--pred", required=True)
    ap.add_argument("--choose-gold")
    ap.add_argument("--choose-pred")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    sentences = load(a.gold, a.pred)
    if a.choose_gold and a.choose_pred:
        chosen_on(load(a.choose_gold, a.choose_pred), sentences)
    else:
        halves(sentences, a.rounds, a.seed)


if __name__ == "__main__":
    main()
