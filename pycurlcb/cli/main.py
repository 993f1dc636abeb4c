"""``main()``: parse the command line, run one transfer or several, print, exit status.

Every failure ends in one line on stderr, ``pycurlcb: (CODE) what happened``,
and exit status CODE (failure.py lists them).  The timeline goes to stdout
(to stderr with ``-o -``); the progress line, on a terminal, to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Optional, TextIO, Union

from .args import build_parser
from .failure import INTERRUPTED, USAGE, Failure, report, report_failure
from .output import FileOutput, StreamOutput
from .parallel import make_batch, run_batch
from .policy import SocketPolicy
from .progress import ProgressMeter
from .report import print_header, print_transfer
from .server import EmbeddedServer
from .transfer import Transfer, TransferOptions
from .version import version_text

EMBEDDED = " (embedded server)"


def options_from(args: argparse.Namespace, embedded: bool) -> TransferOptions:
    policy = SocketPolicy(
        deny_private=args.deny_private,
        rewrite=args.rewrite_address or (),
        interface=args.interface,
        keepalive=args.keepalive,
        nodelay=args.nodelay,
    )
    return TransferOptions(
        policy=policy,
        connect_to=tuple(args.connect_to),
        fail=args.fail,
        connect_timeout=args.connect_timeout,
        max_time=args.max_time,
        verbose=args.verbose,
        no_proxy=embedded,
    )


def _meter(args: argparse.Namespace, transfers: int) -> Optional[ProgressMeter]:
    """A ProgressMeter on stderr if stderr is a terminal and it is not turned off."""
    if args.no_progress_meter or not sys.stderr.isatty():
        return None
    return ProgressMeter(sys.stderr, transfers)


@contextlib.contextmanager
def _noting_ctrl_c(transfer: Transfer) -> Iterator[None]:
    """Note on ``transfer`` when SIGINT comes, then raise KeyboardInterrupt as Python does.

    Only if Python's own handler is in place (a SIGINT the shell ignores stays ignored).
    """
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def on_sigint(signum: int, frame: Optional[FrameType]) -> None:
        transfer.interrupted_ms = transfer.timeline.now()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run_one(args: argparse.Namespace, url: str, options: TransferOptions, where: str) -> int:
    """One transfer of ``url``; returns the exit status."""
    out: TextIO = sys.stderr if args.output == "-" else sys.stdout
    output: Union[FileOutput, StreamOutput, None] = None
    if args.output == "-":
        output = StreamOutput(sys.stdout.buffer, "stdout")
    elif args.output is not None:
        output = FileOutput(args.output)
        try:
            output.open()
        except Failure as failure:
            return report_failure(failure)
    if not args.summary:
        print_header(url + where, out)
    meter = _meter(args, 1)
    transfer = Transfer(url, options, output, progress=None if meter is None else meter.callback(0))
    try:
        with _noting_ctrl_c(transfer):
            result = transfer.run()
    except KeyboardInterrupt:
        if meter is not None:
            meter.clear()
        print_transfer(transfer, out, timeline=not args.summary)
        report(f"({INTERRUPTED}) interrupted")
        return INTERRUPTED
    if meter is not None:
        meter.clear()
    print_transfer(transfer, out, timeline=not args.summary)
    if result.failure is not None:
        return report_failure(result.failure)
    return 0


def run_many(args: argparse.Namespace, urls: list[str], options: TransferOptions, where: str) -> int:
    """Several transfers on one AsyncCurlMulti (parallel.py); returns the exit status:
    the first failed transfer's, in URL order."""
    limit = args.parallel or len(urls)
    if not args.summary:
        print_header(f"{len(urls)} URLs, at most {limit} at a time{where}", sys.stdout)
    meter = _meter(args, len(urls))
    batch = make_batch(urls, options, limit, meter)
    try:
        asyncio.run(run_batch(batch, meter))
    except KeyboardInterrupt:  # SIGINT outside run_batch's own handler
        batch.interrupted = True
    if meter is not None:
        meter.clear()
    code = 0
    for n, transfer in enumerate(batch.transfers, 1):
        if not args.summary:
            print(f"[{n}] {transfer.url}")
            print_transfer(transfer, sys.stdout)
        failure = transfer.result.failure
        if failure is not None:
            status = report_failure(failure, prefix=f"[{n}] ")
            code = code or status
    print(batch.summary(), flush=True)
    if batch.interrupted:
        report(f"({INTERRUPTED}) interrupted")
        return INTERRUPTED
    return code


def _run(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        urls, where = list(args.urls), ""
        if not urls:
            server = stack.enter_context(EmbeddedServer())
            where = EMBEDDED
            n = args.parallel or 1
            urls = [server.url] if n == 1 else [f"{server.url}p{i}" for i in range(1, n + 1)]
        options = options_from(args, embedded=bool(where))
        if len(urls) > 1 or args.parallel is not None:
            if args.output is not None:
                report(f"({USAGE}) -o takes a single URL")
                return USAGE
            return run_many(args, urls, options, where)
        return run_one(args, urls[0], options, where)


def _stdout_gone() -> int:
    """stdout was closed under us (``| head``): be quiet, as curl, status 23."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's final flush must not fail again
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 23  # CURLE_WRITE_ERROR


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command; returns the exit status (see failure.py)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already reported
        return exc.code if isinstance(exc.code, int) else USAGE
    try:
        if args.version:
            print(version_text())
            return 0
        return _run(args)
    except KeyboardInterrupt:  # before or after a transfer: nothing to show
        report(f"({INTERRUPTED}) interrupted")
        return INTERRUPTED
    except BrokenPipeError:
        return _stdout_gone()
