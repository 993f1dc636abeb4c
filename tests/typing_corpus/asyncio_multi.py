"""pycurl 7.49's AsyncCurlMulti."""

import asyncio
import sys

import pycurl


async def fetch_all(url: str) -> list[int]:
    async with pycurl.AsyncCurlMulti() as multi:
        curls = []
        for i in range(5):
            c = pycurl.Curl()
            c.setopt(pycurl.URL, f"{url}?i={i}")
            c.setopt(pycurl.WRITEFUNCTION, lambda data: None)
            curls.append(c)
        done = await asyncio.gather(*(multi.perform(c) for c in curls))
        codes = [int(c.getinfo(pycurl.RESPONSE_CODE)) for c in done]
        for c in curls:
            c.close()
        return codes


def main(url: str) -> None:
    print(asyncio.run(fetch_all(url)))


if __name__ == "__main__":
    main(sys.argv[1])
