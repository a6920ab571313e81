"""The log line of an action names what is asked of Flink and never the job's arguments or configuration."""

from __future__ import annotations

from flink_manager.reconcile.plans import (
    CancelJob,
    DisposeSavepoint,
    ReleaseFinalizer,
    RunJob,
    StopJob,
    TriggerSavepoint,
    UploadJar,
    summarize,
)


def test_a_run_names_job_jar_and_restore_but_not_arguments_or_configuration() -> None:
    line = summarize(
        RunJob(
            cluster="default",
            jar_id="abc_job.jar",
            job_id="f" * 32,
            entry_class="com.example.Main",
            parallelism=3,
            program_args=("--password", "hunter2"),
            flink_config=(("s3.secret-key", "topsecret"),),
            savepoint_path="file:/sp/savepoint-1",
            allow_non_restored_state=False,
        )
    )
    assert "f" * 32 in line and "abc_job.jar" in line and "parallelism 3" in line and "file:/sp/savepoint-1" in line
    assert "hunter2" not in line and "topsecret" not in line and "s3.secret-key" not in line


def test_every_action_has_a_distinct_line() -> None:
    lines = [
        summarize(UploadJar(cluster="default", artifact="counter", sha256="0" * 64)),
        summarize(StopJob(job_id="a" * 32, trigger_id="t1", target_directory=None)),
        summarize(CancelJob(job_id="a" * 32)),
        summarize(TriggerSavepoint(job_id="a" * 32, trigger_id="t2", target_directory=None)),
        summarize(DisposeSavepoint(path="file:/sp/savepoint-2")),
        summarize(ReleaseFinalizer()),
    ]
    assert all(lines) and len(set(lines)) == len(lines)
    assert "t1" in lines[1] and "t2" in lines[3] and "file:/sp/savepoint-2" in lines[4]
