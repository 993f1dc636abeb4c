"""setopt(HTTPPOST, form): pycurl's deprecated list-of-tuples form, against a server that parses it.

The server side is ``multipart_echo`` (pytest-httpserver and the standard
library's email parser).
"""

from __future__ import annotations

import gc
import sys
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import multipart_echo
import pytest
from multipart_echo import fields, post

import pycurlcb as pycurl

DEPRECATED = "HTTPPOST is deprecated; use MIMEPOST"


@pytest.fixture
def form_url(httpserver: Any) -> str:
    return multipart_echo.install(httpserver)


@pytest.fixture
def quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def set_form(curl: Any, form: Any) -> None:
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        curl.setopt(pycurl.HTTPPOST, form)


def test_contents_files_and_buffers(form_url: str, tmp_path: Path) -> None:
    path = tmp_path / "upload.txt"
    path.write_bytes(b"file \0 content")
    payload = bytes(range(256))
    form = [
        ("plain", "a str"),
        (b"bytes", b"with \0 NUL"),
        ("contents", (pycurl.FORM_CONTENTS, "via FORM_CONTENTS", pycurl.FORM_CONTENTTYPE, "text/x-test")),
        ("file", [pycurl.FORM_FILE, str(path)]),
        ["renamed", (pycurl.FORM_FILE, str(path), pycurl.FORM_FILENAME, "other.txt")],
        ("buffer", (pycurl.FORM_BUFFER, "buffer.bin", pycurl.FORM_BUFFERPTR, payload)),
        ("str buffer", (pycurl.FORM_BUFFER, "text.txt", pycurl.FORM_BUFFERPTR, "ascii text")),
    ]
    with pycurl.Curl() as curl:
        set_form(curl, tuple(form))
        answer = post(curl, form_url)
    parts = {p["name"]: p for p in answer["parts"]}
    assert fields(answer) == {
        "plain": b"a str",
        "bytes": b"with \0 NUL",
        "contents": b"via FORM_CONTENTS",
        "file": b"file \0 content",
        "renamed": b"file \0 content",
        "buffer": payload,
        "str buffer": b"ascii text",
    }
    assert parts["contents"]["type"] == "text/x-test"
    assert parts["file"]["filename"] == "upload.txt"
    assert parts["renamed"]["filename"] == "other.txt"
    assert (parts["buffer"]["filename"], parts["str buffer"]["filename"]) == ("buffer.bin", "text.txt")


def test_replacing_and_unsetting(form_url: str, quiet: None) -> None:
    with pycurl.Curl() as curl:
        curl.setopt(pycurl.HTTPPOST, [("a", "1")])
        assert fields(post(curl, form_url)) == {"a": b"1"}
        curl.setopt(pycurl.HTTPPOST, [("b", "2")])
        assert fields(post(curl, form_url)) == {"b": b"2"}
        curl.setopt(pycurl.HTTPPOST, [])  # as pycurl: an empty form changes nothing
        assert fields(post(curl, form_url)) == {"b": b"2"}
        curl.unsetopt(pycurl.HTTPPOST)
        assert pycurl.HTTPPOST not in curl._keep


def test_mimepost_and_httppost_exclude_each_other(form_url: str, quiet: None) -> None:
    with pycurl.Curl() as curl:
        mime = pycurl.CurlMime(curl)
        mime.add_field("mime", "1")
        curl.setopt(pycurl.MIMEPOST, mime)
        curl.setopt(pycurl.HTTPPOST, [("form", "1")])
        assert fields(post(curl, form_url)) == {"form": b"1"}
        curl.setopt(pycurl.MIMEPOST, mime)
        assert fields(post(curl, form_url)) == {"mime": b"1"}
        assert pycurl.HTTPPOST not in curl._keep


def test_duphandle_shares_the_form(form_url: str, quiet: None) -> None:
    payload = b"shared buffer"
    with pycurl.Curl() as curl:
        curl.setopt(pycurl.HTTPPOST, [("f", (pycurl.FORM_BUFFER, "f.bin", pycurl.FORM_BUFFERPTR, payload))])
        dup = curl.duphandle()
    with dup:
        assert fields(post(dup, form_url)) == {"f": payload}


