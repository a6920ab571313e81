"""Why an artifact could not be fetched or verified: one type per reason, each becoming a condition reason.

Messages name Secrets and keys, never what they hold: a message ends up in status, Events and logs.
"""

from __future__ import annotations

from typing import ClassVar


class ArtifactError(Exception):
    """A failed fetch or verification; `reason` becomes the Artifact's condition reason."""

    reason: ClassVar[str] = "FetchFailed"

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class FetchFailed(ArtifactError):
    """The source did not answer as expected (connection error, timeout, 5xx: retryable; other statuses: not)."""


class ArtifactNotFound(ArtifactError):
    """The source answered that the JAR (or the Maven metadata) does not exist: HTTP 404, NoSuchKey, no such file."""

    reason = "NotFound"


class AuthenticationFailed(ArtifactError):
    """The source refused the request (HTTP 401 or 403): wrong, expired or missing credentials."""

    reason = "AuthenticationFailed"


class SecretNotFound(ArtifactError):
    """A Secret the Artifact names does not exist (or cannot be read)."""

    reason = "SecretNotFound"


class SecretKeyMissing(ArtifactError):
    """A Secret the Artifact names lacks the keys its source needs."""

    reason = "SecretKeyMissing"


class InvalidCA(ArtifactError):
    """The CA bundle of caSecretRef is not PEM certificates."""

    reason = "InvalidCA"


class DigestMismatch(ArtifactError):
    """The content's digest is not the one pinned: spec.sha256, the repository's checksum, or the digest recorded
    when the same resolved URL was verified before."""

    reason = "DigestMismatch"


class ChecksumUnavailable(ArtifactError):
    """A Maven source without spec.sha256 whose repository publishes no checksum file for the JAR."""

    reason = "ChecksumUnavailable"


class InvalidMavenMetadata(ArtifactError):
    """maven-metadata.xml that does not parse or names no build for the version."""

    reason = "InvalidMavenMetadata"


class TooLarge(ArtifactError):
    """The content exceeds the operator's FLINK_MANAGER_MAX_ARTIFACT_BYTES (checked while streaming)."""

    reason = "TooLarge"


class HostRefused(ArtifactError):
    """A host (of the source, or of a redirect) on a loopback, link-local or private address, not allowed by
    FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS."""

    reason = "HostRefused"


class InsecureURL(ArtifactError):
    """An http:// or file:// location while the operator does not allow insecure artifacts (also a redirect from
    https to http)."""

    reason = "InsecureURL"


class UnsupportedURL(ArtifactError):
    """A URL whose scheme the operator cannot fetch."""

    reason = "UnsupportedURL"


class ContentUnavailable(ArtifactError):
    """Content an Execution asks for that the Artifact no longer describes (its spec moved on) and that is not
    cached."""

    reason = "ContentUnavailable"
