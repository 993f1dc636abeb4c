#!/usr/bin/env python3
"""make test-distros: the test suite on Debian 13 and Debian unstable as shipped.

For each distribution (``trixie``: Debian 13, ``sid``: Debian unstable):

1. a chroot is made with ``debootstrap --variant=minbase`` from Debian's own
   packages (their python3, python3-venv, python3-dev, libcurl4-openssl-dev and
   gcc, nothing else) in ``$PYCURLCB_CACHE/chroots/DIST/root`` (default cache
   ``~/.cache/pycurlcb``), outside the repository, and kept between runs; it is
   made again when older than ``$PYCURLCB_CHROOT_DAYS`` days (default 7).  The
   mirror is the host's (its apt sources: the first ``.../debian`` URI).
2. /proc, /sys, /dev and /dev/pts are bind-mounted for the run and unmounted
   after it, also when it fails or is interrupted (``finally``, with SIGTERM
   and SIGHUP turned into SystemExit); mounts a killed run left behind are
   unmounted first.
3. In the chroot: a venv with Debian's python3, a pycurlcb wheel built from a
   fresh copy of the checkout against Debian's libcurl, installed with its
   ``[test]`` extras from PyPI (the host's CA bundle copied in for pip), and
   pytest in a copy of tests/, docs/ and pyproject.toml with tools/matrix.py's
   guard plugin (pycurlcb from that venv, the chroot's libcurl version).  The
   environment is a user's: no PYTHONUNBUFFERED, no host pip settings.
   pycurl is not installed there (Debian's python3-pycurl uses GnuTLS's
   libcurl): tests/test_pycurl_compat.py is skipped.

Prints one line per distribution (Python, libcurl, counts, times) and the
failures; exits 1 if any had a failure.  Needs root and debootstrap.

Usage: tools/chroots.py [--dists "trixie sid"] [--pytest-args "-x -k multi"] | --umount
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matrix  # noqa: E402 - tools/matrix.py, beside this file

DISTS = {"trixie": "Debian 13", "sid": "Debian unstable"}
PACKAGES = ["python3", "python3-venv", "python3-dev", "libcurl4-openssl-dev", "gcc", "libc6-dev"]
MOUNTS = [("proc", "proc"), ("sysfs", "sys"), ("/dev", "dev"), ("/dev/pts", "dev/pts")]
MAX_AGE_DAYS = float(os.environ.get("PYCURLCB_CHROOT_DAYS", "7"))
#: A user's environment inside the chroot: nothing of the host's but the CA bundle.
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "PIP_CERT": "/work/ca.pem",
    "SSL_CERT_FILE": "/work/ca.pem",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PIP_DEFAULT_TIMEOUT": "180",
}


def mirror() -> str:
    """The host's Debian mirror, from its apt sources (the CI network allows only it)."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for f in files:
        if f.is_file():
            for uri in re.findall(r"(?:URIs:|^deb)\s+(\S+)", f.read_text(), flags=re.M):
                if uri.rstrip("/").endswith("/debian"):
                    return uri
    return "http://deb.debian.org/debian"


def mounted_under(root: Path) -> list[str]:
    """The mount points below ``root``, deepest first."""
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == str(root) or point.startswith(str(root) + "/"):
            points.append(point)
    return sorted(points, key=len, reverse=True)


def unmount_all(root: Path) -> None:
    for point in mounted_under(root):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)  # busy: detach now
    left = mounted_under(root)
    if left:
        raise RuntimeError(f"still mounted after umount: {left}")


def bootstrap(dist: str, work: Path) -> Path:
    """The chroot of ``dist``, made with debootstrap unless a recent one is cached."""
    root, stamp = work / "root", work / "root.ready"
    if stamp.is_file() and time.time() - stamp.stat().st_mtime < MAX_AGE_DAYS * 86400:
        return root
    unmount_all(work)
    shutil.rmtree(root, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    print(f"distros: {dist}: debootstrap from {mirror()} (a few minutes)", flush=True)
    matrix.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
                dist, root, mirror()], work / "debootstrap.log")
    stamp.touch()
    return root


def in_chroot(root: Path, script: str, logfile: Path, timeout: float | None = None) -> None:
    """Run ``script`` with sh in the chroot; its output is appended to ``logfile``."""
    matrix.run(["chroot", root, "/bin/sh", "-ec", script], logfile,
               env=CHROOT_ENV, timeout=timeout)


def run_dist(dist: str, pytest_args: list[str]) -> matrix.Result:
    start = time.monotonic()
    name = f"debian-{dist}"
    work = matrix.CACHE / "chroots" / dist
    work.mkdir(parents=True, exist_ok=True)
    res = matrix.Result(name)
    try:
        root = bootstrap(dist, work)
        res.libcurl_seconds = time.monotonic() - start
        unmount_all(root)  # left by a run that was killed
        try:
            for what, point in MOUNTS:
                target = root / point
                target.mkdir(parents=True, exist_ok=True)
                cmd = ["mount", "--bind", what, target] if what.startswith("/") else \
                      ["mount", "-t", what, what, target]
                subprocess.run(cmd, check=True)
            res = run_in(dist, name, root, work, pytest_args, res)
        finally:
            unmount_all(root)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        res.problem = str(exc)
    res.seconds = time.monotonic() - start
    return res


