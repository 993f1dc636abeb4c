"""The feature table (pycurlcb/_features.py): one row per gate, the gates go through it.

A gate written elsewhere (a ``hasattr(lib, ...)``, a comparison with a
LIBCURL_VERSION_NUM, ``curl_version_info(...).version_num``) is what the table
exists to replace; the scan below finds one.  The rows that mirror the build
(build_ffi.py's CDEF_FILES, ffi/src/weak.c's pcb_has_function) are checked
against it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pycurlcb import _features
from pycurlcb._ffi import LOADED_VERSION, MIN_VERSION, lib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pycurlcb"

#: The version checks that are not feature gates, and why.
NOT_GATES = {
    # the compiled module and global init: refuses a libcurl older than the minimum
    "_ffi.py",
    # the table itself
    "_features.py",
    # version.py reports versions (pycurl's version_info, COMPILE_* constants)
    "version.py",
}
#: (file, the check's text): checks of what the headers declare that are not feature gates.
NOT_GATE_CHECKS = {
    # an error family lists the CURLE_* codes the headers have: a mapping, not a gate
    ("errors.py", "hasattr(lib, n)"),
    # _callbacks.ROWS: a callback row is there when the build made its trampoline
    # (_cbtable.Row.since is that table's gate)
    ("core.py", "hasattr(lib, r.trampoline)"),  # _callbacks/core.py
}


def _cdef_files() -> dict[str, int]:
    tree = ast.parse((ROOT / "build_ffi.py").read_text())
    env = {"MIN_VERSION": MIN_VERSION}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "CDEF_FILES":
            value = node.value
        elif isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CDEF_FILES":
            value = node.value
        else:
            continue
        assert value is not None
        return {e.elts[0].value: eval(ast.unparse(e.elts[1]), env)  # type: ignore[attr-defined]
                for e in value.elts}  # type: ignore[attr-defined]
    raise AssertionError("build_ffi.py has no CDEF_FILES")


def test_the_cdef_rows_are_build_ffis_versions() -> None:
    files = _cdef_files()
    decl = {r.subject: r.since for r in _features.FEATURES.values() if r.kind == "decl"}
    assert decl == {f: v for f, v in files.items() if v > MIN_VERSION}


def test_the_function_rows_are_weak_cs_table() -> None:
    weak = (ROOT / "ffi" / "src" / "weak.c").read_text()
    listed = set(re.findall(r'\{"(curl_\w+)"', weak))
    functions = {r.subject for r in _features.FEATURES.values() if r.kind == "function"}
    assert functions <= listed


@pytest.mark.parametrize("name", sorted(_features.FEATURES))
def test_every_row_answers_and_says_why_not(name: str) -> None:
    row = _features.FEATURES[name]
    why = _features.missing(name, "it")
    assert (why is None) == _features.available(name)
    if why is not None and row.kind != "protocol":
        assert why.startswith(f"it needs libcurl {_features.version_text(row.since)} or newer; ")
    if row.kind == "loaded":
        until = row.until if row.until is not None else 1 << 32
        assert _features.available(name) == (row.since <= LOADED_VERSION < until)
    if row.kind == "header":
        assert _features.available(name) == hasattr(lib, row.subject)


def test_require_raises_the_message() -> None:
    absent = [n for n in _features.FEATURES if not _features.available(n)]
    if not absent:
        pytest.skip("this libcurl has every feature")
    with pytest.raises(NotImplementedError, match="needs libcurl|was built without"):
        _features.require(absent[0], "it")
    _features.require("curl_easy_option_next", "it")  # the minimum: never raises


def _gates(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "hasattr" and node.args:
            if getattr(node.args[0], "id", "") == "lib":
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Attribute) and node.attr == "version_num":
            found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Compare):
            names = {getattr(n, "id", getattr(n, "attr", "")) for n in (node.left, *node.comparators)}
            if names & {"LIBCURL_VERSION_NUM", "LOADED_VERSION"}:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_every_gate_goes_through_the_table() -> None:
    stray = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in NOT_GATES:
            continue
        tree = ast.parse(path.read_text())
        found = [f for f in _gates(tree) if (path.name, f.split(": ", 1)[1]) not in NOT_GATE_CHECKS]
        if found:
            stray[str(path.relative_to(ROOT))] = found
    assert not stray, f"feature gates outside pycurlcb/_features.py: {stray}"
