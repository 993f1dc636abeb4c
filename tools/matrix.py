#!/usr/bin/env python3
"""make test-matrix: the whole test suite against each libcurl users have.

For every entry of the matrix (a libcurl release built from
``../shared/libcurl-src/curl-VERSION.tar.xz``, the system libcurl, or the
libcurl inside pycurl's manylinux wheel):

1. libcurl is built once with CMake into ``$PYCURLCB_CACHE/curl-VERSION/``
   (default cache ``~/.cache/pycurlcb``); it is rebuilt only when that prefix
   is missing or was built with other CMake flags.
2. A pycurlcb wheel is built against it (``PYCURLCB_CURL_CONFIG=PREFIX/bin/curl-config``)
   from a fresh copy of the checkout, and installed, not editable, into a venv
   of that entry's own (``$PYCURLCB_CACHE/matrix/ENTRY/venv``), with the test
   extras and pycurl 7.49.0 built from source against the same libcurl (so
   tests/test_pycurl_compat.py compares like with like; skipped if it fails).
3. pytest runs in a copy of tests/, docs/ and pyproject.toml that has no
   pycurlcb/ beside it: the tests put their ROOT on the child interpreters'
   PYTHONPATH, and in the checkout that would import the in-place build (made
   against the system headers by ``make venv``) instead of the installed one.
   The loader finds the libcurl through LD_LIBRARY_PATH (the 7.x CMake builds
   have no soname) or LD_PRELOAD (the wheel's), and a guard plugin (this file,
   loaded with ``-p matrix``) stops the run unless pycurlcb is imported from
   that venv and reports the expected libcurl version.

With ``--wheel WHEEL`` (``make test-wheel``) nothing is built per entry: the
one binary wheel (``make wheel``, tools/build_wheel.py) is installed as users
install it, with ``pip install --no-index --only-binary :all:`` from a local
wheelhouse (cffi and the test extras, downloaded once per run with
``pip download``) into a fresh venv per entry under
``$PYCURLCB_CACHE/matrix-wheel/ENTRY/``, with no C compiler, linker,
curl-config or pkg-config on PATH (a PATH of symlinks without them; the guard
plugin checks) and no CC/CFLAGS/CPATH.  libcurl is loaded through the wheel's
``NEEDED libcurl.so.4``: LD_LIBRARY_PATH names a directory holding a
``libcurl.so.4`` symlink to the entry's build (7.73.0 and 7.81.0 have SONAME
libcurl.so), or nothing for the system's.  pycurl is the one the per-build
matrix made for the newest libcurl, on that entry only (a local wheel: no
compiler needed; on the others it was compiled against other headers than the
wheel, and its constants differ as the headers do).

It prints one line per entry (libcurl version, ws/HSTS/http2 built in or not,
pycurl or not, passed/failed/skipped/errors, times, the pytest log) and a
verdict; the exit status is 1 if any entry failed to build or had a failure or
an error.

Usage: tools/matrix.py [--versions "7.73.0 8.5.0 system"] [--pytest-args "-x -k multi"] [--wheel WHEEL]
(``make test-matrix MATRIX_VERSIONS=... MATRIX_PYTEST_ARGS=...``).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("PYCURLCB_CACHE") or Path.home() / ".cache" / "pycurlcb")
RELEASES = ["7.73.0", "7.76.1", "7.81.0", "8.5.0", "8.21.0"]
SYSTEM = "system"
WHEEL = "pycurl-wheel"
DEFAULT = [*RELEASES, SYSTEM]
PYCURL = "7.49.0"
#: libcurl in pycurl 7.49.0's manylinux wheel (pycurl.libs/); asserted at run time.
WHEEL_LIBCURL = "8.23.0"

# The CMake flags of every build, besides OpenSSL (below).  CURL_USE_LIBPSL=OFF:
# 8.21.0 fails to configure without libpsl-dev, which the machine lacks.
# ENABLE_WEBSOCKETS=ON: 7.86.0 to 8.10.x build ws:// only when asked (8.5.0
# here); 8.11+ build it by default.  CMake warns that the flags an old tree does
# not know were unused; that is harmless.  LDAP, libssh2, nghttp2 and libpsl are
# not installed here and are left out by every version without being asked;
# libidn2 and brotli are used where the version's CMakeLists looks for them.
CMAKE_FLAGS = [
    "-DBUILD_CURL_EXE=OFF",
    "-DBUILD_TESTING=OFF",
    "-DCURL_USE_LIBPSL=OFF",
    "-DENABLE_WEBSOCKETS=ON",
]


def openssl_flag(src: Path) -> str:
    """OpenSSL on, by the name this tree knows: CMAKE_USE_OPENSSL in 7.73.0 and
    7.76.1, CURL_USE_OPENSSL from 7.81.0, whose CMakeLists stops on the old
    name ("was renamed ... Reconfig required")."""
    new = "option(CURL_USE_OPENSSL" in (src / "CMakeLists.txt").read_text()
    return "-DCURL_USE_OPENSSL=ON" if new else "-DCMAKE_USE_OPENSSL=ON"


# curl_version_info(3) feature bits shown in the summary.
CURL_VERSION_HTTP2 = 1 << 16
CURL_VERSION_HSTS = 1 << 28

# Files of the checkout the wheel is built from, and the ones the tests read.
BUILD_IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.so", "*.o", "_curl.c", "build", "dist", "*.egg-info",
)
TEST_TREE = ["tests", "docs", "pyproject.toml"]


def log(msg: str) -> None:
    print(f"matrix: {msg}", flush=True)


def run(cmd: Sequence[str | os.PathLike[str]], logfile: Path, env: dict[str, str] | None = None,
        **kw: object) -> None:
    """Run cmd with its output appended to logfile; raise with the log's tail if it fails."""
    with logfile.open("a") as out:
        out.write(f"\n$ {shlex.join(map(str, cmd))}\n")
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        tail = "".join(logfile.read_text(errors="replace").splitlines(True)[-25:])
        raise RuntimeError(f"{os.fspath(cmd[0])} ... exited {proc.returncode}; log {logfile}:\n{tail}")


