"""The command surface: every subcommand explains itself; mistakes are one line on stderr with a non-zero exit;
`run`'s settings come from flags over FLINK_MANAGER_* variables; the packaged CRDs are the repository's."""

from __future__ import annotations

import pathlib
import socket

import pytest
import yaml

from flink_manager.cli import build_parser, main
from flink_manager.cli.executions import HISTORY_COLUMNS, format_table, history_rows
from flink_manager.cli.run import priority_from, settings_from
from flink_manager.schema.packaged import crd_directory, crd_documents
from flink_manager.settings import Settings

REPO = pathlib.Path(__file__).resolve().parents[3]
COMMANDS = [
    "run",
    "dev",
    "validate",
    "artifact",
    "artifact manifest",
    "start",
    "stop",
    "resume",
    "restart",
    "savepoint",
    "history",
    "status",
    "simulate",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command.split(), "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert out.startswith(f"usage: flink-manager {command}")
    assert len(out.splitlines()) > 5


def _unreachable_kubeconfig(tmp_path: pathlib.Path) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "current-context": "x",
                "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
                "clusters": [{"name": "x", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "x"}],
            }
        )
    )
    return str(path)


MISTAKES = [
    (
        "no kubeconfig file",
        ["stop", "run-1", "--kubeconfig", "{tmp}/missing"],
        "flink-manager stop: error: kubeconfig {tmp}/missing does not exist",
    ),
    (
        "an API server that does not answer",
        ["history", "run-1", "--kubeconfig", "{unreachable}"],
        "flink-manager history: error: cannot reach the Kubernetes API at http://127.0.0.1:",
    ),
    (
        "standalone and peering together",
        ["run", "--standalone", "--peering", "x", "--kubeconfig", "{unreachable}"],
        "flink-manager run: error: --standalone and --peering exclude each other",
    ),
    (
        "an examples folder that is not there",
        ["dev", "--examples", "{tmp}/none"],
        "flink-manager dev: error: --examples {tmp}/none: no such folder",
    ),
    (
        "a JAR to serve that is not there",
        ["dev", "--jar", "{tmp}/none.jar", "--examples", "{tmp}"],
        "flink-manager dev: error: --jar {tmp}/none.jar: no such file",
    ),
]


@pytest.mark.parametrize(("argv", "message"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_mistake_is_one_line_and_a_non_zero_exit(
    argv: list[str],
    message: str,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    unreachable = _unreachable_kubeconfig(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{unreachable}", unreachable) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(message.replace("{tmp}", str(tmp_path)))


def test_a_bad_setting_in_the_environment(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLINK_MANAGER_HISTORY_LIMIT", "many")
    assert main(["run", "--kubeconfig", _unreachable_kubeconfig(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "flink-manager run: error: FLINK_MANAGER_HISTORY_LIMIT='many' is not a valid int\n"
    )


def test_run_settings_flags_win_over_variables() -> None:
    env = {
        "FLINK_MANAGER_HISTORY_LIMIT": "20",
        "FLINK_MANAGER_WORKERS": "4",
        "FLINK_MANAGER_NAMESPACES": "a,b",
        "FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS": "true",
    }
    args = build_parser().parse_args(
        [
            "run",
            "--history-limit",
            "7",
            "-n",
            "x",
            "--namespace",
            "y",
            "--metrics-port",
            "9090",
            "--no-allow-insecure-artifacts",
        ]
    )
    settings = settings_from(args, env)
    assert (
        settings.history_limit,
        settings.workers,
        settings.namespaces,
        settings.metrics_port,
        settings.allow_insecure_artifacts,
    ) == (7, 4, ("x", "y"), 9090, False)
    assert settings_from(build_parser().parse_args(["run"]), env).namespaces == ("a", "b")
    assert settings_from(build_parser().parse_args(["run"]), {}) == Settings()


def test_run_has_a_flag_for_every_setting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for field in Settings.model_fields:
        flag = "--namespace" if field == "namespaces" else "--" + field.replace("_", "-")
        assert flag in out, flag


def test_priority_from_the_flag_or_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLINK_MANAGER_PRIORITY", "5")
    assert priority_from(build_parser().parse_args(["run"])) == 5
    assert priority_from(build_parser().parse_args(["run", "--priority", "9"])) == 9
    monkeypatch.delenv("FLINK_MANAGER_PRIORITY")
    assert priority_from(build_parser().parse_args(["run"])) == 0


def test_history_table() -> None:
    history = [
        {
            "seq": 2,
            "action": "STOP",
            "performedBy": "kubectl-patch",
            "performedAt": "2026-01-05T10:01:00Z",
            "oldStatus": "Running",
            "newStatus": "Stopped",
            "flinkJobId": "a" * 32,
            "details": {"attempt": 1, "savepointPath": "file:/sp/savepoint-1"},
        },
        {
            "seq": 1,
            "action": "START",
            "performedBy": "flink-manager-cli",
            "performedAt": "2026-01-05T10:00:00Z",
            "newStatus": "Running",
            "flinkJobId": "a" * 32,
            "details": {"attempt": 1},
        },
    ]
    assert format_table(HISTORY_COLUMNS, history_rows(history)).splitlines() == [
        "SEQ   ACTION   BY                  AT                     FROM → TO           FLINK JOB"
        "                          DETAILS",
        f"1     START    flink-manager-cli   2026-01-05T10:00:00Z   - → Running         {'a' * 32}   attempt=1",
        f"2     STOP     kubectl-patch       2026-01-05T10:01:00Z   Running → Stopped   {'a' * 32}   "
        "attempt=1, savepointPath=file:/sp/savepoint-1",
    ]


def test_the_packaged_crds_are_the_repositorys() -> None:
    packaged = {p.name: p.read_bytes() for p in crd_directory().glob("*.yaml")}
    assert packaged == {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    assert sorted(d["spec"]["names"]["kind"] for d in crd_documents()) == [
        "Artifact",
        "Execution",
        "FlinkCluster",
        "JobSpec",
    ]
