"""The callbacks pycurl's own suite covers thinly, against real local servers.

Each behaviour the callback's man page (or pycurlcb's docstring) names gets a
test here:

- FNMATCH_FUNCTION, CHUNK_BGN_FUNCTION, CHUNK_END_FUNCTION: FTP wildcard
  downloads (WILDCARDMATCH) from pyftpdlib; the FileInfo of each file,
  skipping and failing a chunk.
- SSH_KEYFUNCTION: SFTP from a paramiko server; the known and found KhKey,
  the match, and what each CURLKHSTAT does (to the transfer and to the
  known_hosts file).  Needs libcurl with libssh2.
- HSTSREADFUNCTION/HSTSWRITEFUNCTION: an HTTPS server (trustme CA) that
  sends Strict-Transport-Security; preloading an entry upgrades http:// to
  https://, and the cache is saved through the callback when the Curl closes.
- PREREQFUNCTION, RESOLVER_START_FUNCTION, TRAILERFUNCTION (a chunked upload
  whose trailers the server reads), SEEKFUNCTION/IOCTLFUNCTION (rewinding a
  POST on a 307 redirect), and use_memoryview=True.
- For each: an exception becomes the ``__cause__`` of the pycurlcb.error,
  KeyboardInterrupt is raised as itself, bad return values fail as documented.
"""

from __future__ import annotations

import datetime
import io
import os
import socket
import socketserver
import ssl
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

import pytest
from servers import JOIN_TIMEOUT, FTPServerThread, StdlibServer
from since import VERSION_NUM, needs, needs_feature, version_num

import pycurlcb as pycurl
from pycurlcb._ffi import lib
from pycurlcb.errors import ReturnOverflow

CHUNK_BGN_FUNC_OK = int(lib.CURL_CHUNK_BGN_FUNC_OK)
CHUNK_BGN_FUNC_FAIL = int(lib.CURL_CHUNK_BGN_FUNC_FAIL)
CHUNK_BGN_FUNC_SKIP = int(lib.CURL_CHUNK_BGN_FUNC_SKIP)
CHUNK_END_FUNC_FAIL = int(lib.CURL_CHUNK_END_FUNC_FAIL)
FILETYPE_FILE = int(lib.CURLFILETYPE_FILE)
FILETYPE_DIRECTORY = int(lib.CURLFILETYPE_DIRECTORY)


def perform(c: pycurl.Curl) -> bytes:
    """perform() with the body collected; returns it."""
    out: list[bytes] = []
    c.setopt(pycurl.WRITEFUNCTION, out.append)
    c.perform()
    return b"".join(out)


def failure(c: pycurl.Curl) -> pycurl.error:
    """The pycurl.error that perform() raises."""
    with pytest.raises(pycurl.error) as info:
        c.perform()
    return info.value


# --------------------------------------------------------------------------
# FTP wildcard matching: FNMATCH_FUNCTION, CHUNK_BGN_FUNCTION, CHUNK_END_FUNCTION

FTP_FILES = {"a.txt": b"alpha\n", "b.txt": b"bravo!\n", "c.log": b"charlie"}


@pytest.fixture
def ftp_dir(tmp_path: Path) -> Iterator[str]:
    """``ftp://127.0.0.1:PORT/dir/`` holding FTP_FILES and a subdirectory ``sub``."""
    root = tmp_path / "ftproot"
    (root / "dir" / "sub").mkdir(parents=True)
    for name, data in FTP_FILES.items():
        (root / "dir" / name).write_bytes(data)
    server = FTPServerThread(str(root))
    server.start()
    try:
        yield f"ftp://127.0.0.1:{server.port}/dir/"
    finally:
        server.stop()


def wildcard(url: str, **callbacks: Any) -> pycurl.Curl:
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WILDCARDMATCH, 1)
    for option, fn in callbacks.items():
        c.setopt(getattr(pycurl, option), fn)
    return c


def test_chunk_callbacks_see_each_matching_file(ftp_dir: str) -> None:
    events: list[Any] = []
    c = wildcard(
        ftp_dir + "*.txt",
        CHUNK_BGN_FUNCTION=lambda info, remains: events.append(("bgn", info, remains)),
        CHUNK_END_FUNCTION=lambda: events.append("end"),
    )
    with c:
        assert perform(c) == FTP_FILES["a.txt"] + FTP_FILES["b.txt"]
    assert [e if e == "end" else (e[0], e[1].filename, e[2]) for e in events] == [
        ("bgn", b"a.txt", 2), "end", ("bgn", b"b.txt", 1), "end",  # remains counts down
    ]
    info = events[0][1]
    assert isinstance(info, pycurl.FileInfo)
    assert (info.filetype, info.size, info.perm) == (FILETYPE_FILE, 6, 0o644)
    assert events[2][1].size == len(FTP_FILES["b.txt"])


def test_chunk_bgn_sees_directories_too(ftp_dir: str) -> None:
    seen: dict[bytes, pycurl.FileInfo] = {}

    def bgn(info: pycurl.FileInfo, remains: int) -> None:
        seen[info.filename or b""] = info

    with wildcard(ftp_dir + "*", CHUNK_BGN_FUNCTION=bgn) as c:
        body = perform(c)
    assert set(seen) == {b"a.txt", b"b.txt", b"c.log", b"sub"}
    assert seen[b"sub"].filetype == FILETYPE_DIRECTORY
    assert body == b"".join(FTP_FILES.values())  # libcurl downloads files only


def test_chunk_bgn_skip(ftp_dir: str) -> None:
    def bgn(info: pycurl.FileInfo, remains: int) -> int:
        return CHUNK_BGN_FUNC_SKIP if info.filename == b"a.txt" else CHUNK_BGN_FUNC_OK

    with wildcard(ftp_dir + "*.txt", CHUNK_BGN_FUNCTION=bgn) as c:
        assert perform(c) == FTP_FILES["b.txt"]


def test_chunk_bgn_fail(ftp_dir: str) -> None:
    with wildcard(ftp_dir + "*.txt", CHUNK_BGN_FUNCTION=lambda info, remains: CHUNK_BGN_FUNC_FAIL) as c:
        err = failure(c)
    assert err.args[0] == pycurl.E_CHUNK_FAILED
    assert err.__cause__ is None


