"""Manifests the CRDs must accept or reject, with the words the rejection must contain.

Shared by the unit test that evaluates the schemas (and their CEL rules) in-process and by the check
against a real kube-apiserver, so that both judge the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SHA = "0123456789abcdef" * 4
CLUSTER = {"restUrl": "http://flink-jobmanager:8081"}
ARTIFACT = {"url": "https://repo.example.com/my-job-1.0.0.jar", "sha256": SHA}
JOB_SPEC = {"artifactRef": {"name": "my-job"}, "entryClass": "com.example.MyJob"}
EXECUTION = {"jobSpecRef": {"name": "my-job-spec"}}
MAVEN = {
    "repository": "https://repo.example.com/maven2",
    "groupId": "com.example",
    "artifactId": "my-job",
    "version": "1.0.0",
}


@dataclass(frozen=True)
class RuleCase:
    """Create `kind` with `old` (when given), then update it to `spec`; `rejected` is None or a substring of the error."""

    id: str
    kind: str
    spec: dict[str, Any]
    rejected: str | None = None
    old: dict[str, Any] | None = None


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def _schedule(value: str) -> dict[str, Any]:
    return _with(EXECUTION, savepointSchedule=value)


SCHEDULE_MESSAGE = "savepointSchedule must be an interval such as 30m"
RETENTION = "execution.checkpointing.externalized-checkpoint-retention"

CASES = [
    # FlinkCluster
    RuleCase("cluster-minimal", "FlinkCluster", CLUSTER),
    RuleCase(
        "cluster-https-with-auth-and-ca",
        "FlinkCluster",
        _with(
            CLUSTER,
            restUrl="https://flink.example.com",
            auth={"type": "bearer", "secretRef": {"name": "flink-token"}},
            tls={"caSecretRef": {"name": "flink-ca"}},
        ),
    ),
    RuleCase("cluster-insecure-skip-verify", "FlinkCluster", _with(CLUSTER, tls={"insecureSkipVerify": True})),
    RuleCase(
        "cluster-explicit-nulls",
        "FlinkCluster",
        _with(CLUSTER, auth=None, tls={"caSecretRef": None, "insecureSkipVerify": True}, savepointDirectory=None),
    ),
    RuleCase(
        "cluster-url-without-scheme",
        "FlinkCluster",
        {"restUrl": "flink-jobmanager:8081"},
        "restUrl must be an http:// or https:// URL",
    ),
    RuleCase(
        "cluster-url-ftp", "FlinkCluster", {"restUrl": "ftp://flink:8081"}, "restUrl must be an http:// or https:// URL"
    ),
    RuleCase(
        "cluster-auth-type-unknown",
        "FlinkCluster",
        _with(CLUSTER, auth={"type": "digest", "secretRef": {"name": "s"}}),
        "spec.auth.type",
    ),
    RuleCase(
        "cluster-auth-without-secret", "FlinkCluster", _with(CLUSTER, auth={"type": "basic"}), "spec.auth.secretRef"
    ),
    RuleCase(
        "cluster-auth-secret-without-name",
        "FlinkCluster",
        _with(CLUSTER, auth={"type": "basic", "secretRef": {}}),
        "spec.auth.secretRef.name",
    ),
    RuleCase(
        "cluster-ca-and-skip-verify",
        "FlinkCluster",
        _with(CLUSTER, tls={"caSecretRef": {"name": "ca"}, "insecureSkipVerify": True}),
        "caSecretRef and insecureSkipVerify exclude each other",
    ),
    RuleCase(
        "cluster-poll-interval-zero", "FlinkCluster", _with(CLUSTER, pollIntervalSeconds=0), "spec.pollIntervalSeconds"
    ),
    # Artifact
    RuleCase("artifact-minimal", "Artifact", ARTIFACT),
    RuleCase("artifact-s3", "Artifact", _with(ARTIFACT, url="s3://bucket/jobs/my-job.jar")),
    RuleCase("artifact-file", "Artifact", _with(ARTIFACT, url="file:///opt/jobs/my-job.jar")),
    RuleCase(
        "artifact-url-ftp",
        "Artifact",
        _with(ARTIFACT, url="ftp://repo.example.com/my-job.jar"),
        "url must use the https, http, file or s3 scheme",
    ),
    RuleCase("artifact-sha256-uppercase", "Artifact", _with(ARTIFACT, sha256=SHA.upper()), "spec.sha256"),
    RuleCase("artifact-sha256-short", "Artifact", _with(ARTIFACT, sha256=SHA[:63]), "spec.sha256"),
    RuleCase(
        "artifact-entry-class-with-space",
        "Artifact",
        _with(ARTIFACT, entryClasses=["com.example.My Job"]),
        "spec.entryClasses[0]",
    ),
    RuleCase(
        "artifact-url-with-credentials",
        "Artifact",
        _with(ARTIFACT, url="https://me:pw@repo.example.com/a.jar"),
        "url must not contain credentials",
    ),
    RuleCase(
        "artifact-url-without-sha256", "Artifact", {"url": ARTIFACT["url"]}, "a spec.url source needs spec.sha256"
    ),
    RuleCase("artifact-no-source", "Artifact", {"sha256": SHA}, "exactly one source"),
    RuleCase("artifact-url-and-maven", "Artifact", _with(ARTIFACT, maven=MAVEN), "exactly one source"),
    RuleCase("artifact-explicit-null-url-and-maven", "Artifact", {"url": None, "maven": MAVEN}),
    RuleCase("artifact-maven-without-sha256", "Artifact", {"maven": MAVEN}),
    RuleCase(
        "artifact-maven-snapshot-with-classifier-and-secrets",
        "Artifact",
        {
            "maven": {**MAVEN, "version": "1.1.0-SNAPSHOT", "classifier": "all", "resolveNonce": 2},
            "credentialsSecretRef": {"name": "nexus"},
            "caSecretRef": {"name": "corp-ca", "key": "ca.pem"},
        },
    ),
    RuleCase(
        "artifact-maven-version-with-slash",
        "Artifact",
        {"maven": {**MAVEN, "version": "../../etc"}},
        "spec.maven.version",
    ),
    RuleCase(
        "artifact-maven-group-with-empty-segment",
        "Artifact",
        {"maven": {**MAVEN, "groupId": "com..example"}},
        "spec.maven.groupId",
    ),
    RuleCase(
        "artifact-maven-repository-with-credentials",
        "Artifact",
        {"maven": {**MAVEN, "repository": "https://me:pw@repo.example.com/maven2"}},
        "spec.maven.repository",
    ),
    RuleCase(
        "artifact-maven-without-version",
        "Artifact",
        {"maven": {k: v for k, v in MAVEN.items() if k != "version"}},
        "spec.maven.version",
    ),
    RuleCase(
        "artifact-s3-options",
        "Artifact",
        _with(
            ARTIFACT,
            url="s3://jars/my-job.jar",
            s3={"endpoint": "https://minio.storage.svc:9000", "region": "eu-west-1", "pathStyle": True},
            credentialsSecretRef={"name": "minio"},
        ),
    ),
    RuleCase(
        "artifact-s3-options-for-https",
        "Artifact",
        _with(ARTIFACT, s3={"pathStyle": True}),
        "spec.s3 applies to an s3:// url only",
    ),
    RuleCase(
        "artifact-s3-endpoint-with-path",
        "Artifact",
        _with(ARTIFACT, url="s3://jars/a.jar", s3={"endpoint": "https://minio:9000/jars"}),
        "spec.s3.endpoint",
    ),
    RuleCase(
        "artifact-file-with-credentials",
        "Artifact",
        _with(ARTIFACT, url="file:///opt/a.jar", credentialsSecretRef={"name": "s"}),
        "a file:// url takes no",
    ),
    # JobSpec
    RuleCase("job-spec-minimal", "JobSpec", JOB_SPEC),
    RuleCase("job-spec-inner-class", "JobSpec", _with(JOB_SPEC, entryClass="com.example.Jobs$Counter")),
    RuleCase("job-spec-explicit-null-savepoint", "JobSpec", _with(JOB_SPEC, savepointPath=None)),
    RuleCase("job-spec-parallelism-zero", "JobSpec", _with(JOB_SPEC, parallelism=0), "spec.parallelism"),
    RuleCase("job-spec-parallelism-negative", "JobSpec", _with(JOB_SPEC, parallelism=-2), "spec.parallelism"),
    RuleCase(
        "job-spec-entry-class-with-space",
        "JobSpec",
        _with(JOB_SPEC, entryClass="com.example.My Job"),
        "spec.entryClass",
    ),
    RuleCase("job-spec-upgrade-mode-unknown", "JobSpec", _with(JOB_SPEC, upgradeMode="rolling"), "spec.upgradeMode"),
    RuleCase(
        "job-spec-flink-config-number",
        "JobSpec",
        _with(JOB_SPEC, flinkConfig={"parallelism.default": 4}),
        "spec.flinkConfig",
    ),
    RuleCase(
        "job-spec-last-state-retaining",
        "JobSpec",
        _with(
            JOB_SPEC,
            upgradeMode="last-state",
            lastState={"savepointFallback": True},
            flinkConfig={RETENTION: "RETAIN_ON_CANCELLATION"},
        ),
    ),
    RuleCase("job-spec-last-state-cluster-retention", "JobSpec", _with(JOB_SPEC, upgradeMode="last-state")),
    RuleCase(
        "job-spec-last-state-deleting-checkpoints",
        "JobSpec",
        _with(JOB_SPEC, upgradeMode="last-state", flinkConfig={RETENTION: "DELETE_ON_CANCELLATION"}),
        "must be RETAIN_ON_CANCELLATION",
    ),
    RuleCase(
        "job-spec-savepoint-mode-deleting-checkpoints",
        "JobSpec",
        _with(JOB_SPEC, flinkConfig={RETENTION: "NO_EXTERNALIZED_CHECKPOINTS"}),
    ),
    RuleCase(
        "job-spec-format-and-claim-mode", "JobSpec", _with(JOB_SPEC, savepointFormatType="NATIVE", claimMode="CLAIM")
    ),
    RuleCase("job-spec-claim-mode-legacy", "JobSpec", _with(JOB_SPEC, claimMode="LEGACY"), "spec.claimMode"),
    RuleCase(
        "job-spec-format-unknown", "JobSpec", _with(JOB_SPEC, savepointFormatType="JSON"), "spec.savepointFormatType"
    ),
    RuleCase("job-spec-rollout", "JobSpec", _with(JOB_SPEC, rollout={"maxConcurrent": 5})),
    RuleCase(
        "job-spec-rollout-zero", "JobSpec", _with(JOB_SPEC, rollout={"maxConcurrent": 0}), "spec.rollout.maxConcurrent"
    ),
    # Execution
    RuleCase("execution-minimal", "Execution", EXECUTION),
    RuleCase(
        "execution-explicit-nulls",
        "Execution",
        _with(
            EXECUTION,
            restoreFrom={"savepointPath": None},
            savepointSchedule=None,
            startedBy=None,
            restartPolicy={"maxStateAgeSeconds": None},
        ),
    ),
    RuleCase("execution-state-unknown", "Execution", _with(EXECUTION, state="Paused"), "spec.state"),
    RuleCase(
        "execution-job-spec-ref-changed",
        "Execution",
        {"jobSpecRef": {"name": "other"}},
        "jobSpecRef is immutable",
        old=EXECUTION,
    ),
    RuleCase(
        "execution-other-fields-editable", "Execution", _with(EXECUTION, state="Stopped", restartNonce=1), old=EXECUTION
    ),
    RuleCase(
        "execution-restart-nonce-bumped",
        "Execution",
        _with(EXECUTION, restartNonce=4),
        old=_with(EXECUTION, restartNonce=3),
    ),
    RuleCase(
        "execution-restart-nonce-decreased",
        "Execution",
        _with(EXECUTION, restartNonce=2),
        "restartNonce may only increase",
        old=_with(EXECUTION, restartNonce=3),
    ),
    RuleCase(
        "execution-restart-nonce-reset-by-omission",
        "Execution",
        EXECUTION,
        "restartNonce may only increase",
        old=_with(EXECUTION, restartNonce=3),
    ),
    RuleCase(
        "execution-savepoint-nonce-decreased",
        "Execution",
        _with(EXECUTION, savepointNonce=0),
        "savepointNonce may only increase",
        old=_with(EXECUTION, savepointNonce=1),
    ),
    RuleCase("execution-restart-nonce-negative", "Execution", _with(EXECUTION, restartNonce=-1), "spec.restartNonce"),
    RuleCase("execution-schedule-interval", "Execution", _schedule("30m")),
    RuleCase("execution-schedule-cron", "Execution", _schedule("0 */6 * * *")),
    RuleCase("execution-schedule-cron-ranges", "Execution", _schedule("*/15 9-17 1,15 1-12/3 1-5")),
    RuleCase(
        "execution-schedule-zero-interval", "Execution", _schedule("0s"), "a savepoint interval must be longer than 0"
    ),
    RuleCase("execution-schedule-words", "Execution", _schedule("every hour"), SCHEDULE_MESSAGE),
    RuleCase("execution-schedule-week-unit", "Execution", _schedule("1w"), SCHEDULE_MESSAGE),
    RuleCase("execution-schedule-four-fields", "Execution", _schedule("0 * * *"), SCHEDULE_MESSAGE),
    RuleCase("execution-schedule-minute-60", "Execution", _schedule("60 * * * *"), SCHEDULE_MESSAGE),
    RuleCase("execution-schedule-hour-24", "Execution", _schedule("0 24 * * *"), SCHEDULE_MESSAGE),
    RuleCase("execution-schedule-step-zero", "Execution", _schedule("*/0 * * * *"), SCHEDULE_MESSAGE),
    RuleCase(
        "execution-retention-age-malformed",
        "Execution",
        _with(EXECUTION, savepointRetention={"maxAge": "7 days"}),
        "spec.savepointRetention.maxAge",
    ),
    RuleCase(
        "execution-restart-policy-unknown",
        "Execution",
        _with(EXECUTION, restartPolicy={"type": "Always"}),
        "spec.restartPolicy.type",
    ),
]
