"""How long the simulated cluster takes for each step; defaults are what a small real Flink 2.3 cluster shows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Timings:
    """Seconds per step of the simulated cluster. Defaults follow a one-TaskManager Flink 2.3 on loopback.

    `rest_cache` is Flink's `web.refresh-interval`: `/jobs/{id}`, `/jobs/{id}/exceptions` and
    `/jobs/{id}/checkpoints` are served from a per-job cache that long, so they lag `/jobs/overview`.
    """

    run_request: float = 0.08  # the run call itself (building the job graph)
    initializing: float = 0.2  # INITIALIZING → CREATED
    created: float = 0.1  # CREATED → RUNNING (tasks scheduled)
    deploying: float = 0.3  # tasks deploying → running, when the job has its slots
    cancelling: float = 0.1  # CANCELLING → CANCELED
    failing: float = 0.07  # FAILING → FAILED
    restart_delay: float = 1.0  # RESTARTING → RUNNING (fixed-delay restart strategy)
    savepoint: float = 0.12  # savepoint IN_PROGRESS → COMPLETED (per job: `simulator.savepoint-duration`)
    checkpoint_interval: float = 2.0  # periodic checkpoints while running (the example job's interval)
    checkpoint_duration: float = 0.05  # trigger → completion of one periodic checkpoint
    disposal: float = 0.02  # savepoint disposal IN_PROGRESS → COMPLETED
    rest_cache: float = 3.0  # web.refresh-interval
    operation_cache: float = 300.0  # rest.async.store-duration: how long finished triggers stay queryable
    job_expiry: float = 3600.0  # jobstore.expiration-time: how long ended jobs stay listed
    slot_request_timeout: float = 300.0  # slot.request.timeout: a job waiting for slots fails after this

    @classmethod
    def fast(cls, **overrides: float) -> Timings:
        """Timings for tests: every step in a few milliseconds, no REST cache."""
        quick = dict(
            run_request=0.0,
            initializing=0.01,
            created=0.01,
            deploying=0.01,
            cancelling=0.01,
            failing=0.01,
            restart_delay=0.02,
            savepoint=0.02,
            checkpoint_interval=0.05,
            checkpoint_duration=0.005,
            disposal=0.01,
            rest_cache=0.0,
            slot_request_timeout=5.0,
        )
        return cls(**{**quick, **overrides})

    def replace(self, **changes: float) -> Timings:
        """A copy with some steps changed."""
        return dataclasses.replace(self, **changes)
