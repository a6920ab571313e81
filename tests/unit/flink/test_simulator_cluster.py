"""The simulated cluster's state machine, driven by a fake clock: each transition, savepoint and script."""

from __future__ import annotations

import pathlib
import re
import struct
import time
from collections.abc import Mapping

import pytest

from flink_manager.api.flinkjob import JobState
from flink_manager_dev.simulator import RunRequest, SessionCluster, Timings, views
from flink_manager_dev.simulator.cluster import normalize_location
from flink_manager_dev.simulator.jobs import JobScript, Tasks, parse_duration
from flink_manager_dev.simulator.traces import SimulatedRestError
from tests.jars import jar_bytes

ENTRY = "com.example.Job"
JAR = jar_bytes(ENTRY, manifest_key="Main-Class")  # Flink reads Main-Class when there is no Entry-Class
T = Timings(
    run_request=0.0,
    initializing=0.2,
    created=0.1,
    deploying=0.3,
    cancelling=0.1,
    failing=0.05,
    restart_delay=1.0,
    savepoint=0.5,
    checkpoint_interval=2.0,
    checkpoint_duration=0.1,
    disposal=0.05,
    rest_cache=0.0,
    operation_cache=300.0,
    job_expiry=3600.0,
    slot_request_timeout=300.0,
)
UP = T.initializing + T.created + T.deploying  # submission → tasks running


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cluster(clock: FakeClock) -> SessionCluster:
    return SessionCluster(
        slots=4,
        timings=T,
        savepoint_dir="file:///savepoints",
        checkpoint_dir="file:///checkpoints",
        seed=42,
        clock=clock,
    )


@pytest.fixture
def stored_cluster(clock: FakeClock, tmp_path: pathlib.Path) -> SessionCluster:
    """Checkpoints on a real folder: a restart writes the retained ones there."""
    return SessionCluster(
        slots=4,
        timings=T,
        savepoint_dir="file:///savepoints",
        checkpoint_dir=f"file://{tmp_path}/checkpoints",
        seed=42,
        clock=clock,
    )


@pytest.fixture
def jar_id(cluster: SessionCluster) -> str:
    return cluster.upload_jar("job.jar", JAR).id


def run(
    cluster: SessionCluster,
    jar_id: str,
    job_id: str = "a" * 32,
    *,
    parallelism: int = 1,
    config: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
    savepoint: str | None = None,
) -> str:
    return cluster.submit(
        jar_id,
        RunRequest(
            entry_class=ENTRY,
            parallelism=parallelism,
            job_id=job_id,
            flink_config=dict(config or {}),
            program_args=args,
            savepoint_path=savepoint,
        ),
    )


def state(cluster: SessionCluster, job_id: str = "a" * 32) -> JobState:
    job = cluster.job(job_id)
    assert job is not None
    return job.state


def running(cluster: SessionCluster, clock: FakeClock, jar_id: str, job_id: str = "a" * 32, **options: object) -> str:
    """Submit and let the job's tasks start running."""
    run(cluster, jar_id, job_id, **options)  # type: ignore[arg-type]
    clock.tick(UP + 0.01)
    job = cluster.job(job_id)
    assert job is not None and job.tasks == Tasks.RUNNING
    return job_id


# -- submission ---------------------------------------------------------------------------------

STARTUP = [
    ("submitted", 0.0, JobState.INITIALIZING, Tasks.NONE),
    ("graph created", T.initializing, JobState.CREATED, Tasks.NONE),
    ("scheduled and deploying", T.initializing + T.created, JobState.RUNNING, Tasks.DEPLOYING),
    ("tasks running", UP, JobState.RUNNING, Tasks.RUNNING),
]


