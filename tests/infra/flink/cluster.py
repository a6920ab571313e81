"""A real Apache Flink session cluster (one JobManager, one TaskManager) of any version of versions.py, started
with `java` on loopback."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import json
import os
import pathlib
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from tests.infra.flink.versions import BY_VERSION, DISTRIBUTIONS, NEWEST, FlinkDistribution, distribution
from tests.infra.processes import die_with_parent, free_port
from tests.waiting import wait_for_sync

FLINK_VERSION = NEWEST.version
REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
JOBMANAGER_CLASS = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint"
TASKMANAGER_CLASS = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner"
BASH_JAVA_UTILS_CLASS = "org.apache.flink.runtime.util.bash.BashJavaUtils"
BASH_JAVA_UTILS_RESULT = "BASH_JAVA_UTILS_EXEC_RESULT:"
# How many clusters start at once on this machine, across processes (each start is a few CPU-heavy seconds of two
# JVMs; more at once on two cores made the RPC system's own 10 s start-up timeout expire).
START_SLOTS = int(os.environ.get("FLINK_MANAGER_FLINK_STARTS", "2"))


# The two processes of a session cluster: main class, and the BashJavaUtils command that sizes its memory.
ROLES = {
    "jobmanager": (JOBMANAGER_CLASS, "GET_JM_RESOURCE_PARAMS"),
    "taskmanager": (TASKMANAGER_CLASS, "GET_TM_RESOURCE_PARAMS"),
}


class FlinkNotInstalled(RuntimeError):
    """The Flink distribution is missing from the cache."""


class FlinkStartupError(RuntimeError):
    """The JobManager or TaskManager exited or did not become ready in time."""


def cache_dir() -> pathlib.Path:
    """The project's cache folder: $FLINK_MANAGER_CACHE, or .cache/ in the repository."""
    return pathlib.Path(os.environ.get("FLINK_MANAGER_CACHE") or REPO_ROOT / ".cache")


def flink_home(version: str = FLINK_VERSION) -> pathlib.Path:
    """The FLINK_HOME-like folder that tests/infra/flink/install.sh fills; raises FlinkNotInstalled if absent."""
    home = cache_dir() / f"flink-{version}"
    if not (home / ".installed").is_file():
        raise FlinkNotInstalled(
            f"Flink {version} is not installed in {home}: run `make infra-flink` "
            f"(or tests/infra/flink/install.sh {version}) first."
        )
    return home


