"""pycurl's sdist: downloaded and extracted once into the cache, copied per run.

Its sources are never copied into the repository: the cache is outside it
(${PYCURLCB_CACHE:-~/.cache/pycurlcb}).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PYCURL_VERSION = "7.49.0"


def cache_dir() -> Path:
    path = Path(os.environ.get("PYCURLCB_CACHE") or Path.home() / ".cache" / "pycurlcb")
    path.mkdir(parents=True, exist_ok=True)
    return path


def extracted() -> Path:
    """The extracted sdist tree (pycurl-7.49.0/ in the cache), made on first use."""
    cache = cache_dir()
    tree = cache / f"pycurl-{PYCURL_VERSION}"
    if (tree / "tests").is_dir():
        return tree
    archive = cache / f"pycurl-{PYCURL_VERSION}.tar.gz"
    if not archive.exists():
        print(f"downloading pycurl=={PYCURL_VERSION}'s sdist into {cache}", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             f"pycurl=={PYCURL_VERSION}", "--dest", str(cache)],
            check=True,
        )
    # Extract beside the cache and rename, so a half-extracted tree is never seen.
    with tempfile.TemporaryDirectory(dir=cache) as tmp, tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp, filter="data")
        else:  # Python < 3.11.4: the archive comes from PyPI by exact version
            tar.extractall(tmp)
        os.replace(Path(tmp) / tree.name, tree)
    return tree


def fresh_copy(destination: Path) -> Path:
    """A writable copy of the sdist tree at destination (some tests write files,
    some read ../README.rst from tests/)."""
    shutil.copytree(extracted(), destination)
    return destination
