"""`flink-manager validate`: check manifests offline against the CRDs and the operator's own rules."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flink_manager.cli.common import CliError, Formatter

DESCRIPTION = """\
Check Flink Manager manifests without a cluster, for a GitOps repository's CI:

  - every FlinkCluster, Artifact, JobSpec and Execution against the CRD schemas, as the API server checks a
    create (types, required fields, enums, patterns, CEL rules, names, unknown fields);
  - references within the validated set: JobSpec -> Artifact and FlinkCluster, Execution -> JobSpec, in the
    same namespace (an error unless --allow-missing-refs);
  - what only the operator knows: a JobSpec's entry class must be among its Artifact's entryClasses; a
    savepointSchedule must fire some day; an object may appear only once per file.

Other documents are ignored. In folders, *.yaml and *.yml are read recursively, except files a kustomization
there uses as patches (validate an overlay's output through stdin instead). Errors are printed as
`file:line: Kind/name: field: reason`; the exit status is 1 if there is any, 0 otherwise.

examples:
  flink-manager validate examples/quickstart
  kustomize build overlays/prod | flink-manager validate -
"""


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="check manifests offline (schemas, references, schedules)",
        description=DESCRIPTION,
        formatter_class=Formatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a file, a folder, or - for stdin")
    parser.add_argument(
        "--allow-missing-refs",
        action="store_true",
        help="do not report references to objects outside the validated set",
    )
    parser.add_argument(
        "-n",
        "--namespace",
        default="",
        help="the namespace of documents that name none (default: where they are applied)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only, no summary")
    parser.set_defaults(handler=validate)


def validate(args: argparse.Namespace) -> int:
    """Validate the manifests; exit 1 on any error."""
    from flink_manager.schema.packaged import AssetError, crd_documents
    from flink_manager.validation import validate_sources

    if args.paths.count("-") > 1:
        raise CliError("- (stdin) can be given only once")
    try:
        crds = crd_documents()
    except AssetError as exc:
        raise CliError(str(exc)) from None
    report = validate_sources(
        args.paths, crds=crds, stdin=sys.stdin, allow_missing_refs=args.allow_missing_refs, namespace=args.namespace
    )
    for problem in report.problems:
        print(problem, flush=True)
    if not args.quiet:
        print(report.summary(), file=sys.stderr if report.problems else sys.stdout, flush=True)
    return 0 if report.ok else 1
