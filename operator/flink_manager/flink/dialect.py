"""What differs between the Flink versions the client speaks to: one table, keyed by the cluster's version.

The client learns the version from `/config` (and every `/overview`) and looks its dialect up here; nothing
else in the operator branches on a Flink version. Each row holds from its version on, until the next row.
What each entry was seen to do on real Flink is recorded per version in tests/contract/OBSERVED.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flink_manager.flink.errors import FlinkUnsupportedVersion

_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class FlinkDialect:
    """How one range of Flink versions speaks the REST API the operator uses.

    The client reads the request side; the simulator (flink-manager simulate --flink-version) reads both sides
    to answer as that version does, and the contract suite holds both to real Flink of every version.
    """

    since: tuple[int, int]
    # -- what a request may carry
    # The run request's field for how a restored savepoint's files are owned (NO_CLAIM, CLAIM, LEGACY):
    # `restoreMode` until 1.19, `claimMode` from 1.20 (which still reads `restoreMode`).
    claim_mode_field: str
    # Request bodies with a field the server does not know (a run's `claimMode`, a disposal's `triggerId`) are
    # refused (400, UnrecognizedPropertyException) until 1.19; from 1.20 (FLINK-35302) unknown fields are ignored.
    rejects_unknown_fields: bool
    # -- what the answers carry
    # The refusal of a job id that was used already: DuplicateJobSubmissionException ("Job has already been
    # submitted.") until 2.2, DuplicateApplicationSubmissionException ("Application has already been
    # submitted.") from 2.3.
    duplicate_job: tuple[str, str]
    # `/jobs/{id}/exceptions` carries `root-exception`, `timestamp`, `all-exceptions` and `truncated` beside
    # `exceptionHistory` until 1.20; 2.0 removed them.
    legacy_exception_fields: bool
    # Where a failed task ran, in `/exceptions` entries: `location` until 1.20, `endpoint` from 1.19.
    task_location_fields: tuple[str, ...]
    # Fields of a `/jobs/overview` entry and of `/jobs/{id}` beyond those every version has.
    job_overview_fields: tuple[str, ...]
    job_details_fields: tuple[str, ...]
    # Fields of each of `/jobs/{id}`'s vertices beyond those every version has (`slotSharingGroupId` from 1.20).
    job_vertex_fields: tuple[str, ...]
    # The run answer carries `applicationId` beside `jobid`, and the `/applications` endpoints exist (2.3).
    applications: bool
    # -- the configuration `/jobmanager/config` reports
    # The keys of the checkpoint storage, the checkpoint directory and the savepoint directory: `state.*` until
    # 1.19; 1.20 renamed them `execution.checkpointing.*` (and still reads the old ones), 2.0 dropped the old names.
    checkpoint_keys: tuple[str, str, str]

    @property
    def name(self) -> str:
        return f"{self.since[0]}.{self.since[1]}"


_JOB_SUBMITTED = ("DuplicateJobSubmissionException", "Job has already been submitted.")
_STATE_KEYS = ("state.checkpoint-storage", "state.checkpoints.dir", "state.savepoints.dir")
_CHECKPOINTING_KEYS = (
    "execution.checkpointing.storage",
    "execution.checkpointing.dir",
    "execution.checkpointing.savepoint-dir",
)
_APPLICATION_SUBMITTED = ("DuplicateApplicationSubmissionException", "Application has already been submitted.")

DIALECTS: tuple[FlinkDialect, ...] = (
    FlinkDialect(
        (1, 18),
        claim_mode_field="restoreMode",
        rejects_unknown_fields=True,
        duplicate_job=_JOB_SUBMITTED,
        legacy_exception_fields=True,
        task_location_fields=("location",),
        job_overview_fields=(),
        job_details_fields=(),
        job_vertex_fields=(),
        applications=False,
        checkpoint_keys=_STATE_KEYS,
    ),
    FlinkDialect(
        (1, 19),
        claim_mode_field="restoreMode",
        rejects_unknown_fields=True,
        duplicate_job=_JOB_SUBMITTED,
        legacy_exception_fields=True,
        task_location_fields=("location", "endpoint"),
        job_overview_fields=(),
        job_details_fields=(),
        job_vertex_fields=(),
        applications=False,
        checkpoint_keys=_STATE_KEYS,
    ),
    FlinkDialect(
        (1, 20),
        claim_mode_field="claimMode",
        rejects_unknown_fields=False,
        duplicate_job=_JOB_SUBMITTED,
        legacy_exception_fields=True,
        task_location_fields=("location", "endpoint"),
        job_overview_fields=(),
        job_details_fields=("job-type",),
        job_vertex_fields=("slotSharingGroupId",),
        applications=False,
        checkpoint_keys=_CHECKPOINTING_KEYS,
    ),
    FlinkDialect(
        (2, 0),
        claim_mode_field="claimMode",
        rejects_unknown_fields=False,
        duplicate_job=_JOB_SUBMITTED,
        legacy_exception_fields=False,
        task_location_fields=("endpoint",),
        job_overview_fields=("pending-operators",),
        job_details_fields=("job-type", "pending-operators"),
        job_vertex_fields=("slotSharingGroupId",),
        applications=False,
        checkpoint_keys=_CHECKPOINTING_KEYS,
    ),
    FlinkDialect(
        (2, 3),
        claim_mode_field="claimMode",
        rejects_unknown_fields=False,
        duplicate_job=_APPLICATION_SUBMITTED,
        legacy_exception_fields=False,
        task_location_fields=("endpoint",),
        job_overview_fields=("jobType", "schedulerType", "pending-operators"),
        job_details_fields=("application-id", "job-type", "schedulerType", "pending-operators"),
        job_vertex_fields=("slotSharingGroupId",),
        applications=True,
        checkpoint_keys=_CHECKPOINTING_KEYS,
    ),
)
OLDEST = DIALECTS[0].since
NEWEST = DIALECTS[-1].since
SUPPORTED_RANGE = f"{OLDEST[0]}.{OLDEST[1]} to {NEWEST[0]}.{NEWEST[1]}"


def parse_version(version: str) -> tuple[int, int, int] | None:
    """`1.18.1` → (1, 18, 1); `2.3-SNAPSHOT` → (2, 3, 0); None when it does not start with major.minor."""
    match = _VERSION.match(version or "")
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def unsupported_reason(version: str | None) -> str | None:
    """Why a cluster of this version cannot be used (a message naming the supported range), or None if it can.

    Versions newer than the newest row are spoken to in the newest dialect: Flink keeps its REST API compatible
    within a major version, and a refusal would stop every job on an upgraded cluster.
    """
    parsed = parse_version(version or "")
    if parsed is None:
        return f"the cluster reports Flink version {version!r}, which is not a version number; supported: Flink {SUPPORTED_RANGE}"
    if parsed[:2] < OLDEST:
        return f"the cluster runs Flink {version}; supported: Flink {SUPPORTED_RANGE}"
    return None


def dialect_for(version: str) -> FlinkDialect:
    """The dialect of a Flink version; FlinkUnsupportedVersion for one older than the oldest row or unparseable."""
    reason = unsupported_reason(version)
    parsed = parse_version(version)
    if reason is not None or parsed is None:
        raise FlinkUnsupportedVersion(reason or f"unsupported Flink version {version!r}")
    return [dialect for dialect in DIALECTS if dialect.since <= parsed[:2]][-1]
