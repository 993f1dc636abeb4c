"""CurlShare, CurlMime and CurlUrl together."""

import sys

import pycurl


def main(url: str) -> None:
    share = pycurl.CurlShare()
    share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_DNS)
    share.setopt(pycurl.SH_SHARE, pycurl.LOCK_DATA_COOKIE)

    u = pycurl.CurlUrl(url)
    u.setpart(pycurl.UPART_QUERY, "a=1")
    print(u.getpart(pycurl.UPART_HOST), u.url)

    c = pycurl.Curl()
    c.setopt(pycurl.SHARE, share)
    c.setopt(pycurl.URL, u.url or url)
    mime = pycurl.CurlMime(c)
    mime.add_field("name", "value")
    part = mime.addpart()
    part.name("data")
    part.data(b"bytes")
    part.type("application/octet-stream")
    c.setopt(pycurl.MIMEPOST, mime)
    c.setopt(pycurl.WRITEFUNCTION, lambda data: None)
    c.perform()
    print(c.getinfo(pycurl.RESPONSE_CODE))
    c.close()
    mime.close()
    share.close()


if __name__ == "__main__":
    main(sys.argv[1])
