"""The layers of pycurlcb/ (docs/internals.md), kept by a scan of the source.

* No module reads or writes another module's ``_private`` attribute or imports
  its ``_private`` names, except the seams docs/internals.md lists in its
  table "Seams" (module, the private names it uses, why).  An entry no code
  uses any more fails too: the table only shrinks with the code.
* No import cycle among the package's modules, counting the imports under
  ``if TYPE_CHECKING:`` and those inside functions; and each module imports
  only modules listed before it in docs/internals.md's layer map.

A private access is ``x._name`` where ``x`` is not ``self``/``cls`` and
``_name`` is not defined in the same module (an attribute of an object of
that module's own classes), or ``x`` is a module imported from the package;
and ``from .mod import _name``.  Dunder names are public.  The modules of a
private subpackage (``_callbacks/``: the trampoline families and the state
they share) are one unit.  The stub-only kinds
of ``__init__.pyi`` (``_IntOpt``, ``_CbWrite`` ..., imported under
TYPE_CHECKING) are public in the stubs and exempt.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pycurlcb"
INTERNALS = ROOT / "docs" / "internals.md"
#: Module objects and C modules whose underscored names are not pycurlcb's privates.
FOREIGN = {"ffi", "lib", "sys", "os", "asyncio", "socket", "gc", "_sock", "warnings", "threading", "trio"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _modules() -> dict[str, Path]:
    """Dotted module name (relative to the package: "easy", "cli.main") -> its file."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()
#: The compiled module (pycurlcb._curl, typed by _curl.pyi): a module, not a name.
COMPILED = {"_curl"}


def _defined(tree: ast.AST) -> set[str]:
    """Names a module defines: functions, classes, assignments, self./cls. attributes, slots."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                out.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _private(node.value):
            out.add(node.value)  # __slots__ entries, names made with setattr
    return out


def _package_of(module: str, path: Path) -> list[str]:
    parts = module.split(".") if module else []
    return parts if path.name == "__init__.py" else parts[:-1]


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str | None:
    """The package module an ImportFrom names (relative to pycurlcb), None if foreign."""
    if node.level == 0:
        name = node.module or ""
        if name != "pycurlcb" and not name.startswith("pycurlcb."):
            return None
        return name[len("pycurlcb."):] if name != "pycurlcb" else ""
    base = _package_of(module, path)
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def _unit(module: str) -> str:
    """A private subpackage (``_callbacks``) is one unit: its modules share their privates."""
    first = module.split(".")[0]
    return first if first.startswith("_") and "." in module else module


def private_uses() -> dict[tuple[str, str], list[str]]:
    """(module file relative to pycurlcb/, private name) -> the lines that use it."""
    uses: dict[tuple[str, str], list[str]] = defaultdict(list)
    defined: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        defined[_unit(module)] |= _defined(ast.parse(path.read_text()))
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        mine = defined[_unit(module)]
        rel = str(path.relative_to(PACKAGE))
        imported_modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(module, path, node)
                if target is None:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}".lstrip(".")
                    if sub in MODULES or sub in COMPILED:
                        imported_modules.add(alias.asname or alias.name)
                        continue  # a module of the package, private or not, is not a private name
                    same_unit = _unit(target + ".x") == _unit(module) and _unit(module) != module
                    stub_kind = target == "" and alias.name[1].isupper()  # _IntOpt ... of __init__.pyi
                    if _private(alias.name) and not same_unit and not stub_kind:
                        uses[(rel, alias.name)].append(f"{node.lineno}: from {target or '.'} import")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("pycurlcb"):
                        imported_modules.add((alias.asname or alias.name).split(".")[0])
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            value = node.value
            if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                continue
            source = ast.unparse(value)
            if source in FOREIGN:
                continue
            of_a_module = isinstance(value, ast.Name) and value.id in imported_modules
            if node.attr in mine and not of_a_module:
                continue
            uses[(rel, node.attr)].append(f"{node.lineno}: {source}.{node.attr}")
    return uses


def documented_seams() -> set[tuple[str, str]]:
    """The (module, private name) pairs of docs/internals.md's table "Seams"."""
    text = INTERNALS.read_text()
    section = text.split("\n## Seams", 1)[1].split("\n## ", 1)[0]
    seams = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        module = cells[0].strip("`")
        for name in re.findall(r"`(_\w+)`", cells[1]):
            seams.add((module, name))
    return seams


