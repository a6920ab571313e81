"""JSON merge patches (RFC 7386) computed from an old and a new document: write only what changed."""

from __future__ import annotations

from typing import Any


def merge_patch(old: Any, new: Any) -> Any:
    """The merge patch that turns `old` into `new` (None when they are equal).

    Keys missing from `new` become null (deletion); lists are replaced whole, as merge patches do.
    """
    if not isinstance(old, dict) or not isinstance(new, dict):
        return None if old == new else new
    patch: dict[str, Any] = {}
    for key, value in new.items():
        if key not in old:
            patch[key] = value
            continue
        if isinstance(value, dict) and isinstance(old[key], dict):
            sub = merge_patch(old[key], value)
            if sub is not None:
                patch[key] = sub
        elif old[key] != value:
            patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch or None


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a merge patch (RFC 7386) to a document, returning a new document."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result
