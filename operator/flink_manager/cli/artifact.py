"""`flink-manager artifact manifest`: an Artifact for a JAR, with its digest and entry classes."""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
from typing import Any

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


def add_parser(commands: Any) -> None:
    artifact = commands.add_parser("artifact", help="work with job JARs (Artifact manifests)",
                                   description="Work with job JARs.")
    verbs = artifact.add_subparsers(dest="artifact_command", metavar="COMMAND", required=True)
    manifest = verbs.add_parser("manifest", help="print an Artifact for a JAR (digest, size, entry classes)",
                                description=MANIFEST_DESCRIPTION, formatter_class=Formatter)
    manifest.add_argument("jar", metavar="JAR", help="the JAR file")
    manifest.add_argument("--url", required=True, help="where the operator will fetch the JAR (https, s3, http, file)")
    manifest.add_argument("--name", help="the Artifact's name (default: from the JAR's file name, e.g. my-job)")
    manifest.add_argument("--version", help="spec.version, a free-form label such as 1.0.0")
    manifest.add_argument("--namespace", help="metadata.namespace (default: none, the namespace it is applied to)")
    manifest.add_argument("--entry-class", action="append", default=None, metavar="CLASS", dest="entry_classes",
                          help="list this entry class instead of the manifest's (repeatable)")
    manifest.set_defaults(handler=artifact_manifest, label="artifact manifest")


def artifact_manifest(args: argparse.Namespace) -> int:
    """Print the Artifact YAML for a JAR."""
    from flink_manager.artifacts.jar import inspect_jar

    path = pathlib.Path(args.jar)
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    try:
        info = inspect_jar(path)
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror or exc}") from None
    entry_classes = list(args.entry_classes) if args.entry_classes else list(info.entry_classes)
    metadata: dict[str, Any] = {"name": args.name or name_from_file(path)}
    if args.namespace:
        metadata["namespace"] = args.namespace
    spec: dict[str, Any] = {"url": args.url, "sha256": info.sha256}
    if args.version:
        spec["version"] = str(args.version)
    spec["entryClasses"] = entry_classes
    artifact = {"apiVersion": API_VERSION, "kind": "Artifact", "metadata": metadata, "spec": spec}
    _check(artifact)
    source = "--entry-class" if args.entry_classes else (
        "META-INF/MANIFEST.MF" if entry_classes else "none in META-INF/MANIFEST.MF: any entry class is accepted")
    header = (f"# {path.name}: {info.size_bytes} bytes, sha256 {info.sha256}\n"
              f"# entry classes: {source}\n")
    sys.stdout.write(header + yaml.safe_dump(artifact, sort_keys=False, default_flow_style=False))
    return 0


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