def source_dir() -> Path:
    """Where curl-VERSION.tar.xz are: $PYCURLCB_CURL_SRC, else shared/libcurl-src beside the checkout."""
    if os.environ.get("PYCURLCB_CURL_SRC"):
        return Path(os.environ["PYCURLCB_CURL_SRC"])
    for up in (ROOT.parent, ROOT.parent.parent):
        if (up / "shared" / "libcurl-src").is_dir():
            return up / "shared" / "libcurl-src"
    raise RuntimeError("no shared/libcurl-src beside the checkout; set PYCURLCB_CURL_SRC")


# ---------------------------------------------------------------------------
# libcurl


def build_libcurl(version: str) -> tuple[Path, float]:
    """PREFIX of libcurl VERSION, built now unless cached; and the build time in s."""
    prefix = CACHE / f"curl-{version}"
    stamp = prefix / "pycurlcb-cmake-flags"
    wanted = "\n".join(CMAKE_FLAGS) + "\n"
    if stamp.is_file() and stamp.read_text() == wanted and (prefix / "bin" / "curl-config").is_file():
        return prefix, 0.0
    tarball = source_dir() / f"curl-{version}.tar.xz"
    if not tarball.is_file():
        raise RuntimeError(f"{tarball} is missing")
    log(f"building libcurl {version} into {prefix} (about 30 s)")
    start = time.monotonic()
    shutil.rmtree(prefix, ignore_errors=True)
    shutil.rmtree(CACHE / "matrix" / version, ignore_errors=True)  # its venv links the old build
    CACHE.mkdir(parents=True, exist_ok=True)
    buildlog = CACHE / f"curl-{version}.build.log"
    buildlog.write_text("")
    with tempfile.TemporaryDirectory(dir=CACHE, prefix=f"curl-{version}-src.") as tmp:
        with tarfile.open(tarball) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:
                tar.extractall(tmp)
        (src,) = Path(tmp).iterdir()
        jobs = os.environ.get("MATRIX_JOBS", "2")
        flags = [f"-DCMAKE_INSTALL_PREFIX={prefix}", *CMAKE_FLAGS, openssl_flag(src)]
        run(["cmake", "-S", src, "-B", src / "build", *flags], buildlog)
        run(["cmake", "--build", src / "build", f"-j{jobs}"], buildlog)
        run(["cmake", "--install", src / "build"], buildlog)
    stamp.write_text(wanted)
    return prefix, time.monotonic() - start


