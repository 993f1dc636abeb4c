"""Medians, ratios, targets, and the markdown of docs/performance.md.

The "## Analysis" section between the markers below is hand-written and kept
as it is when the file is regenerated.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from workloads import CONCURRENCY, WORKLOADS

BEGIN = "<!-- analysis:begin: hand-written, kept as is by benchmarks/run.py -->"
END = "<!-- analysis:end -->"
DEFAULT_ANALYSIS = "_Not written yet: where does pycurlcb spend its time in each workload?_"

# (workload, other peer, highest allowed median-wall ratio pycurlcb/other, wording)
TARGETS = [
    ("W1", "pycurl", 1.0, "W1 ≤ 1.0× pycurl"),
    ("W1", "c", 1.3, "W1 ≤ 1.3× C"),
    ("W2", "pycurl", 1.0, "W2 ≤ 1.0× pycurl"),
    ("W3", "pycurl", 1.0, "W3 ≤ 1.0× pycurl"),
    ("W3", "c", 1.5, "W3 ≤ 1.5× C"),
    ("W4", "c", 2.0, "W4 ≤ 2.0× C"),
    ("W4", "curl_cffi", 0.2, "W4 ≥ 5× faster than curl_cffi AsyncSession (≤ 0.2×)"),
    ("W4u", "c", 1.7, "W4u (uvloop) ≤ 1.7× C"),
    ("W5", "c", 1.1, "W5 ≤ 1.1× C"),
    ("W6", "pycurl", 0.85, "W6 ≤ 0.85× pycurl"),
    ("W7", "pycurl", 0.85, "W7 ≤ 0.85× pycurl"),
]

Key = tuple[str, str]  # (workload, peer)


def label(peer: str, ready: dict[str, Any]) -> str:
    if peer == "c":
        return "C (libcurl direct)"
    if peer == "curl_cffi":
        p = ready.get("curl_cffi")
        own = ""
        if p is not None and p.available:
            m = re.search(r"libcurl/(\S+)", str(p.info.get("libcurl", "")))
            own = f" {m.group(1)}" if m else ""
        return f"curl_cffi (bundles its own libcurl{own})"
    return peer


def summarise(runs: list[dict[str, Any]]) -> dict[Key, dict[str, float]]:
    by: dict[Key, list[dict[str, Any]]] = {}
    for r in runs:
        by.setdefault((r["workload"], r["peer"]), []).append(r)
    out = {}
    for key, rs in by.items():
        walls = [r["wall"] for r in rs]
        out[key] = {
            "n": rs[0]["n"],
            "runs": len(rs),
            "wall": statistics.median(walls),
            "wall_min": min(walls),
            "wall_max": max(walls),
            "cpu": statistics.median(r["cpu"] for r in rs),
            "rss_mib": statistics.median(r["maxrss_kib"] for r in rs) / 1024,
        }
    return out


def ratio(s: dict[Key, dict[str, float]], w: str, a: str, b: str, what: str) -> float | None:
    if (w, a) in s and (w, b) in s and s[(w, b)][what] > 0:
        return s[(w, a)][what] / s[(w, b)][what]
    return None


def fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}×"


def tables(
    runs: list[dict[str, Any]],
    ready: dict[str, Any],
    workloads: list[str],
    peers: list[str],
    skipped: dict[Key, str],
    failed: dict[Key, str],
) -> str:
    s = summarise(runs)
    lines = [
        "### Medians",
        "",
        "| Workload | Peer | N | runs | wall s | wall min–max s | µs/transfer | CPU s | peak RSS MiB |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for w in workloads:
        for p in peers:
            name = label(p, ready)
            if (w, p) in failed:
                why = failed[(w, p)].strip().splitlines()[-1][:150]
                lines.append(f"| {w} | {name} | | | **FAILED**: {why} | | | | |")
            elif (w, p) in s:
                x = s[(w, p)]
                lines.append(
                    f"| {w} | {name} | {x['n']} | {x['runs']} | {x['wall']:.3f} | "
                    f"{x['wall_min']:.3f}–{x['wall_max']:.3f} | {x['wall'] / x['n'] * 1e6:.1f} | "
                    f"{x['cpu']:.3f} | {x['rss_mib']:.1f} |"
                )
            else:
                lines.append(f"| {w} | {name} | | | n/a: {skipped.get((w, p), 'not run')} | | | | |")

    lines += [
        "",
        "### Ratios of medians (pycurlcb / peer; below 1 means pycurlcb is faster)",
        "",
        "| Workload | /pycurl wall | /pycurl CPU | /C wall | /C CPU | /curl_cffi wall | "
        "/curl_cffi CPU | pycurl/C wall (reference) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for w in workloads:
        cells = []
        for other in ("pycurl", "c", "curl_cffi"):
            cells += [
                fmt(ratio(s, w, "pycurlcb", other, "wall")),
                fmt(ratio(s, w, "pycurlcb", other, "cpu")),
            ]
        cells.append(fmt(ratio(s, w, "pycurl", "c", "wall")))
        lines.append(f"| {w} | " + " | ".join(cells) + " |")

    lines += [
        "",
        "### Targets",
        "",
        "The result is judged on the ratio of median wall times; the CPU column applies the same",
        "limit to CPU time, which is less disturbed by other load but counts only the client.",
        "",
        "| Target | wall ratio | result | CPU ratio | on CPU | pycurl's wall ratio, for reference |",
        "|---|--:|---|--:|---|--:|",
    ]
    for w, other, limit, text in TARGETS:
        if w not in workloads:
            continue
        wall = ratio(s, w, "pycurlcb", other, "wall")
        cpu = ratio(s, w, "pycurlcb", other, "cpu")
        ref = "" if other == "pycurl" else fmt(ratio(s, w, "pycurl", other, "wall"))
        if wall is None:
            missing = [p for p in ("pycurlcb", other) if (w, p) not in s]
            why = "; ".join(
                f"{p}: "
                + (failed.get((w, p)) or skipped.get((w, p), "not in --peers")).strip().splitlines()[-1][:100]
                for p in missing
            )
            lines.append(f"| {text} | n/a | n/a ({why}) | n/a | | {ref} |")
            continue
        on_wall = "PASS" if wall <= limit else "MISS"
        on_cpu = "PASS" if cpu is not None and cpu <= limit else "MISS"
        lines.append(f"| {text} | {fmt(wall)} | {on_wall} | {fmt(cpu)} | {on_cpu} | {ref} |")
    return "\n".join(lines)


def sh(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def git_state() -> str:
    """The repo's commit, and whether pycurlcb/ differs from it (taken when the run starts)."""
    repo = str(Path(__file__).resolve().parent.parent)
    commit = sh("git", "-C", repo, "rev-parse", "--short", "HEAD")
    if commit and sh("git", "-C", repo, "status", "--porcelain", "--", "pycurlcb", "ffi", "build_ffi.py"):
        commit += " (pycurlcb/, ffi/ or build_ffi.py had uncommitted changes)"
    return commit


