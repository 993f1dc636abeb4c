#!/usr/bin/env python3
"""make compat: pycurl 7.49.0's own test suite against real pycurl and pycurlcb.

usage: compat/run.py [--only pycurlcb] [pytest arguments or test files ...]

Runs the suite twice from a fresh copy of pycurl's sdist: against real pycurl
(the C extension in this venv, built against the same system libcurl), then
against pycurlcb imported as pycurl (compat/alias/ first on PYTHONPATH), and
judges the difference (verdict.py).  Exit status 0 only for a clean verdict,
2 when the setup is wrong.

--only pycurlcb reuses the last real-pycurl results from the cache.  With
pytest arguments or test files, only the selected tests are judged.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import sdist
import suite
import verdict

ALIAS_DIR = Path(__file__).resolve().parent / "alias"

PYTEST_ARGS = [
    "-m", "not ssh and not online and not gssapi",
    # setup_test.py tests pycurl's own setup.py (finding curl-config, its
    # build options), not the module.
    "--ignore", "tests/setup_test.py",
    "-p", "no:cacheprovider",
    f"--timeout={suite.TEST_TIMEOUT}",
    # A test file pycurlcb cannot import is an error for its tests, not the end of the run.
    "--continue-on-collection-errors",
    "-v", "-ra",
]


class SetupError(Exception):
    """The comparison cannot be made: what is wrong and how to fix it."""


def python_out(code: str, pythonpath: list[Path], cwd: Path) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(map(str, pythonpath)))
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True)
    if done.returncode:
        raise SetupError(f"{sys.executable} -c {code!r} failed:\n{done.stderr.strip()}")
    return done.stdout.strip()


def check_versions(cwd: Path) -> dict[str, str]:
    """Real pycurl must be 7.49.0 on the libcurl pycurlcb uses; the alias must work."""
    try:
        real = python_out("import pycurl; print(pycurl.version)", [], cwd)
    except SetupError as e:
        raise SetupError(f"real pycurl is not importable; `make compat` builds it from source "
                         f"(see the pycurl step's output above).\n{e}") from None
    match = re.match(r"PycURL/(\S+) libcurl/(\S+)", real)
    cb_libcurl = python_out("import pycurlcb; print(pycurlcb.version_info()[1])", [], cwd)
    reinstall = (f"{sys.executable} -m pip install --force-reinstall --no-binary pycurl "
                 f"pycurl=={sdist.PYCURL_VERSION}")
    if not match or match[1] != sdist.PYCURL_VERSION:
        raise SetupError(f"real pycurl is {real!r}; the suite is pycurl {sdist.PYCURL_VERSION}'s.\n"
                         f"Install that version: {reinstall}")
    if match[2] != cb_libcurl:
        raise SetupError(f"real pycurl uses libcurl {match[2]}, pycurlcb libcurl {cb_libcurl}: "
                         "the comparison would not be fair.\nBuild pycurl from source against "
                         f"the system libcurl (its wheel bundles its own): {reinstall}")
    python_out("import pycurl, pycurlcb; assert pycurl is pycurlcb", [ALIAS_DIR], cwd)
    return {"pycurl": match[1], "libcurl": cb_libcurl, "python": "{}.{}".format(*sys.version_info)}


def parse_args(argv: list[str]) -> tuple[bool, list[str]]:
    """(--only pycurlcb given, the arguments for pytest).  run.py's own option
    comes first; everything else is pytest's."""
    if argv[:2] == ["--only", "pycurlcb"] or argv[:1] == ["--only=pycurlcb"]:
        return True, argv[2 if argv[0] == "--only" else 1:]
    if argv and argv[0].startswith("--only"):
        raise SetupError("--only takes one value: pycurlcb")
    return False, argv


def with_paths(selection: list[str]) -> list[str]:
    """pytest's arguments: the fixed ones, the selection, and tests/ unless
    the selection names test files itself."""
    names_paths = any(arg == "tests" or arg.startswith("tests/") for arg in selection)
    return PYTEST_ARGS + selection + ([] if names_paths else ["tests"])


def load_real(cache: Path) -> suite.Result:
    if not cache.exists():
        raise SetupError(f"no cached real-pycurl results at {cache}: run without --only first")
    data = json.loads(cache.read_text())
    return suite.Result(outcomes=data["outcomes"], collected=set(data["outcomes"]))


def save_real(cache: Path, real: suite.Result, full_run: bool) -> None:
    """The whole run replaces the cache; a selection updates its tests only."""
    outcomes = {} if full_run or not cache.exists() else json.loads(cache.read_text())["outcomes"]
    outcomes.update(real.outcomes)
    partial = cache.with_suffix(f".{os.getpid()}.tmp")  # another worktree may be reading it
    partial.write_text(json.dumps({"outcomes": outcomes}, indent=0))
    os.replace(partial, cache)


def main(argv: list[str]) -> int:
    only_pycurlcb, selection = parse_args(argv)
    full_run = not selection
    try:
        allowed = verdict.load_allowed()
    except ValueError as e:
        raise SetupError(str(e)) from None
    sdist.extracted()  # download and extract first, if not done yet
    work = Path(tempfile.mkdtemp(prefix="pycurlcb-compat-"))
    versions = check_versions(work)
    cache = sdist.cache_dir() / "compat-real-pycurl{pycurl}-libcurl{libcurl}-py{python}.json".format(
        **versions)
    print(f"pycurl {versions['pycurl']}'s suite, libcurl {versions['libcurl']}, "
          f"Python {versions['python']}; work dir {work}", flush=True)
    args = with_paths(selection)

    if only_pycurlcb:
        real = load_real(cache)
        print(f"real pycurl: cached results from {cache}")
    else:
        print(f"running against real pycurl; pytest's output: {work / 'real.log'}", flush=True)
        real = suite.run("real", sdist.fresh_copy(work / "real"), args, [], work)
        save_real(cache, real, full_run)
    print(f"running against pycurlcb; pytest's output: {work / 'pycurlcb.log'}", flush=True)
    cb = suite.run("pycurlcb", sdist.fresh_copy(work / "pycurlcb"), args, [ALIAS_DIR], work)

    if only_pycurlcb and not full_run:  # judge only what was selected this time
        real.collected = {test for test in real.outcomes
                          if test in cb.collected or test.split("::")[0] in cb.collect_errors}
    scope = real.collected | cb.collected
    print()
    verdict.summary("real pycurl" + (" (cached)" if only_pycurlcb else ""), real, scope)
    verdict.summary("pycurlcb   ", cb, scope)
    verdict.per_file_table(real, cb, scope)
    return 0 if verdict.judge(real, cb, scope, allowed, full_run) else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SetupError as e:
        print(f"compat: {e}", file=sys.stderr)
        sys.exit(2)
