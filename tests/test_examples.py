"""Every docs/examples/*.py runs to completion (exit 0) against the server it starts.

Each runs as its own process, with ResourceWarning shown, so an example that
leaves a socket unclosed fails here by writing to stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "docs" / "examples").glob("*.py") if not p.name.startswith("_"))


def test_there_is_one_example_per_callback_use() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {
        "ssrf_guard",
        "address_translation",
        "bind_source",
        "sockopt_keepalive",
        "closesocket_count",
        "trio_100",
    } <= names


@pytest.mark.parametrize(
    "example, args",
    [(p, []) for p in EXAMPLES]
    + [(ROOT / "docs" / "examples" / "trio_100.py", [flag]) for flag in ("--anyio-asyncio", "--anyio-trio")],
    ids=[p.stem for p in EXAMPLES] + ["trio_100-anyio-asyncio", "trio_100-anyio-trio"],
)
def test_example_runs(example: Path, args: list[str]) -> None:
    if example.stem == "trio_100":
        pytest.importorskip("trio")
        pytest.importorskip("anyio")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", str(example), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.strip()
