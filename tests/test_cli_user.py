"""``python -m pycurlcb`` as a user runs it: a subprocess, against real local servers.

Each test checks what the user sees: the exit status (curl's), exactly one
error line on stderr and never a traceback, and what happened to the files
named by ``-o``.  Ctrl-C and the progress display are in test_cli_tty.py.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from since import VERSION_NUM, version_num

ROOT = Path(__file__).resolve().parent.parent


def pycurlcb(*argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``python -m pycurlcb ARGV``; stdout and stderr captured (not terminals)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "pycurlcb", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


def one_error_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The command failed with ``code`` and said why in exactly one line."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"pycurlcb: ({code}) "), lines[0]
    return lines[0]


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- the demo, the entry points ---------------------------------------------------


def test_demo() -> None:
    proc = pycurlcb()
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress line: stderr is not a terminal
    assert "(embedded server)" in proc.stdout
    assert re.search(r"^\s+[\d.]+ ms  open       fd \d+, IPCXN AF_INET 127\.0\.0\.1:", proc.stdout, re.M)
    assert re.search(r"^\s+[\d.]+ ms  close      fd \d+ \(at Curl\.close\(\)\)$", proc.stdout, re.M)
    assert proc.stdout.splitlines()[-1].startswith("status 200, ")


def test_console_script() -> None:
    script = Path(sys.executable).with_name("pycurlcb")
    if not script.exists():
        pytest.skip(f"no console script at {script} (pycurlcb not pip-installed here)")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("pycurlcb ")


def test_import_pycurlcb_does_not_import_the_cli() -> None:
    code = (
        "import sys, pycurlcb; "
        "print(sorted(m for m in sys.modules if m.startswith('pycurlcb.cli') or m == 'argparse'))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_version() -> None:
    proc = pycurlcb("--version")
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert re.match(r"pycurlcb \d+\.\d+\.\d+ \(\w+ \d+\.\d+\.\d+\) libcurl/\d+\.\d+\.\d+", lines[0])
    assert lines[1].startswith("Protocols: ") and " http " in lines[1] + " "
    assert lines[2].startswith("Features: ")


def test_usage_error_is_one_line() -> None:
    line = one_error_line(pycurlcb("--parallel", "0"), 2)
    assert "argument --parallel: expected a number of transfers >= 1, got '0'" in line


# --- exit statuses -----------------------------------------------------------------


def test_fail_on_404_gives_22(httpserver: Any) -> None:
    httpserver.expect_request("/missing").respond_with_data(b"gone", status=404)
    line = one_error_line(pycurlcb("--fail", httpserver.url_for("/missing")), 22)
    # libcurl 7.73.0 adds the reason phrase ("404 NOT FOUND"); 7.76.1 and newer do not
    reason = "" if VERSION_NUM >= version_num("7.76.0") else "( .+)?"
    assert re.search(": The requested URL returned error: 404" + reason + "$", line), line


def test_could_not_resolve_gives_6() -> None:
    line = one_error_line(pycurlcb("http://no-such-host.invalid/"), 6)
    assert "CURLE_COULDNT_RESOLVE_HOST" in line


def test_refused_gives_7(refusing_port: int) -> None:
    one_error_line(pycurlcb(f"http://127.0.0.1:{refusing_port}/"), 7)


def test_timeout_gives_28(silent_server: Any) -> None:
    host, port = silent_server
    line = one_error_line(pycurlcb("-m", "0.3", f"http://{host}:{port}/"), 28)
    assert "CURLE_OPERATION_TIMEDOUT" in line


# --- --connect-to: CURLOPT_CONNECT_TO ------------------------------------------------


def test_connect_to_a_name_that_does_not_resolve(http_url: str, httpserver: Any) -> None:
    url = "http://example.test/hello"  # .test never resolves (RFC 6761)
    one_error_line(pycurlcb(url), 6)
    proc = pycurlcb("--connect-to", f"example.test:80:127.0.0.1:{httpserver.port}", url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines()[-1].startswith("status 200, 5 bytes")


# --- -o FILE -----------------------------------------------------------------------


def test_output_file(http_url: str, tmp_path: Path) -> None:
    target = tmp_path / "body"
    proc = pycurlcb("-o", str(target), http_url)
    assert proc.returncode == 0 and proc.stderr == ""
    assert target.read_bytes() == b"hello"
    assert files_in(tmp_path) == ["body"]  # no temporary file left


def test_output_replaces_an_existing_file_keeping_its_mode(http_url: str, tmp_path: Path) -> None:
    target = tmp_path / "body"
    target.write_bytes(b"old content, longer than the new")
    target.chmod(0o640)
    proc = pycurlcb("-o", str(target), http_url)
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes() == b"hello"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert files_in(tmp_path) == ["body"]


def test_failed_transfer_leaves_an_existing_file_intact(refusing_port: int, tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    proc = pycurlcb("-o", str(target), f"http://127.0.0.1:{refusing_port}/")
    one_error_line(proc, 7)
    assert target.read_bytes() == b"keep me"
    assert files_in(tmp_path) == ["precious"]


def test_fail_leaves_an_existing_file_intact(httpserver: Any, tmp_path: Path) -> None:
    httpserver.expect_request("/missing").respond_with_data(b"error page", status=404)
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    one_error_line(pycurlcb("--fail", "-o", str(target), httpserver.url_for("/missing")), 22)
    assert target.read_bytes() == b"keep me"
    assert files_in(tmp_path) == ["precious"]


def test_output_through_a_symlink_replaces_its_target(http_url: str, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_bytes(b"old")
    link = tmp_path / "link"
    link.symlink_to(real)
    proc = pycurlcb("-o", str(link), http_url)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and real.read_bytes() == b"hello"


def test_output_to_dev_full_gives_23(http_url: str) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    proc = pycurlcb("-o", "/dev/full", http_url)
    line = one_error_line(proc, 23)
    assert line == "pycurlcb: (23) cannot write /dev/full: No space left on device"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # still the device, not a file renamed onto it


def test_output_into_a_missing_directory_gives_23(http_url: str, tmp_path: Path) -> None:
    line = one_error_line(pycurlcb("-o", str(tmp_path / "no" / "body"), http_url), 23)
    assert line.endswith("body: No such file or directory")
    assert files_in(tmp_path) == []


def test_output_to_stdout(http_url: str) -> None:
    proc = pycurlcb("-o", "-", http_url)
    assert proc.returncode == 0
    assert proc.stdout == "hello"
    assert "status 200, 5 bytes" in proc.stderr  # the timeline moved to stderr


def test_stdout_closed_early_is_quiet() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pycurlcb", "--parallel", "200"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()  # as `| head -1` does
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=30) == 23  # CURLE_WRITE_ERROR, as curl on a closed pipe
    assert b"Traceback" not in err and err == b""