def machine_and_versions(ready: dict[str, Any], nginx_version: str) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(name: str) -> str:
        p = ready.get(name)
        if p is None:
            return "not benchmarked"
        return p.version if p.available else f"not available ({p.reason})"

    commit = git_state()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit or "unknown",  # run.py overrides it with the state at start
        "machine": f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}",
        "python": sys.version.split()[0] + f" ({sys.executable})",
        "libcurl": sh("curl-config", "--version") or "curl-config not found",
        "pycurlcb": version("pycurlcb"),
        "pycurl": version("pycurl"),
        "curl_cffi": version("curl_cffi"),
        "c": version("c"),
        "nginx": nginx_version,
    }


def method(meta: dict[str, Any]) -> str:
    return (
        f"""\
Server: nginx from Debian, own config, one worker, `access_log off`, keep-alive
(`keepalive_requests 1000000`), on 127.0.0.1; `/small` is the 5-byte body
`hello`, `/big` is 1 MiB, `/upload` takes a PUT. CPU pinning: {meta["pinning"]}.

| Workload | N | What |
|---|--:|---|
"""
        + "\n".join(f"| {w.name} | {w.n} | {w.what} |" for w in WORKLOADS.values())
        + f"""

- pycurl and pycurlcb run the same Python code (benchmarks/workloads.py,
  parametrised by the module). W1 callbacks: opensocket returns
  `socket.socket(family, socktype, protocol)`, sockopt sets `TCP_NODELAY`,
  closesocket `os.close(fd)`. Every Python peer uses the same WRITEFUNCTION
  (append to a list, return the length). W3 reuses {CONCURRENCY} handles
  (info_read, remove_handle, add_handle again). W4: N tasks behind a semaphore
  of {CONCURRENCY}, each taking a Curl from a pool of {CONCURRENCY} and awaiting
  `AsyncCurlMulti.perform` (pycurlcb: its default driver, the C epoll one on
  Linux); curl_cffi: `AsyncSession(max_clients={CONCURRENCY})`, same semaphore,
  `await s.get(url)`. W4u: the same on a uvloop event loop. W4t: the same
  under trio (a `CapacityLimiter` and a nursery), pycurlcb only: no other peer
  runs under trio.
- curl_cffi in W2/W5 uses its low-level `curl_cffi.Curl` with a WRITEFUNCTION
  (set again before each perform, as curl_cffi drops callbacks after perform).
  It has no socket callbacks (W1) and no public socket_action (W3). In W6 it
  gets `setopt(WRITEDATA, BytesIO())` before each perform, as the others.
- W7: PUT (UPLOAD, INFILESIZE_LARGE = 1 MiB, `Expect:` header removed so no
  100-continue round trip) of a new `io.BytesIO(body)` per transfer via
  READDATA; nginx's `/upload` answers 200 and discards the body; the check is
  SIZE_UPLOAD_T. curl_cffi gets HTTPHEADER again before each perform (it
  frees the list after perform while libcurl keeps the pointer). C reads the
  body from memory in a READFUNCTION.
- C: benchmarks/c/*.c against the system libcurl; W3, W4 and W4u are all the
  `curl_multi_socket_action` + epoll program.
- Each run is a fresh process. Wall (perf_counter / CLOCK_MONOTONIC) and CPU
  (getrusage RUSAGE_SELF user+sys) are taken around the transfers, handle
  creation included, interpreter start-up and imports excluded. Peak RSS is
  ru_maxrss of the whole process (for C: RUSAGE_CHILDREN of its launcher).
- Every run checks that all N transfers answered 200 with the expected bytes
  (sent, for W7),
  and fails loudly otherwise. Per workload: one untimed warm-up run per peer
  at N/10, then {meta["rounds"]} rounds with the peers alternating (A B C A B C …).
  Tables give medians; ratios are ratios of medians."""
    )