def test_chunk_end_fail_is_ignored_by_libcurl(ftp_dir: str) -> None:
    # CURL_CHUNK_END_FUNC_FAIL is documented, but libcurl (ftp.c) ignores what
    # the callback returns: the download goes on.
    calls: list[int] = []

    def end() -> int:
        calls.append(1)
        return CHUNK_END_FUNC_FAIL

    with wildcard(ftp_dir + "*.txt", CHUNK_END_FUNCTION=end) as c:
        assert perform(c) == FTP_FILES["a.txt"] + FTP_FILES["b.txt"]
    assert calls == [1, 1]


def test_fnmatch_decides_what_matches(ftp_dir: str) -> None:
    calls: list[tuple[bytes, bytes]] = []

    def fnmatch(pattern: bytes, string: bytes) -> int:
        calls.append((pattern, string))
        return pycurl.FNMATCHFUNC_MATCH if string.endswith(b".log") else pycurl.FNMATCHFUNC_NOMATCH

    with wildcard(ftp_dir + "*.txt", FNMATCH_FUNCTION=fnmatch) as c:
        assert perform(c) == FTP_FILES["c.log"]  # the callback, not libcurl's matcher, decides
    assert sorted(calls) == [(b"*.txt", name) for name in (b"a.txt", b"b.txt", b"c.log", b"sub")]


def test_fnmatch_fail_matches_nothing(ftp_dir: str) -> None:
    with wildcard(ftp_dir + "*", FNMATCH_FUNCTION=lambda p, s: pycurl.FNMATCHFUNC_FAIL) as c:
        err = failure(c)
    assert err.args[0] == pycurl.E_REMOTE_FILE_NOT_FOUND


@pytest.mark.parametrize(
    "option, fn, code",
    [
        ("FNMATCH_FUNCTION", lambda p, s: 1 / 0, "E_REMOTE_FILE_NOT_FOUND"),
        ("CHUNK_BGN_FUNCTION", lambda info, remains: 1 / 0, "E_CHUNK_FAILED"),
        ("CHUNK_END_FUNCTION", lambda: 1 / 0, "E_ABORTED_BY_CALLBACK"),
    ],
    ids=["fnmatch", "chunk_bgn", "chunk_end"],
)
def test_wildcard_callback_exception_is_the_cause(ftp_dir: str, option: str, fn: Any, code: str) -> None:
    with wildcard(ftp_dir + "*.txt", **{option: fn}) as c:
        err = failure(c)
    assert err.args[0] == getattr(pycurl, code)
    assert isinstance(err.__cause__, ZeroDivisionError)


@pytest.mark.parametrize(
    "option, fn, what",
    [
        ("FNMATCH_FUNCTION", lambda p, s: "match", "fnmatch"),
        ("CHUNK_BGN_FUNCTION", lambda info, remains: b"ok", "chunk_bgn"),
        ("CHUNK_END_FUNCTION", lambda: 0.0, "chunk_end"),
    ],
    ids=["fnmatch", "chunk_bgn", "chunk_end"],
)
def test_wildcard_callback_returning_a_non_int(ftp_dir: str, option: str, fn: Any, what: str) -> None:
    with wildcard(ftp_dir + "*.txt", **{option: fn}) as c:
        err = failure(c)
    assert isinstance(err.__cause__, TypeError)
    assert str(err.__cause__).startswith(f"{what} callback returned ")


def test_fnmatch_return_overflow_is_raised_as_itself(ftp_dir: str) -> None:
    with wildcard(ftp_dir + "*.txt", FNMATCH_FUNCTION=lambda p, s: 1 << 40) as c:
        with pytest.raises(ReturnOverflow, match="fnmatch callback returned 1099511627776"):
            c.perform()


# --------------------------------------------------------------------------
# SSH_KEYFUNCTION against a paramiko SFTP server

needs_libssh2 = pytest.mark.skipif(
    "libssh2" not in pycurl.version, reason=f"SSH_KEYFUNCTION needs libcurl with libssh2: {pycurl.version}"
)


class SFTPServer:
    """paramiko SFTP on 127.0.0.1, user "user" password "secret", read-only ``root``."""

    def __init__(self, root: Path, host_key: Any) -> None:
        import paramiko

        class Auth(paramiko.ServerInterface):
            def check_auth_password(self, username: str, password: str) -> int:
                ok = (username, password) == ("user", "secret")
                return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

            def get_allowed_auths(self, username: str) -> str:
                return "password"

            def check_channel_request(self, kind: str, chanid: int) -> int:
                if kind == "session":
                    return paramiko.OPEN_SUCCEEDED
                return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

        class Files(paramiko.SFTPServerInterface):
            def _real(self, path: str) -> str:
                return str(root / self.canonicalize(path).lstrip("/"))

            def stat(self, path: str) -> Any:
                try:
                    return paramiko.SFTPAttributes.from_stat(os.stat(self._real(path)))
                except OSError as exc:
                    return paramiko.SFTPServer.convert_errno(exc.errno)

            lstat = stat

            def open(self, path: str, flags: int, attr: Any) -> Any:
                try:
                    f = open(self._real(path), "rb")  # noqa: SIM115 - the handle closes it
                except OSError as exc:
                    return paramiko.SFTPServer.convert_errno(exc.errno)
                handle = paramiko.SFTPHandle(flags)
                handle.readfile = f
                handle.filename = self._real(path)
                return handle

        self._paramiko = paramiko
        self._auth, self._files, self.host_key = Auth, Files, host_key
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._transports: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="SFTPServer")

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            transport = self._paramiko.Transport(conn)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", self._paramiko.SFTPServer, self._files)
            self._transports.append(transport)
            try:
                transport.start_server(server=self._auth())
            except Exception:  # noqa: BLE001 - the client went away during the handshake
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT)
        self._listener.close()
        for transport in self._transports:
            transport.close()


class SFTPInfo(NamedTuple):
    url: str  # sftp://127.0.0.1:PORT/file.txt
    host_key: Any  # the server's paramiko key (ECDSA P-256)
    other_key: Any  # a key the server does not have
    known_hosts: Path  # empty; the tests write it
    port: int


