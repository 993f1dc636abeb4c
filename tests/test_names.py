"""pycurl's module-level names, and the constants readable on its handles, in pycurlcb.

The table is pycurlcb/_pycurl_names.py, generated from pycurl 7.49.0's src/module.c by
tools/gen_pycurl_names.py. The comparisons with the real pycurl need it built from
source against the same libcurl (``make test`` installs it into .venv); without it
they are skipped, and the checks that need no pycurl still run.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import pycurlcb
from pycurlcb import constants
from pycurlcb._ffi import ffi, lib
from pycurlcb._pycurl_names import NAMES, PYCURL_VERSION

version_module = importlib.import_module("pycurlcb.version")  # pycurlcb.version is the string

ROOT = Path(__file__).resolve().parent.parent
MODULE_C = Path.home() / ".cache" / "pycurlcb" / f"pycurl-{PYCURL_VERSION}" / "src" / "module.c"
SCOPED = {
    "curl": constants.CURL_CONSTANTS,
    "multi": constants.MULTI_CONSTANTS,
    "share": constants.SHARE_CONSTANTS,
}
#: pycurl's spellings of COMPILE_SSL_LIB (pycurl src/pycurl.h).
PYCURL_SSL_LIBS = {
    "openssl", "wolfssl", "gnutls", "nss", "mbedtls", "secure-transport", "schannel", "none/other",
}


# --------------------------------------------------------------------------
# the table and what pycurlcb makes of it


def test_table_rows_are_unique_and_well_formed() -> None:
    names = [name for name, _, _ in NAMES]
    assert len(names) == len(set(names))
    assert len(NAMES) > 700
    for name, c_name, scope in NAMES:
        assert name.isidentifier() and name[0].isupper(), name
        assert c_name.startswith("CURL"), c_name
        assert scope in ("module", "curl", "multi", "share"), (name, scope)


def test_generated_table_is_current() -> None:
    """tools/gen_pycurl_names.py over pycurl's module.c gives the committed file, byte for byte."""
    if not MODULE_C.exists():
        pytest.skip(f"pycurl's source is not at {MODULE_C} (the regeneration check needs it)")
    generator = ROOT / "tools" / "gen_pycurl_names.py"
    if not generator.exists():  # a copy of tests/ without the checkout (tools/matrix.py)
        pytest.skip(f"the generator is not at {generator} (the regeneration check needs it)")
    spec = importlib.util.spec_from_file_location("gen_pycurl_names", generator)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.render(MODULE_C) == (ROOT / "pycurlcb" / "_pycurl_names.py").read_text()


def test_every_row_the_loaded_libcurl_knows_is_exported() -> None:
    exported = 0
    derived = constants._flat_names()
    for name, c_name, scope in NAMES:
        value = constants._c_value(c_name)
        if value is None:  # a constant newer than this libcurl: pycurl's #if skips it too
            assert not hasattr(pycurlcb, name) or name in derived, name
            continue
        exported += 1
        assert constants.FLAT[name] == value, name
        assert getattr(pycurlcb, name) is constants.FLAT[name], name
        if scope != "module":
            assert SCOPED[scope][name] is constants.FLAT[name], name
        for other, table in SCOPED.items():
            assert (name in table) == (other == scope), (name, other)
    assert exported > 700


def test_handle_constants_are_the_module_objects() -> None:
    """pycurl's tests check ``curl.URL is pycurl.URL``: one int object, not an equal one."""
    for table in SCOPED.values():
        for name, value in table.items():
            assert value is getattr(pycurlcb, name) is constants.FLAT[name], name
    assert constants.CURL_CONSTANTS["URL"] is pycurlcb.URL
    assert constants.MULTI_CONSTANTS["M_MAXCONNECTS"] is pycurlcb.M_MAXCONNECTS
    assert constants.SHARE_CONSTANTS["SH_SHARE"] is pycurlcb.SH_SHARE


def test_flat_values_are_plain_ints() -> None:
    """Plain int like pycurl's (no IntEnum member, no bool): repr and pickling stay pycurl's."""
    wrong = {name: type(v) for name, v in constants.FLAT.items() if type(v) is not int}
    assert wrong == {}


def test_names_beyond_pycurl_stay() -> None:
    """The prefix rules still give constants newer than pycurl 7.49's table; the table wins."""
    derived = constants._flat_names()
    assert set(derived) <= set(constants.FLAT)
    table = {name for name, _, _ in NAMES}
    assert {n for n in derived if n not in table and derived[n] != constants.FLAT[n]} == set()


# --------------------------------------------------------------------------
# version and the COMPILE_* names


def test_version_is_pycurls_with_ours_appended() -> None:
    libcurl = ffi.string(lib.curl_version()).decode()
    assert pycurlcb.version == f"PycURL/{PYCURL_VERSION} {libcurl} pycurlcb/{pycurlcb.__version__}"
    assert pycurlcb.version.startswith("PycURL/7.49.0 libcurl/")
    assert version_module.USER_AGENT == pycurlcb.version


def test_compile_libcurl_version_num_is_the_headers() -> None:
    assert pycurlcb.COMPILE_LIBCURL_VERSION_NUM == lib.LIBCURL_VERSION_NUM
    # The loaded libcurl may be older than the headers (the binary wheel is built against
    # 8.21.0's and loads 7.73.0): never older than the floor.
    assert pycurlcb.LIBCURL_VERSION_NUM >= 0x074900


