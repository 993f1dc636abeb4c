"""One transfer: a URL, its Curl with the socket trace installed, its result.

``Transfer.run()`` is prepare(), ``Curl.perform()``, finish().  The steps are
separate so ``--parallel`` can drive the same Transfer on an AsyncCurlMulti.
finish() records libcurl's times (CURLINFO_*_TIME_T) on the timeline,
commits or discards the output, and closes the Curl, whose connection closes
then show on the timeline too.  interrupt() does the same for Ctrl-C.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional, Protocol

import pycurlcb
from pycurlcb import Info, Opt, ssrf

from .addresses import format_addr, ip_port
from .failure import Failure, describe_curl_error, failure_of
from .policy import SocketPolicy
from .progress import XferInfo
from .timeline import Timeline
from .trace import SocketTrace


class Output(Protocol):
    """Where the body goes (output.FileOutput, output.StreamOutput)."""

    def open(self) -> None: ...
    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...


@dataclass(frozen=True)
class TransferOptions:
    """The command line's settings for every transfer.

    connect_to: CURLOPT_CONNECT_TO entries, ``HOST1:PORT1:HOST2:PORT2``.
    fail: CURLOPT_FAILONERROR (an HTTP status >= 400 fails with CURLE_HTTP_RETURNED_ERROR).
    connect_timeout, max_time: seconds (CURLOPT_CONNECTTIMEOUT_MS, CURLOPT_TIMEOUT_MS).
    verbose: libcurl's debug lines on the timeline.
    no_proxy: CURLOPT_NOPROXY "*" (the embedded server is never behind a proxy).
    """

    policy: SocketPolicy = field(default_factory=SocketPolicy)
    connect_to: tuple[str, ...] = ()
    fail: bool = False
    connect_timeout: float = 30.0
    max_time: Optional[float] = None
    verbose: bool = False
    no_proxy: bool = False


class BodySink:
    """The write callback: counts the body's bytes and hands them to ``output`` if any.

    A write that fails is recorded in ``failure`` and the callback returns 0,
    so libcurl stops with CURLE_WRITE_ERROR (CURLOPT_WRITEFUNCTION(3)).
    """

    def __init__(self, output: Optional[Output] = None) -> None:
        self.output = output
        self.size = 0
        self.failure: Optional[Failure] = None

    def write(self, data: bytes) -> Optional[int]:
        if self.output is not None:
            try:
                self.output.write(data)
            except Failure as failure:
                self.failure = failure
                return 0
        self.size += len(data)
        return None


@dataclass
class Result:
    """What a transfer ended with; ``failure`` None means success."""

    status: int = 0
    size: int = 0
    total_ms: float = 0.0
    failure: Optional[Failure] = None
    interrupted: bool = False


#: CURLINFO times (microseconds since the transfer started) put on the timeline.
_MILESTONES = (
    (Info.NAMELOOKUP_TIME_T, "resolved", "NAMELOOKUP_TIME"),
    (Info.APPCONNECT_TIME_T, "tls", "APPCONNECT_TIME"),
    (Info.STARTTRANSFER_TIME_T, "first byte", "STARTTRANSFER_TIME"),
)


class Transfer:
    """One URL: prepare() a Curl with a SocketTrace, perform it, finish() or interrupt().

    start: the perf_counter origin of the timeline; None means when prepare()
      runs, so the transfer starts at 0 ms (--parallel shares one origin).
    known_fds: local "ip:port" -> fd of connections seen; shared by transfers
      that share a connection cache, to name the fd of a reused connection.
    progress: the xferinfo callback of a progress.ProgressMeter, or None.
    """

    def __init__(
        self,
        url: str,
        options: TransferOptions,
        output: Optional[Output] = None,
        progress: Optional[XferInfo] = None,
        start: Optional[float] = None,
        known_fds: Optional[dict[str, int]] = None,
    ) -> None:
        self.url = url
        self.options = options
        self.output = output
        self.sink = BodySink(output)
        self.progress = progress
        self.start = start
        self.known_fds = {} if known_fds is None else known_fds
        self.timeline = Timeline(start)
        self.trace = SocketTrace(options.policy, self.timeline)
        self.result = Result()
        self._started_ms = 0.0
        #: When Ctrl-C came (ms on the timeline), if the caller noted it.
        self.interrupted_ms: Optional[float] = None

    def prepare(self) -> pycurlcb.Curl:
        """A Curl for this URL, callbacks installed; the timeline's "start"."""
        opts = self.options
        curl = pycurlcb.Curl()
        try:
            curl.setopt(Opt.URL, self.url)
            curl.setopt(Opt.WRITEFUNCTION, self.sink.write)
            curl.setopt(Opt.CONNECTTIMEOUT_MS, int(opts.connect_timeout * 1000))
            if opts.max_time is not None:
                curl.setopt(Opt.TIMEOUT_MS, int(opts.max_time * 1000))
            if opts.connect_to:
                curl.setopt(Opt.CONNECT_TO, list(opts.connect_to))
            if opts.fail:
                curl.setopt(Opt.FAILONERROR, 1)
            if opts.no_proxy:
                curl.setopt(Opt.NOPROXY, "*")
            if self.progress is not None:
                curl.setopt(Opt.NOPROGRESS, 0)
                curl.setopt(Opt.XFERINFOFUNCTION, self.progress)
            self.trace.install(curl, opts.verbose)
        except BaseException:
            curl.close()
            raise
        if self.start is None:
            self.timeline.start = time.perf_counter()
        self._started_ms = self.timeline.now()
        start = self.url + "".join(f" (CONNECT_TO {c})" for c in opts.connect_to)
        self.timeline.add("start", start, self._started_ms)
        return curl

    def run(self) -> Result:
        """prepare(), Curl.perform(), finish(); interrupt() and re-raise on Ctrl-C."""
        curl = self.prepare()
        try:
            curl.perform()
        except (pycurlcb.error, Failure) as exc:
            return self.finish(curl, exc)
        except KeyboardInterrupt:
            self.interrupt(curl)
            raise
        except BaseException:
            self.abandon(curl)
            raise
        return self.finish(curl)

    def finish(self, curl: pycurlcb.Curl, error: Optional[BaseException] = None) -> Result:
        """The transfer is over (``error``: what it raised): record, commit or discard, close.

        Call it as soon as the transfer is over: libcurl's times are placed
        relative to the moment it runs.
        """
        recorded = self.sink.failure or self.trace.failure
        failure = None if error is None else failure_of(error, recorded)
        if isinstance(error, ssrf.AddressRefused):
            # The message names the refused address and the reason already.
            self.trace.refused(error.refused)
            failure = Failure(f"{failure} (--deny-private)", failure.code if failure else None)
        elif failure is not None and self.trace.refusals:
            reasons = "; ".join(dict.fromkeys(self.trace.refusals))
            failure = Failure(f"{failure}; refused by --deny-private: {reasons}", failure.code)
        if self.output is not None:
            if failure is None:
                try:
                    self.output.commit()
                except Failure as exc:
                    failure = exc
            else:
                self.output.discard()
        self.result.failure = failure
        try:
            self._record(curl, failure, error)
        finally:
            self._close(curl)
        return self.result

    def interrupt(self, curl: pycurlcb.Curl) -> Result:
        """Ctrl-C: the timeline so far, an "interrupted" line; discard the output, close.

        The line is placed at ``interrupted_ms`` if set (when the signal came:
        libcurl may close the connection before KeyboardInterrupt gets here).
        """
        self.result.interrupted = True
        if self.output is not None:
            self.output.discard()
        try:
            self._record(curl, None, None)
        finally:
            self._close(curl)
        return self.result

    def abandon(self, curl: pycurlcb.Curl) -> None:
        """An exception the command did not foresee (a bug): no report, but the
        output discarded (no temporary file left) and the Curl closed."""
        if self.output is not None:
            self.output.discard()
        self._close(curl)

    def _close(self, curl: pycurlcb.Curl) -> None:
        self.trace.phase = "at Curl.close()"
        try:
            curl.close()
        finally:
            self.trace.discard_spares()

    def _record(
        self, curl: pycurlcb.Curl, failure: Optional[Failure], error: Optional[BaseException]
    ) -> None:
        """The result, and the times libcurl measured (CURLINFO_*_TIME_T) as events.

        libcurl's clock starts a little after "start" (inside perform) and its
        TOTAL_TIME ends just before perform returns: its times are placed
        counting back from now, but never so that the name was resolved after
        opensocket ran (an async driver may call this a little late).  An
        interrupted transfer has no TOTAL_TIME: its times count from the
        resolve that came just before the first opensocket (else "start").
        With a second connection (FTP's data connection), CONNECT_TIME is
        libcurl's last connect, while PRIMARY_IP names the first.
        """
        info = curl.getinfo
        result = self.result
        result.status = info(Info.RESPONSE_CODE)
        result.size = self.sink.size
        total_us = info(Info.TOTAL_TIME_T)
        result.total_ms = total_us / 1000.0
        now = self.timeline.now()
        origin = self._started_ms if result.interrupted else now - result.total_ms
        if self.trace.first_open_ms is not None:
            # opensocket runs right after the name is resolved.
            resolved = self.trace.first_open_ms - info(Info.NAMELOOKUP_TIME_T) / 1000.0 - 0.001
            origin = resolved if result.interrupted else min(origin, resolved)
        origin = max(origin, self._started_ms)

        def at(micros: int) -> float:
            return origin + micros / 1000.0

        for which, kind, name in _MILESTONES:
            micros = info(which)
            if micros > 0:
                self.timeline.add(kind, f"({name})", at(micros))
        connect_us = info(Info.CONNECT_TIME_T)
        if connect_us > 0:
            text = f"{self._connection(curl)} (CONNECT_TIME)"
            self.timeline.add("connected", text, at(connect_us))
        elif failure is None and not result.interrupted and info(Info.NUM_CONNECTS) == 0:
            text = f"{self._connection(curl)}, a cached connection (NUM_CONNECTS 0)"
            self.timeline.add("reused", text, at(0))
        if result.interrupted:
            when = now if self.interrupted_ms is None else self.interrupted_ms
            self.timeline.add("ctrl-c", f"interrupted, {result.size} bytes received", when)
        elif failure is None:
            text = f"status {result.status}, {result.size} bytes (TOTAL_TIME)"
            self.timeline.add("done", text, at(total_us))
        else:
            what = failure.message
            if isinstance(error, pycurlcb.error):
                what = describe_curl_error(error).split(":")[0]
            self.timeline.add("failed", f"{what} (TOTAL_TIME)", at(total_us))

    def _connection(self, curl: pycurlcb.Curl) -> str:
        """``fd N, local -> remote`` of the connection the transfer used."""
        ip, port = curl.getinfo(Info.PRIMARY_IP), curl.getinfo(Info.PRIMARY_PORT)
        local = ip_port(curl.getinfo(Info.LOCAL_IP), curl.getinfo(Info.LOCAL_PORT))
        remote = ip_port(ip, port)
        opened = self.trace.connected_to(ip, port)
        fd = self.known_fds.get(local)
        if opened is not None:
            fd, remote = opened.fd, format_addr(*opened.target)
        if fd is None:
            active = curl.getinfo(Info.ACTIVESOCKET)
            fd = active if active >= 0 else None  # CURL_SOCKET_BAD (-1): none
        if fd is not None:
            self.known_fds[local] = fd
        return f"fd {'?' if fd is None else fd}, {local} -> {remote}"
