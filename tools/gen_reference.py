#!/usr/bin/env python3
"""Generate docs/reference.md, the resource reference, from the CRDs in crds/.

    python tools/gen_reference.py > docs/reference.md     # write it
    python tools/gen_reference.py --check                 # exit 1, with a diff, when docs/reference.md is stale

Every field of every kind (path, type, default, validation, description) and the printer columns come from
the CRD schemas, so the reference cannot say something the API server does not enforce. The conditions and
their reasons, and the labels, annotations and finalizers the operator sets, are not in the schemas: they are
the tables below, and tests/unit/test_reference_docs.py checks that each name in them occurs in the
operator's source.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CRD_DIR = ROOT / "crds"
REFERENCE = ROOT / "docs" / "reference.md"
KIND_ORDER = ("FlinkCluster", "Artifact", "JobSpec", "Execution")


@dataclass(frozen=True)
class ConditionRow:
    """One row of a kind's conditions table: a condition type and status, the reasons it comes with, and why."""

    type: str
    status: str
    reasons: tuple[str, ...]
    meaning: str


CONDITIONS: dict[str, tuple[ConditionRow, ...]] = {
    "FlinkCluster": (
        ConditionRow(
            "Ready",
            "True",
            ("Reachable",),
            "The last probe of the REST API answered; the message gives the Flink version, TaskManagers "
            "and free slots.",
        ),
        ConditionRow(
            "Ready",
            "False",
            ("FlinkClusterUnreachable", "FlinkUnauthorized", "FlinkClientConfigInvalid", "InvalidCredentials"),
            "No answer, a timeout or a 5xx; credentials refused (401/403); a CA bundle or URL the client "
            "cannot use; a Secret named in spec.auth or spec.tls that is missing or lacks the key. "
            "Phase Unreachable; no Flink call is made for the cluster's jobs until it answers.",
        ),
        ConditionRow(
            "Ready",
            "False",
            ("UnsupportedFlinkVersion",),
            "The cluster answers but runs a Flink version older than 1.18 (or reports no version number); "
            "the message names the supported range. Phase Ready (it was reached); nothing is submitted to it "
            "and its Executions wait with this reason.",
        ),
        ConditionRow(
            "Degraded",
            "True",
            (
                "FlinkClusterUnreachable",
                "FlinkUnauthorized",
                "FlinkClientConfigInvalid",
                "InvalidCredentials",
                "UnsupportedFlinkVersion",
            ),
            "The same problem as Ready=False.",
        ),
        ConditionRow("Degraded", "False", ("AsExpected",), "The cluster answers."),
    ),
    "Artifact": (
        ConditionRow(
            "Ready",
            "True",
            ("Verified",),
            "The JAR was fetched and its SHA-256 verified (against spec.sha256, or for a Maven source "
            "without it the repository's checksum file); the message gives digest, size and, for a "
            "-SNAPSHOT, the build it resolved to.",
        ),
        ConditionRow(
            "Ready",
            "False",
            ("FetchFailed",),
            "The JAR could not be fetched: phase Pending and retried with backoff when the failure may "
            "pass (connection error, timeout, 429, 5xx), phase Failed otherwise (an untrusted certificate, "
            "another HTTP status).",
        ),
        ConditionRow(
            "Ready",
            "False",
            ("AuthenticationFailed", "SecretNotFound", "SecretKeyMissing", "InvalidCA", "NotFound"),
            "Phase Failed: the source refused the credentials (401/403; the message names the Secret, "
            "never its values), a Secret named in spec.credentialsSecretRef or spec.caSecretRef is missing "
            "or lacks its keys, the CA bundle is not PEM, or the JAR (or Maven metadata) does not exist. "
            "Fetched again as soon as a named Secret changes (re-read every "
            "FLINK_MANAGER_ARTIFACT_SECRET_RECHECK_SECONDS) or the spec changes.",
        ),
        ConditionRow(
            "Ready",
            "False",
            (
                "DigestMismatch",
                "ChecksumUnavailable",
                "InvalidMavenMetadata",
                "TooLarge",
                "HostRefused",
                "InsecureURL",
                "UnsupportedURL",
                "ContentUnavailable",
            ),
            "Phase Failed until the spec changes, and nothing is uploaded to Flink: the digest differs "
            "from spec.sha256, from the repository's checksum, or from the digest verified before for "
            "the same resolved URL; the repository has no checksum file (set spec.sha256); "
            "maven-metadata.xml names no build; the JAR exceeds FLINK_MANAGER_MAX_ARTIFACT_BYTES (checked "
            "while streaming); a host (or a redirect's) on a loopback, link-local or private address not "
            "allowed by FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS; http:// or file:// while the operator "
            "does not allow them; a scheme the operator cannot fetch; content an Execution asks for that "
            "the Artifact no longer describes.",
        ),
        ConditionRow(
            "Ready", "False", ("InUse",), "The Artifact is being deleted and waits while a JobSpec still refers to it."
        ),
        ConditionRow(
            "Degraded",
            "True",
            (
                "AuthenticationFailed",
                "SecretNotFound",
                "SecretKeyMissing",
                "InvalidCA",
                "NotFound",
                "FetchFailed",
                "DigestMismatch",
                "ChecksumUnavailable",
                "InvalidMavenMetadata",
                "TooLarge",
                "HostRefused",
                "InsecureURL",
                "UnsupportedURL",
                "ContentUnavailable",
            ),
            "The same reason and message as Ready=False, for every failure but those retried with backoff.",
        ),
        ConditionRow("Degraded", "False", ("AsExpected",), "Verified, or retrying a failure that may pass."),
    ),
    "JobSpec": (
        ConditionRow(
            "Ready",
            "True",
            ("Resolved",),
            "The artifact is verified, lists the entry class (or lists none) and the cluster exists: "
            "Executions can start.",
        ),
        ConditionRow(
            "Ready",
            "False",
            (
                "ArtifactNotFound",
                "ArtifactNotReady",
                "ArtifactFailed",
                "EntryClassNotInArtifact",
                "ClusterNotFound",
                "ClusterDeleting",
                "FlinkVersionUnknown",
                "UnsupportedFlinkVersion",
            ),
            "Why a new attempt cannot start; the message names what is missing (FlinkVersionUnknown: the "
            "cluster has not been probed yet). No Flink call is made.",
        ),
    ),
    "Execution": (
        ConditionRow(
            "Ready",
            "True",
            ("JobRunning", "JobFinished"),
            "spec.state is Running and the Flink job runs, or finished by itself.",
        ),
        ConditionRow(
            "Ready",
            "True",
            ("Stopped", "Cancelled", "Finished", "Failed"),
            "spec.state is Stopped or Cancelled and no job runs; the reason is the phase.",
        ),
        ConditionRow(
            "Ready",
            "False",
            ("JobFailed", "JobNotRunning"),
            "The job failed (the message is Flink's root cause; see also status.errorMessage), or Flink "
            "reports it in another state than RUNNING (RESTARTING, …) while the phase is Running.",
        ),
        ConditionRow(
            "Ready",
            "False",
            ("Pending", "Submitting", "Running", "Stopping", "Cancelling", "Restarting"),
            "On the way to the desired state; the reason is the current phase.",
        ),
        ConditionRow(
            "Ready",
            "False",
            ("ArtifactNotReady", "EntryClassNotInArtifact", "ClusterNotFound"),
            "A new attempt cannot start: the JobSpec's reason (any of its Ready=False reasons).",
        ),
        ConditionRow(
            "Ready",
            "False",
            ("Deleting",),
            "The Execution is being deleted: its job is stopped per spec.deletionPolicy first.",
        ),
        ConditionRow(
            "Ready",
            "False",
            ("FlinkClusterUnreachable", "FlinkUnauthorized"),
            "A job may live but its FlinkCluster cannot be asked about it (no answer, a timeout, a 5xx; "
            "credentials refused): its state is unknown. Nothing is done until the cluster answers.",
        ),
        ConditionRow(
            "Progressing",
            "True",
            ("Submitting", "StoppingWithSavepoint", "Cancelling", "TakingSavepoint", "DisposingSavepoint"),
            "The operation recorded in status.pending is in flight; the message gives the Flink job id or "
            "trigger id and since when.",
        ),
        ConditionRow(
            "Progressing",
            "True",
            ("CheckingCheckpoint",),
            "upgradeMode last-state: the running job's checkpoint statistics are read for a retained "
            "checkpoint to restore from, before the job is cancelled.",
        ),
        ConditionRow(
            "Progressing",
            "True",
            ("RolloutQueued",),
            "The JobSpec changed and its rollout.maxConcurrent upgrades are under way: this Execution's "
            "job keeps running until the JobSpec admits it (status.rollout.admitted).",
        ),
        ConditionRow(
            "Progressing",
            "False",
            ("RolloutPaused",),
            "The JobSpec changed, but its rollout is paused by a failed upgrade (status.rollout.paused): "
            "nothing more upgrades until the JobSpec changes or flinkmanager.io/resume-rollout is set.",
        ),
        ConditionRow("Progressing", "False", ("Idle",), "No operation in flight."),
        ConditionRow(
            "Degraded",
            "True",
            ("FlinkClusterUnreachable", "FlinkUnauthorized", "UnsupportedFlinkVersion"),
            "The Flink cluster cannot be asked about the job (or refuses the credentials, or runs a version "
            "the operator does not speak: a submission in flight is then refused before any call), with the "
            "FlinkCluster's own reason; retried with backoff, nothing else changes. When its JobManager "
            "restarted without HA, the job is resubmitted once the cluster answers (see restartPolicy).",
        ),
        ConditionRow(
            "Degraded",
            "True",
            ("SavepointFailed", "SavepointTimeout", "SavepointDisposalFailed", "NoRestorableState"),
            "An operation given up on (status.failedOperation): it is not retried until the spec changes.",
        ),
        ConditionRow(
            "Degraded",
            "True",
            ("RolledBack",),
            "An upgrade failed within the JobSpec's rollback window and was rolled back (status.rollback).",
        ),
        ConditionRow(
            "Degraded",
            "True",
            ("UpgradePending",),
            "upgradeMode manual: the JobSpec changed; bump spec.restartNonce to apply it.",
        ),
        ConditionRow(
            "Degraded",
            "True",
            ("NoUsableCheckpoint",),
            "upgradeMode last-state: the running job has no completed checkpoint within "
            "restartPolicy.maxStateAgeSeconds; the job keeps running and the upgrade looks again (never "
            "stateless; lastState.savepointFallback upgrades through a savepoint instead).",
        ),
        ConditionRow("Degraded", "False", ("AsExpected",), "No problem known."),
    ),
}