SFTP_DATA = b"sftp data\n"


@pytest.fixture(scope="module")
def host_keys() -> tuple[Any, Any]:
    paramiko = pytest.importorskip("paramiko")
    return paramiko.ECDSAKey.generate(), paramiko.ECDSAKey.generate()


@pytest.fixture
def sftp(tmp_path: Path, host_keys: tuple[Any, Any]) -> Iterator[SFTPInfo]:
    (tmp_path / "file.txt").write_bytes(SFTP_DATA)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    server = SFTPServer(tmp_path, host_keys[0])
    server.start()
    try:
        yield SFTPInfo(
            f"sftp://127.0.0.1:{server.port}/file.txt", host_keys[0], host_keys[1], known_hosts, server.port
        )
    finally:
        server.stop()


def known_line(info: SFTPInfo, key: Any) -> str:
    return f"[127.0.0.1]:{info.port} {key.get_name()} {key.get_base64()}\n"


def sftp_curl(info: SFTPInfo, keyfunction: Callable[..., Any]) -> pycurl.Curl:
    c = pycurl.Curl()
    c.setopt(pycurl.URL, info.url)
    c.setopt(pycurl.USERPWD, "user:secret")
    c.setopt(pycurl.SSH_KNOWNHOSTS, str(info.known_hosts))
    c.setopt(pycurl.SSH_KEYFUNCTION, keyfunction)
    return c


@needs_libssh2
@pytest.mark.parametrize("known", ["missing", "ok", "mismatch"])
def test_ssh_key_arguments(sftp: SFTPInfo, known: str) -> None:
    if known != "missing":
        key = sftp.host_key if known == "ok" else sftp.other_key
        sftp.known_hosts.write_text(known_line(sftp, key))
    calls: list[tuple[Any, Any, int]] = []

    def keyfunction(known_key: Any, found_key: Any, match: int) -> int:
        calls.append((known_key, found_key, match))
        return pycurl.KHSTAT_FINE

    with sftp_curl(sftp, keyfunction) as c:
        assert perform(c) == SFTP_DATA
    [(known_key, found_key, match)] = calls
    # found: the raw key blob the server sent; known: the known_hosts entry, base64
    assert found_key == pycurl.KhKey(sftp.host_key.asbytes(), pycurl.KHTYPE_ECDSA)
    if known == "missing":
        assert (known_key, match) == (None, pycurl.KHMATCH_MISSING)
    else:
        expected = sftp.host_key if known == "ok" else sftp.other_key
        assert known_key == pycurl.KhKey(expected.get_base64().encode(), pycurl.KHTYPE_ECDSA)
        assert match == (pycurl.KHMATCH_OK if known == "ok" else pycurl.KHMATCH_MISMATCH)


@needs_libssh2
def test_ssh_key_reject(sftp: SFTPInfo) -> None:
    with sftp_curl(sftp, lambda known, found, match: pycurl.KHSTAT_REJECT) as c:
        err = failure(c)
    assert err.args[0] == pycurl.E_PEER_FAILED_VERIFICATION
    assert err.__cause__ is None
    assert sftp.known_hosts.read_text() == ""


@needs_libssh2
def test_ssh_key_fine_leaves_the_file_alone(sftp: SFTPInfo) -> None:
    with sftp_curl(sftp, lambda known, found, match: pycurl.KHSTAT_FINE) as c:
        assert perform(c) == SFTP_DATA
    assert sftp.known_hosts.read_text() == ""


@needs_libssh2
def test_ssh_key_fine_add_to_file(sftp: SFTPInfo) -> None:
    with sftp_curl(sftp, lambda known, found, match: pycurl.KHSTAT_FINE_ADD_TO_FILE) as c:
        assert perform(c) == SFTP_DATA
    assert sftp.host_key.get_base64() in sftp.known_hosts.read_text()
    calls: list[int] = []  # the next transfer finds the key known
    with sftp_curl(sftp, lambda known, found, match: calls.append(match) or pycurl.KHSTAT_REJECT) as c:
        failure(c)
    # libcurl wrote the entry for "127.0.0.1" without the port, so for a port
    # other than 22 libssh2 may still not find it
    assert calls in ([pycurl.KHMATCH_OK], [pycurl.KHMATCH_MISSING])


@needs_libssh2
def test_ssh_key_fine_replace(sftp: SFTPInfo) -> None:
    sftp.known_hosts.write_text(known_line(sftp, sftp.other_key))
    with sftp_curl(sftp, lambda known, found, match: pycurl.KHSTAT_FINE_REPLACE) as c:
        assert perform(c) == SFTP_DATA
    text = sftp.known_hosts.read_text()
    assert sftp.host_key.get_base64() in text
    assert sftp.other_key.get_base64() not in text


#: CURLKHSTAT_DEFER ("do not accept it, but we cannot answer right now"): every
#: libcurl sets CURLE_PEER_FAILED_VERIFICATION for it in lib/vssh/libssh2.c and
#: keeps the SSH_HOSTKEY state.  Up to 8.5.0 (checked in the 7.73.0, 7.81.0 and
#: 8.5.0 sources; observed on Debian 12's 7.88.1) ssh_statemach_act() loops
#: `while(!rc && state != SSH_STOP)`, rc being libssh2's return, not that error:
#: it runs SSH_HOSTKEY again at once and calls the callback again, until it
#: answers something else.  8.21.0's split-up state machine loops `while(!result
#: ...)`: the DEFER error ends the transfer (seen with the pycurl wheel's 8.23.0
#: here, and Debian 13's 8.14.1 in issue 19).  The change is curl's "libssh2: split up
#: ssh_statemachine" (curl/curl#17356, May 2025, so probably 8.14.0); no build
#: between 8.5.0 and 8.14.1 was run, so there either behaviour is accepted.
DEFER_ASKS_AGAIN_UNTIL = version_num("8.5.0")
DEFER_FAILS_FROM = version_num("8.14.1")


