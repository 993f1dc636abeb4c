"""Build pycurlcb._curl: cffi out-of-line API mode against the system libcurl.

The declarations are the C files in ffi/decl/, read in the order of
``CDEF_FILES`` (a file is skipped for a header older than its version), then
the ``extern "Python"`` trampolines of every row of pycurlcb/_cbtable.py that
the header's version has.  The
integer constants (CURLE_*, CURLINFO_*, CURLM*, CURL_POLL_*, CURLAUTH_* ...)
are listed by running the C preprocessor over <curl/curl.h> and declared with
``...``: their names come from the installed header, their values from the
compiler, none is typed in by hand.  CURLOPT_* is not among them: options are
read at run time with curl_easy_option_next(), so a newer libcurl.so.4 than
the headers still offers all of its options.

The module also records what it was built as: pycurlcb's version (read from
pycurlcb/version.py, the one place it is written; pycurlcb.version refuses a
module built for another) and the PY_VERSION_HEX of the Python headers it was
compiled with (pycurl's COMPILE_PY_VERSION_HEX).

A missing C compiler, libcurl's headers or Python's headers ends the build
with one line naming what is missing, and what to install on each platform
(``fail()``), instead of a traceback or a raw compiler error.

Compiler and linker flags come from ``curl-config`` (or ``$PYCURLCB_CURL_CONFIG``
for a libcurl in another prefix), falling back to ``pkg-config libcurl``.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import NoReturn

from cffi import FFI

HERE = Path(__file__).resolve().parent
#: Build-only input, outside the package (in the sdist, never in a wheel; the
#: layout of pyca/cryptography's _cffi_src/): the cdef declarations ...
DECL = HERE / "ffi" / "decl"
#: ... and the C sources the module's source is made of.
SRC = HERE / "ffi" / "src"
MIN_VERSION = 0x074900  # 7.73.0: curl_easy_option_next()
#: (declaration file, first LIBCURL_VERSION_NUM that has what it declares).
CDEF_FILES = (
    ("types.h", MIN_VERSION),
    ("easy.h", MIN_VERSION),
    ("multi.h", MIN_VERSION),
    ("share.h", MIN_VERSION),
    ("url.h", MIN_VERSION),  # the URL API is 7.62.0, older than the minimum
    ("mime.h", MIN_VERSION),  # 7.56.0
    ("form.h", MIN_VERSION),
    ("hsts.h", 0x074A00),  # 7.74.0
    ("ws.h", 0x075600),  # 7.86.0
    ("notify.h", 0x081100),  # 8.17.0
    ("handles.h", MIN_VERSION),
    ("bulk.h", MIN_VERSION),
    ("guard.h", MIN_VERSION),
    ("driver.h", MIN_VERSION),
    ("shim.h", MIN_VERSION),
)
#: The C sources, concatenated in this order into the module's source.
C_FILES = ("weak.c", "handles.c", "driver.c", "shim.c", "bulk.c", "form.c", "guard.c")

INSTALL_HINT = """\
pycurlcb needs the libcurl development files ({why}).
Install them, then build again:
  Debian/Ubuntu:  sudo apt-get install libcurl4-openssl-dev
  Fedora/RHEL:    sudo dnf install libcurl-devel
  Alpine:         apk add curl-dev
  macOS:          brew install curl  (then PYCURLCB_CURL_CONFIG=$(brew --prefix curl)/bin/curl-config)
For a libcurl in another prefix set PYCURLCB_CURL_CONFIG to its curl-config."""


COMPILER_HINT = """\
pycurlcb needs a C compiler ({why}).
Install one, then build again:
  Debian/Ubuntu:  sudo apt-get install gcc
  Fedora/RHEL:    sudo dnf install gcc
  Alpine:         apk add gcc musl-dev
  macOS:          xcode-select --install