@dataclass(frozen=True)
class Example:
    """A manifest shown in a kind's Examples section (tests/unit/test_reference_docs.py has the CRDs accept it)."""

    title: str
    manifest: str


EXAMPLES: dict[str, tuple[Example, ...]] = {
    "Artifact": (
        Example(
            "An https URL, with basic credentials and a private CA from Secrets",
            """\
apiVersion: flinkmanager.io/v1alpha1
kind: Artifact
metadata:
  name: my-job
spec:
  url: https://artifacts.corp.example/jobs/my-job-1.4.0.jar
  sha256: 9f2c6d1f0e5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c
  credentialsSecretRef: {name: artifacts-reader}   # keys username and password, or token
  caSecretRef: {name: corp-ca}                     # key ca.crt
  entryClasses: [com.example.MyJob]
""",
        ),
        Example(
            "An object in MinIO (or any S3-compatible store), with keys from a Secret",
            """\
apiVersion: flinkmanager.io/v1alpha1
kind: Artifact
metadata:
  name: my-job
spec:
  url: s3://flink-jobs/my-job/1.4.0/my-job.jar
  sha256: 9f2c6d1f0e5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c
  s3: {endpoint: "https://minio.storage.svc:9000", region: us-east-1, pathStyle: true}
  credentialsSecretRef: {name: minio-reader}   # keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
  caSecretRef: {name: minio-ca}
""",
        ),
        Example(
            "A release from a Maven repository, verified by the repository's checksum",
            """\
apiVersion: flinkmanager.io/v1alpha1
kind: Artifact
metadata:
  name: state-machine-example
spec:
  maven:
    repository: https://repo1.maven.org/maven2
    groupId: org.apache.flink
    artifactId: flink-examples-streaming
    version: 1.20.1
    classifier: StateMachineExample
""",
        ),
        Example(
            "The newest build of a snapshot in a private Nexus",
            """\
apiVersion: flinkmanager.io/v1alpha1
kind: Artifact
metadata:
  name: my-job-snapshot
spec:
  maven:
    repository: https://nexus.corp.example/repository/maven-snapshots
    groupId: com.example
    artifactId: my-job
    version: 1.5.0-SNAPSHOT
    resolveNonce: 3          # bump to pick up a newer build
  credentialsSecretRef: {name: nexus-reader}
""",
        ),
    ),
}


