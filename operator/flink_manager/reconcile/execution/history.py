"""What the status remembers, for every concern: history entries, settling in a phase, completed savepoints, and the
DELETE entry that lets the resource go.

History: one entry each time the execution settles in a phase (Running, Stopped, Cancelled, Failed, Finished) or a
savepoint completes, appended in the same status write as the change it records, so it can be neither lost nor
doubled. It is bounded to the newest `history_limit` entries; `historyTotal` counts them all.
"""

from __future__ import annotations

from typing import Any

from flink_manager.api.common import HistoryAction, HistoryDetails, HistoryEntry
from flink_manager.api.execution import ExecutionPhase, SavepointReason, SavepointRecord
from flink_manager.reconcile.execution.decision import Decision
from flink_manager.reconcile.execution.inputs import ExecutionInputs
from flink_manager.reconcile.execution.phases import ENDED_PHASES, LIVE_PHASES
from flink_manager.reconcile.plans import ReleaseFinalizer

SAVEPOINT_LIST_HARD_LIMIT = 100
DELETED = "Deleted"  # the newStatus of a DELETE entry


def record(
    inp: ExecutionInputs,
    d: Decision,
    action: HistoryAction,
    performed_by: str,
    old: ExecutionPhase | str | None,
    new: ExecutionPhase | str,
    **details: Any,
) -> Decision:
    """Append one history entry."""
    status = d.status
    seq = status.history_total + 1
    entry = HistoryEntry(
        seq=seq,
        action=action,
        performed_by=performed_by,
        performed_at=inp.now,
        old_status=_phase_name(old),
        new_status=_phase_name(new) or "",
        flink_job_id=status.flink_job_id,
        details=HistoryDetails(**details),
    )
    history = (*status.history, entry)[-max(1, inp.history_limit) :]
    return d.update(history=history, history_total=seq)


def settle(
    inp: ExecutionInputs,
    d: Decision,
    action: HistoryAction,
    performed_by: str,
    old: ExecutionPhase,
    new: ExecutionPhase,
    **details: Any,
) -> Decision:
    """Enter a stable phase: clear the pending operation and record the transition."""
    changes: dict[str, Any] = {"phase": new, "pending": None}
    if new in ENDED_PHASES and (d.status.finished_at is None or d.status.phase in LIVE_PHASES):
        changes["finished_at"] = inp.now
    return record(inp, d.update(**changes), action, performed_by, old, new, **details)


def keep_savepoint(
    inp: ExecutionInputs, d: Decision, path: str, reason: SavepointReason, job_id: str | None
) -> Decision:
    """Remember a completed savepoint: the newest is `lastSavepoint`, all are listed until disposed."""
    if any(s.path == path for s in d.status.savepoints):
        return d
    saved = SavepointRecord(path=path, taken_at=inp.now, reason=reason, job_id=job_id)
    savepoints = (*d.status.savepoints, saved)[-SAVEPOINT_LIST_HARD_LIMIT:]
    return d.update(last_savepoint=saved, savepoints=savepoints)


def release(
    inp: ExecutionInputs, d: Decision, savepoint: str | None = None, old: ExecutionPhase | None = None
) -> Decision:
    """Record the deletion (once, even if the finalizer's removal is repeated) and let the resource go."""
    last = d.status.history[-1] if d.status.history else None
    if last is None or last.action != HistoryAction.DELETE:
        d = d.update(pending=None)
        d = record(
            inp,
            d,
            HistoryAction.DELETE,
            inp.deleted_by,
            old or d.status.phase,
            DELETED,
            savepoint_path=savepoint,
            attempt=d.status.attempt or None,
        )
    return d.act(ReleaseFinalizer(), requeue_after=None)


def _phase_name(phase: ExecutionPhase | str | None) -> str | None:
    if phase is None:
        return None
    return phase.value if isinstance(phase, ExecutionPhase) else phase
