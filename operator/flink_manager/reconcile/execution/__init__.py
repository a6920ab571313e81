"""The Execution reconcile as a pure function: (spec, status, what Flink reports, now) → plan.

One module per concern, tried in the fixed order of `pipeline.POLICIES`:

- `submit.py`: starting a job and following a submission until Flink runs it (`attempts.py`: a new attempt);
- `stop.py`: stopping with a savepoint, cancelling, and what follows a stop;
- `failure.py`: what happens when a running job fails, finishes, is cancelled outside or lost, and while Flink
  restarts it on its own; the restart policy;
- `upgrade.py`: restarts on request, upgrades to a changed JobSpec, rollback of a failed upgrade;
- `savepoints.py`: savepoints on request and on schedule, their retries, retention and disposal;
- `deletion.py`: stopping the job of a deleted Execution, then letting it go;

over `inputs.py` (what a decision reads), `decision.py` (what it builds), `phases.py` (Flink job states → phases and
history actions), `history.py` and `operations.py` (history entries, operations in flight), and `conditions.py`
(Ready, Progressing, Degraded, derived from the decision).
"""

from flink_manager.reconcile.execution.inputs import (
    DEFAULT_HISTORY_LIMIT,
    ExecutionInputs,
    ObservationNeeds,
    counts_flink_restarts,
    needs_job_details,
    needs_stored_checkpoints,
    observation_needs,
)
from flink_manager.reconcile.execution.phases import LIVE_PHASES
from flink_manager.reconcile.execution.pipeline import decide

__all__ = [
    "DEFAULT_HISTORY_LIMIT",
    "LIVE_PHASES",
    "ExecutionInputs",
    "ObservationNeeds",
    "counts_flink_restarts",
    "decide",
    "needs_job_details",
    "needs_stored_checkpoints",
    "observation_needs",
]
