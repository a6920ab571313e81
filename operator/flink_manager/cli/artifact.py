"""`flink-manager artifact push | manifest`: upload a JAR to S3 and print (or apply) its Artifact; or print an
Artifact for a JAR that is hosted already. Both fill in the digest and the entry classes."""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import re
import sys
from typing import Any
from urllib.parse import urlsplit

import yaml

from flink_manager import API_VERSION
from flink_manager.cli.common import CliError, Formatter

MANIFEST_DESCRIPTION = """\
Print an Artifact for a job JAR: spec.sha256 is the JAR's SHA-256 digest, spec.entryClasses the classes its
META-INF/MANIFEST.MF names (Entry-Class, Program-Class, Main-Class) unless --entry-class is given, and a comment
records its size. Upload the JAR to URL yourself; apply the output with kubectl or commit it to git.

examples:
  flink-manager artifact manifest target/my-job-1.0.0.jar --name my-job --version 1.0.0 \\
      --url https://repo.example.com/my-job-1.0.0.jar > artifact.yaml
  flink-manager artifact manifest my-job.jar --url s3://jars/my-job.jar | kubectl apply -f -    # name: my-job
"""


PUSH_DESCRIPTION = """\
Upload a job JAR to S3 or an S3-compatible store (MinIO…) and print the Artifact that points at it, or apply it
with --apply. The upload uses your own AWS credentials (environment variables AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, or a profile: AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE), as a single PUT or, above 16 MiB,
a multipart upload. The Artifact names the Secret the operator reads with --credentials-secret (keys
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): the operator never uses your credentials. spec.sha256 is the JAR's
digest and spec.entryClasses the classes its manifest names, as `artifact manifest` prints them.

examples:
  flink-manager artifact push target/my-job-1.0.0.jar --to s3://flink-jobs/my-job/1.0.0/my-job.jar \\
      --endpoint https://minio.storage.svc:9000 --path-style --credentials-secret minio-reader > artifact.yaml
  AWS_SHARED_CREDENTIALS_FILE=.flink-manager/aws-credentials flink-manager artifact push my-job.jar \\
      --to s3://jars/my-job.jar --endpoint http://127.0.0.1:9000 --path-style --credentials-secret dev-s3 \\
      --kubeconfig .flink-manager/kubeconfig --apply          # in `flink-manager dev`
"""