def render(meta: dict[str, Any], tables_md: str, analysis: str) -> str:
    busy = ""
    if meta["load_start"] > (os.cpu_count() or 1) - 0.5:
        busy = (
            f"\n> Load average {meta['load_start']:.1f} on {os.cpu_count()} cores when this run began: "
            "wall times include waiting for a CPU; the CPU ratios are steadier.\n"
        )
    quick = (
        "\n> **Quick smoke run (`--quick`, N divided by 10): not for conclusions.**\n"
        if meta["quick"]
        else ""
    )
    versions = "\n".join(
        f"- {k}: {meta[k]}"
        for k in ("machine", "load", "python", "libcurl", "pycurlcb", "pycurl", "curl_cffi", "c", "nginx")
    )
    return f"""\
# Performance

<!-- Generated by benchmarks/run.py; everything outside the analysis markers is rewritten. -->

Generated {meta["date"]} at commit {meta["commit"]} with:

    {meta["command"]}
{quick}{busy}
## Results

{tables_md}

## Method

{method(meta)}

## Machine and versions

{versions}

## Analysis

{BEGIN}
{analysis}
{END}
"""


def write(path: Path, meta: dict[str, Any], tables_md: str) -> None:
    analysis = DEFAULT_ANALYSIS
    if path.exists():
        old = path.read_text()
        m = re.search(re.escape(BEGIN) + r"\n?(.*?)\n?" + re.escape(END), old, re.S)
        if m:
            analysis = m.group(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(meta, tables_md, analysis))
