"""Write pycurlcb/_pycurl_names.py: every constant pycurl defines, from pycurl's src/module.c.

Run by hand when pycurl's release changes (the output is committed; pycurl's source is not):

    python tools/gen_pycurl_names.py ~/.cache/pycurlcb/pycurl-7.49.0/src/module.c
    python tools/gen_pycurl_names.py --check ~/.cache/pycurlcb/pycurl-7.49.0/src/module.c

The path is the module.c of an extracted pycurl sdist (``pip download --no-binary :all:
--no-deps pycurl==7.49.0``; the sdist's PKG-INFO, two directories up, gives pycurl's
version). ``--check`` writes nothing and exits 1 if the committed file differs.

pycurl's module init defines its constants with four macros, all of which put the name in
the module; three also make it readable on an object:

    insint(d, "NAME", C_NAME)     module only                       scope "module"
    insint_c(d, "NAME", C_NAME)   module and Curl objects           scope "curl"
    insint_m(d, "NAME", C_NAME)   module and CurlMulti objects      scope "multi"
    insint_s(d, "NAME", C_NAME)   module and CurlShare objects      scope "share"

plus ``insobj2_modinit(d, DICT, "NAME", PyLong_FromCurlSocket(C_NAME))`` for SOCKET_BAD and
SOCKET_TIMEOUT, which become rows too. The ``#if LIBCURL_VERSION_NUM``/``#ifdef`` gates around
them are not copied: pycurlcb exports a row when the loaded libcurl has its C constant. Only
``#if 0`` blocks are dropped. Every other insint/insobj2/insstr call must be in ``SPECIAL``
(names pycurlcb defines by hand); the script fails if a call is neither captured nor listed.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "pycurlcb" / "_pycurl_names.py"

#: Names module.c defines with insint/insobj2/insstr that are not a row of the table, and why.
SPECIAL = {
    "version": "insstr: 'PycURL/<version> ' + curl_version(); pycurlcb.version.version",
    "COMPILE_SSL_LIB": "insstr: pycurl's build-time TLS library; pycurlcb.version",
    "COMPILE_PY_VERSION_HEX": "insint of PY_VERSION_HEX, not a libcurl name; pycurlcb.version",
    "COMPILE_LIBCURL_VERSION_NUM": "insint of the headers' LIBCURL_VERSION_NUM; pycurlcb.version",
    "Curl": "a type", "CurlMulti": "a type", "CurlShare": "a type",
    "CurlMime": "a type", "CurlMimePart": "a type", "CurlUrl": "a type",
}

_SCOPE_OF_MACRO = {"insint": "module", "insint_c": "curl", "insint_m": "multi", "insint_s": "share"}
_SCOPE_OF_DICT = {
    "NULL": "module",
    "curlobject_constants": "curl",
    "curlmultiobject_constants": "multi",
    "curlshareobject_constants": "share",
}

# A string literal (kept, so '//' inside it is not a comment), or a comment (blanked).
_LEXEME = re.compile(r'"(?:\\.|[^"\\\n])*"|/\*.*?\*/|//[^\n]*', re.S)
_ANY_CALL = re.compile(r"\b(insint(?:_[cms])?|insobj2_modinit|insstr_modinit)\s*\(")
_INSINT = re.compile(r'\b(insint(?:_[cms])?)\s*\(\s*d\s*,\s*"(\w+)"\s*,\s*([A-Za-z_]\w*)\s*\)\s*;')
_SOCKET = re.compile(
    r'\binsobj2_modinit\s*\(\s*d\s*,\s*(\w+)\s*,\s*"(\w+)"\s*,'
    r"\s*PyLong_FromCurlSocket\s*\(\s*([A-Za-z_]\w*)\s*\)\s*\)\s*;"
)
_NAMED_CALL = re.compile(r'\b(?:insint(?:_[cms])?|insobj2_modinit|insstr_modinit)\s*\([^"]*"(\w+)"')


def _strip_comments(text: str) -> str:
    """Comments replaced by spaces, newlines kept (so line numbers stay right)."""

    def blank(m: re.Match[str]) -> str:
        s = m.group(0)
        return s if s.startswith('"') else re.sub(r"[^\n]", " ", s)

    return _LEXEME.sub(blank, text)


def _split_if0(text: str) -> tuple[str, str]:
    """(live code, code inside ``#if 0``), preprocessor lines removed, line numbers kept."""
    live: list[str] = []
    dead: list[str] = []
    stack: list[bool] = []  # True: this level is disabled
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        n = 1
        if line.lstrip().startswith("#"):
            while line.endswith("\\") and i + n < len(lines):  # a continued directive
                line = line[:-1] + lines[i + n]
                n += 1
            parent = bool(stack) and stack[-1]
            word = line.lstrip()[1:].split(None, 1)
            directive, rest = (word[0], word[1].strip() if len(word) > 1 else "") if word else ("", "")
            if directive in ("if", "ifdef", "ifndef"):
                stack.append(parent or (directive == "if" and rest == "0"))
            elif directive in ("else", "elif"):
                grand = len(stack) > 1 and stack[-2]
                stack[-1] = grand  # a branch after '#if 0' is live; gates are not copied
            elif directive == "endif":
                stack.pop()
            live.extend([""] * n)
            dead.extend([""] * n)
        elif stack and stack[-1]:
            live.append("")
            dead.append(line)
        else:
            live.append(line)
            dead.append("")
        i += n
    if stack:
        raise SystemExit(f"unbalanced #if/#endif: {len(stack)} left open")
    return "\n".join(live), "\n".join(dead)


def parse(module_c: str) -> tuple[list[tuple[str, str, str]], list[str], list[str]]:
    """(rows, names inside #if 0, special names seen) of pycurl's module.c, checked by counting."""
    live, dead = _split_if0(_strip_comments(module_c))
    rows: list[tuple[str, str, str]] = []
    captured: set[int] = set()  # offsets in ``live`` of calls turned into rows
    for m in _INSINT.finditer(live):
        if m.group(2) not in SPECIAL:
            rows.append((m.start(), m.group(2), m.group(3), _SCOPE_OF_MACRO[m.group(1)]))
            captured.add(m.start())
    for m in _SOCKET.finditer(live):
        if m.group(1) not in _SCOPE_OF_DICT:
            raise SystemExit(f"{m.group(2)}: unknown constants dict {m.group(1)}")
        rows.append((m.start(), m.group(2), m.group(3), _SCOPE_OF_DICT[m.group(1)]))
        captured.add(m.start())
    rows.sort()
    specials: list[str] = []
    unexplained: list[str] = []
    for m in _ANY_CALL.finditer(live):
        if m.start() in captured:
            continue
        named = _NAMED_CALL.match(live, m.start())
        name = named.group(1) if named else "?"
        line = live.count("\n", 0, m.start()) + 1
        (specials if name in SPECIAL else unexplained).append(name if name in SPECIAL else f"{line}: {name}")
    if unexplained:
        raise SystemExit(
            "calls neither captured as a row nor listed in SPECIAL (module.c line: name): "
            + ", ".join(unexplained)
        )
    disabled = [m.group(1) for m in _NAMED_CALL.finditer(dead)]
    total = len(_ANY_CALL.findall(live)) + len(_ANY_CALL.findall(dead))
    if len(rows) + len(specials) + len(disabled) != total:
        raise SystemExit(f"count mismatch: {len(rows)} rows + {len(specials)} special"
                         f" + {len(disabled)} in #if 0 != {total} calls")
    names = [r[1] for r in rows] + specials
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SystemExit(f"names defined twice (an #if/#else to handle by hand?): {dupes}")
    missing = sorted(set(SPECIAL) - set(specials))
    if missing:
        raise SystemExit(f"SPECIAL names module.c no longer defines: {missing}")
    return [(py, c, scope) for _, py, c, scope in rows], disabled, specials


def pycurl_version(module_c_path: Path) -> str:
    pkg_info = module_c_path.resolve().parent.parent / "PKG-INFO"
    try:
        text = pkg_info.read_text()
    except OSError as exc:
        raise SystemExit(
            f"{pkg_info}: {exc.strerror}; pass the src/module.c of an extracted pycurl sdist"
        ) from None
    m = re.search(r"^Version: (\S+)$", text, re.M)
    if not m:
        raise SystemExit(f"{pkg_info}: no 'Version:' line")
    return m.group(1)


def render(module_c_path: Path) -> str:
    """The text of pycurlcb/_pycurl_names.py for this module.c."""
    rows, disabled, specials = parse(module_c_path.read_text())
    version = pycurl_version(module_c_path)
    counts = {s: sum(1 for r in rows if r[2] == s) for s in _SCOPE_OF_MACRO.values()}
    w1, w2 = (max(len(r[i]) for r in rows) for i in (0, 1))
    out = [
        f'"""pycurl {version}\'s constants: (pycurl name, C name, scope), in src/module.c\'s order.',
        "",
        f"GENERATED by tools/gen_pycurl_names.py from pycurl {version}'s src/module.c; do not edit.",
        "Regenerate with:",
        "",
        f"    python tools/gen_pycurl_names.py ~/.cache/pycurlcb/pycurl-{version}/src/module.c",
        "",
        "scope: 'module' (insint: module only), 'curl' (insint_c: also on Curl objects),",
        "'multi' (insint_m: also on CurlMulti), 'share' (insint_s: also on CurlShare).",
        "pycurl's #if gates are not copied: constants.py exports a row when the loaded",
        "libcurl has its C name.",
        "",
        f"{len(rows)} rows: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + ".",
        *textwrap.wrap(
            "Not rows: inside '#if 0': " + (", ".join(disabled) or "none")
            + "; defined by hand (pycurlcb.version, the classes): " + ", ".join(specials) + ".",
            width=90,
        ),
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f'PYCURL_VERSION = "{version}"',
        "",
        "# One row a line: pycurl name, C name, scope. Text rather than a tuple literal: where",
        "# bytecode is not cached (PYTHONDONTWRITEBYTECODE, a read-only install) Python compiles",
        f"# this file on every import, and {len(rows)} three-tuples take ~4 ms to compile; splitting",
        "# this string takes ~0.15 ms.",
        '_ROWS = """',
        *(f"{py:<{w1}} {c:<{w2}} {scope}" for py, c, scope in rows),
        '"""',
        "",
        "#: (pycurl name, C name, scope) for every row, in module.c's order.",
        "NAMES: tuple[tuple[str, str, str], ...] = tuple(",
        "    (name, c_name, scope)",
        "    for name, c_name, scope in map(str.split, _ROWS.strip().splitlines())",
        ")",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("module_c", type=Path, help="pycurl's src/module.c (from its extracted sdist)")
    ap.add_argument("-o", "--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if the output differs")
    args = ap.parse_args(argv)
    text = render(args.module_c)
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date; run without --check", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
