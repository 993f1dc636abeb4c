"""`import curl` gives pycurlcb.curl, pycurlcb's counterpart of pycurl's
high-level `curl` module (see pycurl.py beside this file)."""

import sys

import pycurlcb.curl

sys.modules[__name__] = pycurlcb.curl
