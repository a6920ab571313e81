"""The operator for the end-to-end tests: a child whose output goes to one log file and whose liveness probe answers
at a URL. `OperatorProcess` runs `flink-manager run` the way it runs outside a cluster; the built image runs it the
way a pod does (`tests.infra.image.container.OperatorContainer`)."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence

from tests.infra.processes import die_with_parent, free_port
from tests.waiting import wait_for_sync


class OperatorStartupError(RuntimeError):
    """The operator exited, or its liveness probe did not answer, during start-up."""


def operator_command() -> list[str]:
    """`flink-manager run` from the virtualenv of this interpreter (`python -m flink_manager.cli run` without it)."""
    script = pathlib.Path(sys.executable).parent / "flink-manager"
    if script.is_file():
        return [str(script), "run"]
    return [sys.executable, "-m", "flink_manager.cli", "run"]


class LaunchedOperator:
    """A command that runs the operator, its output in one log file.

    `start()` returns once the liveness probe answers; `stop()` sends SIGTERM (SIGKILL after a timeout).
    `mark()` and `log_since(mark)` slice the log by byte offset, so a test can read what the operator said during it.
    Subclasses set `command`, `env`, `cwd` and `liveness_url`.
    """

    command: list[str]
    env: dict[str, str]
    cwd: pathlib.Path
    liveness_url: str

    def __init__(self, *, log_path: pathlib.Path) -> None:
        self.log_path = log_path
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def reach(self, url: str) -> str:
        """The URL by which the operator reaches `url`, a server on this machine's loopback."""
        return url

    def start(self, timeout: float = 60.0) -> None:
        """Start the operator and wait until its liveness probe answers 200."""
        if self._process is not None:
            raise RuntimeError("this operator is already started")
        began = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        (self.log_path.with_suffix(".command")).write_text(" ".join(self.command) + "\n")
        with self.log_path.open("ab") as output:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                preexec_fn=die_with_parent if threading.current_thread() is threading.main_thread() else None,
            )

        def alive_or_exited() -> str | None:
            assert self._process is not None
            if self._process.poll() is not None:
                return "exited"
            return "alive" if self._healthy() else None

        try:
            outcome = wait_for_sync(
                alive_or_exited, timeout=timeout, interval=0.1, what="the operator's liveness probe"
            )
        except AssertionError as exc:
            self.stop()
            raise OperatorStartupError(f"{exc}\n{self.log_tail()}") from None
        if outcome == "exited":
            self.stop()
            raise OperatorStartupError(f"the operator exited during start-up:\n{self.log_tail()}")
        self.startup_seconds = time.monotonic() - began

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.liveness_url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        return process.returncode

    # -- the log

    def mark(self) -> int:
        """The current end of the log (an offset for `log_since`)."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, mark: int = 0) -> str:
        """What the operator logged after `mark`."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as handle:
            handle.seek(mark)
            return handle.read().decode(errors="replace")

    def log_tail(self, lines: int = 60, since: int = 0) -> str:
        """The last lines of the log (after `since`), headed by its path."""
        tail = self.log_since(since).splitlines()[-lines:]
        return f"--- {self.log_path} ---\n" + "\n".join(tail)


class OperatorProcess(LaunchedOperator):
    """`flink-manager run` against a kubeconfig (`--standalone`, or `--peering=NAME`), as a child process."""

    def __init__(
        self,
        *,
        kubeconfig: pathlib.Path,
        log_path: pathlib.Path,
        work_dir: pathlib.Path,
        env: Mapping[str, str] | None = None,
        peering: str | None = None,
        args: Sequence[str] = (),
    ) -> None:
        super().__init__(log_path=log_path)
        self.kubeconfig = kubeconfig
        self.work_dir = work_dir
        self.cwd = work_dir
        self.liveness_port = free_port()
        self.liveness_url = f"http://127.0.0.1:{self.liveness_port}/healthz"
        self.command = [
            *operator_command(),
            f"--peering={peering}" if peering else "--standalone",
            f"--liveness={self.liveness_url}",
            "--log-format=text",
            *args,
        ]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FLINK_MANAGER_") and k != "KUBECONFIG"},
            "KUBECONFIG": str(kubeconfig),
            "FLINK_MANAGER_ARTIFACT_CACHE_DIR": str(work_dir / "artifacts"),
            **(env or {}),
        }

    def start(self, timeout: float = 60.0) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        super().start(timeout)
