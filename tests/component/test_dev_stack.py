"""`flink-manager dev` as a user meets it: a subprocess driven with the project-built kubectl and the CLI.

- the README's tour, command for command, against a running `dev`;
- the README's other commands (validate, artifact manifest, install) against the same API;
- the CLI's Execution commands, with the history and Events they leave;
- start-up to a Running quickstart job, and a clean exit on SIGTERM with a watch open.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.infra.jobjar import example_job_jar
from tests.waiting import wait_for_sync

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_BIN = pathlib.Path(sys.executable).parent
FLINK_MANAGER = str(VENV_BIN / "flink-manager")
QUICKSTART_EXECUTION = "stateful-counter-1"


def kubectl_bin() -> pathlib.Path:
    from tests.infra.kube.controlplane import KubeNotBuilt, binaries_dir

    try:
        return binaries_dir() / "kubectl"
    except KubeNotBuilt as exc:
        pytest.fail(f"these tests drive `dev` with the project-built kubectl: {exc}")


class DevProcess:
    """`flink-manager dev` in a subprocess, in its own folder, on free ports."""

    def __init__(self, workdir: pathlib.Path, *extra: str) -> None:
        self.workdir = workdir
        self.kubeconfig = workdir / ".flink-manager" / "kubeconfig"
        self.lines: list[str] = []
        self.started = time.monotonic()
        self.stderr = (workdir / "dev.stderr").open("w")
        self.process = subprocess.Popen(
            [FLINK_MANAGER, "dev", "--api-port", "0", "--flink-port", "0", "--s3-port", "0", *extra],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env={**os.environ, "FLINK_MANAGER_CACHE": str(example_job_jar().parents[2])},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        def find() -> re.Match[str] | None:
            if self.process.poll() is not None and not self._reader.is_alive():
                raise AssertionError(f"dev exited ({self.process.returncode}): {self.log()}")
            return next((m for line in self.lines if (m := re.search(pattern, line))), None)

        return wait_for_sync(find, timeout=timeout, interval=0.05, what=f"dev to print {pattern!r}")

    def log(self) -> str:
        return "\n".join(self.lines) + "\n--- stderr ---\n" + (self.workdir / "dev.stderr").read_text()[-4000:]

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(VENV_BIN), str(kubectl_bin().parent), os.environ.get("PATH", "")])
        return {
            **os.environ,
            "PATH": path,
            "KUBECONFIG": str(self.kubeconfig),
            "KUBECACHEDIR": str(self.workdir / "kubectl-cache"),
        }

    def kubectl(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [str(kubectl_bin()), "--kubeconfig", str(self.kubeconfig), *args],
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def cli(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run(
            [FLINK_MANAGER, *args, "--kubeconfig", str(self.kubeconfig)],
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"flink-manager {' '.join(args)}: {result.stdout}{result.stderr}"
        return result.stdout

    def phase(self, name: str) -> str:
        return self.kubectl("get", "fex", name, "-o", "jsonpath={.status.phase}")

    def terminate(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                wait_for_sync(lambda: self.process.poll() is not None, timeout=timeout, what="dev to exit")
            finally:
                if self.process.poll() is None:
                    self.process.kill()
                    self.process.wait(10)
        self._reader.join(10)
        self.stderr.close()
        return self.process.returncode


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevProcess]:
    """One `dev` for the tests that each use objects of their own; stopped at the end of the module."""
    workdir = tmp_path_factory.mktemp("dev")
    (workdir / ".venv").symlink_to(REPO / ".venv")  # the tour's `export PATH=$PWD/.venv/bin:$PATH`
    (workdir / ".cache").symlink_to(example_job_jar().parents[2])  # the JAR the tour pushes
    process = DevProcess(workdir)
    try:
        process.wait_line(rf"Execution {QUICKSTART_EXECUTION} is Running")
        yield process
    finally:
        assert process.terminate() == 0, process.log()


# ------------------------------------------------------------------------------------------------ the README


def readme_blocks() -> list[str]:
    """The ```sh blocks of README.md, in order."""
    return re.findall(r"```sh\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def test_the_readme_names_exactly_two_set_up_commands_and_make_dev_is_flink_manager_dev() -> None:
    setup = readme_blocks()[0]
    assert [line.split("#")[0].strip() for line in setup.strip().splitlines()] == ["make dev", "make test"]
    commands = [line.split("#")[0].strip() for block in readme_blocks() for line in block.splitlines()]
    assert {c for c in commands if c.startswith("make ")} == {"make dev", "make test"}
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^dev:(.*)\n\t(.*)$", makefile, flags=re.M)
    assert recipe is not None and "infra-job" in recipe.group(1) and recipe.group(2) == "$(BIN)/flink-manager dev"


