"""Deterministic Flink ids: the one place job ids and savepoint trigger ids are derived.

Flink rejects a second submission with an existing job id and treats a repeated trigger id as the same
operation, so an operator that derives its ids can repeat a call after a crash without doubling it.
"""

from __future__ import annotations

import hashlib


def _hex32(*parts: object) -> str:
    text = "\x1f".join(str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def derive_job_id(execution_uid: str, attempt: int) -> str:
    """The Flink job id (32 hex characters) of attempt `attempt` of the execution with this uid."""
    if attempt < 1:
        raise ValueError(f"attempts are numbered from 1, got {attempt}")
    return _hex32("job", execution_uid, attempt)


def derive_trigger_id(execution_uid: str, job_id: str, operation: str, seq: int, tries: int) -> str:
    """The trigger id of try `tries` of operation number `seq` of an execution (numbered in its status before
    the call), so a repeated call is the same operation to Flink and two operations never share an id."""
    return _hex32("trigger", execution_uid, job_id, operation, seq, tries)
