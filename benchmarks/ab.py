#!/usr/bin/env python3
"""Two or more pycurlcb builds, and C, on the same workloads, interleaved: an A/B.

    .venv/bin/python benchmarks/ab.py --build before=/tmp/before [--workloads W4,W4u] [--rounds 7]

``--build NAME=PATH``: a pycurlcb on PYTHONPATH=PATH, e.g. one built from an
older commit with ``git worktree add /tmp/old REV && pip install --target
/tmp/before /tmp/old``.  The current one ("now": installed, else this
checkout) and the C peer always run.  Every run is a fresh process, the same
``run.py --one`` child as ``make bench`` (client on CPU 0, nginx on CPU 1
where there are two); within each round the builds alternate.  Prints the
median wall time of each and its ratio to C's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import nginx  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--workloads", default="W4,W4u")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    builds = {"now": ""} | dict(spec.partition("=")[::2] for spec in args.build)
    names = [*builds, "c"]
    workloads = args.workloads.split(",")
    two_cpus = len(os.sched_getaffinity(0)) >= 2
    walls: dict[tuple[str, str], list[float]] = {}
    with nginx.Nginx(nginx.find_nginx(install=False), HERE / ".work", 1 if two_cpus else None) as server:
        for _ in range(args.rounds):
            for w in workloads:
                for name in names:
                    env = dict(os.environ)
                    if builds.get(name):
                        env["PYTHONPATH"] = builds[name]
                    peer = "c" if name == "c" else "pycurlcb"
                    cmd = [sys.executable, str(HERE / "run.py"), "--one", w, peer]
                    cmd += ["--url", server.url, "--n", str(WORKLOADS[w].n)]
                    cmd += ["--cpu", "0"] if two_cpus else []
                    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
                    walls.setdefault((w, name), []).append(json.loads(out.stdout.splitlines()[-1])["wall"])
    for w in workloads:
        c = statistics.median(walls[(w, "c")])
        for name in names:
            runs = walls[(w, name)]
            med = statistics.median(runs)
            each = " ".join(f"{x:.3f}" for x in runs)
            print(f"{w:4} {name:8} median {med:.3f} s  {med / c:.2f}x C   runs {each}")


if __name__ == "__main__":
    main()