@pytest.mark.skipif(not hasattr(sys, "getrefcount"), reason="PyPy has no sys.getrefcount (no reference "
                    "counts): test_bufferptr_is_pinned_until_replaced_weakref checks the same there")
def test_bufferptr_is_pinned_until_replaced(quiet: None) -> None:
    payload = bytes(32)
    before = sys.getrefcount(payload)
    with pycurl.Curl() as curl:
        curl.setopt(pycurl.HTTPPOST, [("f", [pycurl.FORM_BUFFER, "n", pycurl.FORM_BUFFERPTR, payload])])
        assert sys.getrefcount(payload) == before + 1
        curl.setopt(pycurl.HTTPPOST, [("f", [pycurl.FORM_CONTENTS, "other"])])
        assert sys.getrefcount(payload) == before
        for release in (curl.reset, lambda: curl.unsetopt(pycurl.HTTPPOST)):
            curl.setopt(pycurl.HTTPPOST, [("f", [pycurl.FORM_BUFFER, "n", pycurl.FORM_BUFFERPTR, payload])])
            assert sys.getrefcount(payload) == before + 1
            release()
            assert sys.getrefcount(payload) == before
        curl.setopt(pycurl.HTTPPOST, [("f", [pycurl.FORM_BUFFER, "n", pycurl.FORM_BUFFERPTR, payload])])
    assert sys.getrefcount(payload) == before  # closed


class _WeakBytes(bytes):
    """bytes that PyPy can refer to weakly (CPython cannot: bytes subclasses have no weakref slot)."""


def _weak_payload() -> tuple[_WeakBytes, weakref.ref[_WeakBytes]]:
    payload = _WeakBytes(32)
    try:
        return payload, weakref.ref(payload)
    except TypeError:
        pytest.skip("CPython cannot refer weakly to bytes: test_bufferptr_is_pinned_until_replaced "
                    "checks the same with sys.getrefcount")


def test_bufferptr_is_pinned_until_replaced_weakref(quiet: None) -> None:
    """PyPy's check of the pin: the payload lives while a form points into it, and goes after."""
    other = [("f", [pycurl.FORM_CONTENTS, "other"])]

    def pinned(release: Callable[[pycurl.Curl], None]) -> None:
        payload, ref = _weak_payload()
        curl.setopt(pycurl.HTTPPOST, [("f", [pycurl.FORM_BUFFER, "n", pycurl.FORM_BUFFERPTR, payload])])
        del payload
        gc.collect()
        assert ref() is not None
        release(curl)
        gc.collect()
        gc.collect()
        assert ref() is None

    with pycurl.Curl() as curl:
        pinned(lambda c: c.setopt(pycurl.HTTPPOST, other))
        pinned(lambda c: c.reset())
        pinned(lambda c: c.unsetopt(pycurl.HTTPPOST))
        pinned(lambda c: c.close())


def test_no_leak_over_many_setopts(quiet: None) -> None:
    form = [("field", [pycurl.FORM_CONTENTS, "v" * 64, pycurl.FORM_CONTENTTYPE, "text/plain"])]
    buffers = [("b", (pycurl.FORM_BUFFER, "b.txt", pycurl.FORM_BUFFERPTR, "data"))]
    with pycurl.Curl() as curl:
        for _ in range(200):
            curl.setopt(pycurl.HTTPPOST, form)
            curl.setopt(pycurl.HTTPPOST, buffers)
        # PyPy has no sys.getallocatedblocks (no CPython allocator to count):
        # the count of gc-tracked objects is the check there.
        blocks = getattr(sys, "getallocatedblocks", lambda: 0)
        gc.collect()
        before, objects = blocks(), len(gc.get_objects())
        for _ in range(1000):
            curl.setopt(pycurl.HTTPPOST, form)
            curl.setopt(pycurl.HTTPPOST, buffers)
        gc.collect()
        assert blocks() - before < 100
        assert len(gc.get_objects()) - objects < 100


