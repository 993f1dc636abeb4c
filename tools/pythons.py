#!/usr/bin/env python3
"""make test-pythons: the test suite on every CPython 3.9+ that pyenv has.

For every ``~/.pyenv/versions/3.X.Y`` (``$PYENV_ROOT``) with X >= 9, except the
minor version of the interpreter running this (``make test`` covers that one),
and for PyPy 3 from Debian's packages (``/usr/bin/pypy3``, ``apt-get install
pypy3 pypy3-dev``; version name ``pypy3``):

1. a venv is made with that Python in ``$PYCURLCB_CACHE/pythons/3.X.Y/venv``
   (default cache ``~/.cache/pycurlcb``), kept between runs;
2. a pycurlcb wheel is built with that Python from a fresh copy of the checkout
   against the system libcurl, and installed with its ``[test]`` extras, and
   pycurl 7.49.0 is built from source for the compatibility tests
   (tools/matrix.py's ``install_pycurlcb`` and ``install_pycurl``);
3. pytest runs in a copy of tests/, docs/ and pyproject.toml (so the installed
   wheel is what is imported), with tools/matrix.py's guard plugin, which
   checks that the venv's pycurlcb and the system libcurl are the ones loaded.

Run it without PYTHONUNBUFFERED (the Makefile target unsets it), as users do.
It prints one line per Python (counts, times) and the failures, and exits 1
if any Python had a failure.

PyPy loads its built-in cffi (1.15.1 in PyPy 7.3.11), so its venv gets none
from PyPI; cryptography and bcrypt (paramiko's, trustme's) are taken as the
newest wheels built for PyPy (``--only-binary``: their sdists need Rust), and
pynacl is built from its sdist once (the venv is kept).

Usage: tools/pythons.py [--versions "3.9 3.13 pypy3"] [--pytest-args "-x -k multi"]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import matrix  # noqa: E402 - tools/matrix.py, beside this file

PYENV = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
PYPY = Path("/usr/bin/pypy3")
#: PyPy: the newest wheels of these rather than their sdists (which need a Rust toolchain).
PYPY_ENV = {"PIP_ONLY_BINARY": "cryptography,bcrypt"}


def is_pypy(version: str) -> bool:
    return version.startswith("pypy")


def pyenv_pythons() -> list[tuple[str, Path]]:
    """(version, python) of every CPython 3.9+ under pyenv, newest patch of each minor."""
    best: dict[tuple[int, int], tuple[tuple[int, int, int], Path]] = {}
    for d in PYENV.glob("3.*"):
        m = re.fullmatch(r"3\.(\d+)\.(\d+)", d.name)
        py = d / "bin" / "python"
        if not m or not py.is_file():
            continue  # 3.13t, 3.14-dev ...: not a release
        minor, patch = int(m.group(1)), int(m.group(2))
        if minor >= 9 and ((3, minor) not in best or best[(3, minor)][0] < (3, minor, patch)):
            best[(3, minor)] = ((3, minor, patch), py)
    return [(".".join(map(str, v)), py) for _, (v, py) in sorted(best.items())]


def venv_for(version: str, python: Path, work: Path) -> Path:
    py = work / "venv" / "bin" / "python"
    if not py.exists():
        matrix.run([python, "-m", "venv", work / "venv"], work / "setup.log")
        cffi = [] if is_pypy(version) else ["cffi>=1.17"]  # PyPy's is built in
        matrix.run([py, "-m", "pip", "install", "--quiet", "setuptools>=77", *cffi, "wheel"],
                   work / "setup.log")
    return py


def run_python(version: str, python: Path, pytest_args: list[str]) -> matrix.Result:
    start = time.monotonic()
    name = version if is_pypy(version) else f"py{version}"
    saved = dict(os.environ)
    if is_pypy(version):
        os.environ.update(PYPY_ENV)
    try:
        entry = matrix.make_entry(matrix.SYSTEM)
        entry.name = name
        work = matrix.CACHE / "pythons" / version
        work.mkdir(parents=True, exist_ok=True)
        print(f"pythons: {version}: building pycurlcb with {python}", flush=True)
        py = venv_for(version, python, work)
        build_start = time.monotonic()
        matrix.install_pycurlcb(entry, work, py)
        has_pycurl = matrix.install_pycurl(entry, work, py)
        entry.libcurl_seconds = time.monotonic() - build_start  # shown as the build time
        print(f"pythons: {version}: running pytest", flush=True)
        res = matrix.run_tests(entry, work, py, pytest_args)
        res.pycurl = "pycurl" if has_pycurl else "no-pycurl"
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        res = matrix.Result(name, problem=str(exc))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    res.seconds = time.monotonic() - start
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--versions", default=os.environ.get("PYTHONS_VERSIONS", ""),
                    help="space-separated minor versions (default: every pyenv CPython 3.9+ but this one's)")
    ap.add_argument("--pytest-args", default=os.environ.get("PYTHONS_PYTEST_ARGS", ""),
                    help="extra pytest arguments, one shell-quoted string")
    args = ap.parse_args()
    found = pyenv_pythons()
    if PYPY.is_file():
        found.append(("pypy3", PYPY))
    if args.versions:
        wanted = args.versions.split()
        chosen = [(v, p) for v, p in found if any(v == w or v.startswith(w + ".") for w in wanted)]
    else:
        own = f"{sys.version_info[0]}.{sys.version_info[1]}."
        chosen = [(v, p) for v, p in found if not v.startswith(own)]
    if not chosen:
        print(f"pythons: no CPython 3.9+ under {PYENV} to test with", file=sys.stderr)
        return 1
    if os.environ.get("PYTHONUNBUFFERED"):
        print("pythons: warning: PYTHONUNBUFFERED is set; users' environments do not set it",
              file=sys.stderr)
    results = [run_python(v, p, shlex.split(args.pytest_args)) for v, p in chosen]
    print()
    for r in results:
        print(matrix.summary_line(r).replace("libcurl build", "build"))
    for r in results:
        if r.log is not None and r.log.is_file():
            for line in matrix.failures_in(r.log):
                print(f"  {r.name}: {line}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
