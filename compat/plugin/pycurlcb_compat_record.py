"""pytest plugin for compat/run.py: record every test's outcome as JSON lines.

Loaded with ``-p pycurlcb_compat_record --compat-events=FILE``.  Each line is
flushed as it is written, so the file survives an interpreter crash: a test
with a ``start`` line and no ``outcome`` line is the one that was running.

    {"event": "collected", "ids": [node id, ...]}   after deselection
    {"event": "collect-error", "path": "tests/x_test.py", "message": "..."}
    {"event": "start", "id": node id}
    {"event": "outcome", "id": node id, "outcome": "passed"}
    {"event": "finish", "exitstatus": 0}

Outcomes: passed, failed, error (setup or teardown failed), skipped, xfailed,
xpassed.  ``--compat-skip=FILE`` (a JSON list of node ids) deselects tests that
an earlier, crashed attempt already finished or crashed in.
"""

from __future__ import annotations

import json

import pytest

# When two phases disagree, the later-listed outcome wins (a teardown error
# after a passing call is an error).
_RANK = ["passed", "skipped", "xpassed", "xfailed", "failed", "error"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pycurlcb compat")
    group.addoption("--compat-events", help="append JSON lines of test events to this file")
    group.addoption("--compat-skip", help="JSON list of node ids to deselect")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("compat_events")
    if path:
        config.pluginmanager.register(_Recorder(path, config.getoption("compat_skip")))


def _phase_outcome(report: pytest.TestReport) -> str:
    xfail = hasattr(report, "wasxfail")
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "xfailed" if xfail else "skipped"
    return "xpassed" if xfail and report.when == "call" else "passed"


class _Recorder:
    def __init__(self, path: str, skip_path: str | None) -> None:
        self._file = open(path, "a", encoding="utf-8")
        self._skip: set[str] = set()
        if skip_path:
            with open(skip_path, encoding="utf-8") as f:
                self._skip = set(json.load(f))
        self._current: dict[str, str] = {}

    def _write(self, **event: object) -> None:
        self._file.write(json.dumps(event) + "\n")
        self._file.flush()

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        dropped = [item for item in items if item.nodeid in self._skip]
        if dropped:
            items[:] = [item for item in items if item.nodeid not in self._skip]
            config.hook.pytest_deselected(items=dropped)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # the first error line is the cause: an import's, say
            lines = str(report.longrepr).strip().splitlines() or [""]
            cause = next((line for line in lines if line.startswith("E ")), lines[-1])
            self._write(event="collect-error", path=report.nodeid, message=cause[1:].strip())

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._write(event="collected", ids=[item.nodeid for item in session.items])

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._current.pop(nodeid, None)
        self._write(event="start", id=nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = _phase_outcome(report)
        before = self._current.get(report.nodeid, "passed")
        self._current[report.nodeid] = max(before, outcome, key=_RANK.index)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self._write(event="outcome", id=nodeid, outcome=self._current.pop(nodeid, "passed"))

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        self._write(event="finish", exitstatus=int(exitstatus))
        self._file.close()
