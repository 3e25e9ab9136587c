#!/usr/bin/env python3
"""What a relation-signature filter would gain: micro RE F1 of predictions at several θr, as
they are and with every relation dropped whose (relation, head type, tail type) never occurs
in the training file. Predictions come from `relarc predict --threshold 0.000001` (every
relation with its probability). Standard library only.

    python3 scripts/relation_signatures.py --train train.json --gold dev.json PRED.json...
"""
import argparse
import json


def entities(s):
    return [(e["type"], e["start"], e["end"]) for e in s["entities"]]


def signatures(corpus):
    sigs = set()
    for s in corpus:
        ents = entities(s)
        for r in s["relations"]:
            sigs.add((r["type"], ents[r["head"]][0], ents[r["tail"]][0]))
    return sigs


def relations(s, threshold=None, allowed=None):
    ents, out = entities(s), set()
    for r in s["relations"]:
        if threshold is not None and r.get("score", 1.0) <= threshold:
            continue
        h, t = ents[r["head"]], ents[r["tail"]]
        if allowed is not None and (r["type"], h[0], t[0]) not in allowed:
            continue
        out.add((r["type"], h, t))
    return out


def f1_and_spurious(gold, pred, threshold, allowed):
    tp = fp = fn = 0
    for p in pred:
        g, q = relations(gold[p["id"]]), relations(p, threshold, allowed)
        tp, fp, fn = tp + len(g & q), fp + len(q - g), fn + len(g - q)
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return 100 * 2 * precision * recall / max(precision + recall, 1e-9), fp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--gold", required=True)
    ap.add_argument("pred", nargs="+")
    a = ap.parse_args()
    allowed = signatures(json.load(open(a.train)))
    print("signatures in train:", ", ".join(f"{r} {h}→{t}" for r, h, t in sorted(allowed)))
    gold = {s["id"]: s for s in json.load(open(a.gold))}
    for path in a.pred:
        pred = json.load(open(path))
        for threshold in (0.5, 0.8, 0.9, 0.95, 0.98):
            f, fp = f1_and_spurious(gold, pred, threshold, None)
            g, gp = f1_and_spurious(gold, pred, threshold, allowed)
            print(f"{path}  θr {threshold}: RE {f:.2f} ({fp} spurious) → filtered {g:.2f} ({gp} spurious)")


if __name__ == "__main__":
    main()
