"""The pycurl README's first example: GET into a BytesIO, then getinfo."""

import sys
from io import BytesIO

import pycurl


def main(url: str) -> None:
    buffer = BytesIO()
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    c.setopt(pycurl.WRITEDATA, buffer)
    c.setopt(pycurl.FOLLOWLOCATION, True)
    c.setopt(pycurl.TIMEOUT, 30)
    c.perform()
    status = c.getinfo(pycurl.RESPONSE_CODE)
    total = c.getinfo(pycurl.TOTAL_TIME)
    effective = c.getinfo(pycurl.EFFECTIVE_URL)
    raw = c.getinfo_raw(pycurl.CONTENT_TYPE)
    dup = c.duphandle()
    dup.setopt(pycurl.WRITEFUNCTION, lambda data: None)
    dup.perform()
    dup.close()
    c.close()
    print(raw, c.closed)
    body = buffer.getvalue().decode("iso-8859-1")
    print(status, f"{total:.3f}s", effective, len(body))


if __name__ == "__main__":
    main(sys.argv[1])
