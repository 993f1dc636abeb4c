"""Must NOT type-check: a misspelt constant."""

import pycurl


def main(url: str) -> None:
    c = pycurl.Curl()
    c.setopt(pycurl.URLL, url)
