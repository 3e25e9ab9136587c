#!/usr/bin/env python3
"""Packs a pre-trained encoder and word vectors for fine-tuning on a lent GPU machine.

A device call takes at most 64 MiB with the working tree, and MPNet's weights are 438 MB, so:
the encoder's weights are stored as float16 (relarc reads them back as float32; fine-tuning
starts from weights rounded to float16) and cut into parts that travel one call each
(scripts/device_finetune.sh joins them and checks their SHA-256); the word vectors keep only
the rows the carried corpora can look up (each token and its lower-cased form, relarc's
lookup), which leaves every looked-up vector as it was.

  device_pack_encoder.py RESOURCES ENCODER VECTORS DATA_DIR CARRY PARTS PART_BYTES
"""
import hashlib
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np


def float16_safetensors(src: Path) -> bytes:
    """The checkpoint with every float32 tensor stored as float16, other tensors unchanged."""
    raw = src.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    body = raw[8 + n :]
    out_header, chunks, offset = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__":
            out_header[name] = info
            continue
        start, end = info["data_offsets"]
        data = body[start:end]
        dtype = info["dtype"]
        if dtype == "F32":
            data = np.frombuffer(data, dtype="<f4").astype("<f2").tobytes()
            dtype = "F16"
        out_header[name] = {
            "dtype": dtype,
            "shape": info["shape"],
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(out_header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # safetensors aligns the body to 8 bytes
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def pack_encoder(src: Path, dst: Path, parts: Path, part_bytes: int) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for f in ("config.json", "tokenizer.json", "SOURCE.json"):
        if (src / f).exists():
            shutil.copy(src / f, dst / f)
    weights = float16_safetensors(src / "model.safetensors")
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    names = []
    for i in range(0, len(weights), part_bytes):
        name = f"{dst.name}.{i // part_bytes + 1:02d}"
        (parts / name).write_bytes(weights[i : i + part_bytes])
        names.append(name)
    manifest = {
        "file": "model.safetensors",
        "bytes": len(weights),
        "sha256": hashlib.sha256(weights).hexdigest(),
        "parts": names,
        "note": "float32 weights of the original stored as float16",
    }
    (dst / "parts.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{src.name}: {len(weights)} bytes in float16, {len(names)} parts in {parts}")


def corpus_words(data: Path) -> set:
    words = set()
    for f in sorted(data.rglob("*.json")):
        for sentence in json.loads(f.read_text()):
            for t in sentence["tokens"]:
                words.update((t, t.lower()))
    return words


def pack_vectors(src: Path, dst: Path, words: set) -> None:
    vocab = src.joinpath("vocab.txt").read_text().split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    matrix = np.load(src / "vectors.npy")
    keep = [i for i, w in enumerate(vocab) if w in words]  # in order: the first duplicate wins
    dst.mkdir(parents=True, exist_ok=True)
    dst.joinpath("vocab.txt").write_text("".join(vocab[i] + "\n" for i in keep))
    np.save(dst / "vectors.npy", matrix[keep].astype(np.float32))
    source = {"subset_of": src.name, "rows": len(keep), "of": len(vocab),
              "kept": "the words of the carried corpora and their lower-cased forms"}
    dst.joinpath("SOURCE.json").write_text(json.dumps(source, indent=1) + "\n")
    print(f"{src.name}: {len(keep)} of {len(vocab)} rows kept for the carried corpora")


def main() -> None:
    resources, encoder, vectors, data, carry, parts, part_bytes = sys.argv[1:8]
    resources, carry = Path(resources), Path(carry)
    pack_encoder(resources / encoder, carry / "resources" / encoder, Path(parts), int(part_bytes))
    pack_vectors(resources / vectors, carry / "resources" / vectors, corpus_words(Path(data)))


if __name__ == "__main__":
    main()