@needs_libssh2
def test_ssh_key_defer(sftp: SFTPInfo) -> None:
    answers = [pycurl.KHSTAT_DEFER, pycurl.KHSTAT_DEFER, pycurl.KHSTAT_FINE]
    with sftp_curl(sftp, lambda known, found, match: answers.pop(0)) as c:
        try:
            data: Optional[bytes] = perform(c)
        except pycurl.error as e:
            assert e.args[0] == pycurl.E_PEER_FAILED_VERIFICATION, e
            data = None
    asked_again = data is not None
    if asked_again:
        assert data == SFTP_DATA
        assert answers == []
    else:
        assert len(answers) == 2  # asked once
    if VERSION_NUM <= DEFER_ASKS_AGAIN_UNTIL:
        assert asked_again, "libcurl <= 8.5.0 calls the callback again after DEFER"
    elif VERSION_NUM >= DEFER_FAILS_FROM:
        assert not asked_again, "libcurl >= 8.14.1 ends the transfer with error 60 on DEFER"


@needs_libssh2
@pytest.mark.parametrize(
    "result, cause",
    [(lambda: 1 / 0, ZeroDivisionError), (lambda: "fine", TypeError), (lambda: 99, ValueError)],
    ids=["exception", "str", "unknown-int"],
)
def test_ssh_key_failures_reject(sftp: SFTPInfo, result: Any, cause: Any) -> None:
    with sftp_curl(sftp, lambda known, found, match: result()) as c:
        err = failure(c)
    assert err.args[0] == pycurl.E_PEER_FAILED_VERIFICATION
    assert (type(err.__cause__) if cause else err.__cause__) == cause
    if cause is ValueError:
        assert str(err.__cause__).startswith("ssh key callback returned 99, which is not a KHSTAT_")


@needs_libssh2
def test_ssh_key_return_overflow_is_raised_as_itself(sftp: SFTPInfo) -> None:
    with sftp_curl(sftp, lambda known, found, match: 1 << 40) as c:
        with pytest.raises(ReturnOverflow):
            c.perform()


# --------------------------------------------------------------------------
# HSTS: HSTSREADFUNCTION, HSTSWRITEFUNCTION

HSTS_HOST = "hsts.test"
#: HSTS is in libcurl 7.74.0, experimental (off unless built with it) until 7.77.0.
needs_hsts = needs_feature("HSTS", "7.77.0 (7.74.0 to 7.76.1 only when built with HSTS)")


class HstsServer(NamedTuple):
    port: int
    ca_file: str


@pytest.fixture
def hsts_server(tmp_path: Path) -> Iterator[HstsServer]:
    """HTTPS for ``hsts.test`` (trustme CA) on 127.0.0.1; / answers b"secure" with
    ``Strict-Transport-Security: max-age=3600; includeSubDomains``."""
    trustme = pytest.importorskip("trustme")
    from pytest_httpserver import HTTPServer

    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HSTS_HOST).configure_cert(ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=ctx)
    server.expect_request("/").respond_with_data(
        b"secure", headers={"Strict-Transport-Security": "max-age=3600; includeSubDomains"}
    )
    server.start()
    try:
        yield HstsServer(server.port, str(ca_file))
    finally:
        server.clear()
        server.stop()


def hsts_curl(server: HstsServer, scheme: str) -> pycurl.Curl:
    c = pycurl.Curl()
    c.setopt(pycurl.URL, f"{scheme}://{HSTS_HOST}:{server.port}/")
    c.setopt(pycurl.RESOLVE, [f"{HSTS_HOST}:{server.port}:127.0.0.1"])
    c.setopt(pycurl.CAINFO, server.ca_file)
    c.setopt(pycurl.HSTS_CTRL, pycurl.CURLHSTS_ENABLE)
    return c


@needs_hsts
def test_hsts_write_saves_the_cache_when_the_curl_closes(hsts_server: HstsServer) -> None:
    saved: list[tuple[pycurl.HstsEntry, pycurl.HstsIndex]] = []
    c = hsts_curl(hsts_server, "https")
    c.setopt(pycurl.HSTSWRITEFUNCTION, lambda entry, index: saved.append((entry, index)))
    before = datetime.datetime.now(datetime.timezone.utc)
    assert perform(c) == b"secure"
    assert saved == []  # libcurl saves the cache at cleanup
    c.close()
    [(entry, index)] = saved
    assert (entry.host, entry.include_subdomains) == (HSTS_HOST.encode(), True)
    assert index == pycurl.HstsIndex(0, 1)
    assert entry.expire is not None and entry.expire.tzinfo is not None
    assert datetime.timedelta(seconds=3590) < entry.expire - before < datetime.timedelta(seconds=3610)


@needs_hsts
def test_hsts_read_preloads_an_entry_that_upgrades_http(hsts_server: HstsServer) -> None:
    expire = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    entries = [pycurl.HstsEntry(HSTS_HOST.encode(), expire, False)]
    calls: list[int] = []

    def read() -> Optional[pycurl.HstsEntry]:
        calls.append(1)
        return entries.pop() if entries else None

    with hsts_curl(hsts_server, "http") as c:  # the port speaks TLS only
        c.setopt(pycurl.HSTSREADFUNCTION, read)
        assert perform(c) == b"secure"
        assert c.getinfo(pycurl.EFFECTIVE_URL).startswith("https://")
    assert calls == [1, 1]  # the entry, then None: the end of the list


@needs_hsts
def test_hsts_read_accepts_a_plain_tuple_and_none_for_never(hsts_server: HstsServer) -> None:
    entries: list[Any] = [(f"sub.{HSTS_HOST}", None, False), (HSTS_HOST, None, True)]
    saved: list[pycurl.HstsEntry] = []
    c = hsts_curl(hsts_server, "http")
    c.setopt(pycurl.HSTSREADFUNCTION, lambda: entries.pop() if entries else None)
    c.setopt(pycurl.HSTSWRITEFUNCTION, lambda entry, index: saved.append(entry))
    assert perform(c) == b"secure"
    c.close()
    by_host = {e.host: e for e in saved}
    assert by_host[f"sub.{HSTS_HOST}".encode()].expire is None  # "never" round-trips
    assert by_host[HSTS_HOST.encode()].include_subdomains


