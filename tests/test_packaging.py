"""Packaging facts the tests can check without building a distribution.

make dist-check (tools/dist_check.py) builds the sdist and the wheel and
checks them; these are the facts it relies on, checked on every test run:
one version (pycurlcb/version.py, the compiled module, the installed metadata),
a compiled module that refuses another version's Python files, the stable ABI,
the licence metadata and an sdist manifest that carries what the tests need.
And the build's own checks (build_ffi.py): no C compiler, no libcurl headers or
no Python headers end in one line naming what is missing and what to install.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pycurlcb
from pycurlcb._ffi import ffi, lib

ROOT = Path(__file__).resolve().parent.parent
PKG = Path(pycurlcb.__file__).resolve().parent
version_module = importlib.import_module("pycurlcb.version")


def _checkout(name: str) -> Path:
    path = ROOT / name
    if not path.is_file():
        pytest.skip(f"{name} is not beside these tests")
    return path


def test_one_version_everywhere() -> None:
    assert pycurlcb.__version__ == version_module.__version__
    assert ffi.string(lib.pcb_build_version()).decode() == pycurlcb.__version__
    assert importlib.metadata.version("pycurlcb") == pycurlcb.__version__
    assert pycurlcb.version.endswith(f" pycurlcb/{pycurlcb.__version__}")


def test_pyproject_reads_the_version_from_version_py() -> None:
    text = _checkout("pyproject.toml").read_text()
    dynamic = re.search(r"^dynamic = \[(.*)\]", text, re.M)
    assert dynamic and '"version"' in dynamic.group(1), "pyproject.toml: version is not dynamic"
    assert 'version = { attr = "pycurlcb.version.__version__" }' in text
    project = text.split("\n[project]\n", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version = ", project, re.M), "pyproject.toml: a second version in [project]"


def test_a_module_built_for_another_version_is_refused() -> None:
    version_module.check_build(pycurlcb.__version__)
    with pytest.raises(ImportError, match=r"built for pycurlcb 0\.0\.1, but its Python files are .*rebuild"):
        version_module.check_build("0.0.1")
    with pytest.raises(ImportError, match="no version recorded"):
        version_module.check_build(None)


def test_compile_py_version_hex_is_the_compiling_pythons() -> None:
    assert pycurlcb.COMPILE_PY_VERSION_HEX == lib.pcb_build_py_version_hex()
    assert pycurlcb.COMPILE_PY_VERSION_HEX >> 24 == 3  # PY_VERSION_HEX: 0x030B07F0 for 3.11.7


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="the stable ABI (abi3) is CPython's: "
                    "PyPy builds a module for its own ABI (pp39-pypy39_pp73)")
def test_the_compiled_module_uses_the_stable_abi() -> None:
    modules = sorted(p.name for p in PKG.glob("_curl*.so"))
    if not modules:
        pytest.skip("no compiled module file beside pycurlcb (not a setuptools build)")
    assert "_curl.abi3.so" in modules, modules


def test_the_wheel_tag_matches_the_stable_abi() -> None:
    text = _checkout("setup.py").read_text()
    assert '"py_limited_api": "cp39"' in text
    assert 'requires-python = ">=3.9"' in _checkout("pyproject.toml").read_text()


def test_licence_metadata() -> None:
    text = _checkout("pyproject.toml").read_text()
    assert re.search(r'^license = "MIT"$', text, re.M)
    assert re.search(r'^license-files = \["LICENSE"\]$', text, re.M)
    setuptools = re.search(r'"setuptools>=(\d+)', text)
    assert setuptools and int(setuptools.group(1)) >= 77  # PEP 639 metadata
    assert "MIT License" in _checkout("LICENSE").read_text()
    meta = importlib.metadata.metadata("pycurlcb")
    if meta.get("Metadata-Version", "0") >= "2.4":
        assert meta["License-Expression"] == "MIT"


def test_the_sdist_manifest_carries_what_the_tests_need() -> None:
    manifest = _checkout("MANIFEST.in").read_text()
    for line in (
        "recursive-include tests *.py *.md",
        "recursive-include docs *.md *.py",
        "recursive-include compat *.py *.md *.txt",
        "recursive-include tools *.py *.txt *.ini",
        "recursive-include ffi *.h *.c",
        "include pycurlcb/py.typed pycurlcb/*.pyi",
    ):
        assert line in manifest, line
    for name in ("LICENSE", "CHANGELOG.md", "build_ffi.py", "mkdocs.yml"):
        assert re.search(rf"^include .*\b{re.escape(name)}\b", manifest, re.M), name
    # What the test files open beside themselves is covered by those patterns.
    for needed in ("tests/conftest.py", "tests/servers.py", "docs/examples", "compat/allowed-failures.txt"):
        assert (ROOT / needed).exists(), needed


def test_the_stubs_and_py_typed_are_package_data() -> None:
    text = _checkout("pyproject.toml").read_text()
    assert '"py.typed", "*.pyi"' in text
    for name in ("py.typed", "__init__.pyi", "_curl.pyi"):
        assert (PKG / name).is_file(), name


# --- the build's hints: a missing compiler, libcurl or Python headers ends in one clear line ---


@pytest.fixture(scope="module")
def build_ffi() -> Any:
    """build_ffi.py imported from the checkout (importing it runs the build's checks)."""
    path = _checkout("build_ffi.py")
    spec = importlib.util.spec_from_file_location("_pycurlcb_build_ffi", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _import_build_ffi(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``import build_ffi`` (what pip's build does first) in a child with only ``env``."""
    _checkout("build_ffi.py")  # skips where the tests run without the checkout (make test-wheel)
    return subprocess.run(
        [sys.executable, "-c", "import build_ffi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _hint(proc: subprocess.CompletedProcess[str], first: str, install: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert re.fullmatch(first, lines[0]), lines[0]
    assert any(install in line for line in lines), proc.stderr
    assert len(lines) <= 8, proc.stderr


def _curl_config_only(tmp_path: Path, build_ffi: Any) -> dict[str, str]:
    """A PATH holding nothing but a curl-config that prints the real flags: no compiler."""
    cflags, libs = build_ffi.curl_flags()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "curl-config"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in --cflags) echo {shlex.quote(shlex.join(cflags))};; '
        f"--libs) echo {shlex.quote(shlex.join(libs))};; esac\n"
    )
    script.chmod(0o755)
    return {"PATH": str(bindir), "HOME": str(tmp_path)}


def test_no_compiler_on_path(tmp_path: Path, build_ffi: Any) -> None:
    cc = build_ffi.compiler()[0]
    if os.path.isabs(cc):
        pytest.skip(f"Python's CC is an absolute path ({cc}): an empty PATH does not hide it")
    proc = _import_build_ffi(_curl_config_only(tmp_path, build_ffi))
    _hint(
        proc,
        rf"pycurlcb needs a C compiler \({re.escape(cc)}: No such file or directory\)\.",
        "sudo apt-get install gcc",
    )


def test_cc_that_does_not_run(tmp_path: Path, build_ffi: Any) -> None:
    fake = tmp_path / "cc"
    fake.write_text("not a program\n")  # not executable: PermissionError
    env = {**_curl_config_only(tmp_path, build_ffi), "CC": str(fake)}
    proc = _import_build_ffi(env)
    _hint(proc, rf"pycurlcb needs a C compiler \({re.escape(str(fake))}: Permission denied\)\.", "CC=clang")
    env["CC"] = str(tmp_path / "missing-cc")
    _hint(
        _import_build_ffi(env), r"pycurlcb needs a C compiler \(.*missing-cc: No such file.*", "apk add gcc"
    )


def test_no_libcurl_headers(tmp_path: Path) -> None:
    _checkout("build_ffi.py")  # a copy of tests/ without the checkout (make test-pythons, test-distros)
    proc = _import_build_ffi({"PATH": str(tmp_path), "HOME": str(tmp_path)})  # no curl-config
    _hint(proc, r"pycurlcb needs the libcurl development files \(.*\)\.", "libcurl4-openssl-dev")


def test_python_headers_found(build_ffi: Any) -> None:
    build_ffi.check_python_headers([])  # the ones this Python was built with: no exit


def test_no_python_headers(tmp_path: Path, build_ffi: Any) -> None:
    v = f"{sys.version_info[0]}.{sys.version_info[1]}"
    with pytest.raises(SystemExit) as exit_:
        build_ffi.check_python_headers([], [str(tmp_path)])
    lines = str(exit_.value.code).splitlines()
    assert lines[0] == (
        "pycurlcb needs the C headers of the Python it is built for "
        f"(Python.h: No such file or directory; looked in {tmp_path})."
    )
    assert f"sudo apt-get install python{v}-dev" in lines[2]
    assert "python3-devel" in lines[3] and "apk add python3-dev" in lines[4]


def test_python_h_without_pyconfig_h(tmp_path: Path, build_ffi: Any) -> None:
    # Python.h present, pyconfig.h not: the compile step's raw "pyconfig.h: No
    # such file or directory", now with the package to install.
    (tmp_path / "Python.h").write_text('#include "pyconfig.h"\n')
    with pytest.raises(SystemExit) as exit_:
        build_ffi.check_python_headers([], [str(tmp_path)])
    first = str(exit_.value.code).splitlines()[0]
    assert first.startswith("pycurlcb needs the C headers of the Python it is built for (")
    assert "pyconfig.h: No such file or directory" in first
    assert "-dev" in str(exit_.value.code)


def test_every_subpackage_is_a_listed_package() -> None:
    """pyproject lists the packages by name: a subpackage it misses (pycurlcb/_callbacks/)
    is left out of the wheel, whose import then fails (make dist-check)."""
    listed = re.search(r"^packages = \[(.*?)\]", _checkout("pyproject.toml").read_text(), re.M | re.S)
    assert listed is not None
    names = set(re.findall(r'"([\w.]+)"', listed.group(1)))
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "pycurlcb").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert on_disk <= names, sorted(on_disk - names)
