"""The Artifact decisions as tables: when to fetch (a new generation, a retry, a Secret that changed), what the
content must match, and the status a verification gives."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from flink_manager.api.artifact import ArtifactPhase, ArtifactSpec, ArtifactStatus, ResolvedSource
from flink_manager.artifacts.errors import ArtifactError, DigestMismatch
from flink_manager.artifacts.maven import RepositoryChecksum
from flink_manager.artifacts.sources import Resolved
from flink_manager.artifacts.store import check_pins
from flink_manager.reconcile.artifact import (
    FetchResult,
    Pin,
    decide_artifact,
    fetch_key,
    needs_fetch,
    pin_for,
    waits_for_secrets,
)
from flink_manager.reconcile.targets import View, verified_digest

NOW = datetime.datetime(2026, 3, 1, 10, 0, tzinfo=datetime.UTC)
A, B = "a" * 64, "b" * 64
MAVEN = {
    "repository": "https://repo.example.com/maven2",
    "groupId": "com.example",
    "artifactId": "job",
    "version": "1.0-SNAPSHOT",
}
JAR_URL = "https://repo.example.com/maven2/com/example/job/1.0-SNAPSHOT/job-1.0-20260301.101500-7.jar"


def artifact(spec: dict[str, Any], status: dict[str, Any] | None = None, generation: int = 2) -> Any:
    return View("job", generation, ArtifactSpec.from_wire(spec), ArtifactStatus.from_wire(status or {}))


def ready(sha256: str = A, generation: int = 2, **extra: Any) -> dict[str, Any]:
    return {"phase": "Ready", "sha256": sha256, "observedGeneration": generation, **extra}


def failed(reason: str, key: str | None, generation: int = 2) -> dict[str, Any]:
    condition = {"type": "Ready", "status": "False", "reason": reason, "lastTransitionTime": "2026-03-01T09:00:00Z"}
    return {"phase": "Failed", "observedGeneration": generation, "fetchKey": key, "conditions": [condition]}


KEY = fetch_key(2, {"repo-creds": "41"})


@pytest.mark.parametrize(
    ("spec", "status", "key", "fetch"),
    [
        pytest.param({"url": "https://r/a.jar", "sha256": A}, {}, KEY, True, id="never-fetched"),
        pytest.param({"url": "https://r/a.jar", "sha256": A}, ready(), KEY, False, id="verified-this-generation"),
        pytest.param({"url": "https://r/a.jar", "sha256": A}, ready(generation=1), KEY, True, id="new-generation"),
        pytest.param({"url": "https://r/a.jar", "sha256": B}, ready(), KEY, True, id="pin-changed-same-generation"),
        pytest.param({"maven": MAVEN}, ready(B), KEY, False, id="maven-verified-by-repository"),
        pytest.param(
            {"maven": MAVEN}, {"phase": "Pending", "observedGeneration": 2, "fetchKey": KEY}, KEY, True, id="retrying"
        ),
        pytest.param(
            {"maven": MAVEN, "credentialsSecretRef": {"name": "repo-creds"}},
            failed("AuthenticationFailed", KEY),
            KEY,
            False,
            id="failed-same-secret-waits",
        ),
        pytest.param(
            {"maven": MAVEN, "credentialsSecretRef": {"name": "repo-creds"}},
            failed("AuthenticationFailed", KEY),
            fetch_key(2, {"repo-creds": "42"}),
            True,
            id="secret-rotated",
        ),
        pytest.param(
            {"maven": MAVEN, "credentialsSecretRef": {"name": "repo-creds"}},
            failed("SecretNotFound", fetch_key(2, {"repo-creds": None})),
            KEY,
            True,
            id="secret-created",
        ),
    ],
)
def test_when_an_artifact_is_fetched(spec: dict[str, Any], status: dict[str, Any], key: str, fetch: bool) -> None:
    assert needs_fetch(artifact(spec, status), key) is fetch


def test_the_fetch_key_changes_with_the_generation_and_each_secret_version() -> None:
    keys = {
        fetch_key(2, {"a": "1", "b": "7"}),
        fetch_key(3, {"a": "1", "b": "7"}),
        fetch_key(2, {"a": "2", "b": "7"}),
        fetch_key(2, {"a": "1", "b": None}),
        fetch_key(2, {"a": "1"}),
    }
    assert len(keys) == 5
    assert fetch_key(2, {"a": "1", "b": "7"}) == fetch_key(2, {"b": "7", "a": "1"})


@pytest.mark.parametrize(
    ("spec", "reason", "waits"),
    [
        pytest.param(
            {"maven": MAVEN, "credentialsSecretRef": {"name": "c"}},
            "AuthenticationFailed",
            True,
            id="refused-credentials",
        ),
        pytest.param({"maven": MAVEN, "caSecretRef": {"name": "ca"}}, "SecretNotFound", True, id="missing-ca"),
        pytest.param(
            {"maven": MAVEN, "credentialsSecretRef": {"name": "c"}},
            "DigestMismatch",
            False,
            id="digest-mismatch-needs-a-spec-change",
        ),
        pytest.param({"maven": MAVEN}, "AuthenticationFailed", False, id="no-secret-to-wait-for"),
    ],
)
def test_which_failures_wait_for_a_secret(spec: dict[str, Any], reason: str, waits: bool) -> None:
    view = artifact(spec)
    assert waits_for_secrets(view, ArtifactStatus.from_wire(failed(reason, KEY))) is waits


@pytest.mark.parametrize(
    ("spec", "status", "pin"),
    [
        pytest.param(
            {"url": "https://r/a.jar", "sha256": A},
            ready(B, resolved={"url": "https://r/a.jar"}),
            Pin(sha256=A),
            id="spec-pin-wins",
        ),
        pytest.param(
            {"maven": MAVEN},
            ready(B, resolved={"url": JAR_URL}),
            Pin(None, JAR_URL, B),
            id="recorded-digest-pins-its-url",
        ),
        pytest.param({"maven": MAVEN}, {}, Pin(), id="first-fetch-trusts-the-repository-checksum"),
    ],
)
def test_what_the_content_must_match(spec: dict[str, Any], status: dict[str, Any], pin: Pin) -> None:
    assert pin_for(artifact(spec, status)) == pin


CHECKSUM = RepositoryChecksum("sha1", "1" * 40, "job-1.0-20260301.101500-7.jar.sha1")


@pytest.mark.parametrize(
    ("resolved", "pin", "sha256", "repository", "outcome"),
    [
        pytest.param(Resolved(JAR_URL), Pin(sha256=A), A, None, "spec.sha256", id="spec-pin-holds"),
        pytest.param(Resolved(JAR_URL), Pin(sha256=A), B, None, "as spec.sha256 says", id="spec-pin-broken"),
        pytest.param(
            Resolved(JAR_URL, checksum=CHECKSUM), Pin(), A, "1" * 40, CHECKSUM.file, id="repository-checksum-holds"
        ),
        pytest.param(
            Resolved(JAR_URL, checksum=CHECKSUM),
            Pin(),
            A,
            "2" * 40,
            "as the repository's",
            id="repository-checksum-broken",
        ),
        pytest.param(
            Resolved(JAR_URL, checksum=CHECKSUM),
            Pin(None, JAR_URL, B),
            A,
            "1" * 40,
            "changed",
            id="same-build-changed-behind-its-recorded-digest",
        ),
        pytest.param(
            Resolved(JAR_URL.replace("-7", "-8"), checksum=CHECKSUM),
            Pin(None, JAR_URL, B),
            A,
            "1" * 40,
            CHECKSUM.file,
            id="a-new-build-may-have-a-new-digest",
        ),
    ],
)
def test_pins(resolved: Resolved, pin: Pin, sha256: str, repository: str | None, outcome: str) -> None:
    if outcome.startswith(("as ", "changed")):
        with pytest.raises(DigestMismatch, match=outcome):
            check_pins(resolved, pin, sha256, repository)
    else:
        assert check_pins(resolved, pin, sha256, repository) == outcome


def test_content_with_nothing_to_check_against_is_never_accepted() -> None:
    with pytest.raises(ArtifactError):
        check_pins(Resolved(JAR_URL), Pin(), A, None)


def test_a_verified_snapshot_records_its_build_and_may_run() -> None:
    view = artifact({"maven": MAVEN})
    resolved = ResolvedSource(url=JAR_URL, version="1.0-20260301.101500-7", verified_by=CHECKSUM.file)
    status = decide_artifact(view, FetchResult(sha256=A, size_bytes=311, resolved=resolved), KEY, NOW)
    assert (status.phase, status.sha256, status.resolved, status.fetch_key) == (ArtifactPhase.READY, A, resolved, KEY)
    ready_condition = next(c for c in status.conditions if c.type == "Ready")
    assert "1.0-SNAPSHOT resolved to build 1.0-20260301.101500-7" in ready_condition.message
    assert verified_digest(View("job", 2, view.spec, status)) == A


def test_a_failure_keeps_what_was_verified_before_and_says_degraded() -> None:
    view = artifact({"maven": MAVEN}, ready(B, generation=1, resolved={"url": JAR_URL}))
    status = decide_artifact(view, FetchResult(failure_reason="DigestMismatch", failure="changed"), KEY, NOW)
    assert (status.phase, status.sha256, status.resolved.url if status.resolved else None) == (
        ArtifactPhase.FAILED,
        B,
        JAR_URL,
    )
    degraded = next(c for c in status.conditions if c.type == "Degraded")
    assert (degraded.status.value, degraded.reason) == ("True", "DigestMismatch")
    assert verified_digest(View("job", 2, view.spec, status)) is None


def test_a_retryable_failure_is_pending_and_not_degraded() -> None:
    status = decide_artifact(
        artifact({"maven": MAVEN}),
        FetchResult(failure_reason="FetchFailed", failure="HTTP 503", retryable=True),
        KEY,
        NOW,
    )
    assert status.phase == ArtifactPhase.PENDING
    assert next(c for c in status.conditions if c.type == "Degraded").status.value == "False"