@needs_hsts
def test_hsts_read_naive_expire_is_utc_and_write_indexes_each_entry(hsts_server: HstsServer) -> None:
    naive = datetime.datetime(2099, 1, 2, 3, 4, 5)  # naive: taken as UTC, as pycurl does
    entries: list[Any] = [(f"a.{HSTS_HOST}", naive, False), (f"b.{HSTS_HOST}", naive, False)]
    saved: list[tuple[pycurl.HstsEntry, pycurl.HstsIndex]] = []
    c = hsts_curl(hsts_server, "https")
    c.setopt(pycurl.HSTSREADFUNCTION, lambda: entries.pop() if entries else None)
    c.setopt(pycurl.HSTSWRITEFUNCTION, lambda entry, index: saved.append((entry, index)))
    perform(c)
    c.close()
    assert sorted(index for _, index in saved) == [(0, 3), (1, 3), (2, 3)]  # 2 preloaded + 1 learnt
    preloaded = [entry for entry, _ in saved if entry.host != HSTS_HOST.encode()]
    assert [e.expire for e in preloaded] == [naive.replace(tzinfo=datetime.timezone.utc)] * 2


@needs_hsts
def test_hsts_write_done_stops_saving(hsts_server: HstsServer) -> None:
    entries: list[Any] = [(f"a.{HSTS_HOST}", None, False), (f"b.{HSTS_HOST}", None, False)]
    saved: list[pycurl.HstsIndex] = []

    def write(entry: pycurl.HstsEntry, index: pycurl.HstsIndex) -> int:
        saved.append(index)
        return int(lib.CURLSTS_DONE)

    c = hsts_curl(hsts_server, "https")
    c.setopt(pycurl.HSTSREADFUNCTION, lambda: entries.pop() if entries else None)
    c.setopt(pycurl.HSTSWRITEFUNCTION, write)
    perform(c)
    c.close()
    assert [index.idx for index in saved] == [0]


@needs_hsts
@pytest.mark.parametrize(
    "entry, cause, match",
    [
        (lambda: 1 / 0, ZeroDivisionError, "division"),
        (lambda: ("a", "b"), TypeError,
         "hstsread callback returned ('a', 'b'), which is not None or a 3-tuple"),
        (lambda: [HSTS_HOST, None, False], TypeError, "returned ['hsts.test', None, False], which is not"),
        (lambda: (HSTS_HOST, "tomorrow", False), TypeError, "expire must be a datetime"),
        (lambda: (42, None, False), TypeError, "host must be a byte string"),
        (lambda: ("x" * 3000, None, False), ValueError, "exceeds libcurl maximum"),  # 256; 2048 in 8.x
    ],
    ids=["exception", "2-tuple", "list", "str-expire", "int-host", "long-host"],
)
def test_hsts_read_failures(hsts_server: HstsServer, entry: Any, cause: Any, match: str) -> None:
    with hsts_curl(hsts_server, "https") as c:
        c.setopt(pycurl.HSTSREADFUNCTION, entry)
        err = failure(c)
    assert isinstance(err.__cause__, cause)
    assert match in str(err.__cause__)


