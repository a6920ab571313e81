"""The processes of a benchmark run: the embedded Kubernetes API, the simulated Flink and the operator, each its own
process (as they would be in production), so that the operator's RSS and CPU time are its own."""

from __future__ import annotations

import atexit
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import IO

REPO = pathlib.Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")
_STARTED: list[Process] = []  # stopped at exit whatever happened, so an interrupted run leaves no processes behind


@atexit.register
def stop_all() -> None:
    for process in _STARTED:
        process.stop(timeout=5.0)


def load_average() -> tuple[float, float, float]:
    """The machine's 1, 5 and 15 minute load averages (other work on the 2 shared cores shows here)."""
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def proc_status(pid: int, key: str) -> float:
    """A `VmRSS:`-like line of /proc/<pid>/status, in MiB."""
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    try:
        raw = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of stat)


@dataclass
class Process:
    """A child process with its log file; RSS and CPU read from /proc."""

    name: str
    popen: subprocess.Popen[str]
    log_path: pathlib.Path
    ready_line: str = ""
    _log: IO[str] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def rss_mb(self) -> float:
        return proc_status(self.pid, "VmRSS")

    def peak_rss_mb(self) -> float:
        return proc_status(self.pid, "VmHWM")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.returncode is None and self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        if self._log is not None:
            self._log.close()


def _spawn(
    name: str,
    args: list[str],
    logs: pathlib.Path,
    *,
    ready: re.Pattern[str] | None,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Process:
    """Start a process; with `ready`, wait for a stdout line that matches it (the rest of stdout goes to the log)."""
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    log = log_path.open("w")
    popen = subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        text=True,
        stdout=subprocess.PIPE if ready is not None else log,
        stderr=log,
        start_new_session=True,
    )
    process = Process(name, popen, log_path, _log=log)
    _STARTED.append(process)
    if ready is None:
        return process
    assert popen.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = popen.stdout.readline()
        if not line:
            break
        log.write(line)
        if ready.search(line):
            process.ready_line = line.strip()
            _drain(popen.stdout, log)
            return process
    process.stop()
    raise RuntimeError(f"{name} did not start: see {log_path}")


def _drain(stream: IO[str], log: IO[str]) -> None:
    """Copy the rest of a child's stdout to its log from a thread (so a full pipe never blocks the child)."""
    import threading

    def copy() -> None:
        for line in stream:
            log.write(line)
            log.flush()

    threading.Thread(target=copy, daemon=True).start()


URL = re.compile(r"(https?://[0-9.:]+)")


def start_kubeapi(workdir: pathlib.Path, logs: pathlib.Path) -> tuple[Process, str, pathlib.Path]:
    """`python -m flink_manager_dev.kubeapi` with the CRDs; returns the process, its URL and a kubeconfig."""
    kubeconfig = workdir / "kubeconfig"
    process = _spawn(
        "kubeapi",
        [
            sys.executable,
            "-m",
            "flink_manager_dev.kubeapi",
            "--crds",
            str(REPO / "crds"),
            "--kubeconfig",
            str(kubeconfig),
        ],
        logs,
        ready=re.compile(r"^ready "),
    )
    match = URL.search(process.ready_line)
    assert match is not None, process.ready_line
    return process, match.group(1), kubeconfig


def start_simulator(
    workdir: pathlib.Path, logs: pathlib.Path, *, slots: int, name: str = "simulator"
) -> tuple[Process, str]:
    """`flink-manager simulate` with the default (realistic) timings; returns the process and its REST URL."""
    process = _spawn(
        name,
        [
            sys.executable,
            "-m",
            "flink_manager.cli",
            "simulate",
            "--port",
            "0",
            "--slots",
            str(slots),
            "--seed",
            "7",
            "--timings",
            "real",
            "--savepoint-dir",
            f"file:{workdir}/savepoints",
            "--checkpoint-dir",
            f"file:{workdir}/checkpoints",
        ],
        logs,
        ready=re.compile(r"session cluster at "),
    )
    match = URL.search(process.ready_line)
    assert match is not None, process.ready_line
    return process, match.group(1)


def start_operator(
    kubeconfig: pathlib.Path, workdir: pathlib.Path, logs: pathlib.Path, extra: list[str] | None = None
) -> Process:
    """`flink-manager run` (standalone: no peering keep-alives) with its default settings."""
    return _spawn(
        "operator",
        [
            sys.executable,
            "-m",
            "flink_manager.cli",
            "run",
            "--kubeconfig",
            str(kubeconfig),
            "--standalone",
            "--allow-insecure-artifacts",
            "--artifact-cache-dir",
            str(workdir / "artifacts"),
            "--log-format",
            "text",
            *(extra or []),
        ],
        logs,
        ready=None,
    )


def start_profiler(pid: int, out: pathlib.Path, seconds: float, logs: pathlib.Path) -> Process | None:
    """py-spy sampling the operator for `seconds`, as collapsed stacks (one line per stack, with its sample count)."""
    py_spy = shutil.which("py-spy") or str(pathlib.Path(sys.executable).parent / "py-spy")
    if not pathlib.Path(py_spy).exists():
        print("  (py-spy is not installed: `make bench` installs the bench extra)")
        return None
    return _spawn(
        f"py-spy-{out.stem}",
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--rate",
            "200",
            "--format",
            "raw",
            "--duration",
            str(max(1, int(seconds))),
            "--output",
            str(out),
            "--nonblocking",
        ],
        logs,
        ready=None,
    )