def test_form_is_freed_with_the_curl(quiet: None) -> None:
    freed: list[bool] = []

    class Buffer(bytes):
        def __del__(self) -> None:
            freed.append(True)

    payload = Buffer(b"tracked")
    curl = pycurl.Curl()
    curl.setopt(pycurl.HTTPPOST, [("f", (pycurl.FORM_BUFFER, "n", pycurl.FORM_BUFFERPTR, payload))])
    del payload
    gc.collect()
    assert freed == []
    curl.close()
    gc.collect()
    assert freed == [True]


# --- bad input: pycurl's exact messages ------------------------------------------------------


@pytest.mark.parametrize(
    "value, message",
    [
        ("text", "strings are not supported for this option"),
        (b"text", "strings are not supported for this option"),
        (5, "integers are not supported for this option"),
        (print, "functions are not supported for this option"),
        (object(), "invalid arguments to setopt"),
    ],
)
def test_not_a_list(value: Any, message: str) -> None:
    with pycurl.Curl() as curl, warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeprecationWarning for these
        with pytest.raises(TypeError) as info:
            curl.setopt(pycurl.HTTPPOST, value)
    # pycurl's text, then the option and the value
    assert str(info.value) == (
        f"{message}: setopt(HTTPPOST, {value!r}) expects a list or tuple of form fields"
    )


FIRST = (
    "list or tuple must contain a byte string or Unicode string with ASCII code points only as first element"
)


@pytest.mark.parametrize(
    "form, message",
    [
        (["x"], "list items must be list or tuple objects"),
        ([("a",)], r"list or tuple must contain two elements \(name, value\)"),
        ([("a", "b", "c")], r"list or tuple must contain two elements \(name, value\)"),
        ([(1, b"value")], FIRST),
        ([("caf\xe9", b"value")], FIRST),
        ([("a", 1)], "unsupported second type in tuple"),
        ([("a", (pycurl.FORM_CONTENTS,))], "list or tuple must contain at least one option and one value"),
        (
            [("a", (pycurl.FORM_CONTENTS, "x", pycurl.FORM_FILE))],
            "list or tuple must contain an even number of items",
        ),
        ([("a", ("x", "y"))], "option must be an integer"),
        ([("a", (pycurl.FORM_CONTENTS, 1))], "value must be a byte string or a Unicode string with ASCII"),
        ([("a", (pycurl.HTTPPOST, "y"))], "unsupported option"),
    ],
)
def test_bad_forms(form: Any, message: str) -> None:
    with pycurl.Curl() as curl:
        with pytest.raises(TypeError, match=f"^{message}"):
            set_form(curl, form)
        assert pycurl.HTTPPOST not in curl._keep


def test_non_ascii_values() -> None:
    with pycurl.Curl() as curl:
        with pytest.raises(pycurl.error) as info:
            set_form(curl, [("a", "caf\xe9")])
        assert info.value.args[0] == pycurl.E_BAD_FUNCTION_ARGUMENT
        assert isinstance(info.value.__cause__, UnicodeEncodeError)
        with pytest.raises(UnicodeEncodeError):
            set_form(curl, [("a", (pycurl.FORM_CONTENTS, "caf\xe9"))])


def test_formadd_failure_keeps_the_previous_form(form_url: str) -> None:
    with pycurl.Curl() as curl:
        set_form(curl, [("good", "1")])
        # FORM_BUFFER without its FORM_BUFFERPTR: curl_formadd() refuses.
        with pytest.raises(pycurl.error, match="curl_formadd\\(\\) failed for field b'bad'") as info:
            set_form(curl, [("ok", "2"), ("bad", (pycurl.FORM_BUFFER, "name"))])
        assert info.value.args[0] == pycurl.E_BAD_FUNCTION_ARGUMENT
        assert fields(post(curl, form_url)) == {"good": b"1"}
