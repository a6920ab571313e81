"""Typed errors of the Flink REST client: the reconcile core maps each to a condition reason.

Only the client looks at Flink's error messages; everything above it branches on these types.
"""

from __future__ import annotations


class FlinkError(Exception):
    """Base of every error the Flink client raises."""

    reason = "FlinkError"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class FlinkUnavailable(FlinkError):
    """The cluster could not be reached, timed out, or answered 5xx: retry later."""

    reason = "FlinkUnavailable"
    retryable = True


class FlinkAuthError(FlinkError):
    """Flink (or a proxy in front of it) refused the credentials (401/403)."""

    reason = "FlinkUnauthorized"


class FlinkNotFound(FlinkError):
    """Base of the "no such thing" errors."""

    reason = "FlinkNotFound"


class FlinkJobNotFound(FlinkNotFound):
    """No job with this id is known to the cluster."""

    reason = "FlinkJobNotFound"


class FlinkJarNotFound(FlinkNotFound):
    """No uploaded jar with this id: the cluster lost it (restart) or it was deleted."""

    reason = "FlinkJarNotFound"


class FlinkTriggerNotFound(FlinkNotFound):
    """No asynchronous operation with this trigger id (never triggered, or expired from Flink's cache)."""

    reason = "FlinkTriggerNotFound"


class FlinkDuplicateJob(FlinkError):
    """A job with the requested job id already exists: the submission was not applied again."""

    reason = "FlinkDuplicateJob"


class FlinkRequestRejected(FlinkError):
    """Flink refused the request for a reason retrying will not fix (bad entry class, program error, bad path).

    `message` holds Flink's own first error line, never a Java stack trace.
    """

    reason = "FlinkRequestRejected"


class FlinkClientConfigError(FlinkError):
    """The client's own settings cannot work (a CA that is not PEM, a REST URL that is not http or https)."""

    reason = "FlinkClientConfigInvalid"


class FlinkUnsupportedVersion(FlinkError):
    """The cluster runs a Flink version the client does not speak (older than the oldest supported, or not a
    version number): nothing is submitted to it."""

    reason = "UnsupportedFlinkVersion"
