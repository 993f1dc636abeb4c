#!/usr/bin/env python3
"""make test-distros: the test suite on Debian 13 and Debian unstable as shipped.

For each distribution (``trixie``: Debian 13, ``sid``: Debian unstable) two
chroots, both from Debian's own packages, outside the repository in
``$PYCURLCB_CACHE/chroots/`` (default cache ``~/.cache/pycurlcb``), kept between
runs and made again when older than ``$PYCURLCB_CHROOT_DAYS`` days (default 7):

* ``DIST-wheel/root``, what a user who runs ``pip install`` has:
  ``debootstrap --variant=minbase`` with python3, python3-venv and the runtime
  libcurl (``libcurl4t64``; ``libcurl4`` before Debian 13), nothing else: no
  compiler, binutils, libcurl or Python headers.  The mirror is the host's (its
  apt sources: the first ``.../debian`` URI).
* ``DIST/root``, to build in: a copy of that one to which ``apt-get install
  --no-install-recommends`` adds python3-dev, libcurl4-openssl-dev, gcc and
  libc6-dev (one debootstrap per suite).

/proc, /sys, /dev and /dev/pts are bind-mounted for a run (and for apt-get) and
unmounted after it, also when it fails or is interrupted (``finally``, with
SIGTERM and SIGHUP turned into SystemExit); mounts a killed run left behind are
unmounted first.  The environment inside is a user's: no PYTHONUNBUFFERED, no
host pip settings, the host's CA bundle copied in for pip.

By default (``make test-distros``), in ``DIST/root``: a venv with Debian's
python3, a pycurlcb wheel built from a fresh copy of the checkout against
Debian's libcurl, installed with its ``[test]`` extras from PyPI, and pytest in
a copy of tests/, docs/ and pyproject.toml with tools/matrix.py's guard plugin
(pycurlcb from that venv, the chroot's libcurl version).  pycurl is not
installed there (Debian's python3-pycurl uses GnuTLS's libcurl):
tests/test_pycurl_compat.py is skipped.

With ``--wheel WHEEL`` (``make test-distros-wheel``), in ``DIST-wheel/root``:
the one binary wheel of ``make wheel``, built on the host, installed as a user
installs it.  A fresh venv of Debian's python3; cffi and the test extras
downloaded from the package index into a wheelhouse by that venv's pip (cffi
as a wheel only); then ``pip install --no-index --only-binary :all:`` of
``pycurlcb[test]`` from the wheelhouse and the one wheel.  Before pytest the
chroot is checked: no cc, gcc, clang, ld, as, curl-config or pkg-config on
PATH, no curl/curl.h, no Python.h, no compiler, binutils or libcurl/Python -dev
package installed; and pycurlcb.version_info() must report the upstream version
of the installed libcurl package (``dpkg-query``), as the guard plugin then
checks again.  tests/test_wheel.py's ELF checks skip there (no readelf); they
run in ``make wheel`` and ``make test-wheel``.

Prints one line per distribution (Python, libcurl, counts, times) and the
failures; exits 1 if any had a failure.  Needs root and debootstrap.

Usage: tools/chroots.py [--dists "trixie sid"] [--pytest-args "-x -k multi"] [--wheel WHEEL] | --umount
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matrix  # noqa: E402 - tools/matrix.py, beside this file

DISTS = {"trixie": "Debian 13", "sid": "Debian unstable"}
#: What the build chroot adds to the runtime-only one.
PACKAGES = ["python3-dev", "libcurl4-openssl-dev", "gcc", "libc6-dev"]
#: The runtime libcurl (libcurl.so.4, OpenSSL flavour) per suite: renamed by the 64-bit
#: time_t transition in Debian 13.
LIBCURL_RUNTIME = {"bookworm": "libcurl4", "trixie": "libcurl4t64", "sid": "libcurl4t64"}

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


def wheel_packages(dist: str) -> list[str]:
    """What a user who runs ``pip install pycurlcb`` has: Python, venv, the runtime libcurl."""
    return ["python3", "python3-venv", LIBCURL_RUNTIME.get(dist, "libcurl4t64")]


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


def bootstrap(dist: str, work: Path, packages: list[str], base: Path | None = None) -> Path:
    """The chroot of ``dist`` with ``packages``, unless a recent one is cached: made with
    debootstrap, or, given ``base`` (the runtime-only chroot of the same suite), as a copy of
    it to which apt-get adds the packages it lacks (one debootstrap per suite, not two)."""
    root, stamp = work / "root", work / "root.ready"
    work.mkdir(parents=True, exist_ok=True)
    if stamp.is_file() and time.time() - stamp.stat().st_mtime < MAX_AGE_DAYS * 86400:
        return root
    unmount_all(work)
    shutil.rmtree(root, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    logfile = work / "debootstrap.log"
    logfile.write_text("")
    if base is None:
        print(f"distros: {dist}: debootstrap from {mirror()} (a few minutes)", flush=True)
        matrix.run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}",
                    dist, root, mirror()], logfile)
    else:
        unmount_all(base)  # left by a run that was killed
        print(f"distros: {dist}: a copy of {base} with apt-get install {' '.join(packages)}", flush=True)
        matrix.run(["cp", "-a", "--reflink=auto", base, root], logfile)
        shutil.rmtree(root / "work", ignore_errors=True)  # the base's own runs
        with mounted(root):
            # Check-Valid-Until: the mirror may serve a snapshot whose sid Release file has
            # expired (its Valid-Until is a week); debootstrap does not check it either.
            in_chroot(root, "apt-get -o Acquire::Check-Valid-Until=false update\n"
                            "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
                            f"{' '.join(packages)}\napt-get clean", logfile)
    stamp.touch()
    return root


@contextlib.contextmanager
def mounted(root: Path) -> Iterator[None]:
    """/proc, /sys, /dev, /dev/pts in ``root`` for the block; unmounted after it, whatever happens."""
    unmount_all(root)  # left by a run that was killed
    try:
        for what, point in MOUNTS:
            target = root / point
            target.mkdir(parents=True, exist_ok=True)
            cmd = ["mount", "--bind", what, target] if what.startswith("/") else \
                  ["mount", "-t", what, what, target]
            subprocess.run(cmd, check=True)
        yield
    finally:
        unmount_all(root)


def in_chroot(root: Path, script: str, logfile: Path, timeout: float | None = None) -> None:
    """Run ``script`` with sh in the chroot; its output is appended to ``logfile``."""
    matrix.run(["chroot", root, "/bin/sh", "-ec", script], logfile,
               env=CHROOT_ENV, timeout=timeout)


def run_dist(dist: str, pytest_args: list[str], wheel: Path | None = None) -> matrix.Result:
    start = time.monotonic()
    name = f"debian-{dist}" + ("-wheel" if wheel else "")
    work = matrix.CACHE / "chroots" / (f"{dist}-wheel" if wheel else dist)
    work.mkdir(parents=True, exist_ok=True)
    res = matrix.Result(name)
    try:
        # The runtime-only chroot first: the wheel's, and the base of the one that builds.
        base = bootstrap(dist, matrix.CACHE / "chroots" / f"{dist}-wheel", wheel_packages(dist))
        root = base if wheel else bootstrap(dist, work, PACKAGES, base=base)
        res.libcurl_seconds = time.monotonic() - start
        with mounted(root):
            if wheel:
                res = run_wheel_in(dist, name, root, work, wheel, pytest_args, res)
            else:
                res = run_in(dist, name, root, work, pytest_args, res)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        res.problem = str(exc)
    res.seconds = time.monotonic() - start
    return res


def copy_tests(inside: Path) -> None:
    """The test tree, tools/matrix.py (the guard plugin) and the host's CA bundle (for pip)."""
    for d in ("tree", "tools"):
        shutil.rmtree(inside / d, ignore_errors=True)
    (inside / "tree").mkdir(parents=True)
    for n in matrix.TEST_TREE:
        copy = shutil.copytree if (matrix.ROOT / n).is_dir() else shutil.copy2
        copy(matrix.ROOT / n, inside / "tree" / n)
    (inside / "tools").mkdir()
    shutil.copy2(matrix.ROOT / "tools" / "matrix.py", inside / "tools" / "matrix.py")
    ca = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
    shutil.copy2(ca, inside / "ca.pem")


