#!/usr/bin/env python3
"""Whole-process timing of `runway render` against `kubectl kustomize` re-emitting the very
same objects from a directory, measured in the same run (these machines are noisy, so
only the ratio travels).

    cargo build --release -p runway-cli && python3 scripts/bench-process.py [--platform P] [--stack FILE]

Prints the median and best of N runs of each and the ratio.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNWAY = os.path.join(ROOT, "target", "release", "runway")


def timed(cmd, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--platform")
    ap.add_argument("--stack")
    ap.add_argument("--runs", type=int, default=30)
    a = ap.parse_args()
    if not os.path.exists(RUNWAY):
        sys.exit("build first: cargo build --release -p runway-cli")
    layers = (["--platform", a.platform] if a.platform else []) + (["--stack", a.stack] if a.stack else [])
    if not layers:
        sys.exit("give --stack FILE and/or --platform NAME")
    render = [RUNWAY, "render", *layers]
    out = subprocess.run(render, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT).stdout
    objects = out.count(b"\n---\n") + 1
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "tree")
        subprocess.run([RUNWAY, "render", *layers, "--output-dir", tree], check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
        files = sorted(os.path.relpath(os.path.join(d, f), tree) for d, _, fs in os.walk(tree) for f in fs)
        with open(os.path.join(tree, "kustomization.yaml"), "w") as k:
            k.write("resources:\n" + "".join(f"- {f}\n" for f in files))
        kustomize = ["kubectl", "kustomize", tree]
        if shutil.which("kubectl") is None:
            sys.exit("kubectl not found")
        timed(render, 3)
        timed(kustomize, 3)
        r_med, r_min = timed(render, a.runs)
        k_med, k_min = timed(kustomize, a.runs)
    print(f"objects: {objects}, YAML: {len(out)} bytes")
    print(f"runway render (whole process):   median {r_med*1000:.2f} ms, best {r_min*1000:.2f} ms")
    print(f"kubectl kustomize (same objects): median {k_med*1000:.2f} ms, best {k_min*1000:.2f} ms")
    print(f"ratio (median): runway is {k_med / r_med:.0f}x faster")


if __name__ == "__main__":
    main()
