"""The API reference (docs/api/, mkdocstrings) covers the public API.

Builds the documentation site as ``make docs`` does (mkdocs build --strict)
into a temporary directory, then reads the HTML: every name in
``pycurlcb.__all__`` has an entry (a heading whose id is its path), every
``:::`` block renders something (a docstring or members: ``::: pycurlcb.version``
once rendered an empty heading and the strict build did not notice), every
function signature is typed, and no signature shows a private name (a private
base class, an internal default such as ``lib.CURLPAUSE_ALL``).  Skipped when
the ``docs`` extra (mkdocs, mkdocstrings) is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

import pycurlcb

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings_handlers") is None,
    reason="mkdocs and mkdocstrings[python] are not installed: pip install '.[docs]' (make docs does)",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (ROOT / "mkdocs.yml").is_file() or not (DOCS / "api").is_dir():
        pytest.skip("mkdocs.yml and docs/api/ are not beside these tests")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


class _Reference(HTMLParser):
    """The mkdocstrings output of one page: heading ids, signatures, and for each
    ``:::`` block (its ``doc-contents first`` div) its own text and member count."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.signatures: list[tuple[str, str, str]] = []  # (heading id, symbol kind, text)
        self.blocks: list[dict[str, object]] = []
        self._divs: list[tuple[str, dict[str, object] | None]] = []  # (role, its block)
        self._heading: tuple[str, str] = ("", "")
        self._signature: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and a.get("id") and "doc-heading" in classes:
            self.ids.append(str(a["id"]))
            self._heading = (str(a["id"]), "")
        if tag == "code" and "doc-symbol-heading" in classes:
            kind = next(
                (
                    c[len("doc-symbol-") :]
                    for c in classes
                    if c.startswith("doc-symbol-") and c != "doc-symbol-heading"
                ),
                "",
            )
            self._heading = (self._heading[0], kind)
        if tag != "div":
            return
        if "doc-contents" in classes and "first" in classes:
            block: dict[str, object] = {"text": "", "members": 0, "heading": self._heading[0]}
            self.blocks.append(block)
            self._divs.append(("block", block))
        elif "doc-object" in classes:
            for role, open_block in reversed(self._divs):
                if role == "block":
                    assert open_block is not None
                    open_block["members"] = int(open_block["members"]) + 1  # type: ignore[call-overload]
                    break
                if role == "object":
                    break
            self._divs.append(("object", None))
        elif "doc-signature" in classes:
            self._signature = []
            self._divs.append(("signature", None))
        else:
            self._divs.append(("div", None))

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._divs:
            role, _ = self._divs.pop()
            if role == "signature" and self._signature is not None:
                self.signatures.append((*self._heading, "".join(self._signature).strip()))
                self._signature = None

    def handle_data(self, data: str) -> None:
        if self._signature is not None:
            self._signature.append(data)
        for role, block in reversed(self._divs):
            if role in ("object", "signature"):
                return
            if role == "block":
                assert block is not None
                block["text"] = str(block["text"]) + data
                return


def _pages_with_blocks() -> list[tuple[Path, list[str]]]:
    """(markdown page, the identifiers of its ``:::`` blocks in order)."""
    pages = []
    for md in sorted(DOCS.rglob("*.md")):
        idents = re.findall(r"^::: *(\S+)", md.read_text(), re.M)
        if idents:
            pages.append((md, idents))
    return pages


def _html_of(site: Path, md: Path) -> Path:
    rel = md.relative_to(DOCS).with_suffix("")
    return site / (rel.parent if rel.name == "index" else rel) / "index.html"


def _parse(site: Path) -> dict[Path, _Reference]:
    parsed = {}
    for md, _ in _pages_with_blocks():
        ref = _Reference()
        ref.feed(_html_of(site, md).read_text(encoding="utf-8"))
        parsed[md] = ref
    return parsed


def test_every_public_name_has_a_reference_entry(site: Path) -> None:
    ids = {i for ref in _parse(site).values() for i in ref.ids}
    # pycurlcb.NAME, or pycurlcb.MODULE.NAME where a module page documents it
    # (pycurlcb.version.version_info: pycurlcb.version is also the version string).
    missing = [
        name
        for name in pycurlcb.__all__
        if f"pycurlcb.{name}" not in ids
        and not any(re.fullmatch(rf"pycurlcb\.[a-z_]+\.{name}", i) for i in ids)
    ]
    assert not missing, f"public names with no entry in docs/api/: {missing}"
    # Inherited public methods are shown: the WebSocket methods come from a mixin.
    for method in ("ws_send", "ws_recv", "ws_recv_into", "ws_meta", "ws_close"):
        assert f"pycurlcb.Curl.{method}" in ids, method


def test_no_block_renders_empty(site: Path) -> None:
    empty = []
    for md, ref in _parse(site).items():
        idents = dict(_pages_with_blocks())[md]
        assert len(ref.blocks) == len(idents), (
            f"{md.name}: {len(idents)} ::: blocks, {len(ref.blocks)} rendered"
        )
        for ident, block in zip(idents, ref.blocks):
            if not str(block["text"]).strip() and not block["members"]:
                empty.append(f"{md.relative_to(DOCS)}: ::: {ident}")
    assert not empty, f"blocks that render no docstring and no members: {empty}"


def test_enum_members_are_listed(site: Path) -> None:
    ids = {i for ref in _parse(site).values() for i in ref.ids}
    for enum_name in ("SockType", "SockOpt", "InfoType", "Poll", "CSelect", "MOpt", "Opt", "Info"):
        enum = getattr(pycurlcb, enum_name)
        missing = [m for m in enum.__members__ if f"pycurlcb.{enum_name}.{m}" not in ids]
        assert not missing, f"{enum_name} members with no entry: {missing}"


def test_signatures_are_typed_and_show_no_private_names(site: Path) -> None:
    untyped, private = [], []
    for ref in _parse(site).values():
        for heading, kind, text in ref.signatures:
            if kind in ("function", "method") and "->" not in text:
                untyped.append(f"{heading}: {text}")
            if kind in ("function", "method", "class") and re.search(r"(?<![\w.])(_[A-Za-z]\w*|lib\.)", text):
                private.append(f"{heading}: {text}")
    assert not untyped, "signatures without types:\n" + "\n".join(untyped)
    assert not private, "signatures showing a private name or an internal default:\n" + "\n".join(private)


def test_no_private_base_classes_in_headings(site: Path) -> None:
    for md, _ in _pages_with_blocks():
        text = _html_of(site, md).read_text(encoding="utf-8")
        for name in ("EasyCallbacks", "MultiCallbacks", "WebSocketMixin", "Bases:"):
            assert name not in text, f"{md.name} shows {name}"


def test_changelog_page_includes_the_changelog(site: Path) -> None:
    changelog = ROOT / "CHANGELOG.md"
    if not changelog.is_file():
        pytest.skip("CHANGELOG.md is not beside these tests")
    first = next(line for line in changelog.read_text().splitlines()[1:] if line.strip())
    html = (site / "changelog" / "index.html").read_text(encoding="utf-8")
    assert first.split()[0] in html and "--8&lt;--" not in html and "--8<--" not in html
