#!/usr/bin/env python3
"""W4's asyncio harness without any HTTP: what the benchmark's shape costs on its own.

    .venv/bin/python benchmarks/w4_harness.py [--uvloop] [--rounds 5]

The same 20 000 tasks, semaphore of 50, pool of 50 and gather as W4
(benchmarks/workloads.py), each awaiting a future that a loop callback
resolves, as a finished transfer's is.  Any binding's W4 costs at least this
plus the C peer's time; docs/performance.md compares it with W4's target.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from workloads import CONCURRENCY, WORKLOADS, run_on


async def harness(n: int) -> None:
    sem = asyncio.Semaphore(CONCURRENCY)
    pool = [object() for _ in range(CONCURRENCY)]
    loop = asyncio.get_running_loop()

    async def one() -> None:
        async with sem:
            handle = pool.pop()
            try:
                future = loop.create_future()
                loop.call_soon(future.set_result, handle)
                await future
            finally:
                pool.append(handle)

    await asyncio.gather(*(one() for _ in range(n)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uvloop", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    n = WORKLOADS["W4"].n
    walls, cpus = [], []
    for _ in range(args.rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        run_on("uvloop" if args.uvloop else "asyncio", lambda: harness(n))
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    loop = "uvloop" if args.uvloop else "asyncio"
    print(f"W4 harness on {loop}, {n} tasks: median wall {statistics.median(walls):.3f} s, "
          f"CPU {statistics.median(cpus):.3f} s ({args.rounds} rounds)")


if __name__ == "__main__":
    main()
