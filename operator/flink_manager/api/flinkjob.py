"""Flink's job states, shared by the client, the simulator and the reconcile core."""

from __future__ import annotations

import enum


class JobState(str, enum.Enum):
    INITIALIZING = "INITIALIZING"
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    FAILING = "FAILING"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELED = "CANCELED"
    FINISHED = "FINISHED"
    RESTARTING = "RESTARTING"
    SUSPENDED = "SUSPENDED"
    RECONCILING = "RECONCILING"

    @property
    def is_globally_terminal(self) -> bool:
        """FAILED, CANCELED and FINISHED: the job will never run again (SUSPENDED is only locally terminal)."""
        return self in (JobState.FAILED, JobState.CANCELED, JobState.FINISHED)