def run_block(dev: DevProcess, block: str, cwd: pathlib.Path) -> str:
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block],
        cwd=cwd,
        env=dev.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"README block failed ({result.returncode}):\n{block}\n{result.stdout}{result.stderr}"
    )
    return result.stdout


def test_the_readme_tour(dev: DevProcess) -> None:
    blocks = readme_blocks()
    tour_start = blocks.index("make dev\n")  # terminal 1: what the `dev` fixture runs
    watch_block, commands_block = blocks[tour_start + 1], blocks[tour_start + 2]
    assert watch_block.strip().endswith("get fex -w")
    watch_log = (dev.workdir / "watch.log").open("w")
    watch = subprocess.Popen(
        ["bash", "-c", watch_block],
        cwd=dev.workdir,
        env=dev.env(),
        stdout=watch_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out = run_block(dev, commands_block, dev.workdir)
        wait_for_sync(
            lambda: "Stopped" in (dev.workdir / "watch.log").read_text(),
            timeout=10,
            what="the watch to show the Execution Stopped",
        )
    finally:
        os.killpg(watch.pid, signal.SIGTERM)
        watch.wait(10)
        watch_log.close()
    assert re.search(
        rf"^{QUICKSTART_EXECUTION} +stateful-counter +Running +Running +[0-9a-f]{{32}} +True",
        (dev.workdir / "watch.log").read_text(),
        flags=re.M,
    )
    savepoint = next(line for line in out.splitlines() if line.startswith("file:"))
    assert "savepoints/savepoint-" in savepoint
    rows = [line.split()[:3] for line in out.splitlines() if re.match(r"^\d+ +[A-Z]+ ", line)]
    assert rows[:5] == [
        ["1", "START", "flink-manager-dev"],
        ["2", "STOP", "kubectl-patch"],
        ["3", "START", "kubectl-patch"],
        ["4", "RESTART", "kubectl-patch"],
        ["5", "SAVEPOINT", "flink-manager-cli"],
    ]  # the table
    assert rows[5:] == [[r[0], r[1], r[2]] for r in rows[:5]]  # the jsonpath range prints the same entries
    events = out.split("Events:", 1)[1]
    for reason in ("Start", "Stop", "Restart", "Savepoint"):
        assert re.search(rf"Normal +{reason} ", events), reason
    status = json.loads(dev.kubectl("get", "fex", QUICKSTART_EXECUTION, "-o", "json"))["status"]
    assert status["phase"] == "Running" and status["attempt"] == 3
    assert status["history"][2]["details"]["restoredFrom"] == savepoint  # resumed from the stop's savepoint


def test_the_readme_push_tour(dev: DevProcess) -> None:
    """`artifact push` to the dev bucket, `kubectl apply` of what it printed, and an Execution of the pushed JAR.
    The README's endpoint is dev's default port; this `dev` listens on a free one."""
    endpoint = dev.wait_line(r"^S3 (http://[0-9.]+:[0-9]+): bucket jars").group(1)
    block = next(b for b in readme_blocks() if "flink-manager artifact push" in b)
    assert "http://127.0.0.1:9000" in block
    out = run_block(dev, block.replace("http://127.0.0.1:9000", endpoint), dev.workdir)
    assert "artifact.flinkmanager.io/counter created" in out
    assert re.search(r"execution.flinkmanager.io/counter-1 Running \(Flink job [0-9a-f]{32}\)", out)
    artifact = json.loads(dev.kubectl("get", "fa", "counter", "-o", "json"))
    assert artifact["status"]["resolved"]["url"] == "s3://jars/counter/0.1.0/counter.jar"
    assert artifact["status"]["sha256"] == hashlib.sha256(example_job_jar().read_bytes()).hexdigest()
    assert artifact["spec"]["credentialsSecretRef"] == {"name": "dev-s3"}
    assert [u["cluster"] for u in artifact["status"]["uploads"]] == ["default"]


def test_the_readmes_other_commands(dev: DevProcess) -> None:
    """Validate, artifact manifest and the production install (against this API); `docker build` excepted."""
    blocks = readme_blocks()
    checks = next(b for b in blocks if "flink-manager validate examples/" in b)
    out = run_block(dev, checks, REPO)
    assert out.count("valid: ") == 2 and "kind: Artifact" in out
    install = next(b for b in blocks if "kubectl apply -k deploy/" in b)
    runnable = "\n".join(line for line in install.splitlines() if not line.startswith("docker "))
    run_block(dev, runnable, REPO)
    deployment = json.loads(dev.kubectl("-n", "flink-manager", "get", "deployment", "flink-manager", "-o", "json"))
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"][0] == "run"


# ------------------------------------------------------------------------------------------------ the CLI


def test_execution_commands_and_the_history_and_events_they_leave(dev: DevProcess) -> None:
    name = "cli-run"
    assert re.fullmatch(
        rf"execution.flinkmanager.io/{name} created\n"
        rf"execution.flinkmanager.io/{name} Running \(Flink job [0-9a-f]{{32}}\)\n",
        dev.cli("start", "stateful-counter", "--name", name, "--wait"),
    )
    status = dev.cli("status", name)
    assert re.search(r"^Phase: +Running", status, flags=re.M) and re.search(r"^Ready: +True", status, flags=re.M)
    taken = re.search(r"^savepoint (file:\S+)$", dev.cli("savepoint", name, "--wait"), flags=re.M)
    assert taken is not None
    stopped = re.search(r"Stopped \(savepoint (file:\S+)\)", dev.cli("stop", name, "--wait"))
    assert stopped is not None and dev.phase(name) == "Stopped"
    assert f"from {stopped.group(1)}" in dev.cli("resume", name, "--wait")
    assert "Running (attempt 3" in dev.cli("restart", name, "--wait")
    assert dev.cli("stop", name, "--cancel", "--wait").splitlines()[-1] == f"execution.flinkmanager.io/{name} Cancelled"

    table = dev.cli("history", name).splitlines()
    assert table[0].split() == ["SEQ", "ACTION", "BY", "AT", "FROM", "→", "TO", "FLINK", "JOB", "DETAILS"]
    assert [row.split()[1:3] for row in table[1:]] == [
        ["START", "flink-manager-cli"],
        ["SAVEPOINT", "flink-manager-cli"],
        ["STOP", "flink-manager-cli"],
        ["START", "flink-manager-cli"],
        ["RESTART", "flink-manager-cli"],
        ["CANCEL", "flink-manager-cli"],
    ]
    assert f"savepointPath={taken.group(1)}" in table[2]
    history = json.loads(dev.cli("history", name, "-o", "json"))

    # One Event per history entry, in order, saying the same (what `kubectl describe` shows).
    events = [
        e
        for e in json.loads(dev.kubectl("get", "events", "-o", "json"))["items"]
        if e["involvedObject"]["name"] == name
    ]
    events.sort(key=lambda e: int(e["metadata"]["name"].rsplit(".h", 1)[1]))
    assert [(e["reason"], e["type"]) for e in events] == [(entry["action"].capitalize(), "Normal") for entry in history]
    assert all("by flink-manager-cli" in e["message"] for e in events)
    described = dev.kubectl("describe", "fex", name)
    assert described.count(" by flink-manager-cli ") == len(history)


def test_cli_errors_against_the_dev_stack(dev: DevProcess) -> None:
    result = subprocess.run(
        [FLINK_MANAGER, "restart", "no-such-run", "--kubeconfig", str(dev.kubeconfig)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "flink-manager restart: error: Execution 'no-such-run' not found in namespace 'default'\n"


# ------------------------------------------------------------------------------------------------ life cycle


def test_start_to_running_and_a_clean_exit_on_sigterm(tmp_path: pathlib.Path) -> None:
    process = DevProcess(tmp_path)
    try:
        wait_for_sync(lambda: process.kubeconfig.exists(), timeout=60, what="the kubeconfig")
        wait_for_sync(
            lambda: process.phase(QUICKSTART_EXECUTION) == "Running",
            timeout=60,
            interval=0.05,
            what="the quickstart Execution to be Running",
        )
        seen_running = time.monotonic() - process.started
        reported = float(process.wait_line(r"is Running, ([0-9.]+)s after start").group(1))
        print(
            f"\nflink-manager dev: quickstart Execution Running {seen_running:.2f}s after the process started "
            f"(kubectl); dev reports {reported:.2f}s after its start"
        )
        api_port = int(
            re.search(
                r":(\d+)$", process.kubectl("config", "view", "-o", "jsonpath={.clusters[0].cluster.server}")
            ).group(1)
        )
        watch_log = tmp_path / "watch.log"
        with watch_log.open("w") as sink:
            watch = subprocess.Popen(
                [str(kubectl_bin()), "--kubeconfig", str(process.kubeconfig), "get", "fex", "-w"],
                env=process.env(),
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        wait_for_sync(
            lambda: QUICKSTART_EXECUTION in watch_log.read_text(), timeout=30, what="the watch to list the Execution"
        )
        signalled = time.monotonic()
        assert process.terminate(timeout=20) == 0, process.log()
        print(f"flink-manager dev: exited {time.monotonic() - signalled:.2f}s after SIGTERM with a watch open")
        assert process.lines[-1].startswith("stopped after ")
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", api_port), timeout=2).close()
        try:
            watch.wait(30)  # the server went away: kubectl's watch ends
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.wait(10)
    finally:
        process.terminate()


def test_dev_answers_as_the_flink_version_it_is_given(tmp_path: pathlib.Path) -> None:
    process = DevProcess(tmp_path, "--flink-version", "1.18.1")
    try:
        process.wait_line(r"simulated Flink 1\.18\.1 http://")
        process.wait_line(rf"Execution {QUICKSTART_EXECUTION} is Running", timeout=120)
        assert process.kubectl("get", "fc", "default", "-o", "jsonpath={.status.flinkVersion}") == "1.18.1"
    finally:
        assert process.terminate() == 0, process.log()


def test_a_port_in_use_is_one_line(tmp_path: pathlib.Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [FLINK_MANAGER, "dev", "--api-port", str(port), "--no-examples"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(
        f"flink-manager dev: error: the Kubernetes API cannot listen on 127.0.0.1:{port}: "
    )
    assert "--api-port" in result.stderr


@pytest.mark.real_flink
def test_dev_with_a_real_flink(real_flink, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    """`--flink-url`: the quickstart runs on a real Flink 2.3 session cluster and stops with a real savepoint."""
    process = DevProcess(tmp_path, "--flink-url", real_flink.rest_url)
    try:
        process.wait_line(rf"Execution {QUICKSTART_EXECUTION} is Running", timeout=120)
        job_id = process.kubectl("get", "fex", QUICKSTART_EXECUTION, "-o", "jsonpath={.status.flinkJobId}")

        def state() -> str:  # /jobs/overview: Flink serves /jobs/{id} from a cache that lags (web.refresh-interval)
            return next(job["state"] for job in real_flink.get_json("/jobs/overview")["jobs"] if job["jid"] == job_id)

        assert state() == "RUNNING"
        stopped = process.cli("stop", QUICKSTART_EXECUTION, "--wait", timeout=180).splitlines()[-1]
        assert re.search(
            rf"Stopped \(savepoint file:/*{re.escape(str(real_flink.savepoint_dir))}/savepoint-\S+\)$", stopped
        ), stopped
        assert state() == "FINISHED"  # a stop with a savepoint
    finally:
        assert process.terminate() == 0, process.log()