def test_no_private_access_across_modules_but_the_documented_seams() -> None:
    uses = private_uses()
    seams = documented_seams()
    undocumented = {f"{m}: {n}": lines for (m, n), lines in sorted(uses.items()) if (m, n) not in seams}
    assert not undocumented, (
        "private names used across modules, not in docs/internals.md's Seams table: "
        f"{undocumented}"
    )
    stale = sorted(f"{m}: {n}" for m, n in seams if (m, n) not in uses)
    assert not stale, f"docs/internals.md lists seams no code uses any more: {stale}"


def _imports() -> dict[str, set[str]]:
    """module -> the package modules it imports (any depth: TYPE_CHECKING, functions)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                target = _resolve(module, path, node)
                if target is None:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}".lstrip(".")
                    if sub not in COMPILED:
                        targets.append(sub if sub in MODULES else target)
            elif isinstance(node, ast.Import):
                targets = [a.name[len("pycurlcb."):] if a.name != "pycurlcb" else ""
                           for a in node.names if a.name.split(".")[0] == "pycurlcb"]
            for t in targets:
                if t in MODULES and t != module:
                    graph[module].add(t)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


#: The package's __init__ imports every public module, and the CLI (a layer above
#: the package) imports the package: edges into "" from cli.* are the public API
#: used as users use it, not a cycle of layers.
def _layer_graph() -> dict[str, set[str]]:
    graph = _imports()
    for module in graph:
        if module.startswith("cli") or module == "__main__":
            graph[module].discard("")
    return graph


#: The one import that still closes a cycle, and why it is left: easy.py takes
#: the stub-only kinds (_IntOpt, _CbWrite ...) from the package under
#: TYPE_CHECKING; they exist only in __init__.pyi, which tools/gen_stubs.py
#: writes and which imports easy.Curl.  Moving them to a stub module of their
#: own is a change of gen_stubs.py and of the stubs test_typing.py checks.
KNOWN_CYCLE_EDGES = {("easy", "")}


def test_no_import_cycle() -> None:
    graph = _layer_graph()
    for module, target in KNOWN_CYCLE_EDGES:
        assert target in graph[module], f"{module} no longer imports {target!r}: drop it from the known edges"
        graph[module].discard(target)
    cycles = _cycles(graph)
    assert not cycles, f"import cycles (TYPE_CHECKING and lazy imports count): {cycles}"


def _layer_ranks() -> dict[str, int]:
    """Module -> its row in docs/internals.md's table of the package's modules (peers share a row)."""
    text = INTERNALS.read_text()
    table = text.split("**The package, bottom up:**", 1)[1].split("\n## ", 1)[0]
    ranks: dict[str, int] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        row = len(set(ranks.values()))
        for name in re.findall(r"`([\w/]+?)(?:\.py)?`", cells[0]):
            ranks[name.rstrip("/").replace("/", ".")] = row
    ranks[""] = ranks.pop("__init__")
    return ranks


def _rank_of(ranks: dict[str, int], module: str) -> int:
    return ranks[module] if module in ranks else ranks[module.split(".")[0]]  # cli.main: cli's row


def test_the_layer_map_lists_every_module_and_imports_point_down_it() -> None:
    ranks = _layer_ranks()
    unlisted = [m for m in MODULES if m not in ranks and m.split(".")[0] not in ranks]
    assert not unlisted, f"modules docs/internals.md's layer map does not list: {unlisted}"
    graph = _layer_graph()
    up = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if (module, target) in KNOWN_CYCLE_EDGES:
                continue
            mine, theirs = _rank_of(ranks, module), _rank_of(ranks, target)
            same_package = module.split(".")[0] == target.split(".")[0] != "" and "." in module + target
            if theirs > mine or (theirs == mine and not same_package):
                up.append(f"{module or '__init__'} -> {target or '__init__'}")
    assert not up, f"imports that point up (or sideways) docs/internals.md's layer map: {up}"
