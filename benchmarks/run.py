#!/usr/bin/env python3
"""Benchmark pycurlcb against pycurl, C and curl_cffi on a local nginx.

    .venv/bin/python benchmarks/run.py            # `make bench`: 5 rounds, docs/performance.md
    .venv/bin/python benchmarks/run.py --quick    # N/10, benchmarks/.work/performance-quick.md

Every (workload, peer) run is a fresh process (`run.py --one W2 pycurl --url ... --n ...`)
that prints one JSON line: wall and CPU seconds around the transfers, peak RSS,
and the counts it verified. Peers alternate within each round.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
BINDIR = WORK / "bin"
sys.path.insert(0, str(HERE))
sys.path.append(str(ROOT))  # pycurlcb: installed first, else this checkout (see peers.py)

import nginx  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
import workloads  # noqa: E402
from workloads import NOT_APPLICABLE, PEERS, WORKLOADS, WorkloadError  # noqa: E402

CHILD_TIMEOUT = 600  # seconds for one run; a hang is a failure


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


# --- one run, in a fresh process ---------------------------------------------------


def run_one(workload: str, peer: str, url: str, n: int) -> dict[str, object]:
    w = WORKLOADS[workload]
    if peer == "c":
        cmd = [str(peers.c_binary(BINDIR, workload)), url + w.path, str(n)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise WorkloadError(f"{shlex.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
        out = json.loads(r.stdout.strip().splitlines()[-1])
        wall, cpu, ok, nbytes = out["wall"], out["cpu"], out["ok"], out["bytes"]
        maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    else:
        fn = workloads.get(workload, peer)  # imports the module: not timed
        c0, t0 = cpu_seconds(), time.perf_counter()
        counts = fn(url, n)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        ok, nbytes = counts.ok, counts.bytes
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if ok != n or nbytes != n * w.body_size:
        raise WorkloadError(
            f"{workload} {peer}: {ok} transfers answered 200 with "
            f"{nbytes} bytes; expected {n} and {n * w.body_size}"
        )
    return {
        "workload": workload,
        "peer": peer,
        "n": n,
        "wall": wall,
        "cpu": cpu,
        "maxrss_kib": maxrss,
        "ok": ok,
        "bytes": nbytes,
    }


def one_main(args: argparse.Namespace) -> int:
    workload, peer = args.one
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # the C peer inherits it
    try:
        print(json.dumps(run_one(workload, peer, args.url, args.n)), flush=True)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


class RunFailed(Exception):
    pass


def run_child(workload: str, peer: str, url: str, n: int, cpu: int | None) -> dict[str, object]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", workload, peer]
    cmd += ["--url", url, "--n", str(n)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"timed out after {CHILD_TIMEOUT}s") from None
    if r.returncode != 0:
        raise RunFailed(f"exit {r.returncode}:\n{r.stderr.strip()[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# --- the whole benchmark -------------------------------------------------------------


def prepare(names: list[str], install: bool) -> dict[str, peers.Peer]:
    ready = {}
    for name in names:
        if name == "pycurlcb":
            p = peers.prepare_pycurlcb()
        elif name == "pycurl":
            p = peers.prepare_pycurl(install)
        elif name == "curl_cffi":
            p = peers.prepare_curl_cffi(install)
        else:
            p = peers.compile_c(BINDIR)
        print(f"  {name:10} " + (p.version if p.available else f"SKIPPED: {p.reason}"), flush=True)
        ready[name] = p
    return ready


def not_applicable(workload: str, peer: peers.Peer) -> str:
    if (workload, peer.name) in NOT_APPLICABLE:
        return NOT_APPLICABLE[(workload, peer.name)]
    # pycurlcb is being written: a missing class is "not there yet", not a failure.
    if workload == "W3" and peer.name == "pycurlcb" and not peer.info.get("has_multi"):
        return "this pycurlcb has no CurlMulti yet"
    async_workload = workload in ("W4", "W4u", "W4t")
    if async_workload and peer.name in ("pycurl", "pycurlcb") and not peer.info.get("has_async"):
        return f"this {peer.name} has no AsyncCurlMulti (pycurl has it from 7.49)"
    return ""


def bench(args: argparse.Namespace) -> int:
    names = args.peers.split(",")
    chosen = args.workloads.split(",")
    for x in names:
        if x not in PEERS:
            raise SystemExit(f"unknown peer {x!r}; choose from {','.join(PEERS)}")
    for x in chosen:
        if x not in WORKLOADS:
            raise SystemExit(f"unknown workload {x!r}; choose from {','.join(WORKLOADS)}")

    print("peers:", flush=True)
    ready = prepare(names, install=not args.no_install)
    binary = nginx.find_nginx(install=not args.no_install)
    divisor = 10 if args.quick else 1
    # --pin: the client runs on the first CPU and nginx's worker on the last.
    cpus = sorted(os.sched_getaffinity(0))
    client_cpu, server_cpu = (cpus[0], cpus[-1]) if len(cpus) >= 2 and args.pin else (None, None)

    load_start = os.getloadavg()[0]
    commit = report.git_state()
    if load_start > 0.5:
        print(
            f"note: load average {load_start:.2f}: other processes are busy, numbers will be noisy",
            flush=True,
        )
    runs: list[dict[str, object]] = []
    skipped: dict[tuple[str, str], str] = {}  # (workload, peer) -> why there is no number
    failed: dict[tuple[str, str], str] = {}
    with nginx.Nginx(binary, WORK, server_cpu) as server:
        print(f"nginx {nginx.nginx_version(binary)} on {server.url}", flush=True)
        for wname in chosen:
            n = max(1, WORKLOADS[wname].n // divisor)
            active = []
            for name in names:
                p = ready[name]
                why = not_applicable(wname, p) if p.available else p.reason
                if why:
                    skipped[(wname, name)] = why
                else:
                    active.append(name)
            print(f"{wname} (N={n}): {WORKLOADS[wname].what}", flush=True)
            # Untimed warm-up of every peer (server, page cache); also fails fast.
            for name in active[:]:
                try:
                    run_child(wname, name, server.url, max(1, n // 10), client_cpu)
                except RunFailed as e:
                    failed[(wname, name)] = str(e)
                    active.remove(name)
                    print(f"  FAILED {wname} {name} (warm-up): {e}", flush=True)
            for rnd in range(1, args.rounds + 1):
                for name in active[:]:
                    try:
                        res = run_child(wname, name, server.url, n, client_cpu)
                    except RunFailed as e:
                        failed[(wname, name)] = str(e)
                        active.remove(name)
                        print(f"  FAILED {wname} {name} round {rnd}: {e}", flush=True)
                        continue
                    res["round"] = rnd
                    runs.append(res)
                    print(
                        f"  round {rnd} {name:10} wall {res['wall']:8.3f}s  "
                        f"cpu {res['cpu']:8.3f}s  rss {int(res['maxrss_kib']) / 1024:6.1f} MiB",
                        flush=True,
                    )

    WORK.mkdir(exist_ok=True)
    (WORK / "last-results.json").write_text(json.dumps(runs, indent=1))
    output = (
        Path(args.output)
        if args.output
        else (WORK / "performance-quick.md" if args.quick else ROOT / "docs" / "performance.md")
    )
    meta = report.machine_and_versions(ready, nginx.nginx_version(binary))
    meta["commit"] = commit
    meta["load_start"] = load_start
    meta["command"] = command_line()
    meta["quick"] = args.quick
    meta["rounds"] = args.rounds
    meta["load"] = f"1-minute load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    meta["pinning"] = (
        f"client on CPU {client_cpu}, nginx worker on CPU {server_cpu}" if client_cpu is not None else "none"
    )
    tables = report.tables(runs, ready, chosen, names, skipped, failed)
    print()
    print(tables)
    report.write(output, meta, tables)
    print(f"wrote {output}")
    if failed:
        print(f"FAILED: {len(failed)} (workload, peer) pairs did not verify; see above", flush=True)
        return 1
    return 0


def command_line() -> str:
    exe = Path(sys.executable)
    try:
        exe_s = str(exe.relative_to(Path.cwd()))
    except ValueError:
        exe_s = str(exe)
    script = os.path.relpath(Path(__file__).resolve(), Path.cwd())
    return shlex.join([exe_s, script, *sys.argv[1:]])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="timed runs per (workload, peer); default 5")
    ap.add_argument("--quick", action="store_true", help="smoke run: N divided by 10")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, default all")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated, default all")
    ap.add_argument("--no-install", action="store_true", help="never apt-get or pip install anything")
    ap.add_argument(
        "--output",
        help="markdown report (default docs/performance.md; "
        "benchmarks/.work/performance-quick.md with --quick)",
    )
    ap.add_argument(
        "--pin",
        action="store_true",
        help="pin the client to the first CPU and nginx to the last (off by default: on this "
        "VM cross-CPU wake-ups made sequential request/response slower and no steadier)",
    )
    ap.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--one", nargs=2, metavar=("WORKLOAD", "PEER"), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        return one_main(args)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    # SIGTERM unwinds like Ctrl-C, so nginx is stopped by its context manager.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return bench(args)
    except KeyboardInterrupt:
        print("interrupted; nginx stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
