"""One connection pool for several Curls in one thread; one DNS cache for four threads (CurlShare).

The local server answers with the client's address, ``hello 127.0.0.1:<port>``,
so the client port shows which TCP connection carried each request: sharing
LOCK_DATA_CONNECT, every Curl reuses the connection the first one opened.

Threads share the kinds of data libcurl locks for them (DNS, cookies, TLS
sessions), not the connection pool: CURLSHOPT_SHARE(3) says sharing
connections between concurrent threads is not supported, and libcurl can
crash if you do (KNOWN_BUGS 11.11, curl/curl#4915).  Each thread's Curl keeps
its own connection.

Run: python docs/examples/share_connections.py
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer


def one_thread(url: str) -> None:
    with pycurlcb.CurlShare() as share:
        share.share(pycurlcb.LOCK_DATA_CONNECT, pycurlcb.LOCK_DATA_DNS)
        curls = [pycurlcb.Curl() for _ in range(3)]
        answers = []
        for curl in curls:
            curl.setopt(pycurlcb.SHARE, share)
            curl.setopt(pycurlcb.URL, url)
            answers.append(curl.perform_rs().strip())
        for i, answer in enumerate(answers):
            print(f"Curl {i}: {answer}")
        assert len(set(answers)) == 1, "one connection for the three Curls"
        for curl in curls:
            curl.close()
    # Leaving the block closed the share, and with it the pooled connection.


def four_threads(url: str) -> None:
    # A name only the shared DNS cache knows: RESOLVE given to one Curl, used
    # by the four others (".invalid" resolves nowhere else, RFC 6761).
    port = urlsplit(url).port
    named = f"http://hello.invalid:{port}/"
    share = pycurlcb.CurlShare()
    share.share(pycurlcb.LOCK_DATA_DNS, pycurlcb.LOCK_DATA_COOKIE, pycurlcb.LOCK_DATA_SSL_SESSION)
    answers: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with pycurlcb.Curl() as curl:  # one Curl per thread, one share for all
            curl.setopt(pycurlcb.SHARE, share)
            curl.setopt(pycurlcb.URL, named)
            for _ in range(10):
                answer = curl.perform_rs().strip()
                with lock:
                    answers.append(answer)

    with pycurlcb.Curl() as first:
        first.setopt(pycurlcb.SHARE, share)
        first.setopt(pycurlcb.RESOLVE, [f"hello.invalid:{port}:127.0.0.1"])
        first.setopt(pycurlcb.URL, named)
        first.perform_rs()
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    share.close()
    ports = {a.rsplit(":", 1)[1] for a in answers}
    print(f"4 threads x 10 transfers: {len(answers)} answers over {len(ports)} connection(s)")
    assert len(answers) == 40 and len(ports) == 4, "one connection per thread"


def main() -> None:
    with EmbeddedServer() as server:
        url = server.url
        one_thread(url)
        four_threads(url)


if __name__ == "__main__":
    main()
