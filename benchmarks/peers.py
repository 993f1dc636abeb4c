"""Getting the peers ready, and what each one is.

- pycurl: built from source against the system libcurl
  (`pip install --no-binary pycurl pycurl`), installed into this interpreter
  on demand, with libcurl4-openssl-dev and libssl-dev from apt if missing.
- curl_cffi: installed on demand; it bundles its own libcurl.
- pycurlcb: this project; never installed here (`pip install -e .`), skipped
  with the reason when it does not import.
- c: benchmarks/c/*.c, compiled against the system libcurl.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# pycurlcb is imported as installed, else from this checkout (an in-place build):
# run.py's children append the same directory to sys.path.
REPO = HERE.parent
C_SOURCES = {"W1": "w1", "W2": "w2", "W3": "w3", "W4": "w3", "W4u": "w3", "W5": "w5", "W6": "w5", "W7": "w7"}


@dataclass
class Peer:
    name: str
    available: bool
    version: str = ""
    reason: str = ""  # why not available
    info: dict[str, object] = field(default_factory=dict)


def log(msg: str) -> None:
    print(msg, flush=True)


def sh(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


def system_libcurl() -> str:
    """'7.88.1' from curl-config, or '' if curl-config is missing."""
    if not shutil.which("curl-config"):
        return ""
    return sh(["curl-config", "--version"]).stdout.split()[-1]


PROBES = {
    "pycurl": "import pycurl as m; d = dict(version=m.version, "
    "has_async=hasattr(m, 'AsyncCurlMulti'), file=m.__file__)",
    "pycurlcb": "import pycurlcb as m; d = dict(version=getattr(m, 'version', ''), "
    "package=getattr(m, '__version__', ''), "
    "has_async=hasattr(m, 'AsyncCurlMulti'), has_multi=hasattr(m, 'CurlMulti'), "
    "file=m.__file__)",
    "curl_cffi": "import curl_cffi as m; d = dict(version=m.__version__, "
    "libcurl=getattr(m, '__curl_version__', ''), file=m.__file__)",
}


def probe(name: str) -> tuple[dict[str, object] | None, str]:
    """Import `name` in a child of this interpreter: (info, '') or (None, error)."""
    code = (
        f"import sys; sys.path.append({str(REPO)!r}); " + PROBES[name] + "; import json; print(json.dumps(d))"
    )
    r = sh([sys.executable, "-c", code], cwd=HERE)
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines()
        return None, lines[-1] if lines else f"exit {r.returncode}"
    return json.loads(r.stdout.strip().splitlines()[-1]), ""


def apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"need {' '.join(packages)} but cannot apt-get install as non-root")
    log(f"installing {' '.join(packages)} with apt-get ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    r = sh(cmd, env=env)
    if r.returncode != 0:
        sh(["apt-get", "update", "-q"], env=env)
        r = sh(cmd, env=env)
    if r.returncode != 0:
        raise SystemExit(f"apt-get install {' '.join(packages)} failed:\n{r.stderr[-2000:]}")
    log(f"installed {' '.join(packages)}")


def pip_install(args: list[str]) -> bool:
    cmd = [sys.executable, "-m", "pip", "install", "-q", *args]
    log("running: " + shlex.join(cmd))
    r = sh(cmd)
    if r.returncode != 0:
        log(f"pip failed (exit {r.returncode}):\n{r.stdout[-1500:]}{r.stderr[-3000:]}")
    return r.returncode == 0


def ensure_build_deps() -> None:
    """curl-config and the OpenSSL headers, which pycurl's source build and the C peer need."""
    missing = []
    if not shutil.which("curl-config"):
        missing.append("libcurl4-openssl-dev")
    if not Path("/usr/include/openssl/ssl.h").exists():
        missing.append("libssl-dev")
    if not shutil.which("cc"):
        missing.append("gcc")
    if missing:
        apt_install(missing)


def prepare_pycurl(install: bool) -> Peer:
    info, err = probe("pycurl")
    want = system_libcurl()
    if info is not None and f"libcurl/{want} " not in str(info["version"]) + " ":
        # A wheel bundling another libcurl: we compare against the system's.
        log(f"pycurl uses another libcurl ({info['version']}); rebuilding it from source")
        info, err = None, "pycurl is not built against the system libcurl"
        args = ["--force-reinstall", "--no-deps"]
    else:
        args = []
    if info is None and install:
        ensure_build_deps()
        if pip_install([*args, "--no-binary", "pycurl", "pycurl"]):
            log("installed pycurl from source into " + sys.prefix)
        info, err = probe("pycurl")
    if info is None:
        return Peer("pycurl", False, reason=err)
    has_async = "has AsyncCurlMulti" if info["has_async"] else "no AsyncCurlMulti"
    version = f"{info['version']} (on the system libcurl; {has_async})"
    return Peer("pycurl", True, version=version, info=info)


def prepare_curl_cffi(install: bool) -> Peer:
    info, err = probe("curl_cffi")
    if info is None and install:
        if pip_install(["curl_cffi"]):
            log("installed curl_cffi into " + sys.prefix)
        info, err = probe("curl_cffi")
    if info is None:
        return Peer("curl_cffi", False, reason=err)
    version = f"{info['version']}, bundling its own {info['libcurl']}"
    return Peer("curl_cffi", True, version=version, info=info)


def prepare_pycurlcb() -> Peer:
    info, err = probe("pycurlcb")
    if info is None:
        return Peer("pycurlcb", False, reason=f"not importable ({err}); run `pip install -e .` in the repo")
    version = str(info["package"]) + (f" ({info['version']})" if info["version"] else "")
    version += f", from {info['file']}"
    return Peer("pycurlcb", True, version=version, info=info)


def compile_c(bindir: Path) -> Peer:
    """Compile benchmarks/c/*.c into bindir (when a source is newer than its binary)."""
    ensure_build_deps()
    bindir.mkdir(parents=True, exist_ok=True)
    flags = sh(["curl-config", "--cflags"]).stdout.split()
    libs = sh(["curl-config", "--libs"]).stdout.split()
    header = HERE / "c" / "bench.h"
    for stem in sorted(set(C_SOURCES.values())):
        src = HERE / "c" / f"{stem}.c"
        out = bindir / stem
        cmd = ["cc", "-O2", "-Wall", "-o", str(out), str(src), *flags, *libs, "-lm"]
        newest = max(src.stat().st_mtime, header.stat().st_mtime)
        if out.exists() and out.stat().st_mtime >= newest:
            continue
        r = sh(cmd)
        if r.returncode != 0:
            return Peer("c", False, reason=f"cc failed for {src.name}:\n{r.stderr[-2000:]}")
    cc = sh(["cc", "--version"]).stdout.splitlines()[0]
    return Peer(
        "c",
        True,
        version=f"libcurl {system_libcurl()}, {cc}"
        + (", User-Agent from $BENCH_USERAGENT" if os.environ.get("BENCH_USERAGENT") is not None else ""),
        info={"compile": "cc -O2 -Wall -o OUT SRC $(curl-config --cflags) $(curl-config --libs) -lm"},
    )


def c_binary(bindir: Path, workload: str) -> Path:
    return bindir / C_SOURCES[workload]
