"""pycurl.error's args, the strerror functions and the error codes."""

import sys

import pycurl


def main(url: str) -> None:
    c = pycurl.Curl()
    c.setopt(pycurl.URL, "http://127.0.0.1:1/")  # nothing listens on port 1
    c.setopt(pycurl.CONNECTTIMEOUT, 5)
    try:
        c.perform()
    except pycurl.error as e:
        code = e.args[0]
        message = e.args[1] if len(e.args) > 1 else ""
        if code == pycurl.E_COULDNT_CONNECT:
            print("refused:", message, c.errstr())
        else:
            print("other error", code)
    finally:
        c.close()
    print(pycurl.easy_strerror(pycurl.E_OK), pycurl.multi_strerror(pycurl.E_MULTI_OK))
    print(pycurl.share_strerror(0), pycurl.url_strerror(0))
    with pycurl.Curl() as c2:
        c2.setopt(pycurl.URL, url)
        c2.setopt(pycurl.WRITEFUNCTION, lambda data: None)
        c2.perform()


if __name__ == "__main__":
    main(sys.argv[1])
