"""The retained checkpoints of a job that Flink no longer knows, read from the checkpoint storage.

A JobManager that restarts without HA forgets its jobs, but not their checkpoints: Flink's file-system checkpoint
storage keeps each completed checkpoint as `<checkpoint directory>/<job id>/chk-<n>/` with its `_metadata` file
(written last, so a directory without it is a checkpoint that did not complete), and a killed JobManager cleans
nothing up. The newest of them is what the job's resubmission restores from.

Listing is by URI scheme: `file:` here; another scheme (s3:, gs:, …) registers a `Lister` in `LISTERS`. A scheme
without one raises `UnsupportedStorage`, which the caller reports rather than mistaking for "no checkpoint".
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

METADATA = "_metadata"
CHECKPOINT_DIRECTORY = re.compile(r"^chk-(\d+)$")


@dataclass(frozen=True)
class StoredCheckpoint:
    """One completed checkpoint (or savepoint) on storage."""

    path: str  # the location to restore from, written as Flink writes it (file:/dir/<job id>/chk-7)
    completed_at: datetime.datetime  # when its _metadata was written
    checkpoint_id: int | None = None


class StorageError(Exception):
    """The storage could not be read (permissions, I/O error)."""


class UnsupportedStorage(StorageError):
    """No lister for this URI scheme."""


@dataclass(frozen=True)
class Lister:
    """Reads one kind of storage: the completed checkpoints under a job's directory, and one checkpoint or savepoint."""

    completed: Callable[[str], Awaitable[list[StoredCheckpoint]]]
    describe: Callable[[str], Awaitable[StoredCheckpoint | None]]


def scheme_of(uri: str) -> str:
    """`file` for `file:/x`, `file:///x` and a bare absolute path; the URI scheme otherwise."""
    if uri.startswith("/"):
        return "file"
    return urllib.parse.urlsplit(uri).scheme.lower()


def job_directory(directory: str, job_id: str) -> str:
    """Where Flink keeps a job's checkpoints under the configured checkpoint directory."""
    return f"{directory.rstrip('/')}/{job_id}"


async def latest_checkpoint(directory: str, job_id: str) -> StoredCheckpoint | None:
    """The newest completed checkpoint of `job_id` under the checkpoint directory `directory`, None if it has none."""
    checkpoints = await _lister(directory).completed(job_directory(directory, job_id))
    return max(checkpoints, key=lambda c: (c.checkpoint_id or 0, c.completed_at), default=None)


async def describe(path: str) -> StoredCheckpoint | None:
    """A checkpoint or savepoint at `path` as stored (None when it is not there, or did not complete)."""
    return await _lister(path).describe(path)


def _lister(uri: str) -> Lister:
    scheme = scheme_of(uri)
    lister = LISTERS.get(scheme)
    if lister is None:
        raise UnsupportedStorage(f"the operator cannot list {scheme}: storage (it reads {', '.join(sorted(LISTERS))})")
    return lister


# -- file: -------------------------------------------------------------------------------------------------


def local_path(uri: str) -> str:
    """The local path of a `file:` URI as Flink writes them (`file:/a/b`, `file:///a/b`) or of a bare path."""
    if uri.startswith("/"):
        return uri
    parsed = urllib.parse.urlsplit(uri)
    if parsed.netloc not in ("", "localhost"):
        raise StorageError(f"{uri}: a file: URI on another host ({parsed.netloc}) cannot be read here")
    return urllib.parse.unquote(parsed.path)


def _file_uri(path: str) -> str:
    return "file:" + path


def _stat_metadata(directory: str, checkpoint_id: int | None) -> StoredCheckpoint | None:
    try:
        mtime = os.stat(os.path.join(directory, METADATA)).st_mtime
    except FileNotFoundError:
        return None
    completed = datetime.datetime.fromtimestamp(mtime, datetime.UTC)
    return StoredCheckpoint(_file_uri(directory), completed, checkpoint_id)


def _list_files(job_dir_uri: str) -> list[StoredCheckpoint]:
    job_dir = local_path(job_dir_uri)
    try:
        names = os.listdir(job_dir)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StorageError(f"cannot list {job_dir_uri}: {exc.strerror or exc}") from None
    found = []
    for name in names:
        match = CHECKPOINT_DIRECTORY.match(name)
        if match is None:
            continue
        try:
            checkpoint = _stat_metadata(os.path.join(job_dir, name), int(match.group(1)))
        except OSError as exc:
            raise StorageError(f"cannot read {job_dir_uri}/{name}: {exc.strerror or exc}") from None
        if checkpoint is not None:
            found.append(checkpoint)
    return found


def _describe_file(uri: str) -> StoredCheckpoint | None:
    path = local_path(uri).rstrip("/").removesuffix("/" + METADATA)
    match = CHECKPOINT_DIRECTORY.match(os.path.basename(path))
    try:
        return _stat_metadata(path, int(match.group(1)) if match else None)
    except OSError as exc:
        raise StorageError(f"cannot read {uri}: {exc.strerror or exc}") from None


async def _completed_files(job_dir_uri: str) -> list[StoredCheckpoint]:
    return await asyncio.to_thread(_list_files, job_dir_uri)


async def _describe_files(uri: str) -> StoredCheckpoint | None:
    return await asyncio.to_thread(_describe_file, uri)


LISTERS: dict[str, Lister] = {"file": Lister(_completed_files, _describe_files)}
