"""What every subcommand shares: the error users can fix, argument types, the exit statuses."""

from __future__ import annotations

import argparse

PROG = "flink-manager"


class CliError(Exception):
    """A problem the user can fix; printed as one line on stderr, exit status 1."""


def require_dev_package(command: str) -> None:
    """`dev` and `simulate` run the fakes of the `flink-manager-dev` distribution, which the operator's image does
    not install."""
    try:
        import flink_manager_dev  # noqa: F401
    except ImportError:
        raise CliError(
            f"`flink-manager {command}` needs the flink-manager-dev package: `make install` in a Flink "
            "Manager checkout installs it (or `pip install ./devstack`)"
        ) from None


def positive_int(value: str) -> int:
    """An argparse type: an integer of at least 1."""
    number = non_negative_int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def non_negative_int(value: str) -> int:
    """An argparse type: an integer of at least 0."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, not {number}")
    return number


def port(value: str) -> int:
    """An argparse type: a TCP port, 0 meaning any free one."""
    number = non_negative_int(value)
    if number > 65535:
        raise argparse.ArgumentTypeError(f"{number} is not a TCP port (0-65535)")
    return number


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Help text as written (examples keep their lines), with an option's default when it has a telling one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            default in (None, False, [], "", argparse.SUPPRESS)
            or "default" in text
            or action.option_strings == []
            or "%(default)" in text
        ):
            return text
        return f"{text} (default: %(default)s)"