def python_version(root: Path) -> str:
    return subprocess.run(["chroot", root, "python3", "-c",
                           "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def run_in(dist: str, name: str, root: Path, work: Path, pytest_args: list[str],
           res: matrix.Result) -> matrix.Result:
    inside = root / "work"
    shutil.rmtree(inside / "src", ignore_errors=True)
    (inside / "src").mkdir(parents=True)
    shutil.copytree(matrix.ROOT / "pycurlcb", inside / "src" / "pycurlcb", ignore=matrix.BUILD_IGNORE)
    shutil.copytree(matrix.ROOT / "ffi", inside / "src" / "ffi")  # build-only: cdefs and C sources
    for f in ("pyproject.toml", "setup.py", "build_ffi.py", "MANIFEST.in", "README.md"):
        shutil.copy2(matrix.ROOT / f, inside / "src" / f)
    copy_tests(inside)
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
    pyver = python_version(root)
    res.name, res.version, res.features, res.pycurl = name, version, f"CPython {pyver}", "no-pycurl"
    print(f"distros: {dist}: running pytest (CPython {pyver}, libcurl {version})", flush=True)
    return run_pytest(root, work, pytest_args, res, f"MATRIX_EXPECT_VERSION={version}")


#: Run in the wheel's chroot before pytest: what a pip-only user lacks is really absent.
NOTHING_TO_BUILD_WITH = r"""
    for t in cc c99 gcc clang ld as curl-config pkg-config pkgconf; do
      if command -v "$t" >/dev/null 2>&1; then echo "build tool in the chroot: $(command -v "$t")"; exit 1; fi
    done
    for h in /usr/include/curl/curl.h /usr/include/x86_64-linux-gnu/curl/curl.h; do
      if [ -e "$h" ]; then echo "libcurl header in the chroot: $h"; exit 1; fi
    done
    if ls /usr/include/python3*/Python.h >/dev/null 2>&1; then echo "Python.h in the chroot"; exit 1; fi
    if dpkg-query -W -f '${Package} ${db:Status-Status}\n' \
        | grep -E '^(gcc|gcc-[0-9]+|cpp|clang.*|binutils|lib(curl|python3).*-dev|python3.*-dev) installed$'
    then echo "a compiler or -dev package is installed"; exit 1; fi
    echo "no compiler, linker, curl-config, pkg-config, libcurl or Python headers in the chroot"
"""

#: The libcurl pycurlcb loaded, and where pycurlcb was imported from.
WHEEL_PROBE = "import pycurlcb; print(pycurlcb.version_info()[1], pycurlcb.__file__)"


def run_wheel_in(dist: str, name: str, root: Path, work: Path, wheel: Path,
                 pytest_args: list[str], res: matrix.Result) -> matrix.Result:
    """The one wheel, installed with pip from local files into a fresh venv of the chroot's
    python3, on the distribution's runtime libcurl, with nothing to compile with."""
    inside = root / "work"
    for d in ("wheel", "house", "venv"):
        shutil.rmtree(inside / d, ignore_errors=True)
    (inside / "wheel").mkdir(parents=True)
    shutil.copy2(wheel, inside / "wheel" / wheel.name)
    copy_tests(inside)
    package = LIBCURL_RUNTIME.get(dist, "libcurl4t64")
    deb = subprocess.run(["chroot", root, "dpkg-query", "-W", "-f", "${Version}", package],
                         capture_output=True, text=True, check=True).stdout.strip()
    upstream = re.sub(r"^\d+:", "", deb).split("-")[0].split("+")[0].split("~")[0]  # 8.14.1-2+deb13u2: 8.14.1
    buildlog = work / "install.log"
    buildlog.write_text("")
    in_chroot(root, NOTHING_TO_BUILD_WITH, buildlog)
    version = wheel.name.split("-")[1]
    print(f"distros: {dist}: installing {wheel.name} with pip, no compiler ({package} {deb})", flush=True)
    # cffi and the test extras from the package index, for this Python (cffi as a wheel:
    # nothing can be compiled here); then the install a user does, from local files only.
    in_chroot(root, f"""
        python3 -m venv /work/venv
        /work/venv/bin/python -m pip wheel --quiet --only-binary cffi -w /work/house \
          "/work/wheel/{wheel.name}[test]"
        rm -f /work/house/pycurlcb-*.whl
        /work/venv/bin/python -m pip install --no-index --only-binary :all: \
          --find-links /work/house --find-links /work/wheel "pycurlcb[test]=={version}"
        """, buildlog)
    probe = subprocess.run(["chroot", root, "/work/venv/bin/python", "-c", WHEEL_PROBE], env=CHROOT_ENV,
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise RuntimeError(f"import pycurlcb failed in the chroot:\n{probe.stderr[-2000:]}")
    loaded, where = probe.stdout.split()[:2]
    with buildlog.open("a") as out:
        out.write(f"{package} {deb}: pycurlcb.version_info()[1] = {loaded} ({where})\n")
    if loaded != upstream or not where.startswith("/work/venv/"):
        raise RuntimeError(f"the wheel loaded libcurl {loaded} from {where}; {package} is {deb}")
    pyver = python_version(root)
    res.name, res.version, res.features, res.pycurl = name, loaded, f"CPython {pyver}", "no-pycurl"
    print(f"distros: {dist}: running pytest on the wheel (CPython {pyver}, {package} {deb}, "
          f"pycurlcb.version_info() {loaded})", flush=True)
    return run_pytest(root, work, pytest_args, res,
                      f"MATRIX_EXPECT_VERSION={upstream} MATRIX_NO_COMPILER=1 MATRIX_EXPECT_WHEEL=1")


def run_pytest(root: Path, work: Path, pytest_args: list[str], res: matrix.Result,
               expect: str) -> matrix.Result:
    """pytest in the chroot's /work/tree with the guard plugin; ``expect``: its settings."""
    inside = root / "work"
    res.log = work / "pytest.log"
    (work / "junit.xml").unlink(missing_ok=True)
    (inside / "junit.xml").unlink(missing_ok=True)
    cmd = ["/work/venv/bin/pytest", "-p", "matrix", "--continue-on-collection-errors",
           "--junitxml=/work/junit.xml", *pytest_args]
    script = (f"cd /work/tree && {expect} MATRIX_EXPECT_PREFIX=/work/venv "
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
    ap.add_argument("--wheel", default="",
                    help="test this binary wheel (make wheel) in runtime-only chroots instead of "
                         "building pycurlcb in each")
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
    wheel = Path(args.wheel).resolve() if args.wheel else None
    if wheel is not None and not wheel.is_file():
        print(f"distros: no wheel {wheel} (make wheel)", file=sys.stderr)
        return 1
    results = [run_dist(d, shlex.split(args.pytest_args), wheel) for d in args.dists.split()]
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
