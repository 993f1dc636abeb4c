"""The socket timeline of ``python -m pycurlcb``, against real local servers.

Run in-process through ``pycurlcb.cli.main(argv)`` (which returns the exit
status) with capsys: what the timeline shows for each option.  Every failure
must end with exactly one line on stderr, ``pycurlcb: (CODE) ...``, and exit
status CODE, curl's.  test_cli_user.py runs the command as a subprocess, and
test_cli_tty.py in a pseudo-terminal.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from servers import ipv6_loopback_available
from since import VERSION_NUM, version_num

import pycurlcb
from pycurlcb.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, code: int) -> str:
    """The only line of ``err``, which must report exit status ``code``."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"pycurlcb: ({code}) "), lines[0]
    assert "Traceback" not in err
    return lines[0]


def lines_of(out: str, kind: str) -> list[str]:
    """The timeline lines of one event kind ("open", "close" ...)."""
    return [line for line in out.splitlines() if re.match(rf"\s*[\d.]+ ms  {kind}\b", line)]


def server_port(httpserver: Any) -> int:
    return int(httpserver.port)


# --- the demo: the embedded server --------------------------------------------------------


def test_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    (opened,) = lines_of(out, "open")
    fd = re.search(r"fd (\d+), IPCXN AF_INET 127\.0\.0\.1:\d+$", opened)
    assert fd, opened
    (sockopt,) = lines_of(out, "sockopt")
    assert f"fd {fd[1]}, IPCXN: nothing set; libcurl left TCP_NODELAY=1" in sockopt
    (connected,) = lines_of(out, "connected")
    assert re.search(rf"fd {fd[1]}, 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \(CONNECT_TIME\)", connected)
    # HTTP/1.1 keep-alive: the connection stays cached until Curl.close().
    assert lines_of(out, "close") == [lines_of(out, "close")[0]]
    assert lines_of(out, "close")[0].endswith(f"close      fd {fd[1]} (at Curl.close())")
    # The embedded server answers "hello <client ip>:<client port>\n".
    local_port = re.search(r"127\.0\.0\.1:(\d+) -> ", connected)
    assert local_port, connected
    size = len(f"hello 127.0.0.1:{local_port[1]}\n")
    assert out.splitlines()[-1].startswith(f"status 200, {size} bytes, total ")


def test_timeline_is_in_time_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-v")
    assert code == 0
    times = [float(m[1]) for m in re.finditer(r"^\s*([\d.]+) ms  ", out, re.M)]
    assert len(times) > 8 and times == sorted(times)
    kinds = [line.split()[2] for line in out.splitlines()[1:-1]]
    assert kinds[0] == "start" and kinds[-1] == "close"
    assert kinds.index("open") < kinds.index("sockopt") < kinds.index("done")


# --- transfers from a real server -------------------------------------------------


def test_url(capsys: pytest.CaptureFixture[str], http_url: str, httpserver: Any) -> None:
    code, out, err = run(capsys, http_url)
    assert code == 0 and err == ""
    port = server_port(httpserver)
    assert lines_of(out, "open")[0].endswith(f"IPCXN AF_INET 127.0.0.1:{port}")
    assert len(lines_of(out, "close")) == 1
    assert out.splitlines()[-1].startswith("status 200, 5 bytes, total ")


def test_output_file(capsys: pytest.CaptureFixture[str], http_url: str, tmp_path: Path) -> None:
    target = tmp_path / "body"
    code, out, _ = run(capsys, "-o", str(target), http_url)
    assert code == 0
    assert target.read_bytes() == b"hello"
    assert "status 200, 5 bytes" in out


def test_output_to_stdout_moves_the_trace_to_stderr(
    capsys: pytest.CaptureFixture[str], http_url: str
) -> None:
    code, out, err = run(capsys, "-o", "-", http_url)
    assert code == 0
    assert out == "hello"
    assert lines_of(err, "open") and "status 200, 5 bytes" in err