@needs_hsts
@pytest.mark.parametrize(
    "write, cause, match",
    [
        (lambda e, i: 1 / 0, ZeroDivisionError, "division"),
        (lambda e, i: 7, ValueError, "hstswrite callback returned 7, which is not CURLSTS_OK (0)"),
        (lambda e, i: "ok", TypeError, "not an integer"),
    ],
    ids=["exception", "unknown-code", "str"],
)
def test_hsts_write_failures_go_to_unraisablehook(
    hsts_server: HstsServer, monkeypatch: Any, write: Any, cause: Any, match: str
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr("sys.unraisablehook", lambda u: seen.append((u.exc_value, u.err_msg)))
    c = hsts_curl(hsts_server, "https")
    c.setopt(pycurl.HSTSWRITEFUNCTION, write)
    assert perform(c) == b"secure"
    c.close()  # saving happens here: nobody to raise to
    [(exc, msg)] = seen
    assert isinstance(exc, cause) and match in str(exc)
    assert "Curl.close()" in msg


# --------------------------------------------------------------------------
# PREREQFUNCTION, RESOLVER_START_FUNCTION

needs_prereq = needs("PREREQFUNCTION", "7.80.0")


@needs_prereq
def test_prereq_gets_the_connection(fast_server: Any) -> None:
    calls: list[tuple[Any, ...]] = []
    with pycurl.Curl() as c:
        c.setopt(pycurl.URL, fast_server.url("/prereq"))
        c.setopt(pycurl.PREREQFUNCTION, lambda *args: calls.append(args) or pycurl.PREREQFUNC_OK)
        assert perform(c) == b"fast:/prereq"
        local_port = c.getinfo(pycurl.LOCAL_PORT)
    assert calls == [("127.0.0.1", "127.0.0.1", fast_server.server_address[1], local_port)]


@needs_prereq
@pytest.mark.parametrize(
    "result, cause",
    [
        (lambda: pycurl.PREREQFUNC_ABORT, None),
        (lambda: 5, None),  # anything but PREREQFUNC_OK aborts
        (lambda: None, TypeError),  # as pycurl: an int is required
        (lambda: 1 / 0, ZeroDivisionError),
    ],
    ids=["abort", "unknown-int", "none", "exception"],
)
def test_prereq_abort(fast_server: Any, result: Any, cause: Any) -> None:
    before = fast_server.requests
    with pycurl.Curl() as c:
        c.setopt(pycurl.URL, fast_server.url("/prereq"))
        c.setopt(pycurl.PREREQFUNCTION, lambda *args: result())
        err = failure(c)
    assert err.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    assert (type(err.__cause__) if cause else err.__cause__) == cause
    assert fast_server.requests == before  # the request was never sent


def test_resolver_start_runs_before_resolving(fast_server: Any) -> None:
    calls: list[tuple[Any, ...]] = []
    with pycurl.Curl() as c:
        c.setopt(pycurl.URL, f"http://localhost:{fast_server.server_address[1]}/resolve")
        c.setopt(pycurl.RESOLVER_START_FUNCTION, lambda *args: calls.append(args))
        assert perform(c) == b"fast:/resolve"
    assert calls == [()]  # pycurl's shape: no arguments


@pytest.mark.parametrize(
    "result, cause",
    [(lambda: 1, None), (lambda: "go", TypeError), (lambda: 1 / 0, ZeroDivisionError)],
    ids=["non-zero", "str", "exception"],
)
def test_resolver_start_abort(fast_server: Any, result: Any, cause: Any) -> None:
    with pycurl.Curl() as c:
        c.setopt(pycurl.URL, f"http://localhost:{fast_server.server_address[1]}/resolve")
        c.setopt(pycurl.RESOLVER_START_FUNCTION, result)
        err = failure(c)
    # 7.88.1 reports the resolve as failed, 8.21.0 the transfer as aborted
    assert err.args[0] in (pycurl.E_COULDNT_RESOLVE_HOST, pycurl.E_ABORTED_BY_CALLBACK)
    assert (type(err.__cause__) if cause else err.__cause__) == cause


# --------------------------------------------------------------------------
# TRAILERFUNCTION


class Upload(NamedTuple):
    headers: dict[str, str]
    body: bytes
    trailers: dict[str, str]


class _TrailerHandler(socketserver.StreamRequestHandler):
    """Reads one request with a chunked body, keeps its trailers, answers 200 b"ok"."""

    server: TrailerServer

    def handle(self) -> None:
        self.rfile.readline()
        headers = self._fields() or {}
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = b""
        while True:
            line = self.rfile.readline()
            if not line:
                return  # the client gave up mid-body
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            body += self.rfile.read(size)
            self.rfile.readline()
        trailers = self._fields()
        if trailers is None:
            return  # no blank line after the trailers: the client gave up
        self.server.uploads.append(Upload(headers, body, trailers))
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def _fields(self) -> Optional[dict[str, str]]:
        """Header (or trailer) fields up to the blank line; None at EOF before it."""
        fields = {}
        while True:
            line = self.rfile.readline().decode("latin-1")
            if not line:
                return None
            if line in ("\r\n", "\n"):
                return fields
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()


class TrailerServer(StdlibServer, socketserver.TCPServer):
    def __init__(self) -> None:
        self._init_tracking(b"")
        self.uploads: list[Upload] = []
        super().__init__(("127.0.0.1", 0), _TrailerHandler)


@pytest.fixture
def trailer_server() -> Iterator[TrailerServer]:
    server = TrailerServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def chunked_upload(server: TrailerServer, trailer: Callable[[], Any]) -> pycurl.Curl:
    body = io.BytesIO(b"chunked body")
    c = pycurl.Curl()
    c.setopt(pycurl.URL, f"http://127.0.0.1:{server.server_address[1]}/upload")
    c.setopt(pycurl.UPLOAD, 1)
    c.setopt(pycurl.READFUNCTION, body.read)
    c.setopt(pycurl.HTTPHEADER, ["Transfer-Encoding: chunked", "Trailer: X-Checksum, X-Count"])
    c.setopt(pycurl.TRAILERFUNCTION, trailer)
    return c


@pytest.mark.parametrize("kind", [list, tuple])
def test_trailers_reach_the_server(trailer_server: TrailerServer, kind: Any) -> None:
    crc = f"{zlib.crc32(b'chunked body'):08x}"
    with chunked_upload(trailer_server, lambda: kind([f"X-Checksum: {crc}", b"X-Count: 1"])) as c:
        assert perform(c) == b"ok"
    [upload] = trailer_server.uploads
    assert upload.body == b"chunked body"
    assert upload.headers["transfer-encoding"] == "chunked"
    assert upload.trailers == {"x-checksum": crc, "x-count": "1"}


@pytest.mark.parametrize("result", [None, []], ids=["none", "empty-list"])
def test_no_trailers(trailer_server: TrailerServer, result: Any) -> None:
    with chunked_upload(trailer_server, lambda: result) as c:
        assert perform(c) == b"ok"
    assert trailer_server.uploads[0].trailers == {}


@pytest.mark.parametrize(
    "result, cause, match",
    [
        (lambda: 1 / 0, ZeroDivisionError, "division"),
        (lambda: "X-A: 1", TypeError,
         "trailer callback returned 'X-A: 1', which is not None or a list/tuple"),
        (lambda: [42], TypeError, "a trailer header must be a byte string"),
        (lambda: ["X-A: é"], UnicodeEncodeError, "ascii"),
        (lambda: [b"X-A: 1\0"], ValueError, "NUL"),
    ],
    ids=["exception", "str", "int-item", "non-ascii", "nul"],
)
def test_trailer_failures_abort(trailer_server: TrailerServer, result: Any, cause: Any, match: str) -> None:
    with chunked_upload(trailer_server, result) as c:
        err = failure(c)
    assert err.args[0] == pycurl.E_ABORTED_BY_CALLBACK
    assert isinstance(err.__cause__, cause) and match in str(err.__cause__)
    assert trailer_server.uploads == []  # the body was never completed


# --------------------------------------------------------------------------
# SEEKFUNCTION, IOCTLFUNCTION: rewinding a POST body on a 307 redirect

POST_BODY = bytes(range(256)) * 40


def post_with_redirect(fast_server: Any, **callbacks: Any) -> tuple[pycurl.Curl, io.BytesIO]:
    body = io.BytesIO(POST_BODY)
    c = pycurl.Curl()
    c.setopt(pycurl.URL, fast_server.url("/r307/echo"))  # 307: the POST goes again, body and all
    c.setopt(pycurl.FOLLOWLOCATION, 1)
    c.setopt(pycurl.POST, 1)
    c.setopt(pycurl.POSTFIELDSIZE, len(POST_BODY))
    c.setopt(pycurl.READFUNCTION, body.read)
    for option, fn in callbacks.items():
        c.setopt(getattr(pycurl, option), fn)
    return c, body


ECHOED = b"got %d %08x" % (len(POST_BODY), zlib.crc32(POST_BODY))


def test_seek_rewinds_the_body(fast_server: Any) -> None:
    calls: list[tuple[int, int]] = []

    def seek(offset: int, origin: int) -> None:
        calls.append((offset, origin))
        body.seek(offset, origin)

    c, body = post_with_redirect(fast_server, SEEKFUNCTION=seek)
    with c:
        assert perform(c) == ECHOED  # the whole body reached /echo
    assert calls == [(0, os.SEEK_SET)]


def test_without_a_way_to_rewind_the_redirect_fails(fast_server: Any) -> None:
    c, _ = post_with_redirect(fast_server)
    with c:
        assert failure(c).args[0] == pycurl.E_SEND_FAIL_REWIND


@pytest.mark.parametrize(
    "result, cause",
    [
        (lambda: pycurl.SEEKFUNC_FAIL, None),
        (lambda: pycurl.SEEKFUNC_CANTSEEK, None),
        (lambda: 7, ValueError),  # not 0, 1 or 2
        (lambda: "ok", TypeError),
        (lambda: 1 / 0, ZeroDivisionError),
    ],
    ids=["fail", "cantseek", "unknown-int", "str", "exception"],
)
def test_seek_failures(fast_server: Any, result: Any, cause: Any) -> None:
    c, _ = post_with_redirect(fast_server, SEEKFUNCTION=lambda offset, origin: result())
    with c:
        err = failure(c)
    assert err.args[0] == pycurl.E_SEND_FAIL_REWIND
    assert (type(err.__cause__) if cause else err.__cause__) == cause
    if cause in (TypeError, ValueError):  # names the callback and the value
        assert str(err.__cause__).startswith(f"seek callback returned {result()!r}")


def ioctl_post(fast_server: Any, fn: Callable[[int], Any]) -> tuple[pycurl.Curl, io.BytesIO]:
    with pytest.warns(DeprecationWarning, match="IOCTLFUNCTION is deprecated"):
        return post_with_redirect(fast_server, IOCTLFUNCTION=fn)


def test_ioctl_restartread_rewinds_the_body(fast_server: Any) -> None:
    calls: list[int] = []

    def ioctl(cmd: int) -> int:
        calls.append(cmd)
        body.seek(0)
        return pycurl.IOE_OK

    c, body = ioctl_post(fast_server, ioctl)
    with c:
        assert perform(c) == ECHOED
    assert calls == [pycurl.IOCMD_RESTARTREAD]


def test_seek_wins_over_ioctl(fast_server: Any) -> None:
    used: list[str] = []
    c, body = ioctl_post(fast_server, lambda cmd: used.append("ioctl"))

    def seek(offset: int, origin: int) -> None:
        used.append("seek")
        body.seek(offset, origin)

    with c:
        c.setopt(pycurl.SEEKFUNCTION, seek)
        assert perform(c) == ECHOED
    assert used == ["seek"]


@pytest.mark.parametrize(
    "result, cause",
    [
        (lambda: pycurl.IOE_FAILRESTART, None),
        (lambda: pycurl.IOE_UNKNOWNCMD, None),
        (lambda: 99, ValueError),  # not an IOE_* code
        (lambda: "ok", TypeError),
        (lambda: 1 / 0, ZeroDivisionError),
    ],
    ids=["failrestart", "unknowncmd", "unknown-int", "str", "exception"],
)
def test_ioctl_failures(fast_server: Any, result: Any, cause: Any) -> None:
    c, _ = ioctl_post(fast_server, lambda cmd: result())
    with c:
        err = failure(c)
    assert err.args[0] == pycurl.E_SEND_FAIL_REWIND
    assert (type(err.__cause__) if cause else err.__cause__) == cause
    if cause is ValueError:
        assert str(err.__cause__).startswith("ioctl callback returned 99, which is not IOE_OK (0)")


# --------------------------------------------------------------------------
# use_memoryview=True


@pytest.mark.parametrize("option", ["WRITEFUNCTION", "HEADERFUNCTION"])
def test_memoryview_is_read_only_and_valid_during_the_call(fast_server: Any, option: str) -> None:
    views: list[memoryview] = []
    copies: list[bytes] = []

    def callback(view: memoryview) -> None:
        assert isinstance(view, memoryview) and view.readonly
        views.append(view)
        copies.append(bytes(view))

    with pycurl.Curl() as c:
        c.setopt(pycurl.URL, fast_server.url("/body/3000"))
        c.setopt(getattr(pycurl, option), callback, use_memoryview=True)
        c.perform()
    joined = b"".join(copies)
    if option == "WRITEFUNCTION":
        assert joined == bytes(range(32, 127)) * 31 + bytes(range(32, 127))[: 3000 - 95 * 31]
    else:
        assert joined.startswith(b"HTTP/1.1 200") and b"Content-Length: 3000\r\n" in joined
    for view in views:  # released after each call: libcurl reuses its buffer
        with pytest.raises(ValueError, match="released"):
            bytes(view)


def test_memoryview_callback_may_return_the_count(fast_server: Any) -> None:
    with pycurl.Curl() as c:
        c.setopt(pycurl.URL, fast_server.url("/body/10"))
        c.setopt(pycurl.WRITEFUNCTION, lambda view: view.nbytes, use_memoryview=True)
        c.perform()
        c.setopt(pycurl.WRITEFUNCTION, lambda view: view.nbytes - 1, use_memoryview=True)
        assert failure(c).args[0] == pycurl.E_WRITE_ERROR


def test_use_memoryview_only_for_write_and_header(fast_server: Any) -> None:
    with pycurl.Curl() as c:
        with pytest.raises(TypeError, match="use_memoryview"):
            c.setopt(pycurl.READFUNCTION, lambda n: b"", use_memoryview=True)


def test_use_memoryview_false_gives_bytes_again(fast_server: Any) -> None:
    kinds: list[type] = []
    with pycurl.Curl() as c:
        c.setopt(pycurl.URL, fast_server.url("/body/10"))
        c.setopt(pycurl.WRITEFUNCTION, lambda data: kinds.append(type(data)), use_memoryview=True)
        c.perform()
        c.setopt(pycurl.WRITEFUNCTION, lambda data: kinds.append(type(data)))
        c.perform()
    assert kinds == [memoryview, bytes]


# --------------------------------------------------------------------------
# KeyboardInterrupt from any of them is raised as itself


def _interrupt(*args: Any) -> Any:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "setup",
    [
        "fnmatch", "chunk_bgn", "chunk_end", pytest.param("prereq", marks=needs_prereq),
        "resolver_start", "trailer", "seek", pytest.param("hstsread", marks=needs_hsts),
    ],
)
def test_keyboard_interrupt_is_raised_as_itself(
    setup: str, ftp_dir: str, fast_server: Any, trailer_server: TrailerServer, hsts_server: HstsServer
) -> None:
    if setup in ("fnmatch", "chunk_bgn", "chunk_end"):
        option = {"fnmatch": "FNMATCH_FUNCTION", "chunk_bgn": "CHUNK_BGN_FUNCTION"}.get(
            setup, "CHUNK_END_FUNCTION"
        )
        c = wildcard(ftp_dir + "*.txt", **{option: _interrupt})
    elif setup == "prereq":
        c = pycurl.Curl()
        c.setopt(pycurl.URL, fast_server.url("/x"))
        c.setopt(pycurl.PREREQFUNCTION, _interrupt)
    elif setup == "resolver_start":
        c = pycurl.Curl()
        c.setopt(pycurl.URL, f"http://localhost:{fast_server.server_address[1]}/x")
        c.setopt(pycurl.RESOLVER_START_FUNCTION, _interrupt)
    elif setup == "trailer":
        c = chunked_upload(trailer_server, _interrupt)
    elif setup == "seek":
        c, _ = post_with_redirect(fast_server, SEEKFUNCTION=_interrupt)
    else:
        c = hsts_curl(hsts_server, "https")
        c.setopt(pycurl.HSTSREADFUNCTION, _interrupt)
    with c:
        c.setopt(pycurl.WRITEFUNCTION, lambda data: None)
        with pytest.raises(KeyboardInterrupt):
            c.perform()
        c.reset()  # the handle is still usable
        c.setopt(pycurl.URL, fast_server.url("/after"))
        assert perform(c) == b"fast:/after"


