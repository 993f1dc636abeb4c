"""One run of pycurl's test suite under pytest, surviving interpreter crashes.

pytest runs in a child process with compat/plugin/pycurlcb_compat_record.py,
which logs each test as it starts and ends.  If the child dies by a signal, or
ends without finishing the session, or makes no progress for STALL_SECONDS,
the test that had started and not ended is recorded as ``crashed`` and pytest
runs again with it and every finished test deselected: one crash never hides
the rest of the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"
PLUGIN = "pycurlcb_compat_record"
# Seconds per test (pytest-timeout): a hang, not a slow test.  pycurl's
# setopt_lifecycle_test runs 1000 full gc.collect()s over the suite's heap:
# 11-33 s alone on this 2-core VM for real pycurl and pycurlcb alike, and 62 s
# once inside the whole suite (25 Nov 2026), which a 60 s limit failed.
TEST_TIMEOUT = 180
STALL_SECONDS = 2 * TEST_TIMEOUT + 30  # no event for this long: pytest is stuck in C code
MAX_ATTEMPTS = 50


@dataclass
class Result:
    outcomes: dict[str, str] = field(default_factory=dict)  # node id -> outcome
    collected: set[str] = field(default_factory=set)
    collect_errors: dict[str, str] = field(default_factory=dict)  # test file -> message
    crashes: dict[str, str] = field(default_factory=dict)  # node id -> how it died
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run(name: str, root: Path, pytest_args: list[str], pythonpath: list[Path], work: Path) -> Result:
    """Run pytest in root (the sdist copy) until every selected test has an outcome.

    name labels the log and event files in work; pythonpath goes first on
    PYTHONPATH (the plugin directory is added)."""
    log, events, skip = (work / f"{name}.{ext}" for ext in ("log", "events.jsonl", "skip.json"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, [*pythonpath, PLUGIN_DIR])))
    command = [sys.executable, "-m", "pytest", *pytest_args, "-p", PLUGIN,
               f"--compat-events={events}", f"--compat-skip={skip}"]
    result = Result()
    start = time.monotonic()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        skip.write_text(json.dumps(sorted(result.outcomes)))
        events.write_text("")
        with log.open("a") as out:
            out.write(f"\n===== compat attempt {attempt}: {' '.join(command)}\n")
            out.flush()
            status, how = _run_watched(command, root, env, out, events)
        running, finished = _read_events(events, result)
        if not running:
            if not finished:
                result.notes.append(f"pytest {how} with no test running: the rest of the suite did not run")
            elif status not in range(6):
                result.notes.append(f"pytest {how} after the session finished")
            break
        for test in running:  # killed the interpreter, or interrupted the session
            result.outcomes[test] = "crashed"
            result.crashes[test] = f"interrupted the session ({how})" if finished else how
    else:
        result.notes.append(f"gave up after {MAX_ATTEMPTS} crashes: the rest of the suite did not run")
    result.seconds = time.monotonic() - start
    return result


def _run_watched(command: list[str], root: Path, env: dict[str, str], out: IO[str],
                 events: Path) -> tuple[int, str]:
    """Run command in its own process group; kill the group if the events file
    stalls.  Returns the exit status (negative for a signal) and how it ended."""
    proc = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    hung = False
    # Wait without reaping, so the group id stays ours until the kill below.
    while not os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
        if not hung and time.time() - events.stat().st_mtime > STALL_SECONDS:
            hung = True
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)  # servers the tests started and left behind
    status = proc.wait()
    if hung:
        return status, f"made no progress for {STALL_SECONDS} s and was killed"
    if status < 0:
        return status, f"died by {signal.Signals(-status).name}"
    return status, f"exited with status {status}"


def _read_events(events: Path, result: Result) -> tuple[list[str], bool]:
    """Fold one attempt's events into result.  Returns the tests that started
    and did not end, and whether the session finished."""
    started: list[str] = []
    finished = False
    for line in events.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:  # a line cut short by the crash
            continue
        kind = event["event"]
        if kind == "collected":
            result.collected.update(event["ids"])
        elif kind == "collect-error":
            result.collect_errors[event["path"]] = event["message"]
        elif kind == "start":
            started.append(event["id"])
        elif kind == "outcome":
            result.outcomes[event["id"]] = event["outcome"]
        elif kind == "finish":
            finished = True
    return [test for test in started if test not in result.outcomes], finished
