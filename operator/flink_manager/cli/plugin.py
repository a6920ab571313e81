"""`kubectl flinkmanager`: the Execution commands of `flink-manager` (start, stop, resume, restart, savepoint,
history, status) as a kubectl plugin. kubectl runs the `kubectl-flinkmanager` program on $PATH with the words
after `flinkmanager`; the plugin takes kubectl's --kubeconfig, --context and -n/--namespace (and $KUBECONFIG)
wherever they stand, before or after the command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flink_manager.cli import dispatch, executions

PROG = "kubectl flinkmanager"
# kubectl's flags that select the cluster and namespace: each takes a value.
KUBECTL_FLAGS = ("--kubeconfig", "--context", "--namespace", "-n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Start, stop, restart and savepoint Flink jobs run by Flink Manager, and read an "
        "Execution's history, as kubectl subcommands.",
        epilog="Each command takes kubectl's --kubeconfig, --context and -n/--namespace; "
        "`kubectl flinkmanager COMMAND --help` explains it.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    executions.add_parsers(commands)
    return parser


def commands_of(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:  # noqa: SLF001 - argparse keeps its subcommands only there
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return set(action.choices)
    return set()


def kubectl_flags_last(argv: Sequence[str], commands: set[str]) -> list[str]:
    """Move kubectl's flags that come before the command (`-n team-a history NAME`) after it, where each command
    takes them; everything else keeps its order."""
    leading: list[str] = []
    index = 0
    while index < len(argv) and argv[index] not in commands:
        word = argv[index]
        name = word.split("=", 1)[0] if word.startswith("--") else word[:2]
        if name not in KUBECTL_FLAGS:
            return list(argv)  # not something to move: let argparse say what is wrong
        attached = "=" in word or (name == "-n" and len(word) > 2)
        leading.extend(argv[index : index + (1 if attached else 2)])
        index += 1 if attached else 2
    if index >= len(argv):
        return list(argv)
    return [argv[index], *argv[index + 1 :], *leading]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `kubectl-flinkmanager` program."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    return dispatch(parser, kubectl_flags_last(words, commands_of(parser)), PROG)


if __name__ == "__main__":
    sys.exit(main())
