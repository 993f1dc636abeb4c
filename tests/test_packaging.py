"""Packaging facts the tests can check without building a distribution.

make dist-check (tools/dist_check.py) builds the sdist and the wheel and
checks them; these are the facts it relies on, checked on every test run:
one version (pycurlcb/version.py, the compiled module, the installed metadata),
a compiled module that refuses another version's Python files, the stable ABI,
the licence metadata and an sdist manifest that carries what the tests need.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from pathlib import Path

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
    assert re.search(r'^dynamic = \["version"\]', text, re.M), "pyproject.toml: version is not dynamic"
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
        "recursive-include pycurlcb/_cdef *.h *.c",
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


