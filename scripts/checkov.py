#!/usr/bin/env python3
"""checkov over every render: each platform's example stack and the Sysdig stack.

Renders with the runway binary (RUNWAY, default: `cargo run --quiet --locked -p
runway-cli --`), runs `checkov --framework kubernetes` on each render, and fails on any
finding that is not waived on the object itself (`checkov.io/skipN: CKV_K8S_xx=reason`,
written by runway from the components' typed waivers). Prints, per render, the checks
passed, waived and failed, as README's table shows them.

    python3 scripts/checkov.py            # all renders
    python3 scripts/checkov.py --markdown # the README table
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

RENDERS = [
    ("aks", ["--stack", "examples/aks/stack.yaml"]),
    ("eks", ["--stack", "examples/eks/stack.yaml"]),
    ("gke", ["--stack", "examples/gke/stack.yaml"]),
    ("kind", ["--stack", "examples/kind/stack.yaml"]),
    ("onprem", ["--stack", "examples/onprem/stack.yaml"]),
    ("onprem with nginx", ["--stack", "examples/onprem/nginx.yaml"]),
    ("observability", ["--stack", "examples/observability/stack.yaml"]),
    ("operator", ["--stack", "examples/operator/stack.yaml"]),
    ("sdc on eks", ["--platform", "eks", "--stack", "examples/sdc/stack.yaml"]),
    ("sdc on gke", ["--platform", "gke", "--stack", "examples/sdc/stack.yaml"]),
    ("sdc on onprem", ["--platform", "onprem", "--stack", "examples/sdc/stack.yaml"]),
]


def runway_command():
    cmd = os.environ.get("RUNWAY")
    if cmd:
        return shlex.split(cmd)
    return ["cargo", "run", "--quiet", "--locked", "-p", "runway-cli", "--"]


def main():
    markdown = "--markdown" in sys.argv[1:]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    runway = runway_command()
    started = time.monotonic()
    failures = []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, args in RENDERS:
            path = os.path.join(tmp, name.replace(" ", "-") + ".yaml")
            files["/" + os.path.basename(path)] = name
            with open(path, "w") as f:
                subprocess.run(runway + ["render", *args], stdout=f, stderr=subprocess.DEVNULL, check=True)
        # One checkov run over all renders (its start-up dominates a small render).
        # --skip-download: no network (checkov otherwise fetches guideline texts).
        res = subprocess.run(
            ["checkov", "--framework", "kubernetes", "-d", tmp, "--compact",
             "--skip-download", "-o", "json"],
            capture_output=True, text=True,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        )
        if not res.stdout.strip():
            print(res.stderr, file=sys.stderr)
            sys.exit("checkov printed nothing")
        report = json.loads(res.stdout)
        if isinstance(report, list):
            report = next(r for r in report if r.get("check_type") == "kubernetes")
        results = report["results"]
        counts = {name: [0, 0, 0] for name, _ in RENDERS}
        for i, kind in enumerate(["passed_checks", "skipped_checks", "failed_checks"]):
            for c in results.get(kind, []):
                name = files[c["file_path"]]
                counts[name][i] += 1
                if kind == "failed_checks":
                    failures.append(f"{name}: {c['check_id']} {c['resource']}: {c['check_name']}")
        rows = [(name, *counts[name]) for name, _ in RENDERS]
    elapsed = time.monotonic() - started
    if markdown:
        print("| render | checks passed | waived | failed |")
        print("|---|---:|---:|---:|")
        for name, passed, skipped, failed in rows:
            print(f"| {name} | {passed} | {skipped} | {failed} |")
    else:
        for name, passed, skipped, failed in rows:
            print(f"{name:14} passed {passed:5}  waived {skipped:4}  failed {failed:4}")
        print(f"checkov: {len(RENDERS)} renders in {elapsed:.0f}s")
    if failures:
        print("\nunwaived findings (fix the component, or give it a typed waiver with the reason):")
        for f in failures:
            print("  " + f)
        sys.exit(1)


if __name__ == "__main__":
    main()
