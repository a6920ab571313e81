"""Retained checkpoints on file: storage, laid out as Flink's file-system checkpoint storage writes them."""

from __future__ import annotations

import asyncio
import datetime
import os
import pathlib

import pytest

from flink_manager.storage import checkpoints

JOB = "6d0f3b7c2a9e4f1d8b5a0c3e7f9d1b2a"


def checkpoint(root: pathlib.Path, number: int, *, completed: bool = True, mtime: float | None = None) -> pathlib.Path:
    folder = root / JOB / f"chk-{number}"
    folder.mkdir(parents=True)
    if completed:
        metadata = folder / "_metadata"
        metadata.write_bytes(b"\x00" * 16)
        if mtime is not None:
            os.utime(metadata, (mtime, mtime))
    return folder


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param(lambda root: root.as_uri(), id="file-triple-slash"),
        pytest.param(lambda root: f"file:{root}", id="file-single-slash"),
        pytest.param(lambda root: str(root), id="bare-path"),
        pytest.param(lambda root: root.as_uri() + "/", id="trailing-slash"),
    ],
)
def test_the_newest_completed_checkpoint_of_the_job_is_found(tmp_path: pathlib.Path, uri) -> None:  # type: ignore[no-untyped-def]
    checkpoint(tmp_path, 3, mtime=1_700_000_000)
    newest = checkpoint(tmp_path, 12, mtime=1_700_000_100)
    checkpoint(tmp_path, 13, completed=False)  # in progress when the JobManager died: no _metadata
    (tmp_path / JOB / "shared").mkdir()
    (tmp_path / JOB / "taskowned").mkdir()
    found = asyncio.run(checkpoints.latest_checkpoint(uri(tmp_path), JOB))
    assert found is not None
    assert found.path == f"file:{newest}"
    assert found.checkpoint_id == 12
    assert found.completed_at == datetime.datetime.fromtimestamp(1_700_000_100, datetime.UTC)


def test_a_job_without_checkpoints_has_none(tmp_path: pathlib.Path) -> None:
    assert asyncio.run(checkpoints.latest_checkpoint(tmp_path.as_uri(), JOB)) is None
    checkpoint(tmp_path, 1, completed=False)
    assert asyncio.run(checkpoints.latest_checkpoint(tmp_path.as_uri(), JOB)) is None


def test_the_checkpoint_id_orders_checkpoints_not_the_file_times(tmp_path: pathlib.Path) -> None:
    checkpoint(tmp_path, 9, mtime=1_700_000_200)  # copied or touched later
    checkpoint(tmp_path, 10, mtime=1_700_000_100)
    found = asyncio.run(checkpoints.latest_checkpoint(tmp_path.as_uri(), JOB))
    assert found is not None and found.checkpoint_id == 10


def test_a_known_checkpoint_or_savepoint_is_described_while_it_is_on_storage(tmp_path: pathlib.Path) -> None:
    folder = checkpoint(tmp_path, 4, mtime=1_700_000_000)
    described = asyncio.run(checkpoints.describe(f"file:{folder}"))
    assert described is not None and described.checkpoint_id == 4 and described.path == f"file:{folder}"
    savepoint = tmp_path / "savepoint-6d0f3b-0123456789ab"
    savepoint.mkdir()
    (savepoint / "_metadata").write_bytes(b"x")
    described = asyncio.run(checkpoints.describe(savepoint.as_uri() + "/_metadata"))
    assert described is not None and described.path == f"file:{savepoint}" and described.checkpoint_id is None
    assert asyncio.run(checkpoints.describe(f"file:{tmp_path}/gone")) is None


def test_a_scheme_without_a_lister_is_reported_not_taken_for_no_checkpoint() -> None:
    with pytest.raises(checkpoints.UnsupportedStorage, match="s3"):
        asyncio.run(checkpoints.latest_checkpoint("s3://bucket/checkpoints", JOB))


def test_a_file_uri_of_another_host_is_refused() -> None:
    with pytest.raises(checkpoints.StorageError, match="another host"):
        asyncio.run(checkpoints.latest_checkpoint("file://flink-jobmanager/checkpoints", JOB))


def test_an_unreadable_job_directory_is_an_error(tmp_path: pathlib.Path) -> None:
    (tmp_path / JOB).write_text("not a directory")
    with pytest.raises(checkpoints.StorageError, match="cannot list"):
        asyncio.run(checkpoints.latest_checkpoint(tmp_path.as_uri(), JOB))
