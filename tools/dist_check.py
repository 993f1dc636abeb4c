#!/usr/bin/env python3
"""make dist-check: build the sdist and the wheel, and use them as a user would.

1. ``python -m build`` builds the sdist, then the wheel from that sdist (so
   the sdist is proven to build), into a scratch directory.
2. The wheel: tagged ``cp39-abi3`` with ``pycurlcb/_curl.abi3.so`` inside, the
   stubs and py.typed, LICENSE in its metadata, ``License-Expression: MIT``, the
   version of pycurlcb/version.py.
3. The sdist carries what its tests need (tests/ with conftest.py and
   servers.py, docs/ and docs/examples, compat/, tools/, LICENSE, CHANGELOG.md).
4. A clean venv gets the wheel (and cffi from the index): ``python -m pycurlcb``
   makes a real transfer against its embedded local server, and ``mypy --strict``
   type-checks a pycurl script against the installed stubs.
5. The extracted sdist is installed in place (``pip install -e '.[test]'``) in a
   second clean venv and runs a quick subset of its own tests.
6. The binary wheel (tools/build_wheel.py) is built from the extracted sdist
   and checked: tag cp39-abi3-manylinux_2_28_x86_64, ``NEEDED libcurl.so.4``
   and no libcurl symbol version (readelf -d/-V, objdump -T), no glibc symbol
   past 2.28, stripped, no build-only files (ffi/, *.c, *.h), classifiers and
   project URLs, auditwheel's verdict with libcurl.so.4 excluded.  It is then
   installed (cffi from the index, binary only) into a clean venv with no C
   compiler, linker, curl-config or pkg-config on PATH, and makes a real
   transfer on the system's libcurl and imports on libcurl 7.73.0.

Everything happens under a temporary directory, removed at the end (kept with
``--keep``).  Exit status 1 on the first failure, with what was expected.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_wheel  # noqa: E402  (tools/build_wheel.py)
import matrix  # noqa: E402  (tools/matrix.py: the libcurl builds, the no-compiler PATH)

ROOT = Path(__file__).resolve().parent.parent
#: The sdist's own tests run in step 5: quick, and covering the packaging itself.
SDIST_TESTS = [
    "tests/test_packaging.py",
    "tests/test_typing.py",
    "tests/test_names.py",
    "tests/test_url.py",
    "tests/test_examples.py",
]
SDIST_MUST_HAVE = [
    "tests/conftest.py",
    "tests/servers.py",
    "tests/typing_corpus/get_bytesio.py",
    "docs/index.md",
    "docs/examples/ssrf_guard.py",
    "compat/allowed-failures.txt",
    "tools/gen_stubs.py",
    "tools/stubtest/allowlist.txt",
    "LICENSE",
    "CHANGELOG.md",
    "build_ffi.py",
    "ffi/src/shim.c",
    "ffi/decl/shim.h",
    "pycurlcb/__init__.pyi",
    "pycurlcb/py.typed",
    "mkdocs.yml",
]


def version() -> str:
    for node in ast.parse((ROOT / "pycurlcb" / "version.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__version__" for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise SystemExit("pycurlcb/version.py has no __version__")


def run(args: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    print("dist-check: $", " ".join(str(a) for a in args), flush=True)
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-8000:])
        sys.stderr.write(proc.stderr[-8000:])
        raise SystemExit(f"dist-check: failed (exit {proc.returncode}): {' '.join(str(a) for a in args)}")
    return proc.stdout


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"dist-check: FAILED: {what}")
    print(f"dist-check: ok: {what}")


def clean_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    return where / "bin" / "python"


def user_env() -> dict[str, str]:
    """This environment without anything that would import the checkout's pycurlcb."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    v = version()
    tmp = Path(tempfile.mkdtemp(prefix="pycurlcb-dist-"))
    try:
        dist = tmp / "dist"
        run([sys.executable, "-m", "build", "--outdir", dist, ROOT])
        sdists = sorted(dist.glob("*.tar.gz"))
        wheels = sorted(dist.glob("*.whl"))
        check(
            len(sdists) == 1 and len(wheels) == 1,
            f"one sdist and one wheel built: {[p.name for p in dist.iterdir()]}",
        )
        sdist, wheel = sdists[0], wheels[0]
        check(sdist.name == f"pycurlcb-{v}.tar.gz", f"sdist named for version {v}: {sdist.name}")
        check(wheel.name.startswith(f"pycurlcb-{v}-cp39-abi3-"), f"wheel tagged cp39-abi3: {wheel.name}")

        with zipfile.ZipFile(wheel) as z:
            names = set(z.namelist())
            meta = z.read(f"pycurlcb-{v}.dist-info/METADATA").decode()
        for name in (
            "pycurlcb/_curl.abi3.so",
            "pycurlcb/__init__.pyi",
            "pycurlcb/_curl.pyi",
            "pycurlcb/py.typed",
            f"pycurlcb-{v}.dist-info/licenses/LICENSE",
        ):
            check(name in names, f"wheel has {name}")
        check(f"\nVersion: {v}\n" in meta, f"wheel metadata Version: {v}")
        build_only = sorted(n for n in names if build_wheel.BUILD_ONLY.search(n))
        check(not build_only, f"wheel has no build-only files (ffi/, *.c, *.h): {build_only[:5]}")
        check("\nLicense-Expression: MIT\n" in meta, "wheel metadata License-Expression: MIT")
        relative = re.findall(r"\]\((?!https?://|#)[^)\s]+\)", meta)
        check("# pycurlcb" in meta and not relative,
              f"the index page (METADATA's description) is README, no relative link: {relative[:3]}")

        with tarfile.open(sdist) as t:
            members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
        for name in SDIST_MUST_HAVE:
            check(name in members, f"sdist has {name}")
        check(
            not any(m.endswith((".so", ".pyc")) or "/.venv/" in f"/{m}" for m in members),
            "sdist has no build products or venv",
        )

        # 4. the wheel in a clean venv
        py = clean_venv(tmp / "venv-wheel")
        env = user_env()
        run([py, "-m", "pip", "install", "--quiet", wheel], env=env)
        out = run(
            [py, "-c", "import pycurlcb, sys; print(pycurlcb.__file__); print(pycurlcb.version)"],
            cwd=tmp,
            env=env,
        )
        check(
            str(tmp / "venv-wheel") in out and f"pycurlcb/{v}" in out,
            f"the wheel imports from its venv: {out.strip()}",
        )
        out = run([py, "-m", "pycurlcb"], cwd=tmp, env=env)
        check("status 200," in out, "python -m pycurlcb transferred from its embedded server (status 200)")
        print(out.strip()[-600:])
        run([py, "-m", "pip", "install", "--quiet", "mypy"], env=env)
        script = tmp / "typed_script.py"
        script.write_text(
            (ROOT / "tests" / "typing_corpus" / "get_bytesio.py")
            .read_text()
            .replace("\nimport pycurl\n", "\nimport pycurlcb as pycurl\n")
        )
        run([py, "-m", "mypy", "--strict", "--config-file", os.devnull, script.name], cwd=tmp, env=env)
        script.write_text("import pycurlcb as pycurl\nprint(pycurl.URLL)\n")
        proc = subprocess.run(
            [str(py), "-m", "mypy", "--strict", "--config-file", os.devnull, script.name],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
        )
        check(
            proc.returncode == 1 and "URLL" in proc.stdout,
            "mypy reports pycurl.URLL against the installed stubs",
        )

        # 5. the sdist's own tests, from the extracted sdist
        with tarfile.open(sdist) as t:
            t.extractall(tmp / "sdist", filter="data") if hasattr(tarfile, "data_filter") else t.extractall(
                tmp / "sdist"
            )
        src = tmp / "sdist" / f"pycurlcb-{v}"
        py = clean_venv(tmp / "venv-sdist")
        run([py, "-m", "pip", "install", "--quiet", "-e", ".[test]"], cwd=src, env=env)
        out = run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SDIST_TESTS], cwd=src, env=env)
        print(out.strip().splitlines()[-1])

        # 6. the binary wheel, from the sdist, installed with no compiler
        binary = build_wheel.build(tmp / "manylinux", source=src)
        problems = build_wheel.check_wheel(binary) + build_wheel.auditwheel_show(binary)
        check(not problems, f"the binary wheel {binary.name} passes tools/build_wheel.py's checks")
        py = clean_venv(tmp / "venv-binary")
        nocc = matrix.no_compiler_env(tmp / "nocc")
        check(not any(shutil.which(t, path=nocc["PATH"]) for t in ("cc", "gcc", "ld", "curl-config")),
              "no cc, gcc, ld or curl-config on the install's PATH")
        run([py, "-m", "pip", "install", "--quiet", "--only-binary", ":all:", binary], env=nocc)
        out = run([py, "-m", "pycurlcb"], cwd=tmp, env=nocc)
        check("status 200," in out, "the binary wheel transferred on the system's libcurl (status 200)")
        old = matrix.wheel_loader(matrix.make_entry(matrix.RELEASES[0]))
        out = run([py, "-c", "import pycurlcb; print(pycurlcb.version_info()[1])"], cwd=tmp,
                  env=dict(nocc, **old))
        check(out.strip().removesuffix("-DEV") == matrix.RELEASES[0],
              f"the binary wheel imports on libcurl {matrix.RELEASES[0]}: {out.strip()}")
        with zipfile.ZipFile(binary) as z:
            so = Path(z.extract("pycurlcb/_curl.abi3.so", tmp / "binary-so"))
        stub = build_wheel.old_libcurl_stub(so, tmp / "libcurl-7.61.1")
        proc = subprocess.run([str(py), "-c", "import pycurlcb"], cwd=tmp, capture_output=True, text=True,
                              env=dict(nocc, LD_LIBRARY_PATH=str(stub)))
        want = "pycurlcb needs libcurl 7.73.0 or newer (curl_easy_option_next); the libcurl loaded is 7.61.1"
        check(proc.returncode == 1 and f"ImportError: {want}" in proc.stderr,
              f"on a libcurl older than 7.73.0 (a stand-in reporting 7.61.1): {want!r}; "
              f"got {proc.stderr.strip().splitlines()[-1:]}")
        print(f"dist-check: all checks passed ({sdist.name}, {wheel.name}, {binary.name})")
        return 0
    finally:
        if args.keep:
            print(f"dist-check: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
