import re
from pathlib import Path

from setuptools import setup


def long_description() -> str:
    """README.md for the package index page: a link to a file of the repository
    (``[text](docs/x.md)``) would be broken there, so it keeps its text only;
    absolute links (https://...) and in-page anchors stay links."""
    text = (Path(__file__).resolve().parent / "README.md").read_text(encoding="utf-8")
    return re.sub(r"\[([^\]]+)\]\((?!https?://|#)[^)\s]+\)", r"\1", text)


# The compiled module uses CPython's stable ABI (cffi builds it with
# Py_LIMITED_API: pycurlcb/_curl.abi3.so), so one wheel serves CPython 3.9 and
# later: tag it cp39-abi3.
setup(
    cffi_modules=["build_ffi.py:ffibuilder"],
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
    long_description=long_description(),
    long_description_content_type="text/markdown",
)
