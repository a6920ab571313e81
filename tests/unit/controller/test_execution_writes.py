"""What a failed Kubernetes write does to an Execution's reconcile: one mapping for every write."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

from flink_manager.artifacts.http import FetchOptions
from flink_manager.artifacts.store import ArtifactStore
from flink_manager.controller.context import OperatorContext
from flink_manager.controller.executions import reconcile_execution
from flink_manager.controller.queue import Outcome
from flink_manager.controller.recording import CONFLICT_REQUEUE
from flink_manager.kube.client import KubeConflict, KubeError, KubeUnavailable
from flink_manager.settings import Settings

EXECUTION = {
    "apiVersion": "flinkmanager.io/v1alpha1",
    "kind": "Execution",
    "metadata": {"name": "run", "namespace": "default", "uid": "uid-1", "resourceVersion": "7", "generation": 1},
    "spec": {"jobSpecRef": {"name": "job"}},
}


class FailingKube:
    """A Kubernetes API whose writes fail with one error; reads answer with the Execution."""

    def __init__(self, error: KubeError) -> None:
        self.error = error
        self.reads = 0

    async def patch(self, *_: Any, **__: Any) -> dict[str, Any]:
        raise self.error

    async def get(self, *_: Any, **__: Any) -> dict[str, Any]:
        self.reads += 1
        return EXECUTION


def reconcile(kube: FailingKube, tmp_path: pathlib.Path) -> Outcome:
    store = ArtifactStore(tmp_path, FetchOptions.from_settings(Settings(max_artifact_bytes=1024)))
    ctx = OperatorContext(settings=Settings(), kube=kube, artifact_store=store)  # type: ignore[arg-type]
    ctx.cache.put("Execution", EXECUTION)
    return asyncio.run(reconcile_execution(ctx, "default", "run"))


def test_a_conflict_while_adding_the_finalizer_rereads_the_execution_and_decides_again_soon(
    tmp_path: pathlib.Path,
) -> None:
    kube = FailingKube(KubeConflict(409, "Conflict", "the object has been modified"))
    assert reconcile(kube, tmp_path) == Outcome(requeue_after=CONFLICT_REQUEUE)
    assert kube.reads == 1


def test_an_unavailable_api_while_adding_the_finalizer_retries_with_backoff_like_every_other_write(
    tmp_path: pathlib.Path,
) -> None:
    kube = FailingKube(KubeUnavailable(503, "ServiceUnavailable", "the API server is restarting"))
    assert reconcile(kube, tmp_path) == Outcome(retry=True)
