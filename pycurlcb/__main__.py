"""``python -m pycurlcb``: the socket-timeline command (pycurlcb.cli)."""

from pycurlcb.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
