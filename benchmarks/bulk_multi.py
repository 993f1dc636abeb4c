#!/usr/bin/env python3
"""W6 through AsyncCurlMulti: 300 GETs of 1 MiB into a new io.BytesIO each
(setopt(WRITEDATA)), N at a time, for each N of --concurrency.

    .venv/bin/python benchmarks/bulk_multi.py [--concurrency 1,10,50] [--rounds 7]
        [--build NAME=PATH ...]

Each run is a fresh process (the C allocator's state carries over inside
one, and it moves these numbers more than the binding does) timing only the
transfers: CPU and wall seconds, and the page faults of the whole process.
Peers alternate within each round: pycurlcb as imported (installed, else
this checkout), pycurl, and every ``--build NAME=PATH`` (a pycurlcb on
PYTHONPATH=PATH, e.g. one ``pip install --target``'ed from an older commit).
docs/performance.md ("Bulk bodies in a CurlMulti") quotes it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
N = 300


def one_run(module: str, url: str, concurrency: int) -> None:
    """The child: N transfers at ``concurrency``, one JSON line on stdout."""
    mod = importlib.import_module(module)
    from workloads import BIG_SIZE, check_big

    async def main() -> None:
        sem = asyncio.Semaphore(concurrency)
        pool = []
        for _ in range(concurrency):
            c = mod.Curl()
            c.setopt(mod.URL, url + "/big")
            pool.append(c)
        async with mod.AsyncCurlMulti() as multi:

            async def one() -> None:
                async with sem:
                    c = pool.pop()
                    try:
                        body = io.BytesIO()
                        c.setopt(mod.WRITEDATA, body)
                        await multi.perform(c)
                        data = body.getvalue()
                        assert len(data) == BIG_SIZE
                        check_big(data)
                    finally:
                        pool.append(c)

            await asyncio.gather(*(one() for _ in range(N)))
        for c in pool:
            c.close()

    t0, c0 = time.perf_counter(), time.process_time()
    asyncio.run(main())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    print(json.dumps({"wall": wall, "cpu": cpu, "faults": faults, "file": mod.__file__}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", default="1,10,50")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--build", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--one", nargs=3, metavar=("MODULE", "URL", "CONCURRENCY"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one_run(args.one[0], args.one[1], int(args.one[2]))
        return
    import nginx

    peers = {"pycurlcb": ("pycurlcb", str(HERE.parent)), "pycurl": ("pycurl", "")}
    for spec in args.build:
        name, _, path = spec.partition("=")
        peers[name] = ("pycurlcb", path)
    results: dict[tuple[int, str], list[dict[str, float]]] = {}
    with nginx.Nginx(nginx.find_nginx(install=False), HERE / ".work") as server:
        for _ in range(args.rounds):
            for conc in map(int, args.concurrency.split(",")):
                for name, (module, path) in peers.items():
                    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (path, str(HERE)) if p)}
                    cmd = [sys.executable, __file__, "--one", module, server.url, str(conc)]
                    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
                    results.setdefault((conc, name), []).append(json.loads(out.stdout.splitlines()[-1]))
    print(f"| {N} × 1 MiB, AsyncCurlMulti | at a time | CPU s (median) | wall s | page faults |")
    print("|---|--:|--:|--:|--:|")
    for (conc, name), runs in sorted(results.items()):
        med = {k: statistics.median(r[k] for r in runs) for k in ("cpu", "wall", "faults")}
        print(f"| {name} | {conc} | {med['cpu']:.3f} | {med['wall']:.3f} | {med['faults']:.0f} |")


if __name__ == "__main__":
    main()