def java_executable() -> str:
    """`java` from $JAVA_HOME, else from $PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (pathlib.Path(java_home) / "bin" / "java").is_file():
        return str(pathlib.Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise FlinkNotInstalled("`java` (17) is not on PATH and JAVA_HOME is not set")
    return found


def flink_classpath(home: pathlib.Path) -> str:
    """lib/*.jar in name order with flink-dist last, as Flink's bin/config.sh builds it."""
    jars = sorted((home / "lib").glob("*.jar"))
    dist = [jar for jar in jars if jar.name.startswith("flink-dist")]
    return os.pathsep.join(str(jar) for jar in [*(j for j in jars if j not in dist), *dist])


def default_java_options(home: pathlib.Path, config_file: str = "config.yaml") -> list[str]:
    """The distribution's `env.java.opts.all` (the --add-opens/--add-exports flags Flink needs on Java 17): nested
    in `config.yaml`, a flat key of `flink-conf.yaml`."""
    config = yaml.safe_load((home / "conf" / config_file).read_text())
    flat = config.get("env.java.opts.all")
    return shlex.split(flat if flat is not None else config["env"]["java"]["opts"]["all"])


def render_configuration(configuration: Mapping[str, Any], config_file: str) -> str:
    """The configuration file's text: `flink-conf.yaml` is one `key: value` per line, read literally (no YAML
    quoting); `config.yaml` is YAML, where flat dotted keys are accepted."""
    if config_file == "flink-conf.yaml":
        return "".join(f"{key}: {value}\n" for key, value in sorted(configuration.items()))
    return yaml.safe_dump(dict(configuration), sort_keys=True)


def resource_parameters(home: pathlib.Path, config_dir: pathlib.Path, command: str) -> tuple[list[str], list[str]]:
    """Run BashJavaUtils like bin/config.sh does: (JVM memory flags, `-D key=value` dynamic properties)."""
    classpath = os.pathsep.join(
        [str(home / "bin" / "bash-java-utils.jar"), str(next((home / "lib").glob("flink-dist-*.jar")))]
    )
    result = subprocess.run(
        [java_executable(), "-classpath", classpath, BASH_JAVA_UTILS_CLASS, command, "--configDir", str(config_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = [
        line.removeprefix(BASH_JAVA_UTILS_RESULT)
        for line in result.stdout.splitlines()
        if line.startswith(BASH_JAVA_UTILS_RESULT)
    ]
    if result.returncode != 0 or len(lines) != 2:
        raise FlinkStartupError(
            f"BashJavaUtils {command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return shlex.split(lines[0]), shlex.split(lines[1])


class RealFlinkCluster:
    """One JobManager and one TaskManager of a Flink version (default: the newest) on 127.0.0.1 with state under a
    temporary folder.

    `start()` blocks until `/overview` shows the TaskManager and its slots; `stop()` ends both processes.
    Logs are written to `log_dir` (under test-logs/), which `stop(keep_logs=False)` removes.
    """

    def __init__(
        self,
        *,
        slots: int = 4,
        jobmanager_memory: str = "1g",
        taskmanager_memory: str = "1536m",
        configuration: Mapping[str, Any] | None = None,
        home: pathlib.Path | None = None,
        logs_root: pathlib.Path | None = None,
        version: str = FLINK_VERSION,
    ) -> None:
        self.distribution: FlinkDistribution = distribution(version)
        self.version = self.distribution.version
        self.home = home or flink_home(self.version)
        self.slots = slots
        self.jobmanager_memory = jobmanager_memory
        self.taskmanager_memory = taskmanager_memory
        self.extra_configuration = dict(configuration or {})
        self.work_dir = pathlib.Path(tempfile.mkdtemp(prefix="real-flink-"))
        self.config_dir = self.work_dir / "conf"
        self.checkpoint_dir = self.work_dir / "checkpoints"
        self.savepoint_dir = self.work_dir / "savepoints"
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.log_dir = (
            logs_root or REPO_ROOT / "test-logs"
        ) / f"real-flink-{self.version}-{stamp}-{self.work_dir.name}"
        self.rest_port = free_port()
        self.rpc_port = free_port()
        self.rest_url = f"http://127.0.0.1:{self.rest_port}"
        self.startup_seconds: float | None = None
        self.queued_seconds = 0.0
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._dead_taskmanagers: set[str] = set()

    def configuration(self) -> dict[str, Any]:
        """The configuration both processes read (flat Flink keys; the checkpoint keys as this version names them)."""
        storage, checkpoints, savepoints = self.distribution.checkpoint_keys
        return {
            "jobmanager.bind-host": "127.0.0.1",
            "jobmanager.rpc.address": "127.0.0.1",
            "jobmanager.rpc.port": self.rpc_port,
            "jobmanager.memory.process.size": self.jobmanager_memory,
            "jobmanager.execution.failover-strategy": "region",
            "taskmanager.bind-host": "127.0.0.1",
            "taskmanager.host": "127.0.0.1",
            "taskmanager.resource-id": "taskmanager-0",
            "taskmanager.numberOfTaskSlots": self.slots,
            "taskmanager.memory.process.size": self.taskmanager_memory,
            "rest.address": "127.0.0.1",
            "rest.bind-address": "127.0.0.1",
            "rest.port": self.rest_port,
            "parallelism.default": 1,
            storage: "filesystem",
            checkpoints: self.checkpoint_dir.as_uri(),
            savepoints: self.savepoint_dir.as_uri(),
            "io.tmp.dirs": str(self.work_dir / "tmp"),
            "web.tmpdir": str(self.work_dir / "web"),
            "blob.storage.directory": str(self.work_dir / "blobs"),
            # The RPC system's start-up (default 10 s) on a busy machine: `akka.*` until 1.18, `pekko.*` after.
            "akka.startup-timeout": "60 s",
            "pekko.startup-timeout": "60 s",
            **self.extra_configuration,
        }

    def start(self, timeout: float = 180.0) -> None:
        """Start the JobManager and TaskManager and wait until the TaskManager has registered its slots.

        At most START_SLOTS clusters start at once on the machine (a lock file per slot in the cache); the time
        waited for a slot is `queued_seconds`, the start itself `startup_seconds`."""
        if self._processes:
            raise RuntimeError("this cluster is already started")
        queued = time.monotonic()
        with self._start_slot():
            self.queued_seconds = time.monotonic() - queued
            try:
                self._start(timeout)
            except FlinkStartupError as exc:
                # On a machine short of CPU a JVM's RPC system can time out while starting (seen on 2 cores under
                # load): one more try, on fresh ports, before giving up. The first try's logs are kept.
                print(
                    f"Flink {self.version} did not start ({str(exc).splitlines()[0]}); trying once more",
                    file=sys.stderr,
                )
                self.rest_port, self.rpc_port = free_port(), free_port()
                self.rest_url = f"http://127.0.0.1:{self.rest_port}"
                self.work_dir.mkdir(parents=True, exist_ok=True)
                self.log_dir = self.log_dir.with_name(self.log_dir.name + "-retry")
                self._start(timeout)

    @contextlib.contextmanager
    def _start_slot(self) -> Iterator[None]:
        cache_dir().mkdir(parents=True, exist_ok=True)
        index = [row.version for row in DISTRIBUTIONS].index(self.version) if self.version in BY_VERSION else 0
        with (cache_dir() / f"flink-start-{index % max(1, START_SLOTS)}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _start(self, timeout: float) -> None:
        began = time.monotonic()
        for folder in (self.config_dir, self.checkpoint_dir, self.savepoint_dir, self.log_dir, self.work_dir / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        config_file = self.distribution.config_file
        (self.config_dir / config_file).write_text(render_configuration(self.configuration(), config_file))
        try:
            self._launch("jobmanager", JOBMANAGER_CLASS, "GET_JM_RESOURCE_PARAMS")
            self._launch("taskmanager", TASKMANAGER_CLASS, "GET_TM_RESOURCE_PARAMS")
            overview = wait_for_sync(self._ready_or_exited, timeout=timeout, interval=0.2, what="Flink cluster ready")
            if overview.get("exited"):
                raise FlinkStartupError(f"the {overview['exited']} exited during start-up\n{self.log_tail()}")
        except BaseException:
            self.stop(keep_logs=True)
            raise
        self.startup_seconds = time.monotonic() - began

    def _launch(self, role: str, main_class: str, resource_command: str) -> None:
        jvm_memory, dynamic_properties = resource_parameters(self.home, self.config_dir, resource_command)
        log4j = self.home / "conf" / "log4j.properties"
        command = [
            java_executable(),
            *jvm_memory,
            *default_java_options(self.home, self.distribution.config_file),
            f"-Dlog.file={self.log_dir / f'{role}.log'}",
            f"-Dlog4j.configuration={log4j.as_uri()}",
            f"-Dlog4j.configurationFile={log4j.as_uri()}",
            "-classpath",
            flink_classpath(self.home),
            main_class,
            "--configDir",
            str(self.config_dir),
            *dynamic_properties,
        ]
        (self.log_dir / f"{role}.command").write_text(shlex.join(command) + "\n")
        with (self.log_dir / f"{role}.out").open("wb") as output:
            self._processes[role] = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
                env={**os.environ, "FLINK_HOME": str(self.home), "FLINK_PLUGINS_DIR": str(self.home / "plugins")},
                # prctl's death signal fires when the forking thread ends, so only tie it to the main thread.
                preexec_fn=die_with_parent if threading.current_thread() is threading.main_thread() else None,
            )

    # -- faults: the reliability tier's real-component scenarios (tests/reliability/real)

    def pid(self, role: str) -> int | None:
        """The process id of the `jobmanager` or `taskmanager`, None when it is not running."""
        process = self._processes.get(role)
        return process.pid if process is not None and process.poll() is None else None

    def kill(self, role: str) -> None:
        """`kill -9` the JobManager or the TaskManager: no shutdown hook runs, nothing is cleaned up."""
        if role == "taskmanager":  # restart() waits for a registration from another address than these
            self._dead_taskmanagers |= self.taskmanager_paths()
        process = self._processes.pop(role, None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def restart(self, role: str, timeout: float = 120.0) -> float:
        """Start a killed process again with the same configuration (same ports and folders) and wait until the
        cluster is whole again (the TaskManager registered with all its slots); returns the seconds it took.
        The logs of the earlier run are kept with a numbered suffix."""
        if role in self._processes:
            raise RuntimeError(f"the {role} is running")
        began = time.monotonic()
        for suffix in (".log", ".out"):
            log = self.log_dir / f"{role}{suffix}"
            if log.exists():
                runs = len(list(self.log_dir.glob(f"{role}{suffix}.*")))
                log.rename(log.with_name(f"{log.name}.{runs + 1}"))
        main_class, resource_command = ROLES[role]
        self._launch(role, main_class, resource_command)

        def whole_again() -> dict[str, Any] | None:
            overview = self._ready_or_exited()
            if overview is None or overview.get("exited"):
                return overview
            # The JobManager keeps a killed TaskManager registered until its heartbeat times out: wait for the new one.
            return overview if not self.taskmanager_paths() & self._dead_taskmanagers else None

        overview = wait_for_sync(
            whole_again, timeout=timeout, interval=0.2, what=f"Flink whole after the {role} restarted"
        )
        if overview.get("exited"):
            raise FlinkStartupError(f"the {overview['exited']} exited after its restart\n{self.log_tail()}")
        return time.monotonic() - began

    def taskmanager_paths(self) -> set[str]:
        """The RPC addresses of the TaskManagers the JobManager has registered (`GET /taskmanagers`)."""
        try:
            return {str(tm.get("path")) for tm in self.get_json("/taskmanagers").get("taskmanagers") or []}
        except OSError:
            return set()

    def _ready_or_exited(self) -> dict[str, Any] | None:
        for role, process in self._processes.items():
            if process.poll() is not None:
                return {"exited": role}
        overview = self.overview()
        if overview.get("taskmanagers") == 1 and overview.get("slots-total") == self.slots:
            return overview
        return None

    def overview(self, timeout: float = 5.0) -> dict[str, Any]:
        """GET /overview of this cluster."""
        return self.get_json("/overview", timeout=timeout)

    def get_json(self, path: str, timeout: float = 5.0) -> Any:
        """GET a path of the REST API and decode the JSON body (blocking; for fixtures and probes)."""
        with urllib.request.urlopen(self.rest_url + path, timeout=timeout) as response:
            return json.load(response)

    def is_running(self) -> bool:
        """Both processes are alive."""
        return bool(self._processes) and all(p.poll() is None for p in self._processes.values())

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of every log file, for error messages."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")) + sorted(self.log_dir.glob("*.out")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self, *, keep_logs: bool = False, timeout: float = 30.0) -> None:
        """SIGTERM both processes, SIGKILL what is left after `timeout`; remove the state and, unless kept, the logs."""
        for process in self._processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self._processes.values():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._processes.clear()
        shutil.rmtree(self.work_dir, ignore_errors=True)
        if keep_logs:
            print(f"Real Flink cluster logs kept in {self.log_dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self) -> RealFlinkCluster:
        self.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.stop(keep_logs=exc_type is not None)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.infra.flink.cluster`: start a cluster and keep it until Ctrl-C."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument(
        "--flink-version", default=FLINK_VERSION, help=f"a version of versions.py (default {FLINK_VERSION})"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the log folder after Ctrl-C")
    args = parser.parse_args(argv)
    # Also stop cleanly on SIGTERM, and on SIGINT when started in the background (where SIGINT is ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    cluster = RealFlinkCluster(slots=args.slots, version=args.flink_version)
    print(f"Starting Flink {cluster.version}; logs in {cluster.log_dir}", flush=True)
    cluster.start()
    print(
        f"Flink {cluster.version} is up in {cluster.startup_seconds:.1f}s\n"
        f"  REST:        {cluster.rest_url}\n"
        f"  savepoints:  {cluster.savepoint_dir}\n"
        f"  checkpoints: {cluster.checkpoint_dir}\n"
        f"  logs:        {cluster.log_dir}\n"
        "Ctrl-C stops it.",
        flush=True,
    )
    try:
        while cluster.is_running():
            time.sleep(1)  # an interactive foreground loop, not test synchronisation
        print("A Flink process exited:\n" + cluster.log_tail(), file=sys.stderr)
        cluster.stop(keep_logs=True)
        return 1
    except KeyboardInterrupt:
        cluster.stop(keep_logs=args.keep_logs)
        return 0


if __name__ == "__main__":
    sys.exit(main())