To use another compiler set CC, e.g. CC=clang."""

PYTHON_HINT = """\
pycurlcb needs the C headers of the Python it is built for ({why}).
Install them, then build again:
  Debian/Ubuntu:  sudo apt-get install python{v}-dev
  Fedora/RHEL:    sudo dnf install python{v}-devel  (python3-devel for the system's python3)
  Alpine:         apk add python3-dev
  macOS:          the python.org and Homebrew Pythons have them; for Xcode's: xcode-select --install"""


def fail(why: str, hint: str = INSTALL_HINT) -> NoReturn:
    """Exit with ``hint`` (what to install on each platform) naming ``why``: no traceback."""
    sys.exit(hint.format(why=why, v=f"{sys.version_info[0]}.{sys.version_info[1]}"))


def compiler() -> list[str]:
    """The C compiler the build uses: $CC, else the one Python was built with, else cc."""
    return shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")


def run_compiler(args: list[str], source: str) -> subprocess.CompletedProcess[str]:
    """The compiler run over ``source`` (stdin); exit with the compiler hint if it cannot start."""
    cc = compiler()
    try:
        return subprocess.run([*cc, *args, "-"], input=source, capture_output=True, text=True)
    except OSError as exc:  # FileNotFoundError for a missing gcc, PermissionError ...
        fail(f"{cc[0]}: {exc.strerror or exc}", COMPILER_HINT)


def _first_error(stderr: str, default: str) -> str:
    """The compiler's first error line, without its ``<stdin>:1:10: fatal error:`` prefix."""
    lines = stderr.strip().splitlines() or [default]
    line = next((x for x in lines if "error" in x), lines[-1]).strip()
    return re.sub(r"^\S+:\d+:\d+: (?:fatal )?error: ", "", line)


def _run(args: list[str]) -> str | None:
    try:
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def curl_flags() -> tuple[list[str], list[str]]:
    """Compiler and linker flags for libcurl, from curl-config or pkg-config."""
    config = os.environ.get("PYCURLCB_CURL_CONFIG") or shutil.which("curl-config")
    if config:
        cflags, libs = _run([config, "--cflags"]), _run([config, "--libs"])
        if cflags is not None and libs is not None:
            return shlex.split(cflags), shlex.split(libs)
        if os.environ.get("PYCURLCB_CURL_CONFIG"):
            fail(f"{config} did not run")
    cflags = _run(["pkg-config", "--cflags", "libcurl"])
    libs = _run(["pkg-config", "--libs", "libcurl"])
    if cflags is None or libs is None:
        fail("neither curl-config nor 'pkg-config libcurl' was found")
    return shlex.split(cflags or ""), shlex.split(libs or "")


def preprocess(cflags: list[str], *extra: str) -> str:
    """Run the C preprocessor over <curl/curl.h>; exit with the hint if absent."""
    proc = run_compiler(["-E", *extra, *cflags], "#include <curl/curl.h>\n")
    if proc.returncode != 0:
        fail("<curl/curl.h> was not found: " + _first_error(proc.stderr, "the C preprocessor failed"))
    return proc.stdout


def python_include_dirs() -> list[str]:
    """Where the compile step looks for <Python.h> and <pyconfig.h> (as setuptools does)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys(p for p in (paths.get("include"), paths.get("platinclude")) if p))


def check_python_headers(cflags: list[str], include_dirs: list[str] | None = None) -> None:
    """Preprocess <Python.h> as the module's compile will; exit with the hint if it fails.

    Without this check a missing python3-dev shows up only later, as the
    compiler's ``pyconfig.h: No such file or directory``.
    """
    dirs = python_include_dirs() if include_dirs is None else include_dirs
    proc = run_compiler(["-E", *(f"-I{d}" for d in dirs), *cflags], "#include <Python.h>\n")
    if proc.returncode != 0:
        where = ", ".join(dirs) or "no include directory"
        fail(f"{_first_error(proc.stderr, 'Python.h was not found')}; looked in {where}", PYTHON_HINT)


# Object-like macros whose value is an integer expression: digits, operators,
# integer casts and other CURL names.
_INT_MACRO = re.compile(r"#define ((?:LIB)?CURL\w*) (.+)")
_TOKEN = re.compile(r"0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|\S")
_CASTS = {"long", "unsigned", "int"}
_ENUM = re.compile(r"\benum\b[^{;]*\{([^}]*)\}", re.S)
_ENUM_NAME = re.compile(r"(?:^|,)\s*(CURL\w*)")
# CURLOPT_* comes from the run-time option table.
_SKIP = re.compile(r"^(CURLOPT_|CURL_DEPRECATED|CURL_EXTERN|CURL_TYPEOF|CURL_FORMAT)")


def _is_int_expression(value: str) -> bool:
    """True for numbers combined by operators, integer casts and CURL names."""
    tokens = _TOKEN.findall(value)
    ok = set("()~|&<>+-*")
    return any(t[0].isdigit() or t.startswith("CURL") for t in tokens) and all(
        t[0].isdigit() or t in _CASTS or t.startswith("CURL") or t in ok for t in tokens
    )


def constant_names(cflags: list[str]) -> tuple[int, list[str]]:
    """The libcurl version number and the names of its integer constants."""
    version, names = _constant_names(cflags)
    return version, sorted(names)


def old_names(cflags: list[str], names: list[str]) -> list[str]:
    """The names <curl/curl.h> keeps only for old code (gone with CURL_NO_OLDIES):
    deprecated aliases such as CURLE_HTTP_NOT_FOUND for CURLE_HTTP_RETURNED_ERROR."""
    current = _constant_names([*cflags, "-DCURL_NO_OLDIES"])[1]
    return [n for n in names if n not in current]


def _constant_names(cflags: list[str]) -> tuple[int, dict[str, None]]:
    macros = preprocess(cflags, "-dM")
    version = 0
    names: dict[str, None] = {}
    for line in macros.splitlines():
        m = _INT_MACRO.fullmatch(line.strip())
        if not m or "(" in m.group(1):
            continue
        name, value = m.groups()
        if name == "LIBCURL_VERSION_NUM":
            version = int(value, 16)
        if _is_int_expression(value) and not _SKIP.match(name):
            names[name] = None
    code = preprocess(cflags)
    for body in _ENUM.findall(code):
        for name in _ENUM_NAME.findall(body):
            if not _SKIP.match(name):
                names[name] = None
    return version, names


def callback_table() -> object:
    """pycurlcb/_cbtable.py, executed as a file: the package is not built yet."""
    spec = importlib.util.spec_from_file_location("_pycurlcb_cbtable", HERE / "pycurlcb" / "_cbtable.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # NamedTuple needs its module while the class is made
    spec.loader.exec_module(module)
    return module


def package_version() -> str:
    """``__version__`` of pycurlcb/version.py, read without importing the package."""
    tree = ast.parse((HERE / "pycurlcb" / "version.py").read_text())
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            named = any(isinstance(t, ast.Name) and t.id == "__version__" for t in targets)
            if named and node.value is not None:
                return str(ast.literal_eval(node.value))
    raise SystemExit("pycurlcb/version.py has no __version__ = '...'")


def trampolines(version: int) -> str:
    """The extern "Python" block for the callback rows a header of ``version`` has."""
    decls = [f"    {row.decl};" for row in callback_table().rows_for(version)]  # type: ignore[attr-defined]
    return 'extern "Python" {\n' + "\n".join(decls) + "\n}\n"


def glibc_compat() -> tuple[list[str], list[str]]:
    """Extra compile and link flags for the manylinux wheel ($PYCURLCB_GLIBC_COMPAT=1, set by
    tools/build_wheel.py): dl* bound to their pre-2.34 glibc version (handles.c), libdl.so.2
    linked so that a glibc older than 2.34 has them."""
    if os.environ.get("PYCURLCB_GLIBC_COMPAT") != "1":
        return [], []
    # -l:libdl.so.2: glibc 2.34+ ships only an empty libdl.a for -ldl.
    return ["-DPCB_GLIBC_COMPAT"], ["-Wl,--no-as-needed", "-l:libdl.so.2", "-Wl,--as-needed"]


def make_builder() -> FFI:
    cflags, libs = curl_flags()
    version, names = constant_names(cflags)
    if version < MIN_VERSION:
        v = f"{version >> 16}.{(version >> 8) & 0xFF}.{version & 0xFF}"
        fail(f"found libcurl {v}; 7.73.0 or newer is needed")
    check_python_headers(cflags)
    cdef = "\n".join((DECL / f).read_text() for f, since in CDEF_FILES if since <= version)
    cdef += "\n" + trampolines(version)
    cdef += "\n/* Integer constants of the installed <curl/curl.h> */\n"
    cdef += "\n".join(f"#define {n} ..." for n in names)
    cdef += "\n/* The deprecated aliases among them, space-separated. */\nconst char *pcb_old_names(void);\n"
    cdef += "/* What this module was built as: pycurlcb's version, the Python headers' PY_VERSION_HEX. */\n"
    cdef += "const char *pcb_build_version(void);\nlong pcb_build_py_version_hex(void);\n"
    old = " ".join(old_names(cflags, names))
    source = "\n".join((SRC / f).read_text() for f in C_FILES)
    source += f'\nstatic const char *pcb_old_names(void) {{ return "{old}"; }}\n'
    source += f'static const char *pcb_build_version(void) {{ return "{package_version()}"; }}\n'
    source += "static long pcb_build_py_version_hex(void) { return PY_VERSION_HEX; }\n"
    compat_cflags, compat_libs = glibc_compat()
    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(
        "pycurlcb._curl",
        source,
        extra_compile_args=[*cflags, "-pthread", "-Wno-deprecated-declarations", *compat_cflags],
        extra_link_args=[*libs, "-pthread", *compat_libs],
    )
    return ffi


ffibuilder = make_builder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
