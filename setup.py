from setuptools import setup

# The compiled module uses CPython's stable ABI (cffi builds it with
# Py_LIMITED_API: pycurlcb/_curl.abi3.so), so one wheel serves CPython 3.9 and
# later: tag it cp39-abi3.
setup(
    cffi_modules=["build_ffi.py:ffibuilder"],
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
