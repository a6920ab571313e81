"""`flink-manager`: the command line. One module per subcommand; errors are printed as one line on stderr."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from flink_manager import __version__
from flink_manager.cli import artifact, dev, executions, run, simulate, validate
from flink_manager.cli.common import PROG, CliError

__all__ = ["CliError", "build_parser", "dispatch", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one subparser per subcommand, each bound to its function."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run Apache Flink jobs on Flink session clusters from Kubernetes resources.",
        epilog="Start with `flink-manager dev`; `flink-manager COMMAND --help` explains each command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run.add_parser(commands)
    dev.add_parser(commands)
    validate.add_parser(commands)
    artifact.add_parser(commands)
    executions.add_parsers(commands)
    simulate.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `flink-manager` command."""
    return dispatch(build_parser(), argv, PROG)


def dispatch(parser: argparse.ArgumentParser, argv: Sequence[str] | None, prog: str) -> int:
    """Parse the arguments and run the command's handler; errors become one line on stderr and an exit status."""
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    label = getattr(args, "label", None) or args.command
    try:
        return handler(args)
    except CliError as exc:
        print(f"{prog} {label}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, still one line (FLINK_MANAGER_DEBUG=1 shows the traceback)
        if os.environ.get("FLINK_MANAGER_DEBUG"):
            raise
        print(
            f"{prog} {label}: error: {type(exc).__name__}: {exc} (FLINK_MANAGER_DEBUG=1 shows where)", file=sys.stderr
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
