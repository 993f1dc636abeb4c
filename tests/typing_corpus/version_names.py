"""Module-level information: version, version_info, COMPILE_*, global_init."""

import sys

import pycurl


def main(url: str) -> None:
    print(pycurl.version)
    info = pycurl.version_info()
    print(info[1], info[2] >= 0x074900, "https" in info[8])
    print(pycurl.COMPILE_SSL_LIB, pycurl.COMPILE_LIBCURL_VERSION_NUM, pycurl.COMPILE_PY_VERSION_HEX)
    if info[4] & pycurl.VERSION_SSL:
        print("ssl")
    pycurl.global_init(pycurl.GLOBAL_DEFAULT)
    pycurl.global_cleanup()
    flags: list[int] = [pycurl.HTTPAUTH_BASIC, pycurl.PROTO_HTTP, pycurl.IPRESOLVE_V4, pycurl.PAUSE_ALL]
    print(sum(flags) > 0, url != "")


if __name__ == "__main__":
    main(sys.argv[1])
