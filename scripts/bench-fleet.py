#!/usr/bin/env python3
"""Whole-process timing of `runway fleet` over N clusters of the full GKE runtime, against
N sequential `runway render --output-dir` processes writing the very same trees, measured
in the same run (these machines are noisy, so the ratio is what travels).

    cargo build --release -p runway-cli && python3 scripts/bench-fleet.py [--clusters 1000] [--runs 3]

Each cluster is examples/gke/stack.yaml with its own DNS zone, so every cluster renders the
whole runtime (124 objects, 1.1 MB) and no two outputs are equal. Output goes to a fresh
folder under --out (default: /dev/shm when it exists, to time runway and not the disk).
The script checks that both ways wrote byte-identical trees.
"""
import argparse
import filecmp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNWAY = os.path.join(ROOT, "target", "release", "runway")
STACK = os.path.join(ROOT, "examples", "gke", "stack.yaml")


def same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(same_tree(os.path.join(a, d), os.path.join(b, d)) for d in cmp.common_dirs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--runway", default=os.environ.get("RUNWAY", RUNWAY))
    ap.add_argument("--out", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    a = ap.parse_args()
    if not os.path.exists(a.runway):
        sys.exit("build first: cargo build --release -p runway-cli")
    with tempfile.TemporaryDirectory(dir=a.out) as tmp:
        fleet = os.path.join(tmp, "fleet.yaml")
        with open(fleet, "w") as f:
            f.write("clusters:\n")
            for i in range(a.clusters):
                f.write(f"  - name: c{i:04d}\n    stack: {STACK}\n    set: [\"config.dns_zone=c{i:04d}.example.com\"]\n")
        fleet_out = os.path.join(tmp, "fleet-out")
        times = []
        for _ in range(a.runs):
            shutil.rmtree(fleet_out, ignore_errors=True)
            t = time.perf_counter()
            subprocess.run([a.runway, "fleet", fleet, "--output-dir", fleet_out], check=True, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t)
        seq_out = os.path.join(tmp, "seq-out")
        os.mkdir(seq_out)
        t = time.perf_counter()
        for i in range(a.clusters):
            subprocess.run(
                [a.runway, "render", "--stack", STACK, "--set", f"config.dns_zone=c{i:04d}.example.com",
                 "--output-dir", os.path.join(seq_out, f"c{i:04d}")],
                check=True, stderr=subprocess.DEVNULL)
        seq = time.perf_counter() - t
        if not same_tree(fleet_out, seq_out):
            sys.exit("the fleet and the sequential renders wrote different trees")
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(fleet_out) for f in fs)
    fleet_med = statistics.median(times)
    print(f"clusters: {a.clusters}, written: {size / 1e6:.0f} MB, cores: {os.cpu_count()}, output under {a.out or 'the temp dir'}")
    print(f"runway fleet (whole process):        median {fleet_med:.2f} s, best {min(times):.2f} s of {a.runs}")
    print(f"{a.clusters} sequential `runway render`:  {seq:.2f} s")
    print(f"ratio: runway fleet is {seq / fleet_med:.1f}x faster")


if __name__ == "__main__":
    main()
