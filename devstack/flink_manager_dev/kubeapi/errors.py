"""Typed API errors, each rendered as the Kubernetes `Status` body the real apiserver sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flink_manager.schema.fielderrors import FieldError, aggregate_message


@dataclass
class ApiError(Exception):
    """An error answered with a `v1 Status` body."""

    code: int = 500
    reason: str = "InternalError"
    message: str = "internal error"
    details: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> dict[str, Any]:
        """The `Status` object for this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(name: str | None, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    return details


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


class NotFound(ApiError):
    """404 NotFound for an object (`<resource> "<name>" not found`)."""

    def __init__(self, plural: str, group: str, name: str) -> None:
        super().__init__(
            404, "NotFound", f'{_qualified(plural, group)} "{name}" not found', _details(name, group, plural)
        )


class PathNotFound(ApiError):
    """404 for an unknown URL (the apiserver's bare `404 page not found` as a Status)."""

    def __init__(self, message: str = "the server could not find the requested resource") -> None:
        super().__init__(404, "NotFound", message, {})


class AlreadyExists(ApiError):
    """409 AlreadyExists on create."""

    def __init__(self, plural: str, group: str, name: str) -> None:
        super().__init__(
            409, "AlreadyExists", f'{_qualified(plural, group)} "{name}" already exists', _details(name, group, plural)
        )


class Conflict(ApiError):
    """409 Conflict: a stale resourceVersion or a failed precondition."""

    def __init__(self, plural: str, group: str, name: str, why: str | None = None) -> None:
        why = why or "the object has been modified; please apply your changes to the latest version and try again"
        super().__init__(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": {why}',
            _details(name, group, plural),
        )


class ApplyConflict(ApiError):
    """409 Conflict from server-side apply: fields owned by other managers."""

    def __init__(self, conflicts: list[tuple[str, str, str]]) -> None:
        # conflicts: (manager, apiVersion, field path)
        lines = [f'conflict with "{m}" using {v}: {p}' for m, v, p in conflicts]
        n = len(conflicts)
        plural = "conflict" if n == 1 else "conflicts"
        if n == 1:
            message = f"Apply failed with 1 conflict: {lines[0]}"
        else:
            message = f"Apply failed with {n} {plural}: " + "\n".join(lines)
        causes = [
            {"reason": "FieldManagerConflict", "message": line, "field": p}
            for line, (_, _, p) in zip(lines, conflicts, strict=True)
        ]
        super().__init__(409, "Conflict", message, {"causes": causes})


class Invalid(ApiError):
    """422 Invalid with `details.causes`, worded like `<Kind>.<group> "<name>" is invalid: …`."""

    def __init__(self, kind: str, group: str, name: str, errors: list[FieldError]) -> None:
        qualified = f"{kind}.{group}" if group else kind
        aggregated = aggregate_message(errors)
        message = f'{qualified} "{name}" is invalid'
        if aggregated:
            message += f": {aggregated}"
        details: dict[str, Any] = _details(name, group, kind)
        details["causes"] = [e.cause() for e in errors]
        super().__init__(422, "Invalid", message, details)
        self.errors = errors


class BadRequest(ApiError):
    """400 BadRequest."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "BadRequest", message)


class MethodNotAllowed(ApiError):
    """405 MethodNotAllowed."""

    def __init__(self, message: str = "the server does not allow this method on the requested resource") -> None:
        super().__init__(405, "MethodNotAllowed", message, {})


class UnsupportedMediaType(ApiError):
    """415 UnsupportedMediaType."""

    def __init__(self, message: str) -> None:
        super().__init__(415, "UnsupportedMediaType", message)


class Gone(ApiError):
    """410 Gone / Expired: a watch or list from a compacted resourceVersion."""

    def __init__(self, message: str, reason: str = "Expired") -> None:
        super().__init__(410, reason, message)


class Forbidden(ApiError):
    """403 Forbidden."""

    def __init__(self, plural: str, group: str, name: str, why: str) -> None:
        super().__init__(
            403, "Forbidden", f'{_qualified(plural, group)} "{name}" is forbidden: {why}', _details(name, group, plural)
        )


class Unauthorized(ApiError):
    """401 Unauthorized."""

    def __init__(self) -> None:
        super().__init__(401, "Unauthorized", "Unauthorized")


class InjectedFault(ApiError):
    """An error injected by a fault rule."""


REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