@pytest.mark.parametrize(("after", "job_state", "tasks"), [row[1:] for row in STARTUP], ids=[row[0] for row in STARTUP])
def test_a_job_starts_initializing_created_running(
    cluster: SessionCluster, clock: FakeClock, jar_id: str, after: float, job_state: JobState, tasks: Tasks
) -> None:
    run(cluster, jar_id)
    clock.tick(after)
    job = cluster.job("a" * 32)
    assert job is not None and (job.state, job.tasks) == (job_state, tasks)


def test_each_transition_is_stamped_at_its_own_time_even_when_observed_late(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    began = clock.now
    run(cluster, jar_id)
    clock.tick(100)
    job = cluster.job("a" * 32)
    assert job is not None
    assert job.timestamps[JobState.CREATED] == pytest.approx(began + T.initializing)
    assert job.timestamps[JobState.RUNNING] == pytest.approx(began + T.initializing + T.created)


RUN_REFUSALS = [
    ("unknown jar", dict(jar="nope_job.jar"), 500, "Jar file /tmp/flink-web-"),
    (
        "entry class not in the jar",
        dict(entry="com.example.Other"),
        500,
        "entry point class 'com.example.Other' was not found",
    ),
    ("no entry class anywhere", dict(jar="nomain", entry=None), 500, "Neither a 'Main-Class', nor a 'program-class'"),
    ("parallelism 0", dict(parallelism=0), 400, "Parallelism must be at least one"),
    (
        "scripted start-up failure",
        dict(config={"simulator.startup-fails": "bad config"}),
        400,
        "The main method caused an error: bad config",
    ),
    (
        "unusable script value",
        dict(config={"simulator.fail-after": "soon"}),
        400,
        "simulator.fail-after: cannot parse 'soon'",
    ),
]


@pytest.mark.parametrize(
    ("case", "status", "text"), [row[1:] for row in RUN_REFUSALS], ids=[row[0] for row in RUN_REFUSALS]
)
def test_runs_flink_refuses_leave_no_job(
    cluster: SessionCluster, jar_id: str, case: dict[str, object], status: int, text: str
) -> None:
    jar = case.get("jar", jar_id)
    if jar == "nomain":
        jar = cluster.upload_jar("plain.jar", jar_bytes(None, classes=[ENTRY])).id
    request = RunRequest(
        entry_class=case.get("entry", ENTRY),
        parallelism=case.get("parallelism", 1),  # type: ignore[arg-type]
        job_id="b" * 32,
        flink_config=case.get("config", {}),
    )  # type: ignore[arg-type]
    with pytest.raises(SimulatedRestError) as refused:
        cluster.submit(str(jar), request)
    assert refused.value.status == status
    assert text in "\n".join(refused.value.errors)
    assert cluster.job("b" * 32) is None
    run(cluster, jar_id, "b" * 32)  # the id was not taken


def test_a_job_id_is_taken_for_ever_on_this_cluster(cluster: SessionCluster, clock: FakeClock, jar_id: str) -> None:
    run(cluster, jar_id)
    for moment in ("running", "expired"):
        with pytest.raises(SimulatedRestError) as duplicate:
            run(cluster, jar_id)
        assert duplicate.value.status == 400, moment
        assert (
            "DuplicateApplicationSubmissionException: Application has already been submitted."
            in duplicate.value.errors[0]
        )
        if moment == "running":
            cluster.cancel("a" * 32)
            clock.tick(T.cancelling + T.job_expiry + 1)
            assert cluster.job("a" * 32) is None


def test_a_jar_that_is_not_an_archive_runs_any_entry_class(cluster: SessionCluster) -> None:
    jar = cluster.upload_jar("placeholder.jar", b"not a zip")
    assert cluster.submit(jar.id, RunRequest(entry_class="any.Thing", job_id="c" * 32)) == "c" * 32


def test_only_jar_files_are_uploaded(cluster: SessionCluster) -> None:
    with pytest.raises(SimulatedRestError, match=r"Only Jar files are allowed\."):
        cluster.upload_jar("job.zip", JAR)


def test_jar_ids_are_uuid_and_file_name_and_deleting_twice_is_refused(cluster: SessionCluster) -> None:
    jar = cluster.upload_jar("job.jar", JAR)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}_job\.jar", jar.id)
    assert jar.manifest_entry == ENTRY
    cluster.delete_jar(jar.id)
    with pytest.raises(SimulatedRestError) as missing:
        cluster.delete_jar(jar.id)
    assert missing.value.status == 400 and f"File {jar.id} does not exist in" in missing.value.errors[0]