def wheel_libcurl() -> tuple[Path, Path]:
    """pycurl's manylinux wheel, unpacked once: (the wheel file, its libcurl .so)."""
    where = CACHE / f"pycurl-{PYCURL}-manylinux"
    wheels = sorted(where.glob("pycurl-*.whl"))
    if not wheels:
        where.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
             "-d", where, f"pycurl=={PYCURL}"], where / "download.log")
        wheels = sorted(where.glob("pycurl-*.whl"))
    unpacked = where / "unpacked"
    if not unpacked.is_dir():
        with zipfile.ZipFile(wheels[0]) as z:
            z.extractall(unpacked)
    libs = sorted((unpacked / "pycurl.libs").glob("libcurl-*.so*"))
    if not libs:
        raise RuntimeError(f"no libcurl in {unpacked}/pycurl.libs")
    return wheels[0], libs[0]


# ---------------------------------------------------------------------------
# one matrix entry


@dataclass
class Entry:
    name: str            # 7.73.0, system, pycurl-wheel
    expect: str          # the version libcurl must report
    curl_config: str     # what pycurlcb and pycurl are built with
    loader: dict[str, str]  # LD_LIBRARY_PATH or LD_PRELOAD for running
    pycurl_wheel: Path | None = None  # install this pycurl instead of building one
    libcurl_seconds: float = 0.0


@dataclass
class Result:
    name: str
    version: str = "?"
    features: str = ""
    pycurl: str = "-"
    counts: tuple[int, int, int, int, int] | None = None  # passed, failed, skipped, xfailed, errors
    problem: str = ""
    libcurl_seconds: float = 0.0
    pytest_seconds: float = 0.0
    seconds: float = 0.0
    log: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problem and self.counts is not None and self.counts[1] == self.counts[4] == 0


def make_entry(name: str) -> Entry:
    if name == SYSTEM:
        config = shutil.which("curl-config")
        if not config and os.environ.get("MATRIX_WHEEL"):
            return Entry(name, "", "", {})  # the wheel needs no curl-config; no version to expect
        if not config:
            raise RuntimeError("no curl-config on PATH (apt-get install libcurl4-openssl-dev)")
        expect = subprocess.run([config, "--version"], capture_output=True, text=True).stdout.split()[-1]
        return Entry(name, expect, config, {})
    if name == WHEEL:
        wheel, lib = wheel_libcurl()
        config = shutil.which("curl-config") or ""
        return Entry(name, WHEEL_LIBCURL, config, {"LD_PRELOAD": str(lib)}, pycurl_wheel=wheel)
    if name not in RELEASES and not (source_dir() / f"curl-{name}.tar.xz").is_file():
        raise RuntimeError(f"unknown entry {name!r}: expected one of {RELEASES + [SYSTEM, WHEEL]}")
    prefix, secs = build_libcurl(name)
    entry = Entry(name, name, str(prefix / "bin" / "curl-config"), {"LD_LIBRARY_PATH": str(prefix / "lib")})
    entry.libcurl_seconds = secs
    return entry


def wheel_loader(entry: Entry) -> dict[str, str]:
    """For the wheel (NEEDED libcurl.so.4): a directory with a libcurl.so.4 symlink to the
    entry's build, whose SONAME may be libcurl.so (7.73.0, 7.81.0)."""
    if "LD_LIBRARY_PATH" not in entry.loader:
        return dict(entry.loader)
    lib = Path(entry.loader["LD_LIBRARY_PATH"])
    target = lib / "libcurl.so.4" if (lib / "libcurl.so.4").exists() else lib / "libcurl.so"
    where = CACHE / "matrix-wheel" / "libs" / entry.name
    where.mkdir(parents=True, exist_ok=True)
    link = where / "libcurl.so.4"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target.resolve())
    return {"LD_LIBRARY_PATH": str(where)}


#: What must not be reachable where the wheel is installed and tested: C
#: compilers, the linker and assembler, curl-config, pkg-config.
NO_BUILD_TOOLS = re.compile(
    r"^(cc|c\+\+|c89|c99|gcc|g\+\+|cpp|clang(\+\+)?|tcc|ld|ld\.\w+|as|"
    r"(x86_64-linux-gnu-)?(gcc|g\+\+|cpp|ld|as|pkg-config)(-[\d.]+)?|gcc-[\d.]+|cpp-[\d.]+|"
    r"clang(-\d+)?|curl-config|pkg-config|pkgconf)$"
)