@needs_libssh2
def test_keyboard_interrupt_from_ssh_key(sftp: SFTPInfo) -> None:
    with sftp_curl(sftp, _interrupt) as c:
        with pytest.raises(KeyboardInterrupt):
            c.perform()


@needs_hsts
def test_hstswrite_keyboard_interrupt_at_close_goes_to_unraisablehook(
    hsts_server: HstsServer, monkeypatch: Any
) -> None:
    seen: list[Any] = []
    monkeypatch.setattr("sys.unraisablehook", lambda u: seen.append(type(u.exc_value)))
    c = hsts_curl(hsts_server, "https")
    c.setopt(pycurl.HSTSWRITEFUNCTION, _interrupt)
    perform(c)
    c.close()
    assert seen == [KeyboardInterrupt]



# --------------------------------------------------------------------------
# The transfer callbacks' wrong return values (docs/callbacks.md's table)

#: callback, what it returns -> the CURLcode, the type of the __cause__ (None:
#: libcurl's own abort, no cause) and the start of its message.
DATA_RETURNS: list[tuple[str, Any, int, Any, str]] = [
    # pycurl's text, checked by pycurl's write_cb_bogus_test: a pycurl.error cause
    ("write", "x", pycurl.E_WRITE_ERROR, pycurl.error, "write callback must return int or None"),
    ("header", 0.5, pycurl.E_WRITE_ERROR, pycurl.error, "header callback must return int or None"),
    ("write", 3, pycurl.E_WRITE_ERROR, None, ""),  # a short count: libcurl's write error
    ("read", 5, pycurl.E_ABORTED_BY_CALLBACK, ValueError,
     "read callback returned 5, which is not a byte string, READFUNC_ABORT"),
    ("read", 1.5, pycurl.E_ABORTED_BY_CALLBACK, TypeError,
     "read callback returned 1.5, which is not an object supporting the buffer protocol"),
    ("read", b"x" * 70000, pycurl.E_ABORTED_BY_CALLBACK, ValueError,
     "invalid return value for read callback (70000 bytes returned when at most"),
    ("xferinfo", 1, pycurl.E_ABORTED_BY_CALLBACK, None, ""),  # non-zero: abort
    ("xferinfo", "stop", pycurl.E_ABORTED_BY_CALLBACK, None, ""),  # true, as pycurl: abort
]


