"""``evalroom verify FILE.zip [--node-key KEY] [--allow-open] [--progress]``: check an archive.

Why a separate module: the CLI stays a thin shell over
:func:`server.auditlog.archive.verify_archive` (pure checks over one zip read), and
``server/app/cli.py`` only wires :func:`add_verify_parser`.
Exit status 0 only when every check holds, 1 otherwise, so scripts can gate on it. An archive of
a session that was not closed fails unless ``--allow-open``: a closed session's archive cut back to
an earlier checkpoint looks exactly like one, so only the close proves the archive is whole.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from server.auditlog.archive import verify_archive
from server.auditlog.verify import Report

BAR_WIDTH = 30


def add_verify_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``verify`` sub-command to an argparse ``subparsers`` object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "verify", help="verify a session archive (evalroom-archive/1 zip) offline"
    )
    parser.add_argument("archive", metavar="FILE.zip", help="the session archive")
    parser.add_argument(
        "--node-key",
        default=None,
        help="the node's verifier key (name+keyid+key) to pin instead of trusting the manifest",
    )
    parser.add_argument(
        "--allow-open",
        action="store_true",
        help="accept an archive of a session that was not closed (it proves the log only up to "
        "its last checkpoint); without it such an archive fails",
    )
    parser.add_argument(
        "--progress", action="store_true", help="show a progress bar even when stderr is no tty"
    )
    parser.set_defaults(func=run_verify)
    return parser


class ProgressBar:
    """A one-line progress bar on a text stream, redrawn in place at most 10 times a second."""

    def __init__(self, stream: TextIO) -> None:
        """Draw on ``stream`` (normally stderr)."""
        self.stream = stream
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        """Report ``done`` of ``total`` events (``total`` may be 0 when unknown)."""
        now = time.monotonic()
        if now - self.last < 0.1 and done != total:
            return
        self.last = now
        if total > 0:
            filled = min(BAR_WIDTH, BAR_WIDTH * done // total)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            text = f"\rverifying [{bar}] {done:,}/{total:,} events"
        else:
            text = f"\rverifying {done:,} events"
        self.stream.write(text)
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        """End the bar's line so later output starts on a fresh one."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def print_report(report: Report, out: TextIO) -> None:
    """One ``FAIL kind item: message`` line per problem, what the archive proves (``NOTE``), then
    a summary line."""
    for problem in report.problems:
        out.write(f"FAIL {problem.kind} {problem.item}: {problem.message}\n")
    for kind, count in sorted(report.omitted.items()):
        out.write(f"FAIL {kind} (more): {count} further {kind} problems not listed\n")
    for statement in report.statements:
        out.write(f"NOTE {statement}\n")
    checked = ", ".join(f"{count:,} {what}" for what, count in sorted(report.counts.items()))
    failed = len(report.problems) + sum(report.omitted.values())
    verdict = "OK" if report.ok else f"FAILED: {failed} problems"
    out.write(f"{verdict} (checked {checked or 'nothing'})\n")


def run_verify(args: argparse.Namespace) -> int:
    """Handler of ``evalroom verify``: 0 when the archive verifies, 1 otherwise."""
    show = bool(args.progress) or sys.stderr.isatty()
    bar = ProgressBar(sys.stderr) if show else None
    try:
        report = verify_archive(
            args.archive, node_key=args.node_key, progress=bar, allow_open=args.allow_open
        )
    finally:
        if bar is not None:
            bar.finish()
    print_report(report, sys.stdout)
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    """Run ``verify`` alone (``python -m server.app.verify_cli FILE.zip``): tests, scripts."""
    parser = argparse.ArgumentParser(prog="evalroom")
    add_verify_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["verify", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
