"""The observer of a job Flink no longer knows: its retained checkpoints come from the checkpoint directory of the
job's configuration, else of the JobManager's; an attempt without any falls back to the state it was restored from."""

from __future__ import annotations

import asyncio
import datetime
import os
import pathlib
from typing import Any

from flink_manager.api import ExecutionPhase
from flink_manager.api.common import HistoryAction
from flink_manager.api.execution import (
    ExecutionStatus,
    OperationType,
    PendingOperation,
    RunConfig,
    SavepointReason,
    SavepointRecord,
)
from flink_manager.controller import flinkio
from flink_manager.controller.runtime import ClusterRuntime
from flink_manager.flink.errors import FlinkJobNotFound, FlinkNotFound
from flink_manager.flink.models import JobOverview

JOB = "6d0f3b7c2a9e4f1d8b5a0c3e7f9d1b2a"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class LostJobsClient:
    """A cluster that restarted: it lists no job and knows none."""

    def __init__(self, config: dict[str, str] | None) -> None:
        self.config = config
        self.config_reads = 0

    async def jobs_overview(self) -> list[JobOverview]:
        return []

    async def job(self, job_id: str) -> Any:
        raise FlinkJobNotFound(f"Job {job_id} not found")

    async def jobmanager_config(self) -> dict[str, str]:
        self.config_reads += 1
        if self.config is None:
            raise FlinkNotFound("Not found: /jobmanager/config")
        return self.config


def observe(client: LostJobsClient, status: ExecutionStatus) -> Any:
    async def run() -> Any:
        runtime = ClusterRuntime(
            "ns",
            "default",
            client,
            poll_interval=5,
            transition_poll_interval=1,  # type: ignore[arg-type]
            on_jobs_changed=lambda *_: None,
        )
        await runtime.poll_once()
        return (await flinkio.observe(runtime, ("Execution", "ns", "run-1"), status)).job

    return asyncio.run(run())


def running(**config: str) -> ExecutionStatus:
    return ExecutionStatus(
        phase=ExecutionPhase.RUNNING,
        flink_job_id=JOB,
        attempt=1,
        run_config=RunConfig(
            job_spec_generation=1,
            artifact="jar",
            artifact_sha256="a" * 64,
            entry_class="Job",
            parallelism=1,
            flink_config=config,
        ),
    )


def completed_checkpoint(root: pathlib.Path, job_id: str, number: int) -> pathlib.Path:
    folder = root / job_id / f"chk-{number}"
    folder.mkdir(parents=True)
    (folder / "_metadata").write_bytes(b"\x00" * 16)
    return folder


def test_the_newest_checkpoint_in_the_jobmanagers_checkpoint_directory(tmp_path: pathlib.Path) -> None:
    newest = completed_checkpoint(tmp_path, JOB, 7)
    completed_checkpoint(tmp_path, JOB, 6)
    client = LostJobsClient({"execution.checkpointing.dir": tmp_path.as_uri()})
    job = observe(client, running())
    assert job.state is None and job.latest_checkpoint.path == f"file:{newest}"
    assert job.checkpoints_unavailable is None


def test_the_jobs_own_checkpoint_directory_wins_over_the_clusters(tmp_path: pathlib.Path) -> None:
    own = completed_checkpoint(tmp_path / "own", JOB, 2)
    completed_checkpoint(tmp_path / "cluster", JOB, 9)
    client = LostJobsClient({"execution.checkpointing.dir": (tmp_path / "cluster").as_uri()})
    job = observe(client, running(**{"execution.checkpointing.dir": (tmp_path / "own").as_uri()}))
    assert job.latest_checkpoint.path == f"file:{own}"
    assert client.config_reads == 0


def test_an_attempt_without_checkpoints_falls_back_to_the_state_it_was_restored_from(tmp_path: pathlib.Path) -> None:
    earlier = completed_checkpoint(tmp_path, "0" * 32, 4)
    status = running().model_copy(update={"restored_from": f"file:{earlier}"})
    job = observe(LostJobsClient({"state.checkpoints.dir": str(tmp_path)}), status)
    assert job.latest_checkpoint.path == f"file:{earlier}"


def test_no_checkpoint_directory_anywhere_is_said(tmp_path: pathlib.Path) -> None:
    job = observe(LostJobsClient(None), running())
    assert job.latest_checkpoint is None and job.checkpoints_unavailable == "no checkpoint directory is configured"


def test_storage_the_operator_cannot_list_is_said() -> None:
    job = observe(LostJobsClient({"execution.checkpointing.dir": "s3://bucket/checkpoints"}), running())
    assert job.latest_checkpoint is None and "s3" in job.checkpoints_unavailable


def test_a_submission_in_flight_reads_no_storage(tmp_path: pathlib.Path) -> None:
    completed_checkpoint(tmp_path, JOB, 1)
    client = LostJobsClient({"execution.checkpointing.dir": tmp_path.as_uri()})
    status = running().model_copy(
        update={
            "phase": ExecutionPhase.SUBMITTING,
            "pending": PendingOperation(
                operation=OperationType.SUBMIT,
                action=HistoryAction.START,
                job_id=JOB,
                attempt=1,
                requested_by="me",
                from_phase=ExecutionPhase.PENDING,
                since=NOW,
            ),
        }
    )
    job = observe(client, status)
    assert job.latest_checkpoint is None and client.config_reads == 0


def test_the_last_savepoint_is_dated_by_its_files(tmp_path: pathlib.Path) -> None:
    savepoint = tmp_path / "savepoints" / "savepoint-6d0f3b-0123456789ab"
    savepoint.mkdir(parents=True)
    (savepoint / "_metadata").write_bytes(b"x")
    os.utime(savepoint / "_metadata", (1_767_225_600.25, 1_767_225_600.25))
    status = running().model_copy(
        update={
            "last_savepoint": SavepointRecord(path=f"file:{savepoint}", taken_at=NOW, reason=SavepointReason.MANUAL)
        }
    )
    job = observe(LostJobsClient({"execution.checkpointing.dir": tmp_path.as_uri()}), status)
    assert job.latest_savepoint.path == f"file:{savepoint}" and job.latest_savepoint.is_savepoint
    assert job.latest_savepoint.completed_at.timestamp() == 1_767_225_600.25