def add_parser(commands: Any) -> None:
    artifact = commands.add_parser(
        "artifact", help="work with job JARs (Artifact manifests)", description="Work with job JARs."
    )
    verbs = artifact.add_subparsers(dest="artifact_command", metavar="COMMAND", required=True)
    manifest = verbs.add_parser(
        "manifest",
        help="print an Artifact for a JAR (digest, size, entry classes)",
        description=MANIFEST_DESCRIPTION,
        formatter_class=Formatter,
    )
    manifest.add_argument("jar", metavar="JAR", help="the JAR file")
    manifest.add_argument("--url", required=True, help="where the operator will fetch the JAR (https, s3, http, file)")
    manifest.add_argument("--name", help="the Artifact's name (default: from the JAR's file name, e.g. my-job)")
    manifest.add_argument("--version", help="spec.version, a free-form label such as 1.0.0")
    manifest.add_argument("--namespace", help="metadata.namespace (default: none, the namespace it is applied to)")
    manifest.add_argument(
        "--entry-class",
        action="append",
        default=None,
        metavar="CLASS",
        dest="entry_classes",
        help="list this entry class instead of the manifest's (repeatable)",
    )
    manifest.set_defaults(handler=artifact_manifest, label="artifact manifest")

    push = verbs.add_parser(
        "push",
        help="upload a JAR to S3/MinIO and print (or apply) its Artifact",
        description=PUSH_DESCRIPTION,
        formatter_class=Formatter,
    )
    push.add_argument("jar", metavar="JAR", help="the JAR file")
    push.add_argument("--to", required=True, metavar="s3://BUCKET/KEY", help="where to upload it")
    push.add_argument(
        "--endpoint",
        help="the S3 endpoint, such as https://minio.storage.svc:9000 (default: AWS); also spec.s3.endpoint",
    )
    push.add_argument("--region", help="the region (default us-east-1); also spec.s3.region")
    push.add_argument(
        "--path-style",
        action="store_true",
        help="address the bucket in the path, as MinIO needs; also spec.s3.pathStyle",
    )
    push.add_argument("--ca-bundle", metavar="FILE", help="trust this PEM CA bundle for the upload")
    push.add_argument(
        "--credentials-secret",
        metavar="NAME",
        help="spec.credentialsSecretRef: the Secret the operator reads the object with",
    )
    push.add_argument("--ca-secret", metavar="NAME", help="spec.caSecretRef: the Secret with the endpoint's CA")
    push.add_argument("--name", help="the Artifact's name (default: from the JAR's file name, e.g. my-job)")
    push.add_argument("--version", help="spec.version, a free-form label such as 1.0.0")
    push.add_argument(
        "--entry-class",
        action="append",
        default=None,
        metavar="CLASS",
        dest="entry_classes",
        help="list this entry class instead of the manifest's (repeatable)",
    )
    push.add_argument("--apply", action="store_true", help="create (or update) the Artifact instead of printing it")
    kube = push.add_argument_group("Kubernetes (with --apply; --namespace also sets metadata.namespace)")
    kube.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    kube.add_argument("--context", help="kubeconfig context (default: the current one)")
    kube.add_argument("-n", "--namespace", help="namespace (default: the context's with --apply; none otherwise)")
    push.set_defaults(handler=artifact_push, label="artifact push")


def artifact_manifest(args: argparse.Namespace) -> int:
    """Print the Artifact YAML for a JAR."""
    path, info = _inspect(args.jar)
    artifact, header = _artifact(args, path, info, {"url": args.url, "sha256": info.sha256})
    sys.stdout.write(header + yaml.safe_dump(artifact, sort_keys=False, default_flow_style=False))
    return 0


def artifact_push(args: argparse.Namespace) -> int:
    """Upload the JAR, then print or apply its Artifact."""
    from flink_manager.artifacts.errors import UnsupportedURL
    from flink_manager.artifacts.s3 import split_s3_url

    path, info = _inspect(args.jar)
    try:
        split_s3_url(args.to)
    except UnsupportedURL as exc:
        raise CliError(f"--to {args.to}: {exc.message}") from None
    if args.endpoint and urlsplit(args.endpoint).scheme not in ("http", "https"):
        raise CliError(f"--endpoint {args.endpoint}: an http:// or https:// URL")
    spec: dict[str, Any] = {"url": args.to, "sha256": info.sha256}
    s3 = {k: v for k, v in (("endpoint", args.endpoint), ("region", args.region)) if v}
    if args.path_style:
        s3["pathStyle"] = True
    if s3:
        spec["s3"] = s3
    if args.credentials_secret:
        spec["credentialsSecretRef"] = {"name": args.credentials_secret}
    if args.ca_secret:
        spec["caSecretRef"] = {"name": args.ca_secret}
    artifact, header = _artifact(args, path, info, spec)
    try:
        asyncio.run(_upload(path, args))
    except CliError:
        raise
    except Exception as exc:  # noqa: BLE001 - botocore's errors, one line each
        raise CliError(f"uploading to {args.to}: {_upload_error(exc)}") from None
    print(f"uploaded {path.name} ({info.size_bytes} bytes) to {args.to}", file=sys.stderr)
    if not args.apply:
        sys.stdout.write(header + yaml.safe_dump(artifact, sort_keys=False, default_flow_style=False))
        return 0
    namespace, name = asyncio.run(_apply(artifact, args))
    print(f"artifact.flinkmanager.io/{name} applied in namespace {namespace}")
    return 0


