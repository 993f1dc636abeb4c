#!/usr/bin/env python3
"""Generate pycurlcb's type stubs: ``pycurlcb/__init__.pyi`` and ``pycurlcb/_curl.pyi``.

``__init__.pyi``: the public names.  The classes and functions are re-exported
from the modules that define them (their inline annotations are the types);
every pycurl-style flat name (URL, RESPONSE_CODE, E_COULDNT_CONNECT ...) is a
``Final[int]``, and the enums whose members come from libcurl at run time
(Opt, Info, MOpt) get their members, so that mypy reports a misspelt name.

The flat names depend on the libcurl headers and library, so they are taken
from real builds: pycurl's own table (``pycurlcb/_pycurl_names.py``, every row
whatever libcurl has it) plus the names each build exports (``FLAT``).  Besides the
installed pycurlcb, the generator builds the compiled module against every
libcurl that ``make test-matrix`` built into ``~/.cache/pycurlcb/curl-VERSION/``
(and runs the system build on the libcurl of pycurl's manylinux wheel, if it
is unpacked there), and merges them.  A name not exported by every build
carries a comment naming the builds that have it (``# libcurl >= 7.76.1``);
tests/test_typing.py allows exactly those to be missing at run time, reading
these comments.  The builds of the checked-in stub are merged too (``previous``:
a build missing from the cache keeps its names; ``--fresh`` forgets them), and
two sources that need no build: the names of the newest libcurl headers at hand
(the newest ``curl-VERSION.tar.xz`` of make test-matrix's sources, or
``--headers``), and ``BY_HAND``, the names of newer libcurls seen elsewhere
(Debian's 8.14.1 and 8.23.0) whose headers this machine lacks.  Every name a
libcurl gives pycurlcb at run time must be in the stub (tests/test_typing.py).

Option and info names are typed by their values (``URL: Final = 10002``), and
the stub defines one alias per kind, the values of that kind's names and its
Opt/Info members (``_StrOpt: TypeAlias = Literal[10002, ..., Opt.URL, ...]``,
each member commented with its value): Curl.setopt's and getinfo's
overloads in pycurlcb/easy.py take them (docs/typing.md).  A name's kind comes
from the option table of the newest build that has it (``kinds``; the
checked-in stub's, ``previous_kinds``, for names no build here has); the
aliases are private, stub-only names, which stubtest does not compare.

``_curl.pyi``: the compiled module, from the declarations build_ffi.py hands
to cffi (functions with their C types mapped to Python's, the structs whose
fields Python reads, every integer constant of the installed header).

Usage:
    python tools/gen_stubs.py [--installed-only] [--libcurl PREFIX ...] [--fresh]
                              [--headers DIR|TARBALL | --no-headers] [--check]
    python tools/gen_stubs.py --dump     # this build's names, as JSON (used by the above)

``--check`` writes nothing and exits 1 if a checked-in stub differs from what
would be generated.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "pycurlcb"
CACHE = Path(os.environ.get("PYCURLCB_CACHE") or Path.home() / ".cache" / "pycurlcb")
INIT_STUB = PKG / "__init__.pyi"
CURL_STUB = PKG / "_curl.pyi"

# --- the names of one build ---------------------------------------------------


def dump() -> dict[str, Any]:
    """The names the importable pycurlcb exports, for the merge."""
    import pycurlcb
    from pycurlcb import constants

    def text(n: int) -> str:
        return f"{n >> 16}.{(n >> 8) & 0xFF}.{n & 0xFF}"

    return {
        "libcurl": text(pycurlcb.LIBCURL_VERSION_NUM),
        "headers": text(pycurlcb.COMPILE_LIBCURL_VERSION_NUM),
        "flat": sorted(constants.FLAT),
        "Opt": sorted(constants.Opt.__members__),
        "Info": sorted(constants.Info.__members__),
        "MOpt": sorted(constants.MOpt.__members__),
        "kinds": kinds(),
    }


#: How setopt takes an option's value, by its curl_easytype (OptType): the
#: kind's alias in __init__.pyi.  OBJECT and CBPTR options (WRITEDATA, SHARE,
#: PRIVATE ...) and the FUNCTION options pycurlcb does not bind get no kind:
#: setopt's ``(int, Any)`` overload takes them.
OPT_KINDS = {
    "LONG": "_IntOpt", "VALUES": "_IntOpt", "OFF_T": "_IntOpt",
    "STRING": "_StrOpt", "SLIST": "_ListOpt", "BLOB": "_BlobOpt",
}
#: Options whose setopt is not their type's: POSTFIELDS is an OBJECT libcurl
#: reads as text; WILDCARDMATCH also takes a str (pycurl passes its address).
OPT_KIND_EXCEPTIONS = {"POSTFIELDS": "_StrOpt", "WILDCARDMATCH": ""}
#: What getinfo returns, by the info's CURLINFO type bits (InfoKind).
INFO_KINDS = {"LONG": "_IntInfo", "SOCKET": "_IntInfo", "OFF_T": "_IntInfo",
              "DOUBLE": "_FloatInfo", "STRING": "_StrInfo", "SLIST": "_ListInfo"}
#: Infos whose result is not their type bits': PRIVATE is the object given to
#: setopt(PRIVATE), CERTINFO a list of tuples, the TLS pointers are refused.
INFO_KIND_EXCEPTIONS = {"PRIVATE": "", "CERTINFO": "", "TLS_SESSION": "", "TLS_SSL_PTR": ""}


def callback_kind(attr: str) -> str:
    """The alias of a callback option's kind: the _cbtable row's attr, ``ssh_key`` -> ``_CbSshKey``."""
    return "_Cb" + "".join(part.title() for part in attr.split("_"))


def kinds() -> dict[str, list[Any]]:
    """{flat name or Opt.X/Info.X member: [kind alias, value]} of the importable
    build's option and info names (the enum members are typed by the same aliases)."""
    from pycurlcb import _cbtable, constants
    from pycurlcb._pycurl_names import NAMES

    options, infos = constants.OPTION_IDS, constants.INFO_IDS
    callbacks = {r.option: callback_kind(r.attr) for r in _cbtable.ROWS if r.owner == "easy" and r.option}

    def option_kind(opt: str, value: int) -> str:
        spec = constants.OPTIONS[value]
        if spec.type.name == "FUNCTION":
            return callbacks.get(spec.name, "")
        return OPT_KIND_EXCEPTIONS.get(opt, OPT_KINDS.get(spec.type.name, ""))

    def info_kind(info: str, value: int) -> str:
        return INFO_KIND_EXCEPTIONS.get(info, INFO_KINDS.get(constants.info_kind(value).name, ""))

    c_names = {name: c_name for name, c_name, _ in NAMES}
    out: dict[str, list[Any]] = {}
    for name, value in constants.FLAT.items():
        c_name = c_names.get(name)
        if c_name is not None:  # pycurl's table gave this name
            opts = [c_name[len("CURLOPT_"):]] if c_name.startswith("CURLOPT_") else []
            infs = [c_name[len("CURLINFO_"):]] if c_name.startswith("CURLINFO_") else []
        else:  # the derived names of constants._flat_names
            opts = [name, name + "_LARGE", name[len("OPT_"):] if name.startswith("OPT_") else ""]
            infs = [name, name[len("INFO_"):] if name.startswith("INFO_") else ""]
        kind = ""
        opt = next((o for o in opts if options.get(o) == value), None)
        info = next((i for i in infs if infos.get(i) == value), None)
        if opt is not None:
            kind = option_kind(opt, value)
        elif info is not None:
            kind = info_kind(info, value)
        if kind:
            out[name] = [kind, value]
    for enum_name, ids, kind_of in (("Opt", options, option_kind), ("Info", infos, info_kind)):
        for name, value in ids.items():
            kind = kind_of(name, value)
            if kind:
                out[f"{enum_name}.{name}"] = [kind, value]
    return out


