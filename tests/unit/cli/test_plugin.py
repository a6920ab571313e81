"""`kubectl flinkmanager`: the Execution commands of flink-manager (the same parsers and handlers), with kubectl's
flags accepted before or after the command. Driving it against a real kube-apiserver: tests/e2e/test_helm_install.py."""

from __future__ import annotations

import pathlib
import socket

import pytest
import yaml

from flink_manager.cli import executions
from flink_manager.cli.plugin import build_parser, commands_of, kubectl_flags_last, main

COMMANDS = {"start", "stop", "resume", "restart", "savepoint", "history", "status"}


def test_the_plugin_offers_exactly_the_execution_commands_of_flink_manager() -> None:
    parser = build_parser()
    assert commands_of(parser) == COMMANDS
    args = parser.parse_args(["savepoint", "counter", "--wait", "-n", "team-a", "--context", "prod"])
    assert args.handler is executions.savepoint_execution
    assert (args.execution, args.wait, args.namespace, args.context) == ("counter", True, "team-a", "prod")


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["history", "counter", "-n", "team-a"], ["history", "counter", "-n", "team-a"]),
        (["-n", "team-a", "history", "counter"], ["history", "counter", "-n", "team-a"]),
        (["-nteam-a", "history", "counter"], ["history", "counter", "-nteam-a"]),
        (
            ["--namespace=team-a", "--context", "prod", "savepoint", "counter", "--wait"],
            ["savepoint", "counter", "--wait", "--namespace=team-a", "--context", "prod"],
        ),
        (["--kubeconfig", "/k", "status", "counter"], ["status", "counter", "--kubeconfig", "/k"]),
        # Not kubectl's flags, or no command: left as they are, for argparse to explain.
        (["--output", "json", "history", "counter"], ["--output", "json", "history", "counter"]),
        (["-n", "team-a"], ["-n", "team-a"]),
    ],
    ids=["after", "before", "attached", "equals and two", "kubeconfig", "unknown flag", "no command"],
)
def test_kubectl_flags_before_the_command_move_after_it(words: list[str], expected: list[str]) -> None:
    assert kubectl_flags_last(words, COMMANDS) == expected


def test_errors_name_the_plugin(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "current-context": "x",
                "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
                "clusters": [{"name": "x", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "x"}],
            }
        )
    )
    assert main(["--kubeconfig", str(kubeconfig), "-n", "team-a", "history", "counter"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kubectl flinkmanager history: error: cannot reach the Kubernetes API"), err
