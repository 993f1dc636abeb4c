"""What an attached ssrf.Policy costs per connection (make bench; issue target: < 5 us).

W1's shape without user callbacks: sequential GETs of /small from the
benchmark nginx on 127.0.0.1, a fresh connection each (FORBID_REUSE), on one
Curl, without a policy and with ``Policy(allow=["127.0.0.1/32"])`` attached
(so every connection is checked, and allowed).  Rounds alternate between
the two, in one process; the cost is the median of the per-round
differences of the client process's CPU time, in microseconds per
connection.  With a policy the transfer
crosses into Python twice more (the opensocket trampoline, and the prereq
trampoline on libcurl >= 7.80.0) and runs the table lookup each time.

CPU time on a shared 2-core machine is noisy at this scale, so the same
comparison is also counted in instructions (callgrind, N1 and N2 transfers
in fresh processes, per connection = difference / (N2 - N1); nginx is not
counted), and turned into microseconds at the rate the unguarded transfer
ran (its instructions over its CPU time).

Also: the check alone (``Guard.refuse`` on a packed address, in-process,
timeit), which is the part of the cost the table lookup itself takes.

Usage: benchmarks/ssrf_cost.py [--n 2000] [--rounds 7] [--no-install]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nginx  # noqa: E402
from instructions import instructions  # noqa: E402

import pycurlcb  # noqa: E402
from pycurlcb import ssrf  # noqa: E402

WORK = Path(__file__).resolve().parent / ".work"
TARGET_US = 5.0


def run(url: str, n: int, policy: ssrf.Policy | None) -> float:
    """The client's CPU seconds (time.process_time: the server's and other
    processes' time left out) for ``n`` fresh-connection GETs of ``url``."""
    curl = pycurlcb.Curl()
    curl.setopt(pycurlcb.URL, url)
    curl.setopt(pycurlcb.FORBID_REUSE, 1)
    curl.setopt(pycurlcb.WRITEFUNCTION, lambda data: None)
    if policy is not None:
        policy.attach(curl)
    start = time.process_time()
    for _ in range(n):
        curl.perform()
    elapsed = time.process_time() - start
    if curl.getinfo(pycurlcb.RESPONSE_CODE) != 200:
        raise SystemExit("ssrf_cost: the server did not answer 200")
    curl.close()
    return elapsed


_CHILD = """\
import sys
sys.path.insert(0, {here!r})
import ssrf_cost
from pycurlcb import ssrf
ssrf_cost.run({url!r}, {n}, ssrf.Policy(allow=["127.0.0.1/32"]) if {guarded} else None)
"""


def instructions_per_connection(url: str, guarded: bool, n1: int = 50, n2: int = 250) -> float:
    def count(n: int) -> int:
        code = _CHILD.format(here=str(Path(__file__).resolve().parent), url=url, n=n, guarded=guarded)
        return instructions([sys.executable, "-c", code])

    return (count(n2) - count(n1)) / (n2 - n1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="connections per round")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install nginx")
    args = ap.parse_args()
    policy = ssrf.Policy(allow=["127.0.0.1/32"])
    binary = nginx.find_nginx(install=not args.no_install)
    with nginx.Nginx(binary, WORK) as server:
        url = server.url + "/small"
        run(url, args.n // 10, None)  # warm-up
        run(url, args.n // 10, policy)
        diffs, bare = [], []
        for _ in range(args.rounds):
            without = run(url, args.n, None)
            with_policy = run(url, args.n, policy)
            bare.append(without / args.n * 1e6)
            diffs.append((with_policy - without) / args.n * 1e6)
        ir = None
        if shutil.which("valgrind"):
            ir = (instructions_per_connection(url, False), instructions_per_connection(url, True))
    guard = ssrf.Guard((policy,), None)
    raw = bytes([127, 0, 0, 1])
    check_us = min(timeit.repeat(lambda: guard.refuse(2, raw, 80), number=20000, repeat=5)) / 20000 * 1e6
    cost = statistics.median(diffs)
    print(f"ssrf.Policy per connection (W1 shape, N={args.n}, {args.rounds} alternating rounds, "
          f"libcurl {pycurlcb.version_info()[1]}):")
    print(f"  client CPU time of a transfer without a policy: {statistics.median(bare):.1f} us")
    print(f"  added by the policy: median {cost:.2f} us (rounds {min(diffs):.2f} .. {max(diffs):.2f})")
    print(f"  of which the table lookup (Guard.refuse, timeit): {check_us:.2f} us per check")
    if ir is not None:
        rate = ir[0] / statistics.median(bare)  # instructions per us of CPU, unguarded
        cost = (ir[1] - ir[0]) / rate
        print(f"  instructions per connection (callgrind): {ir[0]:.0f} without, {ir[1]:.0f} with: "
              f"+{ir[1] - ir[0]:.0f}, {cost:.2f} us at {rate:.0f} instructions/us")
    print(f"  target < {TARGET_US} us per connection: {'met' if cost < TARGET_US else 'NOT met'}"
          f" ({'instructions' if ir is not None else 'CPU time'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
