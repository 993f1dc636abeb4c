"""The classic CurlMulti loop: add_handle, perform, select, info_read."""

import sys
from io import BytesIO

import pycurl


def main(url: str) -> None:
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_MAXCONNECTS, 4)
    buffers: dict[pycurl.Curl, BytesIO] = {}
    for i in range(3):
        c = pycurl.Curl()
        buf = BytesIO()
        c.setopt(pycurl.URL, f"{url}?n={i}")
        c.setopt(pycurl.WRITEDATA, buf)
        buffers[c] = buf
        m.add_handle(c)
    read, write, exc = m.fdset()
    print(m.timeout() >= -1, len(read + write + exc) >= 0)
    num_handles = len(buffers)
    while num_handles:
        while True:
            ret, num_handles = m.perform()
            if ret != pycurl.E_CALL_MULTI_PERFORM:
                break
        if num_handles:
            m.select(1.0)
    num_q, ok_list, err_list = m.info_read()
    for c in ok_list:
        print("ok", c.getinfo(pycurl.RESPONSE_CODE), len(buffers[c].getvalue()))
    for _c, errno, errmsg in err_list:
        print("failed", errno, errmsg)
    for c in buffers:
        m.remove_handle(c)
        c.close()
    m.close()
    print(num_q)


if __name__ == "__main__":
    main(sys.argv[1])