def no_compiler_env(work: Path) -> dict[str, str]:
    """os.environ with PATH replaced by a directory of symlinks to every command
    on PATH but the build tools (NO_BUILD_TOOLS), and no compiler settings."""
    bindir = work / "nocc-bin"
    shutil.rmtree(bindir, ignore_errors=True)
    bindir.mkdir(parents=True)
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or not os.path.isdir(d) or Path(d).resolve() == bindir.resolve():
            continue
        for name in sorted(os.listdir(d)):
            full = os.path.join(d, name)
            if NO_BUILD_TOOLS.match(name) or (bindir / name).exists() or not os.access(full, os.X_OK):
                continue
            if os.path.isfile(full):
                (bindir / name).symlink_to(full)
    env = {k: v for k, v in os.environ.items()
           if k not in ("CC", "CXX", "CFLAGS", "CPPFLAGS", "LDFLAGS", "CPATH", "C_INCLUDE_PATH",
                        "PKG_CONFIG_PATH", "PYCURLCB_CURL_CONFIG", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(bindir)
    env["MATRIX_NO_COMPILER"] = "1"
    return env


def wheelhouse(wheel: Path) -> Path:
    """cffi and the test extras as wheels in a local directory: ``pip wheel`` downloads the
    wheels and builds the pure-Python sdists among the test extras (pyftpdlib); cffi must be a
    wheel from the index."""
    where = CACHE / "matrix-wheel" / "wheelhouse"
    where.mkdir(parents=True, exist_ok=True)
    logfile = CACHE / "matrix-wheel" / "wheelhouse.log"
    logfile.write_text("")
    log(f"downloading cffi and the test extras into {where}")
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--only-binary", "cffi", "-w", where,
         f"{wheel.resolve()}[test]"], logfile)
    for old in where.glob("pycurlcb-*.whl"):  # pip wheel copies the requirement itself too
        old.unlink()
    return where


def install_wheel(entry: Entry, work: Path, wheel: Path, house: Path) -> Path:
    """A fresh venv with the wheel and its test extras, installed from local files only,
    with no compiler reachable; and pycurl if the per-build matrix made one for this libcurl."""
    shutil.rmtree(work / "venv", ignore_errors=True)
    venv.create(work / "venv", with_pip=True)
    py = work / "venv" / "bin" / "python"
    env = no_compiler_env(work)
    buildlog = work / "install.log"
    buildlog.write_text("")
    alone = work / "wheel"  # the one wheel, alone: no other pycurlcb build can be picked
    shutil.rmtree(alone, ignore_errors=True)
    alone.mkdir()
    shutil.copy2(wheel, alone / wheel.name)
    run([py, "-m", "pip", "install", "--no-index", "--only-binary", ":all:", "--find-links", house,
         "--find-links", alone, f"pycurlcb[test]=={wheel.name.split('-')[1]}"], buildlog, env=env)
    # pycurl is compiled against the entry's headers; its names and values other than
    # options are those headers': compare it with the wheel (8.21.0's headers) on 8.21.0 only.
    made = sorted((CACHE / "matrix" / entry.name / "pycurl").glob("pycurl-*.whl"))
    if made and entry.name == RELEASES[-1]:
        run([py, "-m", "pip", "install", "--no-index", "--no-deps", made[0]], buildlog, env=env)
    return py


def venv_python(work: Path) -> Path:
    py = work / "venv" / "bin" / "python"
    if not py.exists():
        venv.create(work / "venv", with_pip=True)
        # Builds run without isolation (no download per build): pycurlcb's and
        # pycurl's build requirements (pycurl 7.49.0 needs setuptools>=77).
        run([py, "-m", "pip", "install", "--quiet", "setuptools>=77", "cffi>=1.17", "wheel"],
            work / "setup.log")
    return py


