"""The value one step of an Execution's reconcile builds: the new status, at most one action, Events, when to look
again, and what was found on the way (the Degraded and Ready conditions are derived from it at the end).

A `Decision` is immutable: every change returns a new one, so a policy that decides nothing hands back the value it
was given and no flag set by one policy is read by another behind the pipeline's back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeVar

from flink_manager.api.execution import ExecutionStatus
from flink_manager.reconcile.observations import ActionError
from flink_manager.reconcile.plans import Action, EventRecord
from flink_manager.reconcile.reasons import UNREACHABLE
from flink_manager.reconcile.targets import Blocker

# How soon to look again after an action, and while Flink works on something (the cluster poller usually wakes the
# execution earlier, when the job's state changes).
RECHECK_AFTER_ACTION = 0.5
RECHECK_WHILE_WAITING = 2.0
# An upgrade waiting for the rollout is woken when the JobSpec admits it; this only bounds a lost wake-up.
RECHECK_WHILE_QUEUED = 60.0


@dataclass(frozen=True)
class FlinkUnreachable:
    """Flink could not be asked (or answer) what the decision needs: retried with backoff, reported as Degraded (and
    Ready=False while a job may live, whose state is then unknown) with the reason the FlinkCluster gives."""

    message: str
    reason: str = UNREACHABLE


@dataclass(frozen=True)
class BlockedBy:
    """A new attempt cannot start: the JobSpec's references do not resolve (a missing or unverified Artifact...)."""

    blocker: Blocker


@dataclass(frozen=True)
class UpgradePending:
    """The JobSpec changed, and its upgradeMode (manual) waits for a restart request to apply it."""

    message: str


@dataclass(frozen=True)
class RolloutWaiting:
    """The JobSpec changed, and its rollout does not let this Execution upgrade yet (queued, or paused)."""

    reason: str
    message: str


@dataclass(frozen=True)
class NoUsableCheckpoint:
    """A last-state upgrade waits: the running job has no retained checkpoint young enough to restore from."""

    message: str


Finding = FlinkUnreachable | BlockedBy | UpgradePending | RolloutWaiting | NoUsableCheckpoint
F = TypeVar("F", FlinkUnreachable, BlockedBy, UpgradePending, RolloutWaiting, NoUsableCheckpoint)


@dataclass(frozen=True)
class Decision:
    """One step in progress; `final` once a policy has decided the step (the pipeline asks no later policy)."""

    status: ExecutionStatus
    action: Action | None = None
    requeue_after: float | None = None
    retry: bool = False  # requeue with the controller's exponential backoff
    events: tuple[EventRecord, ...] = ()
    findings: tuple[Finding, ...] = ()
    final: bool = False

    def update(self, **changes: Any) -> Decision:
        """The decision with these status fields changed."""
        return replace(self, status=self.status.model_copy(update=changes))

    def act(self, action: Action, requeue_after: float | None = RECHECK_AFTER_ACTION) -> Decision:
        """Ask for one Flink call (or the finalizer's release), and to look again soon after it (None: not)."""
        acting = replace(self, action=action)
        return acting if requeue_after is None else acting.requeue(requeue_after)

    def requeue(self, seconds: float) -> Decision:
        """Look again within `seconds` (the soonest of all requests wins)."""
        after = seconds if self.requeue_after is None else min(self.requeue_after, seconds)
        return replace(self, requeue_after=after)

    def warn(self, reason: str, message: str) -> Decision:
        """Post a Warning Event."""
        return replace(self, events=(*self.events, EventRecord("Warning", reason, message)))

    def notify(self, reason: str, message: str) -> Decision:
        """Post a Normal Event."""
        return replace(self, events=(*self.events, EventRecord("Normal", reason, message)))

    def find(self, finding: Finding) -> Decision:
        """Note something the conditions must report."""
        return replace(self, findings=(*self.findings, finding))

    def unreachable(self, message: str, reason: str = UNREACHABLE) -> Decision:
        """Flink could not be asked: say why, and retry with backoff."""
        return replace(self.find(FlinkUnreachable(message, reason)), retry=True)

    def could_not_ask(self, error: ActionError) -> Decision:
        """The last Flink call did not get Flink's answer (no answer, credentials refused, a version the client does
        not speak): say why, with the reason the FlinkCluster gives, and retry with backoff."""
        return self.unreachable(error.message, error.not_asked_reason or UNREACHABLE)

    def done(self) -> Decision:
        """This step is decided."""
        return replace(self, final=True)

    def finding(self, kind: type[F]) -> F | None:
        """The latest finding of this kind, if any."""
        return next((f for f in reversed(self.findings) if isinstance(f, kind)), None)