@dataclass(frozen=True)
class MetadataRow:
    """A label, annotation or finalizer: its kind of key, the key, where it appears, and what it does."""

    what: str
    key: str
    on: str
    meaning: str


METADATA: tuple[MetadataRow, ...] = (
    MetadataRow(
        "label",
        "flinkmanager.io/job-spec",
        "Execution",
        "Set by the operator to the JobSpec's name: `kubectl get fex -l flinkmanager.io/job-spec=NAME`.",
    ),
    MetadataRow(
        "annotation",
        "flinkmanager.io/requested-by",
        "any",
        "Set by you or your pipeline: recorded as performedBy in the history entries of the changes it "
        "asks for (otherwise the field manager that last changed the spec).",
    ),
    MetadataRow(
        "annotation",
        "flinkmanager.io/resume-rollout",
        "JobSpec",
        "Set by you to a new value to resume a rollout that a failed upgrade paused (status.rollout.paused); "
        "the Executions whose upgrade failed are not tried again until the JobSpec changes.",
    ),
    MetadataRow(
        "annotation",
        "flinkmanager.io/first-attempt",
        "Execution",
        "Set by the operator with the finalizer: the first attempt's submission (a merge patch to the "
        "status), read until the status records the attempt, never after. Do not edit it.",
    ),
    MetadataRow(
        "finalizer",
        "flinkmanager.io/stop-job",
        "Execution",
        "Removed once the Flink job is stopped (spec.deletionPolicy) or spec.deletionTimeoutSeconds passed.",
    ),
    MetadataRow(
        "finalizer",
        "flinkmanager.io/artifact-in-use",
        "Artifact",
        "Removed once no JobSpec refers to the Artifact and its JARs are deleted from the clusters.",
    ),
    MetadataRow(
        "finalizer",
        "flinkmanager.io/cluster-poller",
        "FlinkCluster",
        "kopf's, for the daemon that polls the cluster; removed when the daemon has stopped.",
    ),
)