def install_pycurlcb(entry: Entry, work: Path, py: Path) -> None:
    """Build a wheel from a fresh copy of the checkout against entry's libcurl; install it."""
    src, dist = work / "src", work / "dist"
    for d in (src, dist):
        shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(ROOT / "pycurlcb", src / "pycurlcb", ignore=BUILD_IGNORE)
    shutil.copytree(ROOT / "ffi", src / "ffi")  # build-only: the cdefs and C sources
    for f in ("pyproject.toml", "setup.py", "build_ffi.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / f, src / f)
    env = dict(os.environ, PYCURLCB_CURL_CONFIG=entry.curl_config)
    buildlog = work / "build.log"
    buildlog.write_text("")
    # -v: build.log then shows the compiler's command line, with the -I of this libcurl.
    run([py, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", dist, src],
        buildlog, env=env)
    (wheel,) = dist.glob("pycurlcb-*.whl")
    run([py, "-m", "pip", "install", "--force-reinstall", "--no-deps", wheel], buildlog)
    run([py, "-m", "pip", "install", f"{wheel}[test]"], buildlog)


def install_pycurl(entry: Entry, work: Path, py: Path) -> bool:
    """pycurl 7.49.0 for the compatibility tests: the wheel's, or built against entry's libcurl."""
    env = dict(os.environ, **entry.loader)
    if subprocess.run([py, "-c", "import pycurl"], env=env, capture_output=True).returncode == 0:
        return True
    pylog, failed = work / "pycurl.log", work / "pycurl.failed"
    if failed.exists():  # tried with this venv and libcurl already; see pycurl.log
        return False
    try:
        if entry.pycurl_wheel:
            run([py, "-m", "pip", "install", "--no-deps", entry.pycurl_wheel], pylog)
        else:
            sdist = CACHE / f"pycurl-{PYCURL}.tar.gz"
            what = str(sdist) if sdist.is_file() else f"pycurl=={PYCURL}"
            env = dict(os.environ, PYCURL_CURL_CONFIG=entry.curl_config, PYCURL_SSL_LIBRARY="openssl")
            run([py, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-build-isolation",
                 "--no-binary", "pycurl", "-w", work / "pycurl", what], pylog, env=env)
            (wheel,) = (work / "pycurl").glob("pycurl-*.whl")
            run([py, "-m", "pip", "install", "--no-deps", wheel], pylog)
    except RuntimeError as exc:
        errors = [x.strip() for x in exc.args[0].splitlines() if "error:" in x][:1]
        log(f"{entry.name}: pycurl {PYCURL} did not build, test_pycurl_compat.py is skipped "
            f"({pylog}): {' '.join(errors)}")
        failed.touch()
        return False
    return True


PROBE = """
import json, pycurlcb
v = pycurlcb.version_info()
print(json.dumps({"file": pycurlcb.__file__, "version": v[1], "features": v[4], "ssl": v[5],
                  "protocols": v[8]}))
"""


def probe(entry: Entry, work: Path, py: Path, base_env: dict[str, str] | None = None) -> tuple[str, str]:
    """The libcurl version pycurlcb reports in the venv, and its feature summary."""
    env = dict(base_env if base_env is not None else os.environ, **entry.loader)
    proc = subprocess.run([py, "-c", PROBE], env=env, cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"import pycurlcb failed:\n{proc.stderr[-2000:]}")
    info = json.loads(proc.stdout)
    version = info["version"].removesuffix("-DEV")  # the git archives' curlver.h says 7.73.0-DEV
    if entry.expect and version != entry.expect:
        raise RuntimeError(f"pycurlcb reports libcurl {info['version']}, expected {entry.expect}")
    if not info["file"].startswith(str(work / "venv")):
        raise RuntimeError(f"pycurlcb was imported from {info['file']}, not from {work}/venv")
    feats = [
        "tls" if info["ssl"] else "no-tls",
        "ws" if "ws" in info["protocols"] else "no-ws",
        "hsts" if info["features"] & CURL_VERSION_HSTS else "no-hsts",
        "h2" if info["features"] & CURL_VERSION_HTTP2 else "no-h2",
    ]
    return version, " ".join(feats)


def junit_counts(path: Path) -> tuple[int, int, int, int, int]:
    """(passed, failed, skipped, xfailed, errors) from pytest's JUnit XML."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    errors = sum(int(s.get("errors", 0)) for s in suites)
    xfailed = sum(1 for s in root.iter("skipped") if s.get("type") == "pytest.xfail")
    return tests - failed - skipped - errors, failed, skipped - xfailed, xfailed, errors


def run_tests(entry: Entry, work: Path, py: Path, pytest_args: list[str],
              base_env: dict[str, str] | None = None) -> Result:
    res = Result(entry.name, libcurl_seconds=entry.libcurl_seconds)
    tree = work / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir()
    for name in TEST_TREE:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, tree / name)
    res.version, res.features = probe(entry, work, py, base_env)
    env = dict(
        base_env if base_env is not None else os.environ,
        **entry.loader,
        PYTHONPATH=str(Path(__file__).resolve().parent),  # for -p matrix only
        MATRIX_EXPECT_VERSION=entry.expect,
        MATRIX_EXPECT_PREFIX=str(work / "venv"),
    )
    res.log = work / "pytest.log"
    junit = work / "junit.xml"
    junit.unlink(missing_ok=True)
    timeout = float(os.environ.get("MATRIX_TIMEOUT", "1800"))
    # A module that fails to collect on one libcurl must not stop the others from running.
    start = time.monotonic()
    cmd = [str(work / "venv" / "bin" / "pytest"), "-p", "matrix", "--continue-on-collection-errors",
           f"--junitxml={junit}", *pytest_args]
    with res.log.open("w") as out:
        out.write(f"$ {shlex.join(cmd)}\n# env: {entry.loader}\n")
        out.flush()
        try:
            proc = subprocess.run(cmd, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout, start_new_session=True)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = None
    res.pytest_seconds = time.monotonic() - start
    if code is None:
        res.problem = f"timed out after {timeout:.0f} s"
    elif code < 0:
        res.problem = f"pytest killed by signal {-code}"
    elif code not in (0, 1):  # 1 = some tests failed; 2..5 = interrupted, internal error, usage, no tests
        res.problem = f"pytest exited {code}"
    if junit.is_file():
        res.counts = junit_counts(junit)
    elif not res.problem:
        res.problem = "no JUnit report"
    return res


def run_wheel_entry(name: str, pytest_args: list[str], wheel: Path, house: Path) -> Result:
    """One entry of the wheel mode: the one wheel, installed without a compiler, on this libcurl."""
    start = time.monotonic()
    try:
        entry = make_entry(name)
        entry.loader = wheel_loader(entry)
        work = CACHE / "matrix-wheel" / name
        work.mkdir(parents=True, exist_ok=True)
        log(f"{name}: installing {wheel.name} with no compiler {entry.loader or ''}")
        py = install_wheel(entry, work, wheel, house)
        log(f"{name}: running pytest")
        env = no_compiler_env(work)
        env["MATRIX_EXPECT_WHEEL"] = "1"
        res = run_tests(entry, work, py, pytest_args, env)
        ok = subprocess.run([py, "-c", "import pycurl"], env=dict(env, **entry.loader),
                            capture_output=True).returncode == 0
        res.pycurl = "pycurl" if ok else "no-pycurl"
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        res = Result(name, problem=str(exc))
    res.seconds = time.monotonic() - start
    return res


def run_entry(name: str, pytest_args: list[str]) -> Result:
    start = time.monotonic()
    try:
        entry = make_entry(name)
        work = CACHE / "matrix" / name
        work.mkdir(parents=True, exist_ok=True)
        log(f"{name}: building pycurlcb against {entry.curl_config} {entry.loader or ''}")
        py = venv_python(work)
        install_pycurlcb(entry, work, py)
        has_pycurl = install_pycurl(entry, work, py)
        log(f"{name}: running pytest")
        res = run_tests(entry, work, py, pytest_args)
        res.pycurl = "pycurl" if has_pycurl else "no-pycurl"
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        res = Result(name, problem=str(exc))
    res.seconds = time.monotonic() - start
    return res


def summary_line(r: Result) -> str:
    counts = "-"
    if r.counts:
        counts = "{:4d} passed {:3d} failed {:3d} skipped {:2d} xfail {:3d} errors".format(*r.counts)
    times = f"pytest {r.pytest_seconds:3.0f} s, total {r.seconds:4.0f} s"
    if r.libcurl_seconds:
        times += f" (libcurl build {r.libcurl_seconds:.0f} s)"
    status = "ok  " if r.ok else "FAIL"
    line = f"{status} {r.name:13} libcurl {r.version:7} {r.features:24} {r.pycurl:9} {counts}  {times}"
    if r.problem:
        line += f"\n     problem: {r.problem.splitlines()[0]}"
    return line


def failures_in(log_path: Path) -> list[str]:
    """The FAILED/ERROR lines of pytest's short summary (-ra)."""
    text = log_path.read_text(errors="replace").splitlines()
    return [line for line in text if line.startswith(("FAILED ", "ERROR "))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--versions", default=os.environ.get("MATRIX_VERSIONS", ""),
                    help=f"space-separated entries (default: {' '.join(DEFAULT)}; also {WHEEL})")
    ap.add_argument("--pytest-args", default=os.environ.get("MATRIX_PYTEST_ARGS", ""),
                    help="extra pytest arguments, one shell-quoted string")
    ap.add_argument("--wheel", default=os.environ.get("MATRIX_WHEEL", ""),
                    help="test this one binary wheel on every entry instead of building per entry")
    args = ap.parse_args()
    names = args.versions.split() or DEFAULT
    wheel = Path(args.wheel).resolve() if args.wheel else None
    if wheel is not None and not wheel.is_file():
        raise SystemExit(f"matrix: no wheel {wheel} (make wheel)")
    pytest_args = shlex.split(args.pytest_args)
    log(f"cache {CACHE}; entries {' '.join(names)}")
    CACHE.mkdir(parents=True, exist_ok=True)
    lock = (CACHE / "matrix.lock").open("w")
    try:  # two runs sharing the cache would rebuild each other's venvs mid-test
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another test-matrix holds {CACHE / 'matrix.lock'}; waiting for it")
        fcntl.flock(lock, fcntl.LOCK_EX)
    start = time.monotonic()
    results = []
    house = wheelhouse(wheel) if wheel is not None else None
    for name in names:
        if wheel is not None and house is not None:
            r = run_wheel_entry(name, pytest_args, wheel, house)
        else:
            r = run_entry(name, pytest_args)
        results.append(r)
        print(summary_line(r), flush=True)
        if r.log and r.log.is_file():
            for line in failures_in(r.log):
                print(f"     {line}")
            if r.problem:
                tail = r.log.read_text(errors="replace").splitlines()[-15:]
                print("\n".join(f"     | {x}" for x in tail))
        elif r.problem and len(r.problem.splitlines()) > 1:
            print("\n".join(f"     | {x}" for x in r.problem.splitlines()[1:]))
    total = time.monotonic() - start
    where = CACHE / ("matrix-wheel" if wheel is not None else "matrix")
    what = f"test-matrix with {wheel.name}" if wheel is not None else "test-matrix"
    print(f"\n=== {what} summary ({total:.0f} s; pytest logs under {where}) ===")
    for r in results:
        print(summary_line(r))
        if r.log:
            print(f"     log: {r.log}")
    bad = [r.name for r in results if not r.ok]
    print(f"verdict: {'FAIL on ' + ' '.join(bad) if bad else 'all ' + str(len(results)) + ' entries passed'}")
    # The plain closing line CI reads, summed over the entries; errors count as failed.
    tot = [sum(r.counts[i] for r in results if r.counts) for i in range(5)]
    print(f"matrix: {tot[0]} passed, {tot[1] + tot[4]} failed, {tot[2]} skipped")
    return 1 if bad else 0


# ---------------------------------------------------------------------------
# the guard plugin (pytest -p matrix, PYTHONPATH=tools/): pycurlcb must come
# from the venv under test and report the libcurl this entry built.


def pytest_report_header(config: object) -> list[str]:
    import pycurlcb

    return [f"matrix: pycurlcb {pycurlcb.__file__}, {pycurlcb.version}"]


def pytest_configure(config: object) -> None:
    import pytest

    import pycurlcb

    expect = os.environ.get("MATRIX_EXPECT_VERSION")
    prefix = os.environ.get("MATRIX_EXPECT_PREFIX", "")
    got = pycurlcb.version_info()[1].removesuffix("-DEV")
    if expect and got != expect:
        pytest.exit(f"matrix: pycurlcb reports libcurl {got}, expected {expect}", returncode=3)
    if prefix and not pycurlcb.__file__.startswith(prefix):
        pytest.exit(f"matrix: pycurlcb imported from {pycurlcb.__file__}, not from {prefix}", returncode=3)
    if os.environ.get("MATRIX_NO_COMPILER"):
        found = [t for t in ("cc", "gcc", "clang", "ld", "curl-config", "pkg-config") if shutil.which(t)]
        if found:
            pytest.exit(f"matrix: build tools reachable on PATH: {found}", returncode=3)


if __name__ == "__main__":
    sys.exit(main())
