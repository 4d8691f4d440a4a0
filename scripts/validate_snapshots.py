#!/usr/bin/env python3
"""Strict schema validation of every rendered snapshot with kubernetes-validate.

Each snapshots/render/*.snap file holds a YAML stream after insta's header (the lines
between the first two `---` lines). Every object is validated in strict mode (unknown
fields are errors) against the oldest and newest Kubernetes versions we support.
Exits non-zero on any failure, naming the snapshot, the object and the error.
"""
import glob
import os
import subprocess
import sys
import tempfile

VERSIONS = ["1.33.0", "1.37.0"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def strip_insta_header(text: str) -> str:
    lines = text.split("\n")
    if not lines or lines[0] != "---":
        raise ValueError("not an insta snapshot (no leading ---)")
    end = lines.index("---", 1)
    return "\n".join(lines[end + 1:])


def main() -> int:
    snaps = sorted(glob.glob(os.path.join(ROOT, "snapshots", "render", "*.snap")))
    if not snaps:
        print("no snapshots found under snapshots/render", file=sys.stderr)
        return 1
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for snap in snaps:
            body = strip_insta_header(open(snap, encoding="utf-8").read())
            out = os.path.join(tmp, os.path.basename(snap).replace(".snap", ".yaml"))
            with open(out, "w", encoding="utf-8") as f:
                f.write(body)
            files.append(out)
        for version in VERSIONS:
            r = subprocess.run(
                ["kubernetes-validate", "--strict", "--quiet", "-k", version, *files],
                capture_output=True, text=True,
            )
            output = (r.stdout + r.stderr).strip()
            if r.returncode != 0 or "ERROR" in output:
                failures += 1
                print(f"kubernetes-validate {version} failed:\n{output}", file=sys.stderr)
            else:
                print(f"kubernetes {version}: {len(files)} snapshots valid (strict)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