def test_output_file_that_cannot_be_written(
    capsys: pytest.CaptureFixture[str], http_url: str, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "-o", str(tmp_path / "missing" / "body"), http_url)
    assert code == 23  # CURLE_WRITE_ERROR, as curl
    assert "cannot write" in one_error_line(err, 23)
    assert list(tmp_path.iterdir()) == []


def _write_error(path: str) -> str:
    """What writing ``path`` in place fails with (strerror): opening it, or the write."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        return str(exc.strerror)
    try:
        os.write(fd, b"x")
    except OSError as exc:
        return str(exc.strerror)
    finally:
        os.close(fd)
    pytest.skip(f"{path} can be written here")


@pytest.mark.skipif(not os.path.isfile("/proc/version"), reason="no /proc/version (not Linux)")
def test_output_file_error_is_the_targets_not_the_temporary_files(
    capsys: pytest.CaptureFixture[str], http_url: str
) -> None:
    # No temporary file can be made in /proc (ENOENT): the error reported is
    # the target's own, as curl's (EACCES, or EIO for root, who may open it).
    expected = _write_error("/proc/version")
    code, _, err = run(capsys, "-o", "/proc/version", http_url)
    assert code == 23
    assert one_error_line(err, 23) == f"pycurlcb: (23) cannot write /proc/version: {expected}"


def test_verbose_adds_libcurl_debug_lines(
    capsys: pytest.CaptureFixture[str], http_url: str
) -> None:
    code, out, _ = run(capsys, "-v", http_url)
    assert code == 0
    debug = "\n".join(lines_of(out, "debug"))
    # libcurl's wording: "Connected to" (up to 8.x), "Established connection to" (8.21.0)
    assert re.search(r"^.*\* (Connected to|Established connection to) 127\.0\.0\.1", debug, re.M), debug
    assert "> GET /hello HTTP/1.1" in debug
    assert "< HTTP/1.1 200" in debug or "< HTTP/1.0 200" in debug


def test_without_verbose_no_debug_lines(capsys: pytest.CaptureFixture[str], http_url: str) -> None:
    code, out, _ = run(capsys, http_url)
    assert code == 0 and lines_of(out, "debug") == []


# --- sockopt ---------------------------------------------------------------------------


def test_nodelay_and_keepalive(capsys: pytest.CaptureFixture[str], http_url: str) -> None:
    code, out, _ = run(capsys, "--nodelay", "--keepalive", "7", http_url)
    assert code == 0
    (sockopt,) = lines_of(out, "sockopt")
    expected = "set TCP_NODELAY=1 SO_KEEPALIVE=1"
    if hasattr(socket, "TCP_KEEPIDLE"):
        expected += " TCP_KEEPIDLE=7 TCP_KEEPINTVL=7"
    assert sockopt.endswith(expected), sockopt


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "x"])
def test_keepalive_needs_whole_seconds(capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, _, err = run(capsys, f"--keepalive={value}")
    assert code == 2
    assert "argument --keepalive: expected a whole number of seconds" in one_error_line(err, 2)


# --- CURLOPT_CONNECT_TO: --connect-to ------------------------------------------------


def test_connect_to_a_name_that_does_not_resolve(
    capsys: pytest.CaptureFixture[str], http_url: str, httpserver: Any
) -> None:
    port = server_port(httpserver)
    # .invalid never resolves (RFC 6761): only CONNECT_TO can get this through.
    url = "http://no-such-host.invalid/hello"
    code, out, err = run(capsys, "--connect-to", f"no-such-host.invalid:80:127.0.0.1:{port}", url)
    assert code == 0, err
    assert f"start      {url} (CONNECT_TO no-such-host.invalid:80:127.0.0.1:{port})" in out
    (opened,) = lines_of(out, "open")
    assert opened.endswith(f"IPCXN AF_INET 127.0.0.1:{port}")
    assert "status 200, 5 bytes" in out
    request, _ = httpserver.log[-1]
    assert request.headers["Host"] == "no-such-host.invalid"  # the URL's, as curl's --connect-to


def test_connect_to_entries_first_match_wins(
    capsys: pytest.CaptureFixture[str], http_url: str, httpserver: Any, refusing_port: int
) -> None:
    port = server_port(httpserver)
    # The URL's port refuses connections.  The first entry names another host,
    # the second another port; the third (empty HOST1 and PORT1) matches any.
    code, out, err = run(
        capsys,
        "--connect-to", "other.invalid:80:192.0.2.1:9",
        "--connect-to", "127.0.0.1:1:192.0.2.1:9",
        "--connect-to", f"::127.0.0.1:{port}",
        f"http://127.0.0.1:{refusing_port}/hello",
    )  # fmt: skip
    assert code == 0, err
    assert lines_of(out, "open")[0].endswith(f"IPCXN AF_INET 127.0.0.1:{port}")


@pytest.mark.parametrize(
    "value", ["a:b", "h:80:h2", "h:80:h2:80:x", "h:0:h2:80", "h:80:h2:70000", "[::1:80::80", "h:x::"]
)
def test_connect_to_needs_four_parts(capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, out, err = run(capsys, f"--connect-to={value}")
    assert code == 2 and out == ""
    line = one_error_line(err, 2)
    assert "argument --connect-to" in line


@pytest.mark.parametrize("value", ["example.test:80:127.0.0.1:8765", "::127.0.0.1:", "[::1]:80:[::1]:81"])
def test_connect_to_accepts_curl_forms(value: str) -> None:
    from pycurlcb.cli.addresses import parse_connect_to

    assert parse_connect_to(value) == value


# --- opensocket: --rewrite-address ----------------------------------------------------


def test_rewrite_address_of_an_ip_literal(
    capsys: pytest.CaptureFixture[str], http_url: str, httpserver: Any
) -> None:
    port = server_port(httpserver)
    # 192.0.2.1 is TEST-NET-1: nothing answers there; only the rewrite can succeed.
    code, out, err = run(capsys, "--rewrite-address", f"127.0.0.1:{port}", "http://192.0.2.1:9/hello")
    assert code == 0, err
    (opened,) = lines_of(out, "open")
    assert opened.endswith(f"IPCXN AF_INET 192.0.2.1:9 -> 127.0.0.1:{port} (--rewrite-address)")
    (connected,) = lines_of(out, "connected")
    assert f"-> 127.0.0.1:{port} (CONNECT_TIME)" in connected
    assert "status 200, 5 bytes" in out


def test_rewrite_address_to_a_name_resolves_it_first(
    capsys: pytest.CaptureFixture[str], http_url: str, httpserver: Any
) -> None:
    port = server_port(httpserver)
    code, out, err = run(capsys, "--rewrite-address", f"localhost:{port}", "http://192.0.2.1:9/hello")
    if code != 0 and "::1" in out:
        pytest.skip("localhost resolves to ::1 only here; the server listens on 127.0.0.1")
    assert code == 0, err
    assert "-> 127.0.0.1:" in lines_of(out, "open")[0]
    assert "status 200, 5 bytes" in out


def test_rewrite_address_ipv6_from_an_ipv4_attempt(
    capsys: pytest.CaptureFixture[str], http6_server: str
) -> None:
    port = int(http6_server.rsplit(":", 1)[1].strip("/"))
    code, out, err = run(capsys, "--rewrite-address", f"[::1]:{port}", "http://192.0.2.1:9/")
    assert code == 0, err
    (opened,) = lines_of(out, "open")
    assert opened.endswith(f"AF_INET 192.0.2.1:9 -> [::1]:{port} (--rewrite-address)")
    # The family changed, so libcurl got a dup() of a socket object: sockopt names it.
    (sockopt,) = lines_of(out, "sockopt")
    fd = re.search(r"fd (\d+) \(the dup of the socket opensocket returned\)", sockopt)
    assert fd, sockopt
    assert f"fd {fd[1]}, [::1]:" in lines_of(out, "connected")[0]
    assert "status 200, 4 bytes" in out


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "[::1", ":80"])
def test_rewrite_address_needs_address_and_port(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, _, err = run(capsys, f"--rewrite-address={value}")
    assert code == 2
    assert "argument --rewrite-address" in one_error_line(err, 2)


def test_rewrite_address_to_a_name_that_does_not_resolve(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--rewrite-address", "no-such-host.invalid:80")
    assert code == 2
    assert "cannot resolve 'no-such-host.invalid'" in one_error_line(err, 2)


# --- opensocket: --interface ---------------------------------------------------------


def _can_bind(ip: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((ip, 0))
        except OSError:
            return False
    return True


def test_interface_binds_the_source_address(
    capsys: pytest.CaptureFixture[str], http_url: str, httpserver: Any
) -> None:
    if not _can_bind("127.0.0.2"):
        pytest.skip("127.0.0.2 is not a local address here (Linux routes all of 127/8)")
    code, out, err = run(capsys, "--interface", "127.0.0.2", http_url)
    assert code == 0, err
    assert re.search(r"127\.0\.0\.1:\d+, bound to 127\.0\.0\.2:\d+$", lines_of(out, "open")[0])
    assert re.search(r"127\.0\.0\.2:\d+ -> 127\.0\.0\.1:", lines_of(out, "connected")[0])
    request, _ = httpserver.log[-1]
    assert request.remote_addr == "127.0.0.2"


def test_interface_127_0_0_1(capsys: pytest.CaptureFixture[str], http_url: str) -> None:
    code, out, _ = run(capsys, "--interface", "127.0.0.1", http_url)
    assert code == 0
    assert re.search(r"fd \d+, 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:", lines_of(out, "connected")[0])


def test_interface_that_is_not_local(capsys: pytest.CaptureFixture[str], http_url: str) -> None:
    code, out, err = run(capsys, "--interface", "192.0.2.55", http_url)
    assert code == 45  # CURLE_INTERFACE_FAILED, as curl's --interface
    assert "cannot bind to --interface 192.0.2.55" in one_error_line(err, 45)
    assert "cannot bind to --interface 192.0.2.55" in lines_of(out, "refused")[0]
    assert lines_of(out, "open") == []


def test_interface_of_the_other_family(capsys: pytest.CaptureFixture[str], http_url: str) -> None:
    code, _, err = run(capsys, "--interface", "::1", http_url)
    assert code == 45
    assert "--interface ::1 cannot bind a AF_INET socket" in one_error_line(err, 45)


def test_interface_must_be_an_address(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--interface", "eth0")
    assert code == 2 and "is not an IP address" in one_error_line(err, 2)


# --- opensocket: --deny-private -------------------------------------------------------


def test_deny_private_refuses_127_0_0_1(
    capsys: pytest.CaptureFixture[str], http_url: str, httpserver: Any
) -> None:
    code, out, err = run(capsys, "--deny-private", http_url)
    assert code == pycurlcb.E_COULDNT_CONNECT
    line = one_error_line(err, 7)
    assert "CURLE_COULDNT_CONNECT" in line
    assert "SSRF policy refused 127.0.0.1 port" in line
    assert "127.0.0.1 is in 127.0.0.0/8 (loopback, RFC 1122) (--deny-private)" in line
    (refused,) = lines_of(out, "refused")
    assert "127.0.0.1 is in 127.0.0.0/8 (loopback, RFC 1122) (--deny-private)" in refused
    assert lines_of(out, "open") == [] and lines_of(out, "close") == []
    assert httpserver.log == []  # no connection was made


def test_deny_private_never_uses_a_proxy_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, http_url: str, httpserver: Any
) -> None:
    with socket.socket() as proxy:  # a proxy that would fetch anything: never connected to
        proxy.bind(("127.0.0.2", 0))
        proxy.listen()
        proxy.setblocking(False)
        monkeypatch.setenv("http_proxy", f"http://127.0.0.2:{proxy.getsockname()[1]}/")
        code, out, err = run(capsys, "--deny-private", http_url)
        assert code == 7
        assert "SSRF policy refused 127.0.0.1 port" in one_error_line(err, 7)
        with pytest.raises(BlockingIOError):
            proxy.accept()
    assert httpserver.log == []


def test_deny_private_refuses_ipv6_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    if not ipv6_loopback_available():
        pytest.skip("IPv6 loopback (::1) is not available")
    # No server needed: the refusal comes before any socket exists.
    code, out, err = run(capsys, "--deny-private", "http://[::1]:9/")
    assert code == 7
    assert "::1 is in ::1/128 (loopback, RFC 4291)" in one_error_line(err, 7)
    assert "::1 port 9: ::1 is in ::1/128 (loopback" in lines_of(out, "refused")[0]


def test_deny_private_refuses_the_embedded_server(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--deny-private")
    assert code == 7
    assert "127.0.0.1 is in 127.0.0.0/8 (loopback" in one_error_line(err, 7)
    assert lines_of(out, "refused")


def test_deny_private_checks_the_rewritten_address(capsys: pytest.CaptureFixture[str]) -> None:
    # A public URL address, rewritten to an IPv4-mapped loopback: refused, not connected.
    code, out, err = run(
        capsys, "--deny-private", "--rewrite-address", "[::ffff:127.0.0.1]:9", "http://93.184.216.34/"
    )
    assert code == 7
    assert "::ffff:0:0/96 (IPv4-mapped, RFC 4291)" in one_error_line(err, 7)
    assert lines_of(out, "open") == []


# --- failures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [("http://", "CURLE_URL_MALFORMAT"), ("htp://x/", "CURLE_UNSUPPORTED_PROTOCOL")],
)
def test_bad_url(capsys: pytest.CaptureFixture[str], url: str, name: str) -> None:
    code, out, err = run(capsys, url)
    assert code == getattr(pycurlcb, name.replace("CURLE_", "E_"))
    assert one_error_line(err, code).startswith(f"pycurlcb: ({code}) {name}: ")
    assert lines_of(out, "open") == []


def test_refused_port(capsys: pytest.CaptureFixture[str], refusing_port: int) -> None:
    code, out, err = run(capsys, f"http://127.0.0.1:{refusing_port}/")
    assert code == pycurlcb.E_COULDNT_CONNECT
    line = one_error_line(err, 7)
    assert line.startswith("pycurlcb: (7) CURLE_COULDNT_CONNECT: Failed to connect to 127.0.0.1")
    (opened,) = lines_of(out, "open")
    fd = re.search(r"fd (\d+)", opened)
    assert fd
    (closed,) = lines_of(out, "close")  # libcurl closed it during perform()
    assert closed.endswith(f"close      fd {fd[1]}")
    assert "status" not in out.splitlines()[-1]


def test_unreachable_host(capsys: pytest.CaptureFixture[str]) -> None:
    # 192.0.2.1 (TEST-NET-1) is never routed: the connect fails or times out.
    code, _, err = run(capsys, "--connect-timeout", "0.2", "http://192.0.2.1:9/")
    assert code in (7, 28)
    line = one_error_line(err, code)
    assert "CURLE_OPERATION_TIMEDOUT" in line or "CURLE_COULDNT_CONNECT" in line


def test_silent_server_times_out_with_max_time(
    capsys: pytest.CaptureFixture[str], silent_server: Any
) -> None:
    host, port = silent_server
    code, out, err = run(capsys, "--max-time", "0.3", f"http://{host}:{port}/")
    assert code == 28  # CURLE_OPERATION_TIMEDOUT
    assert "CURLE_OPERATION_TIMEDOUT" in one_error_line(err, 28)
    assert lines_of(out, "connected") and "CURLE_OPERATION_TIMEDOUT" in lines_of(out, "failed")[0]


def test_fail_on_404(capsys: pytest.CaptureFixture[str], httpserver: Any) -> None:
    httpserver.expect_request("/missing").respond_with_data(b"no such page", status=404)
    url = httpserver.url_for("/missing")
    code, out, err = run(capsys, url)
    assert code == 0 and err == ""  # without --fail, an HTTP error is a transfer like any other
    assert out.splitlines()[-1].startswith("status 404, 12 bytes")
    code, out, err = run(capsys, "--fail", url)
    assert code == 22  # CURLE_HTTP_RETURNED_ERROR
    assert "The requested URL returned error: 404" in one_error_line(err, 22)


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for option in ("--deny-private", "--parallel", "--summary", "--fail", "--version", "--rewrite-address"):
        assert option in out
    assert "--connect-to HOST1:PORT1:HOST2:PORT2" in out
    assert "CURLOPT_CONNECT_TO" in out
    assert "130 for Ctrl-C" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--version")
    assert code == 0 and err == ""
    first, protocols, features = out.splitlines()
    assert first.startswith(f"pycurlcb {pycurlcb.__version__} (")
    assert first.count(pycurlcb.__version__) == 1, first  # not again as pycurlcb/0.1.0 at the end
    assert "pycurlcb/" not in first and "PycURL/" not in first
    assert f"libcurl/{pycurlcb.version_info()[1]}" in first
    assert "http" in protocols.split()[1:]
    if pycurlcb.version_info()[4] & pycurlcb.VERSION_IPV6:
        assert "IPV6" in features.split()[1:]


# --- several URLs: one AsyncCurlMulti -------------------------------------------------------


def test_parallel_without_urls_fetches_n_paths_of_the_embedded_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "--parallel", "20")
    assert code == 0, err
    assert out.splitlines()[0].endswith(": 20 URLs, at most 20 at a time (embedded server)")
    for n in range(1, 21):
        assert re.search(rf"^\[{n}\] http://127\.0\.0\.1:\d+/p{n}$", out, re.M), out
    assert len([line for line in out.splitlines() if line.startswith("status 200")]) == 20
    summary = out.splitlines()[-1]
    m = re.fullmatch(
        r"20 transfers, 0 failed, (\d+) sockets opened, [\d.]+ ms in all, \d+ transfers/s "
        r"\(at most 20 at a time\)",
        summary,
    )
    assert m, summary
    # Usually one connection each; a libcurl may finish an early transfer
    # before a later one starts and reuse its connection (seen on 7.73.0).
    assert 1 <= int(m.group(1)) <= 20, summary


def test_parallel_summary_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--parallel", "30", "--summary")
    assert code == 0 and err == ""
    (summary,) = out.splitlines()
    m = re.match(r"30 transfers, 0 failed, (\d+) sockets opened, ", summary)
    assert m and 1 <= int(m.group(1)) <= 30, summary  # connections may be reused


def test_summary_of_one_transfer(capsys: pytest.CaptureFixture[str], http_url: str) -> None:
    code, out, err = run(capsys, "--summary", http_url)
    assert code == 0 and err == ""
    (line,) = out.splitlines()
    assert line.startswith("status 200, 5 bytes, total ")


def test_parallel(capsys: pytest.CaptureFixture[str], http_paths: Any) -> None:
    paths = http_paths(3)
    code, out, err = run(capsys, "--parallel", "2", *(url for url, _ in paths))
    assert code == 0, err
    for n, (url, _) in enumerate(paths, 1):
        assert f"[{n}] {url}" in out
    statuses = [line for line in out.splitlines() if line.startswith("status 200")]
    assert [s.split(",")[1].strip() for s in statuses] == [f"{len(b)} bytes" for _, b in paths]
    opened = len(lines_of(out, "open"))
    assert opened >= 1 and len(lines_of(out, "close")) == opened
    assert out.splitlines()[-1].endswith("(at most 2 at a time)")


def test_parallel_failures_one_line_each(
    capsys: pytest.CaptureFixture[str], http_url: str, refusing_port: int
) -> None:
    refused = f"http://127.0.0.1:{refusing_port}/"
    code, out, err = run(capsys, "--summary", http_url, refused, refused)
    assert code == 7  # the first failure's
    # libcurl 7.81.0 says "port N after T ms: <reason>"; 7.76.1 and older "port N: <reason>"
    after = r" after \d+ ms" if VERSION_NUM >= version_num("7.81.0") else r"( after \d+ ms)?"
    lines = err.splitlines()
    assert len(lines) == 2, lines
    for n, line in zip((2, 3), lines):
        head = re.escape(f"pycurlcb: [{n}] (7) CURLE_COULDNT_CONNECT: Failed to connect to 127.0.0.1")
        # "127.0.0.1 port N" up to 8.x; recent 8.x releases (8.21.0) say "127.0.0.1:N"
        head += f"( port |:){refusing_port}"
        assert re.fullmatch(head + after + ": .+", line), line
    assert out.startswith("3 transfers, 2 failed, ")


def test_output_takes_a_single_url(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "-o", str(tmp_path / "x"), "--parallel", "2")
    assert code == 2 and out == ""
    assert "-o takes a single URL" in one_error_line(err, 2)


# --- a callback's exception, under either contract of perform() ----------------------------


def test_failure_of_a_callback_exception_either_way() -> None:
    from pycurlcb.cli.failure import Failure, failure_of

    ours = Failure("cannot write x: No space left on device", 23)
    # Today: perform() raises the callback's exception itself.
    assert (failure_of(ours).code, failure_of(ours).message) == (23, ours.message)
    # Soon: pycurlcb.error (pycurl's (code, message)) with __cause__ the callback's exception.
    wrapped = pycurlcb.error(23, "Failure writing output to destination")
    wrapped.__cause__ = ours
    assert (failure_of(wrapped).code, failure_of(wrapped).message) == (23, ours.message)
    # A recorded Failure that leaves the code to libcurl takes libcurl's.
    assert failure_of(wrapped, Failure("setsockopt(TCP_NODELAY) failed")).code == 23
    # An exception the command did not foresee: libcurl's code, the exception named.
    bug = pycurlcb.error(42, "Callback aborted")
    bug.__cause__ = TypeError("unsupported operand")
    failure = failure_of(bug)
    assert failure.code == 42
    assert failure.message.endswith("(a callback raised TypeError: unsupported operand)")


# --- the options the documentation names are the command's ----------------------------------

ROOT = Path(__file__).resolve().parent.parent
#: An option, and the metavar written after it if any (``--interface ADDR``).
_DOC_OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)(?:[ =]([A-Z][A-Z0-9_:]*)(?![\w\[]))?")
#: A paragraph about the command: it runs it, or it is docs/cli.md.
_RUNS_THE_COMMAND = re.compile(r"python3? -m pycurlcb\b|(?<![\w./-])pycurlcb (?=[\[A-Z-])|\$ pycurlcb\b")


def documented_cli_options() -> list[tuple[str, str, str | None]]:
    """(file, option, metavar or None) for each option in a paragraph about the command."""
    if not (ROOT / "README.md").is_file() or not (ROOT / "docs" / "cli.md").is_file():
        pytest.skip("README.md and docs/ are not beside these tests")
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = []
    for path in files:
        for block in re.split(r"\n\s*\n", path.read_text()):
            if path.name != "cli.md" and not _RUNS_THE_COMMAND.search(block):
                continue
            block = re.sub(r"python3? -m", "", block)  # python's -m is not the command's
            found += [(path.name, m.group(1), m.group(2)) for m in _DOC_OPTION.finditer(block)]
    return found


def test_every_option_the_docs_name_is_the_commands() -> None:
    from pycurlcb.cli.args import build_parser

    actions = {s: a for a in build_parser()._actions for s in a.option_strings}
    found = documented_cli_options()
    named = {option for _, option, _ in found}
    assert {"--deny-private", "--rewrite-address", "--connect-to", "-o"} <= named, named  # the scan works
    wrong = []
    for name, option, metavar in found:
        action = actions.get(option)
        if action is None:
            wrong.append(f"{name}: {option} is not an option of the command")
        elif metavar is not None and action.metavar != metavar:
            wrong.append(f"{name}: {option} {metavar}, but the command takes {option} {action.metavar}")
    assert not wrong, "\n".join(wrong)
