"""docs/migrating-from-pycurl.md names every test compat/allowed-failures.txt lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _listed() -> list[str]:
    text = (ROOT / "compat" / "allowed-failures.txt").read_text()
    ids = [line.split("  #", 1)[0].strip() for line in text.splitlines()]
    return [i for i in ids if i and not i.startswith("#")]


@pytest.mark.skipif(
    not (ROOT / "compat" / "allowed-failures.txt").exists(), reason="no compat/ in this copy of the tests"
)
def test_the_migration_page_names_every_allowed_failure() -> None:
    doc = (ROOT / "docs" / "migrating-from-pycurl.md").read_text()
    listed = _listed()
    assert listed, "compat/allowed-failures.txt lists nothing"
    missing = []
    for node in listed:
        path_and_name, _, param = node.partition("[")
        name = path_and_name.rsplit("::", 1)[-1]
        # the test's name, and its parameter id in brackets, both on the page
        if name not in doc or (param and f"[{param}" not in doc):
            missing.append(node)
    assert missing == []
    assert len(listed) <= 25
    assert re.search(r"## The list", doc)
