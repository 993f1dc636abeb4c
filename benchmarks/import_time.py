#!/usr/bin/env python3
"""Import time of pycurlcb against pycurl, interpreter start subtracted (`make bench`).

    .venv/bin/python benchmarks/import_time.py              # one report line
    .venv/bin/python benchmarks/import_time.py --detail     # and the modules that cost most

Each sample is a fresh interpreter (``python -c "import X"``, the same
interpreter and site-packages as this one), timed from outside; the samples of
``python -c pass`` and of each module alternate, and the median of each is
taken.  Bytecode is cached (in a scratch PYTHONPYCACHEPREFIX, written by a
warm-up run) as it is for an installed wheel, whatever PYTHONDONTWRITEBYTECODE
says.  The import time is the module's median minus the bare
interpreter's.  Both modules must use the same libcurl (pycurl built from source
against the system libcurl, as ``make test`` installs it).

``--detail`` adds ``python -X importtime``'s self times, summed per module over
the pycurlcb samples: what pycurlcb itself costs, and the standard-library
modules it pulls in that a bare ``import pycurl`` does not.

Target: pycurlcb within 1.5x of pycurl.  Exit status 0 either way (a report).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

TARGET = 1.5


def environment(cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def sample(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - start


def importtime(module: str, env: dict[str, str]) -> dict[str, int]:
    """{module: self microseconds} of one ``-X importtime`` run."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stderr
    out: dict[str, int] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        out[name] = int(self_us)
    return out


def measure(rounds: int, env: dict[str, str]) -> dict[str, float]:
    codes = {"python": "pass", "pycurl": "import pycurl", "pycurlcb": "import pycurlcb"}
    for code in codes.values():  # warm the bytecode (if written) and the page cache
        sample(code, env)
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for name, code in codes.items():
            times[name].append(sample(code, env))
    return {name: statistics.median(values) for name, values in times.items()}


def report(label: str, rounds: int, med: dict[str, float]) -> None:
    ms = {name: (med[name] - med["python"]) * 1000 for name in ("pycurl", "pycurlcb")}
    ratio = ms["pycurlcb"] / ms["pycurl"] if ms["pycurl"] > 0 else float("inf")
    verdict = "ok" if ratio <= TARGET else "MISS"
    print(
        f"import time, {label} (median of {rounds} fresh interpreters, start-up of "
        f"{med['python'] * 1000:.1f} ms subtracted): pycurlcb {ms['pycurlcb']:.1f} ms, "
        f"pycurl {ms['pycurl']:.1f} ms, ratio {ratio:.2f} (target <= {TARGET}: {verdict})"
    )


def detail(runs: int, env: dict[str, str]) -> None:
    """The modules pycurlcb imports and pycurl does not, by self time."""
    base: dict[str, int] = defaultdict(int)
    mine: dict[str, int] = defaultdict(int)
    for _ in range(runs):
        for name, us in importtime("pycurl", env).items():
            base[name] += us
        for name, us in importtime("pycurlcb", env).items():
            mine[name] += us
    rows = sorted(((us / runs / 1000, name) for name, us in mine.items() if name not in base), reverse=True)
    print(f"modules imported by pycurlcb and not by pycurl, self time (mean of {runs} runs):")
    for ms_self, name in rows[:25]:
        print(f"  {ms_self:6.2f} ms  {name}")
    print(f"  {sum(r[0] for r in rows):6.2f} ms  total of {len(rows)} modules")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--detail", action="store_true")
    args = parser.parse_args()
    try:
        import pycurl  # noqa: F401
    except ImportError:
        print("import time: pycurl is not installed here (make test installs it); skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="pycurlcb-pyc-") as cached:
        warm = environment(cached)
        report("bytecode cached", args.rounds, measure(args.rounds, warm))
        if args.detail:
            detail(max(5, args.rounds // 3), warm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