async def _upload(path: pathlib.Path, args: argparse.Namespace) -> None:
    from flink_manager.artifacts.s3 import upload

    await upload(
        path, args.to, endpoint=args.endpoint, region=args.region, path_style=args.path_style, ca_bundle=args.ca_bundle
    )


def _upload_error(exc: Exception) -> str:
    """botocore's error, without the request details some of them carry."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        return f"{error.get('Code', '?')}: {error.get('Message', '')}".rstrip(": ")
    if type(exc).__name__ == "NoCredentialsError":
        return "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
    return f"{type(exc).__name__}: {exc}"


async def _apply(artifact: dict[str, Any], args: argparse.Namespace) -> tuple[str, str]:
    """Create the Artifact, or replace the spec of the existing one (as `kubectl apply` would)."""
    from flink_manager.cli.kubeconfig import load_target
    from flink_manager.kube.client import ARTIFACTS, KubeClient, KubeConflict, KubeError

    target = load_target(args.kubeconfig, args.context, args.namespace)
    namespace, name = target.namespace, artifact["metadata"]["name"]
    client = KubeClient(target.credentials, field_manager="flink-manager-cli")
    try:
        try:
            await client.create(ARTIFACTS, namespace, artifact)
        except KubeConflict:
            current = await client.get(ARTIFACTS, namespace, name)
            nulls = {k: None for k in current.get("spec") or {} if k not in artifact["spec"]}
            await client.patch(ARTIFACTS, namespace, name, {"spec": {**nulls, **artifact["spec"]}})
    except KubeError as exc:
        raise CliError(f"applying Artifact {name} in {namespace}: {exc.status} {exc.reason}: {exc.message}") from None
    finally:
        await client.close()
    return namespace, name


def _inspect(jar: str) -> tuple[pathlib.Path, Any]:
    from flink_manager.artifacts.jar import inspect_jar

    path = pathlib.Path(jar)
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    try:
        return path, inspect_jar(path)
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None


def _artifact(
    args: argparse.Namespace, path: pathlib.Path, info: Any, spec: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """The Artifact for a JAR at a source (checked against the CRD), and the comment that explains it."""
    entry_classes = list(args.entry_classes) if args.entry_classes else list(info.entry_classes)
    metadata: dict[str, Any] = {"name": args.name or name_from_file(path)}
    if args.namespace:
        metadata["namespace"] = args.namespace
    spec = dict(spec)
    if args.version:
        spec["version"] = str(args.version)
    spec["entryClasses"] = entry_classes
    artifact = {"apiVersion": API_VERSION, "kind": "Artifact", "metadata": metadata, "spec": spec}
    _check(artifact)
    source = (
        "--entry-class"
        if args.entry_classes
        else ("META-INF/MANIFEST.MF" if entry_classes else "none in META-INF/MANIFEST.MF: any entry class is accepted")
    )
    header = f"# {path.name}: {info.size_bytes} bytes, sha256 {info.sha256}\n# entry classes: {source}\n"
    return artifact, header


def name_from_file(path: pathlib.Path) -> str:
    """`My_Job-1.0.jar` → `my-job-1.0`: the file name without `.jar`, as an object name (lowercase, `-`)."""
    name = re.sub(r"[^a-z0-9.-]+", "-", path.stem.lower()).strip("-.")
    return name[:253] or "artifact"


def _check(artifact: dict[str, Any]) -> None:
    """Refuse to print what the API server would refuse to store (a bad name, URL or class)."""
    from flink_manager.schema.packaged import crd_documents
    from flink_manager.validation import validate_documents
    from flink_manager.validation.documents import Document

    report = validate_documents([Document("artifact", 0, artifact)], crds=crd_documents(), allow_missing_refs=True)
    if report.problems:
        first = report.problems[0]
        raise CliError(f"the Artifact would be rejected: {first.field}: {first.message}")
