#!/usr/bin/env python3
"""Does a relation threshold per relation type carry over to unseen sentences?

Give it predictions written with a tiny θr (`relarc predict ... --threshold 0.000001`) and the
gold file they were predicted from. The file is cut into random halves --rounds times; each
rule picks thresholds on one half and is scored on the other, both ways, and the two halves'
relations are scored together (cross-fitting), as scripts/threshold_choosers.py does for one
θr. Rules: a fixed 0.9; one θr, F1-maximising (relarc's); one θr per type, each maximising
its type's F1 (also: only moved for a point of that type's F1); and per type shrunk halfway
to the single θr in logit units. Strict micro relation F1. Standard library only.
"""
import argparse
import json
import math
import random

import threshold_choosers as tc


def load(gold_path, pred_path):
    """Per sentence: its candidates (type, probability, right?) and its gold count per type."""
    gold, pred = json.load(open(gold_path)), json.load(open(pred_path))
    if len(gold) != len(pred):
        raise SystemExit(f"{pred_path} has {len(pred)} sentences, {gold_path} {len(gold)}")
    out = []
    for g, p in zip(gold, pred):
        keys = {tc.relation_key(g, r) for r in g.get("relations", [])}
        counts = {}
        for r in g.get("relations", []):
            counts[r["type"]] = counts.get(r["type"], 0) + 1
        cands = [(r["type"], r["score"], tc.relation_key(p, r) in keys) for r in p.get("relations", [])]
        out.append((cands, counts))
    return out


def of_type(sentences, t):
    return [([(p, ok) for ty, p, ok in c if ty == t], n.get(t, 0)) for c, n in sentences]


def untyped(sentences):
    return [([(p, ok) for _, p, ok in c], sum(n.values())) for c, n in sentences]


def logit(x):
    return math.log(x / (1 - x))


def rules(sentences, types):
    """Every rule's threshold for each type, chosen on `sentences`."""
    one = tc.best_or_default(tc.curve(untyped(sentences)))
    per = {t: tc.best_or_default(tc.curve(of_type(sentences, t))) for t in types}
    per1 = {t: tc.best_or_default(tc.curve(of_type(sentences, t)), margin=0.01) for t in types}
    shrunk = {t: 1 / (1 + math.exp(-(logit(per[t]) + logit(one)) / 2)) for t in types}
    return {
        "fixed 0.9": {t: 0.9 for t in types},
        "one θr (relarc's)": {t: one for t in types},
        "per type": per,
        "per type, +1 point to move": per1,
        "per type, shrunk halfway": shrunk,
    }


def counts(sentences, thresholds):
    tp = kept = gold = 0
    for cands, n in sentences:
        gold += sum(n.values())
        for t, p, ok in cands:
            if p > thresholds[t]:
                kept, tp = kept + 1, tp + ok
    return tp, kept, gold


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", required=True)
    ap.add_argument("--pred", required=True)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    sentences = load(a.gold, a.pred)
    types = sorted({t for c, n in sentences for t in n} | {t for c, _ in sentences for t, _, _ in c})
    rng = random.Random(a.seed)
    scores = {}
    for _ in range(a.rounds):
        order = list(range(len(sentences)))
        rng.shuffle(order)
        cut = len(order) // 2
        halves = [sentences[i] for i in order[:cut]], [sentences[i] for i in order[cut:]]
        total = {}
        for pick, score in (halves, halves[::-1]):
            for name, th in rules(pick, types).items():
                total[name] = [x + y for x, y in zip(total.get(name, (0, 0, 0)), counts(score, th))]
        for name, (tp, kept, gold) in total.items():
            scores.setdefault(name, []).append(200 * tp / (kept + gold))
    for name, v in scores.items():
        mean = sum(v) / len(v)
        sd = math.sqrt(sum((x - mean) ** 2 for x in v) / len(v))
        print(f"  {name:28s} RE {mean:6.2f} ± {sd:.2f} over {a.rounds} splits")
    chosen = rules(sentences, types)["per type"]
    print("  per type on all:", ", ".join(f"{t} {th:.3f}" for t, th in chosen.items()))


if __name__ == "__main__":
    main()