def _python_dump(python: str, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    out = subprocess.run(
        [python, str(Path(__file__).resolve()), "--dump"],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out))


def build_dump(prefix: Path, preload: str = "") -> dict[str, Any]:
    """Build the compiled module against libcurl in ``prefix`` in a scratch copy, dump it."""
    with tempfile.TemporaryDirectory(prefix="pycurlcb-stubs-") as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "build_ffi.py", work)
        shutil.copytree(ROOT / "ffi", work / "ffi")  # build-only: the cdefs and C sources
        shutil.copytree(
            PKG,
            work / "pycurlcb",
            ignore=shutil.ignore_patterns("_curl*.so", "_curl.c", "_curl.o", "__pycache__"),
        )
        env = dict(os.environ)
        if prefix.name != "system":
            env["PYCURLCB_CURL_CONFIG"] = str(prefix / "bin" / "curl-config")
        subprocess.run(
            [sys.executable, "build_ffi.py"],
            cwd=work,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        run_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_PRELOAD")}
        run_env["PYTHONPATH"] = str(work)
        if prefix.name != "system":
            run_env["LD_LIBRARY_PATH"] = str(prefix / "lib")
        if preload:
            run_env["LD_PRELOAD"] = preload
        return _python_dump(sys.executable, run_env, work)


#: The libcurl releases make test-matrix builds (tools/matrix.py RELEASES), and the wheel's.
MATRIX = ("7.73.0", "7.76.1", "7.81.0", "8.5.0", "8.21.0", "pycurl-wheel")


def matrix_builds() -> list[tuple[Path, str]]:
    """(libcurl prefix, LD_PRELOAD) of every libcurl tools/matrix.py left in the cache."""
    builds = [(p, "") for p in sorted(CACHE.glob("curl-*")) if (p / "bin" / "curl-config").is_file()]
    wheel_libs = sorted(
        (CACHE / "pycurl-7.49.0-manylinux" / "unpacked" / "pycurl.libs").glob("libcurl-*.so*")
    )
    if wheel_libs:
        builds.append((Path("system"), str(wheel_libs[0])))
    return builds


# --- __init__.pyi -----------------------------------------------------------------

_KEY = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def _vkey(v: str) -> tuple[int, ...]:
    m = _KEY.fullmatch(v)
    return tuple(int(x) for x in m.groups()) if m else (0,)


def gate(present: set[str], builds: list[str]) -> str:
    """The comment for a name present in the builds ``present`` of ``builds`` ('' if all).

    Builds are labelled by libcurl version, 'V (headers H)' for a module compiled
    against other headers than the library it runs on (options come from the
    library, every other name from the headers).  The range is read from the
    builds whose library and headers agree: 'libcurl >= V' with V the oldest
    that has the name; a name only a mixed build has is 'libcurl >= V' of its library.
    """
    if set(builds) <= present:
        return ""
    if not present:
        return "pycurl's name; no libcurl built here has its C name"
    plain = sorted((b for b in builds if "(" not in b), key=_vkey)
    have = [b for b in plain if b in present]
    if not have:
        return f"libcurl >= {min((b.split()[0] for b in present), key=_vkey)}"
    first = have[0]
    if all(b in present for b in plain if _vkey(b) >= _vkey(first)):
        return f"libcurl >= {first}"
    return "libcurl " + ", ".join(have)


#: The public names re-exported from the modules that define them (module, names).
REEXPORTS = (
    ("._callbacks", ("FileInfo", "HstsEntry", "HstsIndex", "KhKey")),
    ("._ffi", ("global_cleanup", "global_init")),
    (".constants", ("CSelect", "InfoType", "Poll", "SockOpt", "SockType")),
    (".easy", ("Curl",)),
    (
        ".errors",
        (
            "CallbackError",
            "CurlConnectionError",
            "CurlTimeoutError",
            "CurlTLSError",
            "MultiError",
            "ShareError",
            "UrlError",
            "easy_strerror",
            "error",
            "multi_strerror",
            "share_strerror",
            "url_strerror",
        ),
    ),
    (".mime", ("CurlMime", "CurlMimePart")),
    (".multi", ("CurlMulti",)),
    (".share", ("CurlShare",)),
    (".sockaddr", ("CurlSockAddr",)),
    (".url", ("CurlUrl",)),
    # version re-exported, not declared: griffe (the API reference) then keeps
    # pycurlcb.version the module, whose names the reference renders.
    (".version", ("version", "version_info")),
    (".ws", ("WsFrame",)),
    # Imported on first use at run time (pycurlcb.__getattr__).
    (".async_multi", ("AsyncCurlMulti",)),
)
#: Module attributes that are not flat names.
SCALARS = (
    ("COMPILE_LIBCURL_VERSION_NUM", "int"),
    ("COMPILE_PY_VERSION_HEX", "int"),
    ("COMPILE_SSL_LIB", "str"),
    ("LIBCURL_VERSION_NUM", "int"),
    ("__version__", "str"),
)
#: The enums whose members are libcurl's (IntEnum members read at import).
DYNAMIC_ENUMS = {
    "Opt": "CURLoption, named without the CURLOPT_ prefix (curl_easy_setopt(3)).",
    "Info": "CURLINFO, named without the CURLINFO_ prefix (curl_easy_getinfo(3)).",
    "MOpt": "CURLMoption, named without the CURLMOPT_ prefix (curl_multi_setopt(3)).",
}

HEADER = '''\
"""pycurlcb: the system libcurl from Python, with its socket callbacks (type stub).

GENERATED by tools/gen_stubs.py; do not edit.  Regenerate with
``make stubs`` (``python tools/gen_stubs.py``, after ``make test-matrix``
has built the libcurl releases).

Flat names from the builds: {builds}.
{extra}A name that not every build exports says which have it; at run time a name
exists only if the loaded libcurl (and, for non-option names, the headers
pycurlcb was compiled with) has it.
"""

import enum
from typing import Final, Literal

from typing_extensions import {typing_extensions}
'''

KINDS_COMMENT = """\
Stub-only: the option and info names below are typed by their values, and
each alias is the values (and Opt/Info members) of one kind, so that
Curl.setopt's and Curl.getinfo's overloads (pycurlcb/easy.py) see which kind a
flat name or member is: _IntOpt takes an
int, _StrOpt str or bytes, _ListOpt a list or tuple of them, _BlobOpt bytes or
a buffer, each _Cb* a callable of that callback's signature; getinfo of an
_IntInfo is an int, _FloatInfo a float, _StrInfo a str, _ListInfo a list of str.
A name held in an int variable takes the (int, Any) overload (docs/typing.md)."""


def _label_key(label: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Sort key of a build label: 'V' or 'V (headers H)'."""
    m = re.fullmatch(r"(\S+)(?: \(headers (\S+)\))?", label)
    lib = m.group(1) if m else label
    return _vkey(lib), _vkey((m.group(2) if m else None) or lib)


def merge(
    dumps: list[dict[str, Any]],
    pycurl_names: list[str],
    prior: tuple[list[str], dict[str, dict[str, set[str]]]] | None = None,
    extra: dict[str, dict[str, str]] | None = None,
) -> tuple[list[str], dict[str, dict[str, str]]]:
    """(build labels, {section: {name: gate comment}}) over every build's dump.

    ``prior``: the builds and, per name, the builds that had it, of the stub
    generated before (``previous``): a build no longer in the cache keeps its
    names.  ``extra``: {section: {name: gate comment}} for names no build here
    exported (``header_names``, ``BY_HAND``); a name a build has keeps the
    gate its builds give it.
    """
    prior_labels, prior_presence = prior or ([], {})
    labels = list(prior_labels)
    presence: dict[str, dict[str, set[str]]] = {
        key: {n: set(b) for n, b in prior_presence.get(key, {}).items()} for key in SECTIONS
    }
    for d in dumps:
        label = d["libcurl"] if d["libcurl"] == d["headers"] else f"{d['libcurl']} (headers {d['headers']})"
        if label not in labels:
            labels.append(label)
        for key in SECTIONS:
            for name in d[key]:
                presence[key].setdefault(name, set()).add(label)
    labels.sort(key=_label_key)
    sections: dict[str, dict[str, str]] = {}
    for key in SECTIONS:
        every = set(presence[key])
        if key == "flat":
            every |= set(pycurl_names)
        sections[key] = {name: gate(presence[key].get(name, set()), labels) for name in every}
        for name, comment in (extra or {}).get(key, {}).items():
            if not presence[key].get(name):
                sections[key][name] = comment
    return labels, sections


SECTIONS = ("flat", "Opt", "Info", "MOpt")


def all_kinds() -> list[str]:
    """Every kind alias __init__.pyi defines (pycurlcb/easy.py imports each)."""
    sys.path.insert(0, str(ROOT))
    from pycurlcb import _cbtable

    callbacks = {callback_kind(r.attr) for r in _cbtable.ROWS if r.owner == "easy" and r.option}
    return sorted({*OPT_KINDS.values(), "_StrOpt", *INFO_KINDS.values(), *callbacks})


def merge_kinds(
    dumps: list[dict[str, Any]], prior: dict[str, tuple[str, int]] | None = None
) -> dict[str, tuple[str, int]]:
    """{flat name: (kind, value)}: the newest build that has a name decides;
    a name only the checked-in stub's builds had keeps its kind (``previous_kinds``)."""
    out = dict(prior or {})
    for d in sorted(dumps, key=lambda d: (_vkey(d["libcurl"]), _vkey(d["headers"]))):
        for name, (kind, value) in d.get("kinds", {}).items():
            out[name] = (kind, value)
    return out


def previous_kinds(text: str) -> dict[str, tuple[str, int]]:
    """{flat name: (kind, value)} of a stub render_init() wrote (merge_kinds()'s ``prior``)."""
    kind_of: dict[int, str] = {}
    out: dict[str, tuple[str, int]] = {}
    for alias, body in re.findall(r"^(_\w+): TypeAlias = Literal\[(.*?)\]", text, re.M | re.S):
        for member, value in re.findall(r"\b((?:Opt|Info)\.\w+),  # (-?\d+)", body):
            out[member] = (alias, int(value))
        for value in re.findall(r"(?<![\w.])-?\d+", re.sub(r"#.*", "", body)):
            kind_of[int(value)] = alias
    for name, value in re.findall(r"^(\w+): Final = (-?\d+)", text, re.M):
        if int(value) in kind_of:
            out[name] = (kind_of[int(value)], int(value))
    return out


def _present_in(comment: str, labels: list[str]) -> set[str]:
    """The builds of ``labels`` that had a name whose gate is ``comment`` (gate()'s inverse)."""
    if not comment:
        return set(labels)
    m = re.fullmatch(r"libcurl >= (\S+)", comment)
    if m:
        return {b for b in labels if _label_key(b)[0] >= _vkey(m.group(1))}
    if comment.startswith("libcurl "):
        return set(comment[len("libcurl "):].split(", ")) & set(labels)
    return set()  # pycurl's name, or a name added by hand


def previous(text: str) -> tuple[list[str], dict[str, dict[str, set[str]]]]:
    """The builds of a stub render_init() wrote, and per section {name: builds that had it}.

    Names gated by hand (``BY_HAND``) or pycurl's table alone come back with no
    build: merge() gives them their comment again.
    """
    m = re.search(r"Flat names from the builds: (.+)\.\n", text)
    if not m:
        return [], {}
    labels = m.group(1).split(", ")
    presence: dict[str, dict[str, set[str]]] = {key: {} for key in SECTIONS}
    section = ""
    for line in text.splitlines():
        if line.startswith("class "):
            name = line[len("class "):].split("(")[0]
            section = name if name in DYNAMIC_ENUMS else ""
        elif line.startswith("# --- pycurl's flat names"):
            section = "flat"
        elif line.startswith("__all__"):
            section = ""
        elif line and not line[0].isspace() and section != "flat":
            section = ""
        g = re.fullmatch(r"\s*(\w+)(?:: Final\[int\]|: Final = -?\d+| = \.\.\.)(?:  # (.+))?", line)
        if g and section:
            have = _present_in(g.group(2) or "", labels)
            if have:
                presence[section][g.group(1)] = have
    return labels, presence


# --- names no build here exports ---------------------------------------------------

#: Names of libcurls no build on this machine has, with where they were seen.
#: Debian 13's libcurl 8.14.1 and Debian unstable's 8.23.0 (issue 19, chroots
#: of Debian's own packages): flat names their headers give pycurlcb that no
#: build of make test-matrix (nor the 8.21.0 headers) has.  No 8.14.1 or 8.23.0
#: headers are on this machine (its apt sources are Debian 12's), so these are
#: typed in; the comment is the stub's gate for them.
BY_HAND: dict[str, dict[str, str]] = {
    "flat": {
        **{f"E_RESERVED{n}": "libcurl 8.14.1" for n in range(115, 127)},
        "GLOBAL_WINSOCK": "libcurl >= 8.23.0",
        "HTTPAUTH_HTTPSIG": "libcurl >= 8.23.0",
        "M_NOTIFY_LAST": "libcurl >= 8.23.0",
    },
}


def _newest_tarball() -> Path | None:
    """The newest curl-VERSION.tar.xz of make test-matrix's sources, if any."""
    src = Path(os.environ.get("PYCURLCB_CURL_SRC") or ROOT.parent / "shared" / "libcurl-src")
    tarballs = [(p, _vkey(p.name[len("curl-"):-len(".tar.xz")])) for p in src.glob("curl-*.tar.xz")]
    return max(tarballs, key=lambda t: t[1])[0] if tarballs else None


def header_names(include: Path) -> tuple[str, dict[str, set[str]]]:
    """(version, {"flat": names}) of the libcurl headers in ``include`` (the directory
    holding curl/curl.h), read with the C preprocessor as build_ffi.py reads them,
    without building anything.  Only the names the headers give (error codes,
    CURLAUTH_*, CURLMNOTIFY_* ..., through constants._FLAT_PREFIXES): option
    and info names come from a library, so from the builds.
    """
    sys.path.insert(0, str(ROOT))
    import build_ffi
    from pycurlcb.constants import _FLAT_PREFIXES

    version, cnames = build_ffi.constant_names(["-I", str(include)])
    flat = set()
    for cname in cnames:
        if cname.endswith(("_LASTENTRY", "_LASTONE")):
            continue
        for cprefix, pyprefix in _FLAT_PREFIXES:
            if cname.startswith(cprefix):
                flat.add(pyprefix + cname[len(cprefix):])
    return f"{version >> 16}.{(version >> 8) & 0xFF}.{version & 0xFF}", {"flat": flat}


def tarball_header_names(tarball: Path) -> tuple[str, dict[str, set[str]]]:
    """header_names() of include/curl/ in a curl release tarball."""
    with tempfile.TemporaryDirectory(prefix="pycurlcb-headers-") as tmp:
        subprocess.run(
            ["tar", "-xf", str(tarball), "-C", tmp, "--strip-components=1",
             "--wildcards", "*/include/curl/*"],
            check=True,
        )
        return header_names(Path(tmp) / "include")


def render_init(
    labels: list[str],
    sections: dict[str, dict[str, str]],
    sources: tuple[str, ...] = (),
    kinds: dict[str, tuple[str, int]] | None = None,
) -> str:
    def line(name: str, annotation: str, comment: str, indent: str = "") -> str:
        text = f"{indent}{name}{annotation}"
        return f"{text}  # {comment}" if comment else text

    extra = "".join(f"{line}\n" for line in sources)
    kinds = kinds or {}
    empty = [a for a in all_kinds() if not any(k == a for k, _ in kinds.values())]
    imports = "Never, TypeAlias" if empty else "TypeAlias"
    out = [HEADER.format(builds=", ".join(labels), extra=extra, typing_extensions=imports)]
    out.append("from . import async_multi as aio  # noqa: F401 - the module's earlier name")
    out.append("from . import async_multi as async_multi")
    for module, names in sorted(REEXPORTS):
        out += [f"from {module} import {n} as {n}" for n in names]
    out.append("")
    for name, kind in SCALARS:
        out.append(f"{name}: Final[{kind}]")
    for enum_name, doc in DYNAMIC_ENUMS.items():
        out += ["", "", f"class {enum_name}(enum.IntEnum):", f'    """{doc}"""', ""]
        for name, comment in sorted(sections[enum_name].items()):
            out.append(line(name, " = ...", comment, "    "))
    out += ["", "", "# --- the kinds of options and infos " + "-" * 44, ""]
    out += [f"# {t}" for t in KINDS_COMMENT.splitlines()]
    for alias in all_kinds():
        values = sorted({v for n, (k, v) in kinds.items() if k == alias and "." not in n})
        members = sorted((n, v) for n, (k, v) in kinds.items() if k == alias and "." in n)
        if not values and not members:
            out.append(f"{alias}: TypeAlias = Never  # no build here has such an option")
            continue
        body = textwrap.wrap(", ".join(map(str, values)) + ",", width=96, initial_indent="    ",
                             subsequent_indent="    ") if values else []
        # The Opt/Info members of the kind, one a line with the value the kind was read from.
        out += [f"{alias}: TypeAlias = Literal[", *body, *[f"    {n},  # {v}" for n, v in members], "]"]
    out += ["", "", "# --- pycurl's flat names " + "-" * 55, ""]
    flat = sections["flat"]
    for name, comment in sorted(flat.items()):
        kind = kinds.get(name)
        out.append(line(name, f": Final = {kind[1]}" if kind else ": Final[int]", comment))
    exported = sorted(
        {n for _, names in REEXPORTS for n in names}
        | {n for n, _ in SCALARS if n != "__version__"}
        | set(DYNAMIC_ENUMS)
        | set(flat)
    )
    out += ["", "__all__ = ["] + [f'    "{n}",' for n in exported] + ["]", ""]
    return "\n".join(out)


# --- _curl.pyi -------------------------------------------------------------------

CURL_HEADER = '''\
"""pycurlcb._curl: the compiled cffi module (out-of-line API mode), built by build_ffi.py.

GENERATED by tools/gen_stubs.py from the declarations in ffi/decl/*.h,
compiled against libcurl {headers} headers; do not edit.

``ffi`` is cffi's FFI; ``lib`` holds libcurl's functions, the C shims and every
integer constant of the <curl/curl.h> the module was compiled against
(a constant missing from older headers is missing from ``lib``: read those with
``getattr(lib, NAME, default)``).  C types map to Python's as cffi converts them:
integers to int, double to float, void to None, pointers to ``_CData`` (a
``char *`` argument also takes bytes); a pointer to a struct whose fields
Python reads is typed by a class of that struct's fields.
"""

from typing import Any, Callable, ClassVar, Optional, Union

from _cffi_backend import FFI as _BackendFFI
from _cffi_backend import _CDataBase

_CData = _CDataBase


class _Struct:
    """A pointer to (or an array of) a C struct: its fields as attributes."""

    def __getitem__(self, index: int) -> Any: ...
    def __setitem__(self, index: int, value: Any) -> None: ...
    def __bool__(self) -> bool: ...


#: What cffi accepts for a pointer argument: a pointer cdata, or None for NULL.
_Pointer = Union[_CData, _Struct, None]
#: A ``char *`` or ``void *`` argument also takes bytes (cffi passes a pointer to a copy).
_CharArg = Union[_CData, _Struct, bytes, None]


class _FFI(_BackendFFI):
    """cffi's FFI as pycurlcb uses it.

    ``NULL`` is Any: it stands for a null pointer of every type (``slist =
    ffi.NULL`` before ``slist = lib.curl_slist_append(slist, item)``), and
    ``string()`` returns bytes: every string pycurlcb reads is a ``char`` array,
    never ``wchar_t``.
    """

    NULL: ClassVar[Any]
    def string(self, cdata: _Pointer, maxlen: int = -1) -> bytes: ...
    def cast(self, cdecl: Any, value: Union[_Pointer, int]) -> Any: ...
    def from_handle(self, x: _Pointer) -> Any: ...
    def gc(self, cdata: _Pointer, destructor: Optional[Callable[[Any], Any]], size: int = ...) -> Any: ...
    def new(self, cdecl: Any, init: Any = ...) -> Any: ...
    def unpack(self, cdata: _Pointer, length: int) -> Any: ...


ffi: _FFI
'''


def _py_type(t: Any, model: Any, *, arg: bool, structs: dict[str, str]) -> str:
    """The Python type of a cffi model type, as an argument or as a result."""
    if isinstance(t, model.PrimitiveType):
        if t.name in ("float", "double", "long double"):
            return "float"
        if t.name in ("char",):
            return "bytes"
        if t.name == "_Bool":
            return "bool"
        return "int"
    if isinstance(t, (model.UnknownIntegerType, model.EnumType)):
        return "int"
    if isinstance(t, model.VoidType):
        return "None"
    if isinstance(t, (model.PointerType, model.ArrayType)):
        item = t.totype if isinstance(t, model.PointerType) else t.item
        if isinstance(item, model.VoidType) or (
            isinstance(item, model.PrimitiveType) and item.name == "char"
        ):
            return "_CharArg" if arg else "_CData"
        struct = structs.get(getattr(item, "name", ""))
        if struct:
            return "_Pointer" if arg else struct
        return "_Pointer" if arg else "_CData"
    if isinstance(t, model.FunctionPtrType):
        return "_Pointer" if arg else "_CData"
    if isinstance(t, model.StructOrUnion):
        return structs.get(t.name, "_Struct")
    return "Any"


def render_curl() -> str:
    sys.path.insert(0, str(ROOT))
    from cffi import model

    import build_ffi  # noqa: E402 - the declarations as cffi parsed them

    decls = build_ffi.ffibuilder._parser._declarations
    structs: dict[str, str] = {}
    struct_types: dict[str, Any] = {}
    for key, (t, _q) in decls.items():
        kind, _, name = key.partition(" ")
        if (
            kind in ("struct", "typedef", "union", "anonymous")
            and isinstance(t, model.StructOrUnion)
            and t.fldnames
        ):
            cls = "_" + t.name.replace("$", "").replace(" ", "_").lstrip("_")
            structs[t.name] = cls
            struct_types[cls] = t
    for cls, t in list(struct_types.items()):  # anonymous unions and structs inside them
        for fname, ftype in zip(t.fldnames, t.fldtypes):
            if isinstance(ftype, model.StructOrUnion) and ftype.fldnames and ftype.name not in structs:
                structs[ftype.name] = f"{cls}_{fname}"
                struct_types[f"{cls}_{fname}"] = ftype
    v = build_ffi.constant_names(build_ffi.curl_flags()[0])[0]
    out = [CURL_HEADER.format(headers=f"{v >> 16}.{(v >> 8) & 0xFF}.{v & 0xFF}")]
    for cls, t in sorted(struct_types.items()):
        out += ["", f"class {cls}(_Struct):"]
        for fname, ftype in zip(t.fldnames, t.fldtypes):
            out.append(f"    {fname}: {_py_type(ftype, model, arg=False, structs=structs)}")
    out += ["", "", "class _Lib:", '    """The compiled module\'s functions and constants."""', ""]
    funcs, consts = [], []
    for key, (t, _q) in decls.items():
        kind, _, name = key.partition(" ")
        if kind == "extern_python":
            consts.append(f'    {name}: _CData  # extern "Python" trampoline')
        elif kind == "function":
            args = []
            for i, a in enumerate(t.args):
                args.append(f"__a{i}: {_py_type(a, model, arg=True, structs=structs)}")
            params = ", ".join(["self", *args])
            if t.ellipsis:
                params += ", *args: Any"
            result = _py_type(t.result, model, arg=False, structs=structs)
            line = f"    def {name}({params}) -> {result}: ..."
            if len(line) > 110:
                one_a_line = "".join(f"        {p},\n" for p in params.split(", "))
                line = f"    def {name}(\n{one_a_line}    ) -> {result}: ..."
            funcs.append(line)
        elif kind in ("macro", "constant"):
            consts.append(f"    {name}: int")
    out += sorted(funcs) + [""] + sorted(consts)
    out += [
        "",
        "    def __getattr__(self, name: str) -> Any:",
        '        """A constant of newer headers than these (read with getattr(lib, NAME, default))."""',
        "",
        "",
        "lib: _Lib",
        "",
    ]
    return "\n".join(out)


# --- main -------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", action="store_true", help="print this build's names as JSON")
    parser.add_argument(
        "--installed-only",
        action="store_true",
        help="only the installed build, not every libcurl of make test-matrix's cache",
    )
    parser.add_argument("--libcurl", action="append", default=[], type=Path, help="a libcurl prefix to merge")
    parser.add_argument(
        "--check", action="store_true", help="compare with the checked-in stubs, write nothing"
    )
    parser.add_argument(
        "--fresh", action="store_true",
        help="forget the builds of the checked-in __init__.pyi (by default their names are kept)",
    )
    parser.add_argument(
        "--headers", type=Path, default=None,
        help="libcurl headers to take names from: a directory holding curl/curl.h, or a curl "
        "release tarball (default: the newest curl-*.tar.xz of ../shared/libcurl-src)",
    )
    parser.add_argument("--no-headers", action="store_true", help="take no names from headers alone")
    args = parser.parse_args(argv)
    if args.dump:
        json.dump(dump(), sys.stdout)
        return 0
    dumps = [dump()]
    builds = [(p, "") for p in args.libcurl] + ([] if args.installed_only else matrix_builds())
    if not args.installed_only and len(builds) < len(MATRIX):
        print(
            f"gen_stubs: warning: only {len(builds)} libcurl builds in {CACHE} (make test-matrix builds "
            f"{len(MATRIX)}): names of the missing ones are left out",
            file=sys.stderr,
        )
    for prefix, preload in builds:
        print(f"gen_stubs: building against {prefix}{' on ' + preload if preload else ''}", file=sys.stderr)
        dumps.append(build_dump(prefix, preload))
    unique = {json.dumps(d, sort_keys=True): d for d in dumps}
    dumps = sorted(unique.values(), key=lambda d: (_vkey(d["libcurl"]), _vkey(d["headers"])))
    sys.path.insert(0, str(ROOT))
    from pycurlcb._pycurl_names import NAMES

    prior = None if args.fresh or not INIT_STUB.is_file() else previous(INIT_STUB.read_text())
    extra = {key: dict(names) for key, names in BY_HAND.items()}
    sources = [
        textwrap.fill(
            "Typed in (tools/gen_stubs.py BY_HAND, seen on Debian's 8.14.1 and 8.23.0): "
            + ", ".join(sorted(extra["flat"])) + ".",
            width=100,
        )
    ]
    headers = None if args.no_headers else (args.headers or _newest_tarball())
    if headers is not None:
        version, names = (tarball_header_names(headers) if headers.is_file() else header_names(headers))
        known = {d["libcurl"] for d in dumps if d["libcurl"] == d["headers"]} | set(prior[0] if prior else [])
        if version in known:  # the same names as that build's, if its dump is lost
            dumps.append({"libcurl": version, "headers": version, "flat": sorted(names["flat"]),
                          "Opt": [], "Info": [], "MOpt": []})
        else:
            for name in names["flat"]:
                extra["flat"].setdefault(name, f"libcurl >= {version}")
        sources.insert(0, f"Also the names of the libcurl {version} headers ({headers.name}).")
    labels, sections = merge(dumps, [n for n, _, _ in NAMES], prior, extra)
    prior_kinds = None if args.fresh or not INIT_STUB.is_file() else previous_kinds(INIT_STUB.read_text())
    kinds = merge_kinds(dumps, prior_kinds)
    outputs = {
        INIT_STUB: render_init(labels, sections, tuple(sources), kinds),
        CURL_STUB: render_curl(),
    }
    status = 0
    for path, text in outputs.items():
        if args.check:
            if not path.is_file() or path.read_text() != text:
                print(f"gen_stubs: {path.relative_to(ROOT)} is out of date", file=sys.stderr)
                status = 1
        else:
            path.write_text(text)
            print(f"gen_stubs: wrote {path.relative_to(ROOT)}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
