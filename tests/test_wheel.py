"""The binary wheel's linking, checked on the module that is imported.

make wheel (tools/build_wheel.py) builds one cp39-abi3-manylinux_2_28 wheel
against libcurl 8.21.0's headers that loads every libcurl.so.4 from 7.73.0 on:
``NEEDED libcurl.so.4`` without a libcurl symbol version, the libcurl
functions past 7.73.0 weak (ffi/src/weak.c) and gated at run time
(the ``function`` rows of pycurlcb/_features.py).  The ELF checks run where the wheel is under
test (``make test-wheel`` sets MATRIX_EXPECT_WHEEL=1) and need readelf and
objdump (binutils, not a compiler); the run-time gates are checked on every
build: what the loaded libcurl lacks raises the error naming the version
that has it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import pycurlcb
from pycurlcb import _features, _ffi
from pycurlcb._ffi import lib

SO = Path(_ffi.__file__).with_name("_curl.abi3.so")
LOADED = pycurlcb.version_info()[2]
#: The libcurl functions past 7.73.0 pycurlcb calls, and the version that brings each.
FUNCTIONS = {
    n: r.since for n, r in _features.FEATURES.items() if r.kind == "function" and r.since > _ffi.MIN_VERSION
}

wheel_only = pytest.mark.skipif(
    os.environ.get("MATRIX_EXPECT_WHEEL") != "1", reason="the installed module is not the binary wheel's"
)


def _tool(name: str, *args: str) -> str:
    if shutil.which(name) is None:
        pytest.skip(f"{name} (binutils) is not installed")
    return subprocess.run([name, *args, str(SO)], check=True, capture_output=True, text=True).stdout


@wheel_only
def test_the_wheel_needs_libcurl_so_4_without_a_symbol_version() -> None:
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", _tool("readelf", "-d"))
    assert "libcurl.so.4" in needed
    assert "CURL_" not in _tool("readelf", "-V")  # no CURL_OPENSSL_4 / CURL_GNUTLS_3 requirement
    curl = [x for x in _tool("objdump", "-T").splitlines() if re.search(r"\scurl_\w+$", x)]
    assert curl and not [x for x in curl if "CURL_" in x]


@wheel_only
def test_the_wheel_needs_no_glibc_past_2_28_and_is_stripped() -> None:
    versions = {tuple(map(int, v)) for v in re.findall(r"GLIBC_(\d+)\.(\d+)", _tool("readelf", "-V"))}
    assert versions and max(versions) <= (2, 28)
    assert ".symtab" not in _tool("readelf", "-S")


@wheel_only
def test_the_functions_past_7_73_are_weak() -> None:
    weak = {x.split()[-1] for x in _tool("objdump", "-T").splitlines() if re.search(r"\sw\s", x)}
    assert set(FUNCTIONS) <= weak
    assert {"curl_ws_send", "curl_ws_meta", "curl_multi_notify_disable"} <= weak


@wheel_only
def test_the_wheel_was_built_against_the_newest_headers() -> None:
    assert pycurlcb.COMPILE_LIBCURL_VERSION_NUM >= 0x081500  # 8.21.0


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_newer_function_is_there_exactly_when_the_loaded_libcurl_has_it(name: str) -> None:
    declared = lib.LIBCURL_VERSION_NUM >= FUNCTIONS[name]  # by the headers built against
    assert _ffi.has_function(name) == (declared and LOADED >= FUNCTIONS[name])
    missing = _features.missing(name, "it")
    if _ffi.has_function(name):
        assert missing is None
    else:
        assert missing is not None and _ffi.version_text(FUNCTIONS[name]) in missing


@pytest.mark.skipif(_ffi.has_function("curl_multi_notify_enable"), reason="libcurl has notifications")
def test_notify_without_the_function_names_8_17_0() -> None:
    with pycurlcb.CurlMulti() as m, pytest.raises(NotImplementedError, match=r"8\.17\.0 or newer"):
        m.notify_enable(1)


@pytest.mark.skipif(_ffi.has_function("curl_ws_recv"), reason="libcurl has websockets")
def test_websockets_without_the_functions_name_7_86_0() -> None:
    with pycurlcb.Curl() as c, pytest.raises(pycurlcb.error, match=r"7\.86\.0 or newer"):
        c.ws_send(b"x")


@pytest.mark.skipif(_ffi.has_function("curl_url_strerror"), reason="libcurl has curl_url_strerror")
def test_url_strerror_without_the_function_falls_back_to_the_name() -> None:
    assert pycurlcb.url_strerror(lib.CURLUE_BAD_HANDLE) == "CURLUE_BAD_HANDLE"