@pytest.mark.parametrize(
    ("callback", "value", "code", "cause", "message"), DATA_RETURNS,
    ids=[f"{r[0]}-{type(r[1]).__name__}" for r in DATA_RETURNS],
)
def test_transfer_callback_wrong_return(
    fast_server: Any, callback: str, value: Any, code: int, cause: Any, message: str, capfd: Any
) -> None:
    """Each wrong return value fails the transfer with the documented code; a
    TypeError/ValueError cause names the callback and the value.  Nothing printed."""
    with pycurl.Curl() as c:
        c.setopt(pycurl.URL, fast_server.url("/echo"))
        c.setopt(pycurl.WRITEFUNCTION, lambda data: None)
        if callback == "read":
            c.setopt(pycurl.POST, 1)
            c.setopt(pycurl.POSTFIELDSIZE, 10)
        if callback == "xferinfo":
            c.setopt(pycurl.NOPROGRESS, 0)
        option = getattr(pycurl, callback.upper() + "FUNCTION")
        c.setopt(option, lambda *args: value)
        err = failure(c)
        assert err.args[0] == code
        if cause is None:
            assert err.__cause__ is None
        else:
            assert type(err.__cause__) is cause
            assert str(err.__cause__).startswith(message)
        # The handle stays usable.
        c.unsetopt(option)
        c.setopt(pycurl.NOPROGRESS, 1)
        c.setopt(pycurl.HTTPGET, 1)
        c.setopt(pycurl.URL, fast_server.url("/after"))
        assert perform(c) == b"fast:/after"
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("value", [None, 0, 1, -1, "ignored", 2**40])
def test_debug_return_value_is_ignored(fast_server: Any, value: Any) -> None:
    """libcurl ignores DEBUGFUNCTION's result, and so does pycurlcb."""
    kinds: list[int] = []
    with pycurl.Curl() as c:
        c.setopt(pycurl.URL, fast_server.url("/debug"))
        c.setopt(pycurl.VERBOSE, 1)
        c.setopt(pycurl.DEBUGFUNCTION, lambda kind, data: kinds.append(kind) or value)
        assert perform(c) == b"fast:/debug"
    assert kinds
