"""A new operator process takes over a running Execution on the real cluster: it finds the job Flink runs, submits
nothing, and writes nothing (it checks that the Events of the last history entry exist by reading them, which
deploy/rbac.yaml must allow)."""

from __future__ import annotations

import json
import pathlib
import re
import urllib.request
from typing import Any

import pytest

from tests.e2e.conftest import FORBIDDEN, EndToEnd
from tests.infra.operator import LaunchedOperator, OperatorProcess
from tests.infra.processes import free_port
from tests.waiting import wait_for_sync

pytestmark = [pytest.mark.real_k8s, pytest.mark.real_flink]

EXECUTION = "stateful-counter-1"
FEX = f"fex/{EXECUTION}"
SAMPLE = re.compile(r"^(flink_manager_\w+)\{([^}]*)\} ([0-9.e+-]+)$")


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` (a Prometheus text exposition) whose labels include `labels`."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        found = SAMPLE.match(line)
        if found is None or found.group(1) != name:
            continue
        sample = dict(re.findall(r'(\w+)="([^"]*)"', found.group(2)))
        if all(sample.get(k) == v for k, v in labels.items()):
            total += float(found.group(3))
    return total


def execution_events(e2e: EndToEnd) -> list[tuple[str, str, int]]:
    items = json.loads(
        e2e.kubectl("get", "events", "--field-selector", f"involvedObject.name={EXECUTION}", "-o", "json")
    )["items"]
    return sorted((item["metadata"]["name"], item["reason"], item.get("count", 1)) for item in items)


def test_a_new_operator_process_resumes_a_running_execution_without_writing(
    e2e: EndToEnd,
    flink_manager: LaunchedOperator,
    tmp_path: pathlib.Path,
) -> None:
    e2e.apply(*e2e.quickstart())
    e2e.kubectl("wait", "--for=condition=Ready", FEX, "--timeout=180s")
    before: dict[str, Any] | None = e2e.get(FEX)
    assert before is not None
    job_id = before["status"]["flinkJobId"]
    events = execution_events(e2e)
    assert [reason for _, reason, _ in events] == ["Start"]

    flink_manager.stop()  # the session's operator leaves; a fresh process watching only this namespace takes over
    port = free_port()
    successor = OperatorProcess(
        kubeconfig=e2e.plane.operator_kubeconfig,
        log_path=tmp_path / "successor.log",
        work_dir=tmp_path / "work",
        env={
            "FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS": "true",
            "FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS": "127.0.0.1",
            "FLINK_MANAGER_METRICS_PORT": str(port),
        },
        args=["--namespace", e2e.namespace],
    )
    metrics = f"http://127.0.0.1:{port}/metrics"
    try:
        successor.start()
        # The first poll of /jobs/overview queues the Execution (its job is news to this process); by the second,
        # that reconcile is long done. The quickstart polls every 5 s.
        wait_for_sync(
            lambda: (
                metric(metrics, "flink_manager_flink_request_seconds_count", call="jobs_overview") >= 2
                and metric(metrics, "flink_manager_queue_depth") == 0
                and all(
                    metric(metrics, "flink_manager_reconciles_total", kind=kind) >= 1
                    for kind in ("Execution", "JobSpec", "Artifact")
                )
            ),
            timeout=60,
            interval=0.2,
            what="the successor to poll Flink twice and reconcile every object",
        )
        log = successor.log_tail()
        assert metric(metrics, "flink_manager_kubernetes_writes_total", resource="events") == 0, log
        assert metric(metrics, "flink_manager_kubernetes_writes_total", resource="executions") == 0, log
        after = e2e.get(FEX)
        assert after is not None
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert after["status"] == before["status"]
        assert e2e.flink_jobs()[job_id] == "RUNNING"
        assert execution_events(e2e) == events
        assert not FORBIDDEN.search(successor.log_since()), log
    finally:
        successor.stop()
        flink_manager.start()
