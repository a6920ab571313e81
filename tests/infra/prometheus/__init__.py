"""A real Prometheus (Debian's package, installed by install.sh) that scrapes given targets, for the e2e tier."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

import yaml

from tests.infra.processes import die_with_parent, free_port
from tests.waiting import wait_for_sync


class PrometheusNotInstalled(RuntimeError):
    """prometheus is not on PATH."""


class PrometheusServer:
    """`prometheus` on 127.0.0.1 with its storage in `work_dir`, scraping `targets` (host:port) every
    `scrape_interval` under the job `job`, and evaluating `rule_files` as often.

    `start()` returns once /-/ready answers; `query()` runs an instant query; `stop()` ends it.
    """

    def __init__(
        self,
        work_dir: pathlib.Path,
        targets: Sequence[str],
        *,
        job: str = "flink-manager",
        rule_files: Sequence[pathlib.Path] = (),
        scrape_interval: str = "1s",
    ) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise PrometheusNotInstalled(
                "prometheus is not installed: run tests/infra/prometheus/install.sh (make infra-prometheus)"
            )
        self.binary = binary
        self.work_dir = work_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = work_dir / "prometheus.log"
        self.config = {
            "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [{"job_name": job, "honor_labels": True, "static_configs": [{"targets": list(targets)}]}],
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = self.work_dir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config, sort_keys=False))
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.work_dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
                preexec_fn=die_with_parent if threading.current_thread() is threading.main_thread() else None,
            )

        def ready() -> bool:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    return bool(response.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        wait_for_sync(ready, timeout=timeout, interval=0.2, what="Prometheus to be ready")

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/PATH; the `data` of a successful answer (raises AssertionError with the error otherwise)."""
        url = f"{self.url}/api/v1/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
        assert body.get("status") == "success", f"{path} {params}: {body.get('errorType')}: {body.get('error')}"
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query: its samples as {"metric": labels, "value": [time, "value"]}."""
        data = self.api("query", query=expr)
        return data["result"] if data["resultType"] == "vector" else [{"metric": {}, "value": data["result"]}]

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def version() -> str:
    """What `prometheus --version` says first."""
    binary = shutil.which("prometheus")
    if binary is None:
        return "prometheus: not installed"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "prometheus: ?"
