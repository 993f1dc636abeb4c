"""`import pycurl` gives pycurlcb: compat/run.py puts this directory first on
PYTHONPATH for the pycurlcb run of pycurl's test suite (child interpreters too)."""

import sys

import pycurlcb

sys.modules[__name__] = pycurlcb