def run_in(dist: str, name: str, root: Path, work: Path, pytest_args: list[str],
           res: matrix.Result) -> matrix.Result:
    inside = root / "work"
    for d in ("src", "tree", "tools"):
        shutil.rmtree(inside / d, ignore_errors=True)
    (inside / "src").mkdir(parents=True)
    shutil.copytree(matrix.ROOT / "pycurlcb", inside / "src" / "pycurlcb", ignore=matrix.BUILD_IGNORE)
    shutil.copytree(matrix.ROOT / "ffi", inside / "src" / "ffi")  # build-only: cdefs and C sources
    for f in ("pyproject.toml", "setup.py", "build_ffi.py", "MANIFEST.in", "README.md"):
        shutil.copy2(matrix.ROOT / f, inside / "src" / f)
    (inside / "tree").mkdir()
    for n in matrix.TEST_TREE:
        copy = shutil.copytree if (matrix.ROOT / n).is_dir() else shutil.copy2
        copy(matrix.ROOT / n, inside / "tree" / n)
    (inside / "tools").mkdir()
    shutil.copy2(matrix.ROOT / "tools" / "matrix.py", inside / "tools" / "matrix.py")
    ca = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    shutil.copy2(ca, inside / "ca.pem")
    buildlog = work / "build.log"
    buildlog.write_text("")
    print(f"distros: {dist}: building pycurlcb with Debian's python3 and libcurl", flush=True)
    in_chroot(root, """
        test -x /work/venv/bin/python || python3 -m venv /work/venv
        /work/venv/bin/python -m pip install --quiet 'setuptools>=77' 'cffi>=1.17' wheel
        rm -rf /work/dist
        /work/venv/bin/python -m pip wheel -v --no-deps --no-build-isolation -w /work/dist /work/src
        /work/venv/bin/python -m pip install --force-reinstall --no-deps /work/dist/pycurlcb-*.whl
        /work/venv/bin/python -m pip install "$(ls /work/dist/pycurlcb-*.whl)[test]"
        """, buildlog)
    version = subprocess.run(["chroot", root, "curl-config", "--version"], capture_output=True,
                             text=True, check=True).stdout.split()[-1]
    pyver = subprocess.run(["chroot", root, "python3", "-c",
                            "import platform; print(platform.python_version())"],
                           capture_output=True, text=True, check=True).stdout.strip()
    res.name, res.version, res.features, res.pycurl = name, version, f"CPython {pyver}", "no-pycurl"
    print(f"distros: {dist}: running pytest (CPython {pyver}, libcurl {version})", flush=True)
    res.log = work / "pytest.log"
    (work / "junit.xml").unlink(missing_ok=True)
    (inside / "junit.xml").unlink(missing_ok=True)
    cmd = ["/work/venv/bin/pytest", "-p", "matrix", "--continue-on-collection-errors",
           "--junitxml=/work/junit.xml", *pytest_args]
    script = (f"cd /work/tree && MATRIX_EXPECT_VERSION={version} MATRIX_EXPECT_PREFIX=/work/venv "
              f"PYTHONPATH=/work/tools exec {shlex.join(cmd)}")
    t0 = time.monotonic()
    timeout = float(os.environ.get("MATRIX_TIMEOUT", "1800"))
    with res.log.open("w") as out:
        out.write(f"$ chroot {root} sh -c {shlex.quote(script)}\n")
        out.flush()
        try:
            code = subprocess.run(["chroot", root, "/bin/sh", "-c", script], env=CHROOT_ENV,
                                  stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                                  start_new_session=True).returncode
        except subprocess.TimeoutExpired:
            code = None
    res.pytest_seconds = time.monotonic() - t0
    if code is None:
        res.problem = f"timed out after {timeout:.0f} s"
    elif code not in (0, 1):
        res.problem = f"pytest exited {code}"
    if (inside / "junit.xml").is_file():
        shutil.copy2(inside / "junit.xml", work / "junit.xml")
        res.counts = matrix.junit_counts(work / "junit.xml")
    elif not res.problem:
        res.problem = "no JUnit report"
    return res


def _exit_on(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # runs the finally blocks: the mounts go


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dists", default=os.environ.get("DISTROS", " ".join(DISTS)),
                    help="space-separated Debian suites (default: trixie sid)")
    ap.add_argument("--pytest-args", default=os.environ.get("DISTROS_PYTEST_ARGS", ""),
                    help="extra pytest arguments, one shell-quoted string")
    ap.add_argument("--umount", action="store_true",
                    help="only unmount whatever is mounted under the chroots (a killed run's)")
    args = ap.parse_args()
    if args.umount:
        unmount_all(matrix.CACHE / "chroots")
        return 0
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        print("distros: needs root and debootstrap (apt-get install debootstrap)", file=sys.stderr)
        return 1
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on)
    results = [run_dist(d, shlex.split(args.pytest_args)) for d in args.dists.split()]
    print()
    for r in results:
        print(matrix.summary_line(r).replace("libcurl build", "chroot"))
    for r in results:
        if r.log is not None and r.log.is_file():
            for line in matrix.failures_in(r.log):
                print(f"  {r.name}: {line}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
