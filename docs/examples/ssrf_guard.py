"""SSRF protection: a pycurlcb.ssrf.Policy attached where libcurl connects.

The policy is checked on every address libcurl is about to connect to, after
DNS: a host name that resolves to 127.0.0.1 (or to a public address the
first time and a private one the next, "DNS rebinding"), a redirect to such
an address, a proxy from the environment, or a connection cached before the
policy was attached: none of them gets through.  A refused transfer raises
pycurlcb.ssrf.AddressRefused, which names the address and the reason.

Run: python docs/examples/ssrf_guard.py
"""

from __future__ import annotations

import io

import pycurlcb
from pycurlcb.cli.server import EmbeddedServer
from pycurlcb.ssrf import AddressRefused, Policy


def fetch(url: str, policy: Policy | None) -> bytes:
    body = io.BytesIO()
    with pycurlcb.Curl() as curl:
        curl.setopt(pycurlcb.URL, url)
        curl.setopt(pycurlcb.WRITEDATA, body)
        if policy is not None:
            policy.attach(curl)
        curl.perform()
    return body.getvalue()


def main() -> None:
    with EmbeddedServer() as server:  # on 127.0.0.1: plays the internal service
        url = server.url
        print("without a policy:  ", fetch(url, None).decode().strip())
        try:
            fetch(url, Policy())
        except AddressRefused as exc:
            print(f"with Policy():      refused {exc.address} port {exc.port}: {exc.reason}")
            assert exc.code == pycurlcb.E_COULDNT_CONNECT
        else:
            raise AssertionError("the policy let a loopback connection through")
        # One internal service opened on purpose: allow its address.
        opened = Policy(allow=["127.0.0.1/32"], ports={server.port})
        print("allow 127.0.0.1/32:", fetch(url, opened).decode().strip())

    # The pure verdict, no network: what the default policy says of some addresses.
    policy = Policy()
    for host in ("10.0.0.5", "169.254.169.254", "::ffff:127.0.0.1", "192.88.99.1", "93.184.216.34"):
        print(f"  {host:18} {policy.check(host, 80) or 'allowed'}")


if __name__ == "__main__":
    main()
