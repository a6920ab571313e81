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
    """How one range of Flink versions speaks the REST API the operator uses."""

    since: tuple[int, int]
    # The run request's field for how a restored savepoint's files are owned (NO_CLAIM, CLAIM, LEGACY):
    # `restoreMode` until 1.19, `claimMode` from 1.20 (where `restoreMode` is still read, deprecated).
    claim_mode_field: str
    # The duplicate job id refusal: DuplicateJobSubmissionException ("Job has already been submitted.") in 1.x,
    # DuplicateApplicationSubmissionException ("Application has already been submitted.") from 2.3.
    duplicate_job_exception: str
    # `/jobs/{id}/exceptions` carries `root-exception` and `all-exceptions` beside `exceptionHistory` (until 1.20).
    legacy_exception_fields: bool
    # The run response carries `applicationId` beside `jobid` (2.3).
    run_returns_application: bool
    # The `/applications` endpoints exist (2.3).
    applications: bool

    @property
    def name(self) -> str:
        return f"{self.since[0]}.{self.since[1]}"


DIALECTS: tuple[FlinkDialect, ...] = (
    FlinkDialect((1, 18), claim_mode_field="restoreMode", duplicate_job_exception="DuplicateJobSubmissionException",
                 legacy_exception_fields=True, run_returns_application=False, applications=False),
    FlinkDialect((1, 20), claim_mode_field="claimMode", duplicate_job_exception="DuplicateJobSubmissionException",
                 legacy_exception_fields=True, run_returns_application=False, applications=False),
    FlinkDialect((2, 0), claim_mode_field="claimMode", duplicate_job_exception="DuplicateJobSubmissionException",
                 legacy_exception_fields=False, run_returns_application=False, applications=False),
    FlinkDialect((2, 3), claim_mode_field="claimMode", duplicate_job_exception="DuplicateApplicationSubmissionException",
                 legacy_exception_fields=False, run_returns_application=True, applications=True),
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