def test_compile_libcurl_version_num_is_the_build_curl_config() -> None:
    """The headers' version, asked independently of the module: the curl-config
    the build used ($PYCURLCB_CURL_CONFIG, else curl-config on PATH, as build_ffi.py)."""
    config = os.environ.get("PYCURLCB_CURL_CONFIG")
    if not config:
        if Path(pycurlcb.__file__).resolve().parent != ROOT / "pycurlcb":
            pytest.skip("pycurlcb is not this checkout's (installed from a wheel?): the curl-config "
                        "that built it is not known; set PYCURLCB_CURL_CONFIG to check it")
        config = shutil.which("curl-config")
        if not config:
            pytest.skip("no curl-config on PATH")
    vernum = subprocess.run([config, "--vernum"], capture_output=True, text=True, check=True)
    assert pycurlcb.COMPILE_LIBCURL_VERSION_NUM == int(vernum.stdout, 16)


def test_compile_py_version_hex() -> None:
    """The Python headers the module was compiled with: the running Python's, except for
    the binary wheel (cp39-abi3, built once by one CPython, run by it and every later one)."""
    built = pycurlcb.COMPILE_PY_VERSION_HEX >> 16
    assert 0x0309 <= built <= sys.hexversion >> 16
    if os.environ.get("MATRIX_EXPECT_WHEEL") != "1":
        assert built == sys.hexversion >> 16


def test_compile_ssl_lib_is_a_pycurl_spelling() -> None:
    assert pycurlcb.COMPILE_SSL_LIB in PYCURL_SSL_LIBS
    ssl_version = pycurlcb.version_info()[5]
    if ssl_version and ssl_version.startswith("OpenSSL/"):
        assert pycurlcb.COMPILE_SSL_LIB == "openssl"


@pytest.mark.parametrize(
    "ssl_version, name",
    [
        ("OpenSSL/3.0.19", "openssl"),
        ("LibreSSL/3.8.2", "openssl"),
        ("BoringSSL", "openssl"),
        ("wolfSSL/5.6.4", "wolfssl"),
        ("GnuTLS/3.7.9", "gnutls"),
        ("NSS/3.90", "nss"),
        ("mbedTLS/3.5.1", "mbedtls"),
        ("Secure Transport", "secure-transport"),
        ("Schannel", "schannel"),
        ("(OpenSSL/3.0.2) Schannel", "schannel"),  # multi-TLS: the unbracketed one is in use
        ("OpenSSL/3.0.2 (Schannel)", "openssl"),
        ("rustls-ffi/0.10.0/rustls/0.21.0", "none/other"),
        (None, "none/other"),
    ],
)
def test_ssl_lib_names(ssl_version: str | None, name: str) -> None:
    assert version_module.ssl_lib(ssl_version) == name
    assert name in PYCURL_SSL_LIBS


# --------------------------------------------------------------------------
# against the real pycurl


@pytest.fixture(scope="module")
def pycurl() -> Any:
    mod = pytest.importorskip(
        "pycurl",
        reason="the real pycurl is not importable (`make test` builds it from source; pycurl 7.49.0 needs "
        "Python 3.10+, so there is none on Python 3.9: CPython 3.9, Debian 12's PyPy 3.9)",
    )
    if not mod.version.startswith(f"PycURL/{PYCURL_VERSION} "):
        pytest.skip(f"pycurl is {mod.version.split()[0]}, the table is pycurl {PYCURL_VERSION}'s")
    if mod.version_info()[2] != pycurlcb.LIBCURL_VERSION_NUM:
        pytest.skip("pycurl is linked against another libcurl (its wheel bundles its own)")
    if mod.COMPILE_LIBCURL_VERSION_NUM != pycurlcb.COMPILE_LIBCURL_VERSION_NUM:
        # Names and values other than options come from the headers each was compiled
        # against (HTTPAUTH_ANY, PROTO_ALL ...): the binary wheel's are 8.21.0's.
        pytest.skip("pycurl was compiled against other libcurl headers than pycurlcb")
    return mod


def _pycurl_values(pycurl: Any) -> dict[str, Any]:
    """pycurl's module-level names that are values: not classes, functions or submodules.

    (Curl, CurlMulti, CurlShare, CurlMime, CurlMimePart, CurlUrl, AsyncCurlMulti, error,
    global_init, version_info, the namedtuple classes ... are the handle and function layer.)
    """
    return {
        name: value
        for name in dir(pycurl)
        if not name.startswith("_")
        and not callable(value := getattr(pycurl, name))
        and not isinstance(value, types.ModuleType)
    }


def test_every_pycurl_value_name_exists_with_its_value(pycurl: Any) -> None:
    theirs = _pycurl_values(pycurl)
    assert len(theirs) > 700
    missing = sorted(name for name in theirs if not hasattr(pycurlcb, name))
    assert missing == [], f"pycurlcb lacks {missing}"
    differ = {
        name: (value, getattr(pycurlcb, name))
        for name, value in theirs.items()
        if name != "version"
        and (getattr(pycurlcb, name) != value or type(getattr(pycurlcb, name)) is not type(value))
    }
    assert differ == {}, f"(pycurl, pycurlcb) differ: {differ}"
    assert pycurlcb.version == f"{pycurl.version} pycurlcb/{pycurlcb.__version__}"


@pytest.mark.parametrize("scope, cls", [("curl", "Curl"), ("multi", "CurlMulti"), ("share", "CurlShare")])
def test_constants_readable_on_pycurls_handles(pycurl: Any, scope: str, cls: str) -> None:
    """The names a real pycurl Curl/CurlMulti/CurlShare answers are the matching dict, same values."""
    names = [n for n, v in _pycurl_values(pycurl).items() if type(v) is int]
    handle = getattr(pycurl, cls)()
    try:
        theirs = {name: getattr(handle, name) for name in names if hasattr(handle, name)}
    finally:
        handle.close()
    assert len(theirs) > 5
    assert SCOPED[scope] == theirs
