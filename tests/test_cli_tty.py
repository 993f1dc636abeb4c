"""``python -m pycurlcb`` with stderr on a pseudo-terminal: the progress line, and Ctrl-C.

The server here is the test's own: a standard-library HTTP server whose
``GET /<chunks>/<ms>`` streams ``chunks`` pieces of 4 KiB, one every ``ms``
milliseconds, with a Content-Length, so a transfer lasts as long as a test
needs.  The command runs as a subprocess whose stderr is the slave side of a
``pty.openpty()`` pair; the test reads the master side.
"""

from __future__ import annotations

import http.server
import os
import pty
import re
import select
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 4096

pytestmark = pytest.mark.skipif(not hasattr(pty, "openpty"), reason="no pseudo-terminals here")


class _DripHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: DripServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        chunks, ms = (int(part) for part in self.path.strip("/").split("/"))
        self.send_response(200)
        self.send_header("Content-Length", str(chunks * CHUNK))
        self.end_headers()
        self.server.started.set()
        for _ in range(chunks):
            try:
                self.wfile.write(b"x" * CHUNK)
                self.wfile.flush()
            except OSError:  # the client went away (Ctrl-C)
                self.close_connection = True
                return
            if self.server.stopping.wait(ms / 1000):
                self.close_connection = True
                return

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class DripServer(http.server.ThreadingHTTPServer):
    """``url(chunks, ms)``; ``started`` is set once a response has begun."""

    daemon_threads = False
    block_on_close = True

    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _DripHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no getfqdn() DNS lookup
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])

    def url(self, chunks: int, ms: int) -> str:
        return f"http://127.0.0.1:{self.server_port}/{chunks}/{ms}"


@pytest.fixture
def drip_server() -> Iterator[DripServer]:
    server = DripServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        thread.join()
        server.server_close()


class Run(NamedTuple):
    code: int
    stdout: str
    terminal: str  # what the command wrote on its terminal (stderr), "\r\n" line ends


def run_on_terminal(
    *argv: str, interrupt_when: Optional[threading.Event] = None, after: float = 0.0
) -> Run:
    """``python -m pycurlcb ARGV`` with stderr on a pty, stdout on a pipe.

    With ``interrupt_when``: SIGINT to the command ``after`` seconds once it is set.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("COLUMNS", None)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pycurlcb", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            env=env,
            cwd=ROOT,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    assert proc.stdout is not None
    terminal = b""
    stdout = b""
    deadline = time.monotonic() + 10
    interrupted = interrupt_when is None
    try:
        open_fds = {master, proc.stdout.fileno()}
        while open_fds and time.monotonic() < deadline:
            if not interrupted and interrupt_when is not None and interrupt_when.is_set():
                time.sleep(after)
                proc.send_signal(signal.SIGINT)
                interrupted = True
            ready, _, _ = select.select(list(open_fds), [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the pty's slave side is closed everywhere
                    data = b""
                if not data:
                    open_fds.discard(fd)
                elif fd == master:
                    terminal += data
                else:
                    stdout += data
        code = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        os.close(master)
    return Run(code, stdout.decode(), terminal.decode())


PROGRESS = re.compile(r"\r(\d+\.\d KiB) of \d+\.\d KiB \((\d+)%\), [\d.]+ KiB/s, (\d+\.\d) s\x1b\[K")


def test_a_slow_transfer_shows_progress_on_a_terminal(drip_server: DripServer) -> None:
    run = run_on_terminal(drip_server.url(20, 100))  # 80 KiB over 2 s
    assert run.code == 0, run
    shown = PROGRESS.findall(run.terminal)
    assert len(shown) >= 2, repr(run.terminal)
    assert "of 80.0 KiB (" in run.terminal
    # Nothing in the first second; then it grows.
    assert all(float(elapsed) >= 1.0 for _, _, elapsed in shown)
    percents = [int(p) for _, p, _ in shown]
    assert percents == sorted(percents) and 0 < percents[0] < 100
    # The line is erased before the command ends; nothing else went to the terminal.
    assert run.terminal.endswith("\r\x1b[K")
    assert PROGRESS.sub("", run.terminal) == "\r\x1b[K"
    # The timeline (on stdout) is the same as without a terminal.
    assert run.stdout.splitlines()[-1].startswith("status 200, 81920 bytes, total ")


def test_no_progress_when_stderr_is_not_a_terminal(drip_server: DripServer) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pycurlcb", drip_server.url(15, 100)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert "status 200, 61440 bytes" in proc.stdout


def test_no_progress_meter(drip_server: DripServer) -> None:
    run = run_on_terminal("--no-progress-meter", drip_server.url(15, 100))
    assert run.code == 0 and run.terminal == ""


def test_a_quick_transfer_shows_no_progress() -> None:
    run = run_on_terminal()  # the embedded server: milliseconds
    assert run.code == 0 and run.terminal == ""
    assert "(embedded server)" in run.stdout


# sigint_raises: the child must not inherit an ignored SIGINT (a shell's background job).
@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_prints_the_timeline_so_far_and_exits_130(drip_server: DripServer) -> None:
    # 100 chunks, 50 ms apart: 5 s unless interrupted, 1.3 s after the response starts.
    run = run_on_terminal(
        drip_server.url(100, 50), interrupt_when=drip_server.started, after=1.3
    )
    assert run.code == 130, run
    lines = run.stdout.splitlines()
    kinds = [line[14:24].strip() for line in lines[1:]]  # "{ms:9.3f} ms  {kind:<10} {text}"
    assert kinds[:3] == ["start", "resolved", "open"]
    assert "connected" in kinds and "first byte" in kinds
    ctrl_c = next(line for line in lines if " ctrl-c " in line)
    received = re.search(r"ctrl-c     interrupted, (\d+) bytes received$", ctrl_c)
    assert received and 0 < int(received[1]) < 100 * CHUNK, ctrl_c
    # libcurl closes the abandoned connection after Ctrl-C: the last line.
    assert kinds[-2:] == ["ctrl-c", "close"]
    assert not any(line.startswith("status ") for line in lines)
    # On the terminal: the progress line (1 s had passed), erased, then one error line.
    assert PROGRESS.search(run.terminal)
    assert PROGRESS.sub("", run.terminal) == "\r\x1b[Kpycurlcb: (130) interrupted\r\n"
    assert "Traceback" not in run.terminal


@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_leaves_an_existing_output_file_intact(
    drip_server: DripServer, tmp_path: Path
) -> None:
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    run = run_on_terminal(
        "-o", str(target), drip_server.url(100, 50), interrupt_when=drip_server.started, after=0.3
    )
    assert run.code == 130, run
    assert target.read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]


@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_during_parallel_transfers(drip_server: DripServer) -> None:
    urls = [drip_server.url(100, 50) for _ in range(3)]  # the third waits for a free slot
    run = run_on_terminal(
        "--parallel", "2", *urls, interrupt_when=drip_server.started, after=0.3
    )
    assert run.code == 130, run
    out = run.stdout
    assert re.search(r"^\[3\] .*\n\(not started\)$", out, re.M), out
    ctrl_c = [line for line in out.splitlines() if " ctrl-c " in line]
    assert len(ctrl_c) == 2
    for block in re.split(r"^\[\d\] .*$", out, flags=re.M)[1:3]:
        kinds = [line[14:24].strip() for line in block.strip().splitlines()]
        assert kinds[-2:] == ["ctrl-c", "close"], block
    summary = out.splitlines()[-1]
    assert summary.startswith("3 transfers, 0 failed, 2 interrupted, 2 sockets opened, ")
    assert run.terminal.endswith("pycurlcb: (130) interrupted\r\n")