# -- cancel, stop, savepoints -----------------------------------------------------------------------


def test_cancel_goes_through_cancelling_and_frees_the_slots(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    running(cluster, clock, jar_id, parallelism=3)
    assert cluster.free_slots() == 1
    cluster.cancel("a" * 32)
    assert state(cluster) == JobState.CANCELLING
    clock.tick(T.cancelling)
    assert state(cluster) == JobState.CANCELED
    assert cluster.free_slots() == 4
    cluster.cancel("a" * 32)  # accepted again, nothing changes
    assert state(cluster) == JobState.CANCELED


def test_cancel_of_an_unknown_job_is_404(cluster: SessionCluster) -> None:
    with pytest.raises(SimulatedRestError) as missing:
        cluster.cancel("f" * 32)
    assert missing.value.status == 404 and "Job could not be found." in missing.value.errors[0]


def test_stop_with_savepoint_completes_then_the_job_finishes(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id)
    trigger = cluster.trigger_savepoint(job_id, trigger_id="1" * 32, stop=True)
    assert trigger == "1" * 32
    assert cluster.savepoint_operation(job_id, trigger).in_progress
    assert state(cluster) == JobState.RUNNING
    clock.tick(T.savepoint)
    operation = cluster.savepoint_operation(job_id, trigger)
    assert operation.location is not None and operation.failure is None
    assert re.fullmatch(r"file:/savepoints/savepoint-aaaaaa-[0-9a-f]{12}", operation.location)
    assert state(cluster) == JobState.FINISHED
    stats = views.checkpoint_statistics(cluster.jobs[job_id], clock.now)
    assert stats["latest"]["savepoint"]["external_path"] == operation.location
    assert stats["latest"]["savepoint"]["checkpoint_type"] == "SYNC_SAVEPOINT"


def test_a_repeated_trigger_id_is_the_same_operation(cluster: SessionCluster, clock: FakeClock, jar_id: str) -> None:
    job_id = running(cluster, clock, jar_id)
    first = cluster.trigger_savepoint(job_id, trigger_id="2" * 32)
    clock.tick(T.savepoint / 2)
    assert cluster.trigger_savepoint(job_id, trigger_id="2" * 32) == first
    clock.tick(T.savepoint)
    assert cluster.trigger_savepoint(job_id, trigger_id="2" * 32) == first
    savepoints = [
        c for c in views.checkpoint_statistics(cluster.jobs[job_id], clock.now)["history"] if c["is_savepoint"]
    ]
    assert len(savepoints) == 1
    assert state(cluster) == JobState.RUNNING


def test_a_savepoint_with_cancel_job_cancels_after_it_completes(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id)
    trigger = cluster.trigger_savepoint(job_id, cancel_job=True)
    clock.tick(T.savepoint)
    assert cluster.savepoint_operation(job_id, trigger).location
    assert state(cluster) == JobState.CANCELLING
    clock.tick(T.cancelling)
    assert state(cluster) == JobState.CANCELED


SAVEPOINT_FAILURES = [
    ("unknown job", "f" * 32, 0.0, "FlinkJobNotFoundException: Could not find Flink job (ffff"),
    ("job still starting", "a" * 32, 0.0, "is not being executed at the moment. Aborting checkpoint."),
    ("job ended", "a" * 32, None, "FlinkJobNotFoundException: Could not find Flink job (aaaa"),
]


@pytest.mark.parametrize(
    ("job_id", "after", "cause"), [row[1:] for row in SAVEPOINT_FAILURES], ids=[row[0] for row in SAVEPOINT_FAILURES]
)
def test_savepoints_of_jobs_that_cannot_take_one_complete_with_a_failure_cause(
    cluster: SessionCluster, clock: FakeClock, jar_id: str, job_id: str, after: float | None, cause: str
) -> None:
    run(cluster, jar_id)
    if after is None:
        clock.tick(UP)
        cluster.cancel("a" * 32)
        clock.tick(T.cancelling)
    trigger = cluster.trigger_savepoint(job_id, stop=True)
    operation = cluster.savepoint_operation(job_id, trigger)
    assert not operation.in_progress and operation.location is None
    assert operation.failure is not None and cause in operation.failure["stack-trace"]


def test_a_second_stop_with_another_trigger_fails_the_first(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id)
    first = cluster.trigger_savepoint(job_id, trigger_id="3" * 32, stop=True)
    second = cluster.trigger_savepoint(job_id, trigger_id="4" * 32, stop=True)
    failed = cluster.savepoint_operation(job_id, first)
    assert failed.failure is not None and "Checkpoint Coordinator is suspending." in failed.failure["stack-trace"]
    clock.tick(T.savepoint)
    assert cluster.savepoint_operation(job_id, second).location
    assert state(cluster) == JobState.FINISHED


def test_scripted_savepoint_failure_and_duration(cluster: SessionCluster, clock: FakeClock, jar_id: str) -> None:
    job_id = running(
        cluster,
        clock,
        jar_id,
        config={"simulator.savepoint-fails": "disk full", "simulator.savepoint-duration": "30 s"},
    )
    trigger = cluster.trigger_savepoint(job_id, stop=True)
    clock.tick(29)
    assert cluster.savepoint_operation(job_id, trigger).in_progress
    clock.tick(1)
    operation = cluster.savepoint_operation(job_id, trigger)
    assert operation.failure is not None and "java.io.IOException: disk full" in operation.failure["stack-trace"]
    assert state(cluster) == JobState.RUNNING


def test_no_savepoint_directory_anywhere_is_refused(clock: FakeClock) -> None:
    cluster = SessionCluster(timings=T, savepoint_dir=None, clock=clock)
    with pytest.raises(SimulatedRestError) as refused:
        cluster.trigger_savepoint("a" * 32, stop=True)
    assert refused.value.status == 400 and "Property [targetDirectory] must be provided." in refused.value.errors[0]


def test_finished_triggers_expire_from_the_operation_cache(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id)
    trigger = cluster.trigger_savepoint(job_id)
    clock.tick(T.savepoint + T.operation_cache + 1)
    with pytest.raises(SimulatedRestError) as expired:
        cluster.savepoint_operation(job_id, trigger)
    assert (
        expired.value.status == 404
        and f"There is no savepoint operation with triggerId={trigger}" in expired.value.errors[0]
    )


def test_restore_from_a_savepoint_shows_in_checkpoints_and_ids_continue(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id)
    clock.tick(3 * T.checkpoint_interval)
    trigger = cluster.trigger_savepoint(job_id, target="file:///elsewhere/", stop=True)
    clock.tick(T.savepoint)
    location = cluster.savepoint_operation(job_id, trigger).location
    assert location is not None and location.startswith("file:/elsewhere/savepoint-aaaaaa-")
    savepoint_id = cluster.jobs[job_id].checkpoints.latest_savepoint.id  # type: ignore[union-attr]
    restored = running(cluster, clock, jar_id, "b" * 32, savepoint=location.replace("file:/", "file:///"))
    stats = views.checkpoint_statistics(cluster.jobs[restored], clock.now)
    assert stats["counts"]["restored"] == 1
    assert stats["latest"]["restored"]["external_path"] == location
    assert stats["latest"]["restored"]["id"] == savepoint_id and stats["latest"]["restored"]["is_savepoint"]
    clock.tick(T.checkpoint_interval + T.checkpoint_duration)
    assert (
        views.checkpoint_statistics(cluster.jobs[restored], clock.now)["latest"]["completed"]["id"] == savepoint_id + 1
    )


def test_restore_from_a_missing_savepoint_is_refused_and_leaves_a_failed_job(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    with pytest.raises(SimulatedRestError) as refused:
        run(cluster, jar_id, savepoint="file:///nowhere/savepoint-000000-000000000000")
    assert (
        refused.value.status == 400
        and "java.io.FileNotFoundException: Cannot find checkpoint or savepoint" in refused.value.errors[0]
    )
    clock.tick(0.1)
    assert state(cluster) == JobState.FAILED
    assert views.jobs_overview(cluster, clock.now)["jobs"][0]["schedulerType"] is None
    with pytest.raises(SimulatedRestError, match="Application has already been submitted"):
        run(cluster, jar_id)


def test_disposal_forgets_the_savepoint_and_a_second_disposal_fails(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id)
    trigger = cluster.trigger_savepoint(job_id)
    clock.tick(T.savepoint)
    location = cluster.savepoint_operation(job_id, trigger).location
    assert location is not None
    first = cluster.dispose(location)
    assert cluster.disposal(first).in_progress
    clock.tick(T.disposal)
    assert cluster.disposal(first).failure is None
    second = cluster.dispose(location)
    clock.tick(T.disposal)
    failure = cluster.disposal(second).failure
    assert failure is not None and "Cannot find checkpoint or savepoint file/directory" in failure["stack-trace"]
    with pytest.raises(SimulatedRestError, match="Cannot find checkpoint or savepoint"):
        run(cluster, jar_id, "b" * 32, savepoint=location)


# -- checkpoints ----------------------------------------------------------------------------------


def test_periodic_checkpoints_are_counted_from_time_alone(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id)
    job = cluster.jobs[job_id]
    assert views.checkpoint_statistics(job, clock.now)["latest"]["completed"] is None
    clock.tick(25 * T.checkpoint_interval)
    stats = views.checkpoint_statistics(job, clock.now)
    assert stats["counts"]["completed"] == 24
    assert stats["latest"]["completed"]["id"] == 24
    assert stats["latest"]["completed"]["external_path"] == f"file:/checkpoints/{job_id}/chk-24"
    assert not stats["latest"]["completed"]["discarded"]
    assert [c["id"] for c in stats["history"]] == list(range(24, 14, -1))
    assert all(c["discarded"] for c in stats["history"][1:])


def test_checkpoints_stop_with_the_job_and_are_discarded(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id)
    clock.tick(5 * T.checkpoint_interval)
    cluster.cancel(job_id)
    clock.tick(100 * T.checkpoint_interval)
    stats = views.checkpoint_statistics(cluster.jobs[job_id], cluster.advance())
    assert stats["counts"]["completed"] == 4
    assert stats["latest"]["completed"]["discarded"]


# -- scripted failures, restarts, slots ----------------------------------------------------------------


def test_fail_after_fails_the_job_with_its_root_cause(cluster: SessionCluster, clock: FakeClock, jar_id: str) -> None:
    job_id = running(cluster, clock, jar_id, config={"simulator.fail-after": "5", "simulator.failure-message": "boom"})
    clock.tick(5)
    assert state(cluster) == JobState.FAILING
    clock.tick(T.failing)
    assert state(cluster) == JobState.FAILED
    assert cluster.free_slots() == 4
    entry = views.job_exceptions(cluster, cluster.jobs[job_id], 20)["exceptionHistory"]["entries"][0]
    assert entry["exceptionName"] == "org.apache.flink.runtime.JobException"
    assert entry["stacktrace"].startswith(
        "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy"
    )
    assert "\nCaused by: java.lang.RuntimeException: boom" in entry["stacktrace"]


def test_the_example_jobs_fail_after_argument_is_honoured(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id, args=("--rate", "20", "--fail-after", "40"))
    clock.tick(2 + T.failing)
    assert state(cluster) == JobState.FAILED
    stacktrace = cluster.jobs[job_id].exceptions[0]["stacktrace"]
    assert (
        "Caused by: java.lang.IllegalStateException: Job fails on purpose after 40 records (--fail-after 40)"
        in stacktrace
    )


def test_scripted_restarts_restart_from_the_latest_checkpoint_then_fail(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id, config={"simulator.fail-after": "5", "simulator.restarts": "2"})
    seen = []
    for _ in range(2):
        clock.tick(5)
        seen.append(state(cluster))
        clock.tick(T.restart_delay)
        seen.append(state(cluster))
        clock.tick(T.deploying)
    clock.tick(5 + T.failing)
    seen.append(state(cluster))
    assert seen == [JobState.RESTARTING, JobState.RUNNING, JobState.RESTARTING, JobState.RUNNING, JobState.FAILED]
    job = cluster.jobs[job_id]
    assert [entry["exceptionName"] for entry in job.exceptions] == [
        "org.apache.flink.runtime.JobException",
        "java.lang.RuntimeException",
        "java.lang.RuntimeException",
    ]
    assert job.exceptions[1]["taskName"].endswith("- execution #1")
    stats = views.checkpoint_statistics(job, clock.now)
    assert stats["counts"]["restored"] == 2 and not stats["latest"]["restored"]["is_savepoint"]


def test_finish_after_finishes_the_job(cluster: SessionCluster, clock: FakeClock, jar_id: str) -> None:
    running(cluster, clock, jar_id, config={"simulator.finish-after": "1 min"})
    clock.tick(59)
    assert state(cluster) == JobState.RUNNING
    clock.tick(1)
    assert state(cluster) == JobState.FINISHED


def test_a_job_without_enough_slots_runs_without_tasks_until_slots_free(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    running(cluster, clock, jar_id, "a" * 32, parallelism=3)
    run(cluster, jar_id, "b" * 32, parallelism=2)
    clock.tick(UP)
    waiting = cluster.job("b" * 32)
    assert waiting is not None and (waiting.state, waiting.tasks) == (JobState.RUNNING, Tasks.SCHEDULED)
    assert views.jobs_overview(cluster, clock.now)["jobs"][0]["tasks"]["scheduled"] == 4
    cluster.cancel("a" * 32)
    clock.tick(T.cancelling + T.deploying)
    assert cluster.job("b" * 32) is waiting and waiting.tasks == Tasks.RUNNING and cluster.free_slots() == 2


def test_a_job_waiting_for_slots_fails_after_the_slot_request_timeout(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    run(cluster, jar_id, parallelism=64, config={})
    clock.tick(UP + T.slot_request_timeout + T.failing)
    assert state(cluster) == JobState.FAILED
    assert (
        "NoResourceAvailableException: Could not acquire the minimum required resources."
        in cluster.jobs["a" * 32].exceptions[0]["stacktrace"]
    )


def test_ended_jobs_leave_the_listings_after_the_job_store_expiry(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    running(cluster, clock, jar_id)
    cluster.cancel("a" * 32)
    clock.tick(T.cancelling + T.job_expiry - 1)
    assert state(cluster) == JobState.CANCELED
    clock.tick(2)
    assert cluster.job("a" * 32) is None
    assert views.jobs_overview(cluster, clock.now) == {"jobs": []}


def test_a_restart_loses_jars_jobs_and_job_ids_but_not_savepoints(
    cluster: SessionCluster, clock: FakeClock, jar_id: str
) -> None:
    job_id = running(cluster, clock, jar_id)
    trigger = cluster.trigger_savepoint(job_id)
    clock.tick(T.savepoint)
    location = cluster.savepoint_operation(job_id, trigger).location
    cluster.restart()
    assert cluster.jars == {} and cluster.job(job_id) is None
    new_jar = cluster.upload_jar("job.jar", JAR).id
    assert run(cluster, new_jar, job_id, savepoint=location) == job_id  # the old id is free again


def test_a_restart_leaves_the_newest_checkpoint_of_each_running_job_on_storage(
    stored_cluster: SessionCluster, clock: FakeClock, tmp_path: pathlib.Path
) -> None:
    cluster = stored_cluster
    job_id = running(cluster, clock, cluster.upload_jar("job.jar", jar_bytes()).id)
    clock.tick(3 * T.checkpoint_interval + T.checkpoint_duration)
    newest = cluster.job(job_id).checkpoints.view(clock.now)[1]
    assert newest is not None and newest.id == 3
    cluster.restart()
    metadata = tmp_path / "checkpoints" / job_id / "chk-3" / "_metadata"
    assert struct.unpack(">iiq", metadata.read_bytes()[:16])[2] == 3
    assert metadata.stat().st_mtime == pytest.approx(newest.completed)
    assert not (tmp_path / "checkpoints" / job_id / "chk-2").exists()  # Flink keeps the newest only
    new_jar = cluster.upload_jar("job.jar", jar_bytes()).id
    run(cluster, new_jar, "b" * 32, savepoint=f"file:{metadata.parent}")
    assert cluster.job("b" * 32).restored.id == 3


@pytest.mark.parametrize(
    ("version", "storage_key", "directory_key"),
    [
        ("1.18.1", "state.checkpoint-storage", "state.checkpoints.dir"),
        ("1.19.3", "state.checkpoint-storage", "state.checkpoints.dir"),
        ("1.20.5", "execution.checkpointing.storage", "execution.checkpointing.dir"),
        ("2.3.0", "execution.checkpointing.storage", "execution.checkpointing.dir"),
    ],
)
def test_the_jobmanager_configuration_names_the_checkpoint_directory_as_the_version_does(
    clock: FakeClock, tmp_path: pathlib.Path, version: str, storage_key: str, directory_key: str
) -> None:
    cluster = SessionCluster(
        slots=4,
        timings=T,
        savepoint_dir="file:///savepoints",
        checkpoint_dir=f"file://{tmp_path}/checkpoints",
        seed=42,
        clock=clock,
        flink_version=version,
    )
    entries = {entry["key"]: entry["value"] for entry in views.jobmanager_config(cluster)}
    assert entries[directory_key] == f"file:{tmp_path}/checkpoints"
    assert entries[storage_key] == "filesystem"
    assert len(entries) == 3  # the other version's names are not listed


def test_the_same_seed_gives_the_same_ids(clock: FakeClock) -> None:
    def ids(seed: int) -> tuple[str, str, str]:
        cluster = SessionCluster(timings=T, seed=seed, clock=clock)
        jar = cluster.upload_jar("job.jar", JAR).id
        job_id = cluster.submit(jar, RunRequest(entry_class=ENTRY))
        return jar, job_id, cluster.trigger_savepoint(job_id)

    assert ids(7) == ids(7)
    assert ids(7) != ids(8)


def test_two_thousand_jobs_stay_cheap(clock: FakeClock) -> None:
    cluster = SessionCluster(slots=4000, timings=T, seed=1, clock=clock)
    jar = cluster.upload_jar("job.jar", JAR).id
    began = time.perf_counter()
    for index in range(2000):
        cluster.submit(jar, RunRequest(entry_class=ENTRY, job_id=f"{index:032x}"))
    submitted = time.perf_counter() - began
    clock.tick(3600)
    began = time.perf_counter()
    overview = views.jobs_overview(cluster, cluster.advance())
    rendered = time.perf_counter() - began
    assert len(overview["jobs"]) == 2000 and {job["state"] for job in overview["jobs"]} == {"RUNNING"}
    assert len(cluster._events) == 0  # nothing pending per job once it runs: checkpoints are counted, not scheduled
    print(
        f"\n2000 submissions: {submitted * 1000:.0f} ms; first /jobs/overview after an hour: {rendered * 1000:.0f} ms"
    )


# -- scripts and paths ------------------------------------------------------------------------------

DURATIONS = [
    ("bare seconds", "5", 5.0),
    ("seconds", "2.5 s", 2.5),
    ("milliseconds", "500 ms", 0.5),
    ("minutes", "2 min", 120.0),
    ("hours", "1h", 3600.0),
]


@pytest.mark.parametrize(("text", "seconds"), [row[1:] for row in DURATIONS], ids=[row[0] for row in DURATIONS])
def test_durations_are_read_like_flinks(text: str, seconds: float) -> None:
    assert parse_duration("key", text) == pytest.approx(seconds)


SCRIPTS = [
    ("nothing scripted", {}, (), dict(fail_after=None, restarts=0, savepoint_failure=None, checkpoint_interval=None)),
    (
        "fail and restart",
        {"simulator.fail-after": "3 s", "simulator.restarts": "2"},
        (),
        dict(fail_after=3.0, restarts=2),
    ),
    (
        "the example job's arguments",
        {},
        ("--rate", "5", "--fail-after", "10", "--checkpoint-interval-ms", "0"),
        dict(fail_after=2.0, checkpoint_interval=0.0),
    ),
    (
        "savepoint trouble",
        {"simulator.savepoint-fails": "true", "simulator.savepoint-duration": "9"},
        (),
        dict(savepoint_failure="Simulated savepoint failure (simulator.savepoint-fails)", savepoint_duration=9.0),
    ),
    ("savepoints fine when false", {"simulator.savepoint-fails": "false"}, (), dict(savepoint_failure=None)),
    (
        "a job name and a checkpoint interval",
        {"pipeline.name": "orders", "execution.checkpointing.interval": "30 s"},
        (),
        dict(name="orders", checkpoint_interval=30.0),
    ),
]


@pytest.mark.parametrize(("config", "args", "expected"), [row[1:] for row in SCRIPTS], ids=[row[0] for row in SCRIPTS])
def test_job_scripts_from_flink_configuration_and_program_arguments(
    config: dict[str, str], args: tuple[str, ...], expected: dict[str, object]
) -> None:
    script = JobScript.parse("com.example.Job", config, args)
    assert {key: getattr(script, key) for key in expected} == expected


LOCATIONS = [
    ("three slashes become one", "file:///tmp/sp/savepoint-1", "file:/tmp/sp/savepoint-1"),
    ("a plain absolute path", "/tmp/sp/", "file:/tmp/sp"),
    ("the metadata file names its savepoint", "file:/tmp/sp/_metadata", "file:/tmp/sp"),
    ("other file systems unchanged", "s3://bucket/savepoints", "s3://bucket/savepoints"),
]


@pytest.mark.parametrize(("given", "normalised"), [row[1:] for row in LOCATIONS], ids=[row[0] for row in LOCATIONS])
def test_savepoint_locations_are_written_back_as_flink_writes_them(given: str, normalised: str) -> None:
    assert normalize_location(given) == normalised


def test_a_savepoint_of_another_cluster_on_local_disk_is_restored_with_its_checkpoint_id(
    cluster: SessionCluster, clock: FakeClock, jar_id: str, tmp_path: pathlib.Path
) -> None:
    savepoint = tmp_path / "savepoint-abcdef-123456789012"
    savepoint.mkdir()
    (savepoint / "_metadata").write_bytes(struct.pack(">iiq", 0x4960672D, 4, 17) + b"rest of the metadata")
    running(cluster, clock, jar_id, savepoint=savepoint.as_uri())
    restored = views.checkpoint_statistics(cluster.jobs["a" * 32], clock.now)["latest"]["restored"]
    assert (restored["id"], restored["external_path"]) == (17, f"file:{savepoint}")
