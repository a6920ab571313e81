"""Setting standard conditions: one function, keeping lastTransitionTime unless the status flips."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from flink_manager.api.common import Condition, ConditionStatus


def set_condition(
    conditions: Sequence[Condition],
    type_: str,
    status: ConditionStatus | bool,
    reason: str,
    message: str,
    *,
    now: datetime.datetime,
    generation: int | None,
) -> tuple[Condition, ...]:
    """Return `conditions` with the condition `type_` set; order is kept, new types are appended."""
    if isinstance(status, bool):
        status = ConditionStatus.TRUE if status else ConditionStatus.FALSE
    result: list[Condition] = []
    found = False
    for condition in conditions:
        if condition.type != type_:
            result.append(condition)
            continue
        found = True
        since = condition.last_transition_time if condition.status == status else now
        result.append(
            Condition(
                type=type_,
                status=status,
                reason=reason,
                message=message,
                last_transition_time=since,
                observed_generation=generation,
            )
        )
    if not found:
        result.append(
            Condition(
                type=type_,
                status=status,
                reason=reason,
                message=message,
                last_transition_time=now,
                observed_generation=generation,
            )
        )
    return tuple(result)
