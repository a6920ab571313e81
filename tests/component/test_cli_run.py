"""`flink-manager run` as a subprocess against the embedded Kubernetes API and a simulated Flink (`flink-manager
simulate`, another subprocess): it runs the quickstart to Running in the namespaces it watches only, serves
Prometheus metrics and kopf's liveness probe, logs one JSON object per line, and exits cleanly on SIGTERM."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.embedded_k8s import EmbeddedControlPlane
from tests.infra.processes import free_port
from tests.jars import write_jar
from tests.waiting import wait_for_sync

REPO = pathlib.Path(__file__).resolve().parents[2]
FLINK_MANAGER = str(pathlib.Path(sys.executable).parent / "flink-manager")
GROUP_VERSION = "flinkmanager.io/v1alpha1"


@pytest.fixture
def simulator_url(tmp_path: pathlib.Path) -> Iterator[str]:
    process = subprocess.Popen(
        [
            FLINK_MANAGER,
            "simulate",
            "--port",
            "0",
            "--seed",
            "3",
            "--timings",
            "fast",
            "--savepoint-dir",
            f"file:{tmp_path}/savepoints",
            "--checkpoint-dir",
            f"file:{tmp_path}/checkpoints",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        match = re.search(r" at (http://\S+) ", banner)
        assert match, f"no URL in the simulator's banner: {banner!r} {process.stderr.read() if process.poll() else ''}"
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def quickstart(namespace: str, flink_url: str, jar: pathlib.Path) -> list[dict[str, Any]]:
    digest = hashlib.sha256(jar.read_bytes()).hexdigest()

    def obj(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": GROUP_VERSION,
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }

    return [
        obj("FlinkCluster", "default", {"restUrl": flink_url, "pollIntervalSeconds": 1}),
        obj("Artifact", "job", {"url": f"file://{jar}", "sha256": digest, "entryClasses": ["com.example.Job"]}),
        obj("JobSpec", "job", {"artifactRef": {"name": "job"}, "entryClass": "com.example.Job"}),
        obj("Execution", "run-1", {"jobSpecRef": {"name": "job"}}),
    ]


def metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_run_reaches_running_serves_metrics_and_liveness_and_stops_on_sigterm(
    embedded_k8s: EmbeddedControlPlane,
    simulator_url: str,
    tmp_path: pathlib.Path,
) -> None:
    embedded_k8s.call(lambda api: api.install_crds(str(REPO / "crds")))
    embedded_k8s.call(lambda api: api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}}))
    jar = tmp_path / "job.jar"
    write_jar(jar, "com.example.Job")  # with the class, which the simulator looks for
    metrics_port, liveness_port = free_port(), free_port()
    log = tmp_path / "operator.log"
    with log.open("w") as sink:
        operator = subprocess.Popen(
            [
                FLINK_MANAGER,
                "run",
                "--kubeconfig",
                str(embedded_k8s.admin_kubeconfig),
                "--namespace",
                "default",
                "--standalone",
                "--allow-insecure-artifacts",
                "--artifact-cache-dir",
                str(tmp_path / "cache"),
                "--metrics-port",
                str(metrics_port),
                "--liveness",
                f"http://127.0.0.1:{liveness_port}/healthz",
                "--transition-poll-seconds",
                "0.2",
                "--log-format",
                "json",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("FLINK_MANAGER_")},
        )
    try:
        # team-b is not watched: its objects come first and must stay untouched.
        for body in quickstart("team-b", simulator_url, jar) + quickstart("default", simulator_url, jar):
            embedded_k8s.call(lambda api, body=body: api.create(body))

        def execution(namespace: str) -> dict[str, Any]:
            return embedded_k8s.call(lambda api: api.get(GROUP_VERSION, "Execution", "run-1", namespace)) or {}

        def running() -> bool:
            assert operator.poll() is None, log.read_text()
            return (execution("default").get("status") or {}).get("phase") == "Running"

        wait_for_sync(running, timeout=60, what="the Execution to be Running")
        assert "status" not in execution("team-b")

        samples = wait_for_sync(
            lambda: (s := metrics(metrics_port)).get('flink_manager_history_actions_total{action="START"}') and s,
            timeout=10,
            what="the START to be counted",
        )
        assert samples['flink_manager_executions{phase="Running"}'] == 1.0
        assert samples['flink_manager_reconciles_total{kind="Execution",outcome="ok"}'] >= 1
        assert any(
            name.startswith("flink_manager_flink_request_seconds_count{") and value >= 1
            for name, value in samples.items()
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{liveness_port}/healthz", timeout=5) as response:
            assert response.status == 200

        signalled = time.monotonic()
        operator.send_signal(signal.SIGTERM)
        wait_for_sync(lambda: operator.poll() is not None, timeout=20, what="the operator to exit on SIGTERM")
        print(f"\nflink-manager run: exited {time.monotonic() - signalled:.2f}s after SIGTERM")
        assert operator.returncode == 0, log.read_text()
    finally:
        if operator.poll() is None:
            operator.kill()
            operator.wait(10)
    records = [json.loads(line) for line in log.read_text().splitlines()]  # every line is one JSON object
    assert all({"time", "level", "logger", "msg"} <= set(r) for r in records)
    assert any(r["msg"].startswith("flink-manager started") for r in records)
    assert any("Operator is stopping" in r["msg"] for r in records)
