#!/usr/bin/env python3
"""Client instructions per transfer, counted by callgrind: load-proof where
wall and CPU seconds on a shared machine are not.

    .venv/bin/python benchmarks/instructions.py W1,W2,W3,W7 [--peers pycurlcb,pycurl,c]

For each (workload, peer) the workload runs twice under
``valgrind --tool=callgrind`` in a fresh process against the benchmark's nginx,
with N1 and N2 transfers; per transfer = (Ir(N2) - Ir(N1)) / (N2 - N1), so
interpreter start-up, imports and handle set-up cancel out.  Only the client
process is counted (nginx is another process).  docs/performance.md's
per-crossing table comes from this.

    .venv/bin/python benchmarks/instructions.py --crossings

prints instead the floor of a callback crossing (benchmarks/crossing_floor.py)
and, next to it, what each pycurlcb callback costs per crossing
(benchmarks/crossing_cbs.py: the trampoline called with a trivial user
callable; the instructions inside cffi's ``cffi_call_python``, which every
extern "Python" stub calls, per call).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import nginx  # noqa: E402
import peers  # noqa: E402
from run import BINDIR, WORK  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

#: Transfers per run: the difference of the two is what is divided by.
COUNTS = {"W5": (10, 40), "W6": (10, 40), "W7": (10, 40)}
DEFAULT_COUNTS = (50, 250)
_COLLECTED = re.compile(r"Collected : (\d+)")
_CHILD = """\
import sys
sys.path.insert(0, {here!r})
import workloads
workloads.get({workload!r}, {peer!r})({url!r}, {n})
"""


def instructions(cmd: list[str]) -> int:
    """Ir of one run of ``cmd`` under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", *cmd],
            capture_output=True, text=True,
        )
    m = _COLLECTED.search(r.stderr)
    if r.returncode != 0 or m is None:
        raise SystemExit(f"{' '.join(cmd)} under callgrind failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return int(m.group(1))


def command(workload: str, peer: str, url: str, n: int) -> list[str]:
    if peer == "c":
        return [str(peers.c_binary(BINDIR, workload)), url + WORKLOADS[workload].path, str(n)]
    code = _CHILD.format(here=str(HERE), workload=workload, peer=peer, url=url, n=n)
    return [sys.executable, "-c", code]


CROSSING_COUNTS = (2_000, 12_000)


def crossings() -> None:
    """The floor, then each callback's instructions per crossing next to it."""
    import crossing_cbs
    import crossing_floor

    floor = crossing_floor.measure()
    print(f"Python {sys.version.split()[0]}\n")
    print(crossing_floor.table(floor))
    base = floor["handle"]
    print("\n| callback | instructions per crossing | above the floor (handle) | above capi (pycurl's way) |")
    print("|---|--:|--:|--:|")
    n1, n2 = CROSSING_COUNTS
    script = str(HERE / "crossing_cbs.py")
    for name in crossing_cbs.CALLBACKS:
        low = crossing_floor.callgrind([sys.executable, script, name, str(n1)], "cffi_call_python")
        high = crossing_floor.callgrind([sys.executable, script, name, str(n2)], "cffi_call_python")
        cost = (high - low) / (n2 - n1)
        print(f"| {name} | {cost:,.0f} | {cost - base:+,.0f} | {cost - floor['capi']:+,.0f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="?", help="comma-separated, e.g. W1,W2,W3")
    ap.add_argument("--peers", default="pycurlcb,pycurl,c")
    ap.add_argument("--crossings", action="store_true", help="the floor and each callback per crossing")
    args = ap.parse_args()
    if args.crossings:
        crossings()
        return
    if not args.workloads:
        ap.error("name the workloads, or --crossings")
    names = args.workloads.split(",")
    who = args.peers.split(",")
    if "c" in who:
        peer = peers.compile_c(BINDIR)
        if not peer.available:
            raise SystemExit(peer.reason)
    with nginx.Nginx(nginx.find_nginx(install=False), WORK) as server:
        print("| Workload | " + " | ".join(who) + " |")
        print("|---|" + "--:|" * len(who))
        for workload in names:
            n1, n2 = COUNTS.get(workload, DEFAULT_COUNTS)
            cells = []
            for peer in who:
                low = instructions(command(workload, peer, server.url, n1))
                high = instructions(command(workload, peer, server.url, n2))
                cells.append(f"{(high - low) / (n2 - n1) / 1000:.0f} K")
            print(f"| {workload} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
