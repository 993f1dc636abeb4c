"""``python -m pycurlcb [URL ...]`` (or ``pycurlcb``): the socket timeline of real transfers.

The transfers run with libcurl's socket callbacks installed and print, in
milliseconds since each started, every socket opened (purpose, family,
address), configured, connected and closed, then the response status, the
body size and the total time.  docs/cli.md describes the options, the output
and the exit statuses.  ``import pycurlcb`` does not import this package.

One module per concern, data flowing down the list:

* ``args``      the command line (argparse), option values checked
* ``addresses`` socket addresses shown and parsed
* ``policy``    what the socket options ask of the callbacks
* ``timeline``  timestamped lines
* ``trace``     the socket callbacks of one transfer (opensocket, sockopt,
                closesocket, debug): they apply the policy, record on the timeline
* ``progress``  the progress line on a terminal (CURLOPT_XFERINFOFUNCTION)
* ``output``    ``-o FILE`` through a temporary file renamed on success
* ``failure``   one error line and curl's exit status
* ``transfer``  one URL: its Curl, its trace, its result
* ``parallel``  several URLs on one AsyncCurlMulti
* ``report``    what is printed on stdout
* ``version``   ``--version``
* ``server``    the embedded HTTP server (shared with docs/examples)
* ``main``      the wiring: ``main(argv) -> exit status``
"""

from __future__ import annotations

from .main import main

__all__ = ["main"]