def load_crds(crd_dir: Path = CRD_DIR) -> list[dict[str, Any]]:
    """The CustomResourceDefinitions in crd_dir, in the order of KIND_ORDER (then any others by kind)."""
    crds = []
    for path in sorted(crd_dir.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                crds.append(document)

    def order(crd: dict[str, Any]) -> tuple[int, str]:
        kind = crd["spec"]["names"]["kind"]
        return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind)

    return sorted(crds, key=order)


def cell(text: Any) -> str:
    """Text for one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: Any) -> str:
    return f"`{text}`"


def render_value(value: Any) -> str:
    """A default or enum value as it would be written in YAML, in a code span."""
    if isinstance(value, str):
        return code(value) if value else '`""`'
    return code(json.dumps(value, separators=(", ", ": ")))


def type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type", "")
    if kind == "array":
        return "[]" + type_of(schema.get("items") or {})
    if kind == "object" and isinstance(schema.get("additionalProperties"), Mapping):
        return "map[string]" + type_of(schema["additionalProperties"])
    if schema.get("x-kubernetes-preserve-unknown-fields") and not kind:
        return "any"
    return f"{kind} ({schema['format']})" if schema.get("format") else kind


def _bounds(schema: Mapping[str, Any], low: str, high: str, unit: str = "") -> str | None:
    lo, hi = schema.get(low), schema.get(high)
    if lo is not None and hi is not None:
        return f"{unit}{lo} to {hi}"
    if lo is not None:
        return f"{unit}≥ {lo}"
    if hi is not None:
        return f"{unit}≤ {hi}"
    return None


def scalar_rules(schema: Mapping[str, Any]) -> list[str]:
    """Enum, bounds, lengths and pattern of one schema node."""
    rules = []
    if "enum" in schema:
        rules.append("one of " + ", ".join(render_value(v) for v in schema["enum"]))
    if (bounds := _bounds(schema, "minimum", "maximum")) is not None:
        rules.append(bounds)
    if (lengths := _bounds(schema, "minLength", "maxLength", "length ")) is not None:
        rules.append(lengths)
    if (items := _bounds(schema, "minItems", "maxItems", "items ")) is not None:
        rules.append(items)
    if "pattern" in schema:
        rules.append("pattern " + code(schema["pattern"]))
    return rules


def validation(schema: Mapping[str, Any], required: bool) -> str:
    rules = []
    if required:
        rules.append("**required**")
    if schema.get("nullable"):
        rules.append("nullable")
    rules += scalar_rules(schema)
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, Mapping) and items.get("type") != "object":
        rules += ["each: " + rule for rule in scalar_rules(items)]
    values = schema.get("additionalProperties")
    if isinstance(values, Mapping) and values.get("type") != "object":
        rules += ["each value: " + rule for rule in scalar_rules(values)]
    if schema.get("x-kubernetes-list-type") == "map":
        keys = ", ".join(code(k) for k in schema.get("x-kubernetes-list-map-keys") or ())
        rules.append(f"one item per {keys}")
    for rule in schema.get("x-kubernetes-validations") or ():
        when = " (on update)" if "oldSelf" in rule.get("rule", "") else ""
        rules.append(f"rule{when}: {rule.get('message') or rule.get('rule')}")
    return " · ".join(rules)


@dataclass(frozen=True)
class Field:
    path: str
    schema: Mapping[str, Any]
    required: bool


def walk(schema: Mapping[str, Any], path: str, required: bool = False) -> Iterator[Field]:
    """Every field under `path`, depth first in schema order: objects, then their properties; array items as []."""
    yield Field(path, schema, required)
    properties = schema.get("properties") or {}
    needed = set(schema.get("required") or ())
    for name, sub in properties.items():
        yield from walk(sub, f"{path}.{name}", name in needed)
    items = schema.get("items")
    if schema.get("type") == "array" and isinstance(items, Mapping) and items.get("type") == "object":
        needed_items = set(items.get("required") or ())
        for name, sub in (items.get("properties") or {}).items():
            yield from walk(sub, f"{path}[].{name}", name in needed_items)
    values = schema.get("additionalProperties")
    if isinstance(values, Mapping) and values.get("type") == "object":
        yield from walk(values, f"{path}.<key>")


def field_table(fields: Sequence[Field]) -> list[str]:
    lines = ["| field | type | default | validation | description |", "|---|---|---|---|---|"]
    for field in fields:
        default = render_value(field.schema["default"]) if "default" in field.schema else ""
        lines.append(
            "| "
            + " | ".join(
                [
                    cell(code(field.path)),
                    cell(type_of(field.schema)),
                    cell(default),
                    cell(validation(field.schema, field.required)),
                    cell(field.schema.get("description", "")),
                ]
            )
            + " |"
        )
    return lines


def printer_columns(crd: Mapping[str, Any], version: Mapping[str, Any]) -> list[str]:
    short = (crd["spec"]["names"].get("shortNames") or [crd["spec"]["names"]["plural"]])[0]
    lines = [
        f"### `kubectl get {short}`",
        "",
        "| column | type | JSONPath | shown | description |",
        "|---|---|---|---|---|",
    ]
    for column in version.get("additionalPrinterColumns") or ():
        shown = "with `-o wide`" if column.get("priority", 0) > 0 else "always"
        description = column.get("description") or (
            "Time since creation." if column["jsonPath"] == ".metadata.creationTimestamp" else ""
        )
        lines.append(
            "| "
            + " | ".join(
                [
                    cell(column["name"].upper()),
                    cell(column["type"]),
                    cell(code(column["jsonPath"])),
                    cell(shown),
                    cell(description),
                ]
            )
            + " |"
        )
    return lines


def conditions_table(kind: str) -> list[str]:
    rows = CONDITIONS.get(kind, ())
    if not rows:
        return []
    lines = [
        "### Conditions",
        "",
        "| condition | status | reason | meaning |",
        "|---|---|---|---|",
    ]
    for row in rows:
        reasons = ", ".join(code(reason) for reason in row.reasons)
        lines.append(f"| {cell(row.type)} | {cell(row.status)} | {cell(reasons)} | {cell(row.meaning)} |")
    return lines


def kind_section(crd: Mapping[str, Any]) -> list[str]:
    spec = crd["spec"]
    names = spec["names"]
    version = next(v for v in spec["versions"] if v.get("storage"))
    schema = version["schema"]["openAPIV3Schema"]
    facts = [
        code(crd["metadata"]["name"]),
        "short name " + ", ".join(code(s) for s in names.get("shortNames") or ()) if names.get("shortNames") else "",
        "namespaced" if spec.get("scope") == "Namespaced" else "cluster-scoped",
        "status subresource" if "status" in (version.get("subresources") or {}) else "",
    ]
    lines = [
        f"## {names['kind']}",
        "",
        " · ".join(fact for fact in facts if fact),
        "",
        " ".join(schema.get("description", "").split()),
        "",
        *printer_columns(crd, version),
        "",
    ]
    properties = schema.get("properties") or {}
    needed = set(schema.get("required") or ())
    for part in ("spec", "status"):
        if part not in properties:
            continue
        lines += [f"### {part}", "", *field_table(list(walk(properties[part], part, part in needed))), ""]
    conditions = conditions_table(names["kind"])
    if conditions:
        lines += [*conditions, ""]
    for index, example in enumerate(EXAMPLES.get(names["kind"], ())):
        if index == 0:
            lines += ["### Examples", ""]
        lines += [f"{example.title}:", "", "```yaml", example.manifest.rstrip("\n"), "```", ""]
    return lines


def metadata_section() -> list[str]:
    lines = [
        "## Labels, annotations and finalizers",
        "",
        "| what | key | on | meaning |",
        "|---|---|---|---|",
    ]
    for row in METADATA:
        lines.append(f"| {cell(row.what)} | {cell(code(row.key))} | {cell(row.on)} | {cell(row.meaning)} |")
    return lines


def render(crds: Sequence[Mapping[str, Any]]) -> str:
    """The whole reference as Markdown."""
    groups = sorted({crd["spec"]["group"] for crd in crds})
    versions = sorted({v["name"] for crd in crds for v in crd["spec"]["versions"] if v.get("storage")})
    lines = [
        "# Resource reference",
        "",
        "<!-- Generated from crds/*.yaml by tools/gen_reference.py. Do not edit: change the CRDs (or the tables",
        "     in the generator), then run `.venv/bin/python tools/gen_reference.py > docs/reference.md`. -->",
        "",
        f"API group {', '.join(code(g) for g in groups)}, version {', '.join(code(v) for v in versions)}. "
        "Every field below is enforced by the API server from the CRD schema: types, the validation column "
        "(required fields, enums, bounds, lengths, patterns and CEL rules) and the defaults, which are filled in "
        "when an object is written. `kubectl explain <kind>.spec` shows the same descriptions. "
        "`status` is written only by the operator.",
        "",
        "Paths use `[]` for the items of a list and `<key>` for the values of a map.",
        "",
        "| kind | plural | short name | what it is |",
        "|---|---|---|---|",
    ]
    for crd in crds:
        names = crd["spec"]["names"]
        schema = next(v for v in crd["spec"]["versions"] if v.get("storage"))["schema"]["openAPIV3Schema"]
        summary = " ".join(schema.get("description", "").split()).split(". ")[0].rstrip(".") + "."
        anchor = names["kind"].lower()
        lines.append(
            f"| [{names['kind']}](#{anchor}) | {code(names['plural'])} | "
            f"{', '.join(code(s) for s in names.get('shortNames') or ())} | {cell(summary)} |"
        )
    lines += [
        "",
        "All kinds report `status.observedGeneration` (the `metadata.generation` the status was computed from) "
        "and `status.conditions` in the standard shape; `kubectl wait --for=condition=Ready` works on each. "
        "The Conditions table of each kind lists the reasons the operator sets.",
        "",
    ]
    for crd in crds:
        lines += kind_section(crd)
    lines += metadata_section()
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"compare with {REFERENCE.relative_to(ROOT)} instead of printing; exit 1 when it differs",
    )
    parser.add_argument("--crds", type=Path, default=CRD_DIR, help="folder of CRD YAML files (default: crds/)")
    args = parser.parse_args(argv)
    text = render(load_crds(args.crds))
    if not args.check:
        sys.stdout.write(text)
        return 0
    current = REFERENCE.read_text() if REFERENCE.exists() else ""
    if current == text:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        text.splitlines(keepends=True),
        fromfile=str(REFERENCE.relative_to(ROOT)),
        tofile="generated from crds/",
    )
    sys.stdout.writelines(diff)
    print(
        f"\n{REFERENCE.relative_to(ROOT)} is out of date: run `.venv/bin/python tools/gen_reference.py > "
        f"{REFERENCE.relative_to(ROOT)}`",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
