"""`flink-manager run`: the operator against the current kubeconfig or the pod's ServiceAccount."""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

from flink_manager.cli import logs
from flink_manager.cli.common import CliError, Formatter, non_negative_int, port
from flink_manager.cli.kubeconfig import in_cluster, load_target
from flink_manager.settings import ENV_PREFIX, Settings

PRIORITY_ENV = ENV_PREFIX + "PRIORITY"

DESCRIPTION = """\
Run the operator: watch FlinkClusters, Artifacts, JobSpecs and Executions and make Flink do what they say.

Credentials: --kubeconfig/--context, else $KUBECONFIG or ~/.kube/config, else the pod's ServiceAccount.
Every setting is also an environment variable FLINK_MANAGER_<NAME> (e.g. FLINK_MANAGER_HISTORY_LIMIT); a flag
wins over the variable. SIGTERM or Ctrl-C stops it cleanly.

Several replicas: kopf peering keeps one active. A replica pauses while a peer with a higher --priority is
alive, and replicas of EQUAL priority all pause, so give each replica a distinct priority
(deploy/components/ha derives it from the StatefulSet's pod index).

examples:
  flink-manager run --namespace team-a --namespace team-b
  flink-manager run --liveness=http://0.0.0.0:8080/healthz --peering=flink-manager --metrics-port 9090
"""

# Settings shown with their own help; the others get a generic one (each is a FLINK_MANAGER_* variable too).
_HELP = {
    "allow_insecure_artifacts": "also allow http:// and file:// artifact URLs (development only)",
    "history_limit": "history entries kept per Execution (status.historyTotal counts all)",
    "max_artifact_bytes": "largest JAR fetched, in bytes",
    "metrics_port": "serve Prometheus metrics on :PORT/metrics (0: off)",
    "artifact_cache_dir": "where verified JARs are kept, named by digest",
    "workers": "concurrent reconciles",
    "allow_private_artifact_hosts": "artifact hosts allowed on loopback, link-local or private addresses: names, "
    "addresses, networks, .suffix, or * (comma-separated)",
    "s3_endpoint": "S3 endpoint of s3:// Artifacts that name none (default: AWS's of the Artifact's region)",
    "artifact_secret_recheck_seconds": "how often a failed Artifact re-reads the Secrets it names",
    "kube_request_timeout_seconds": "deadline of every Kubernetes API request, kopf's and a watch's reconnection too",
}


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "run", help="run the operator against a Kubernetes cluster", description=DESCRIPTION, formatter_class=Formatter
    )
    kube = parser.add_argument_group("Kubernetes")
    kube.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, ServiceAccount)")
    kube.add_argument("--context", help="kubeconfig context (default: the current one)")
    kube.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=None,
        metavar="NS",
        dest="namespaces",
        help="watch this namespace (repeatable; default: all, or $FLINK_MANAGER_NAMESPACES)",
    )
    replicas = parser.add_argument_group("replicas and probes")
    replicas.add_argument(
        "--peering", metavar="NAME", help="join this kopf peering (a ClusterKopfPeering, or KopfPeering per namespace)"
    )
    replicas.add_argument("--standalone", action="store_true", help="ignore peering: act even if others run")
    replicas.add_argument(
        "--priority",
        type=int,
        default=None,
        help=f"peering priority (default ${PRIORITY_ENV} or 0); the highest live one acts",
    )
    replicas.add_argument(
        "--liveness", metavar="URL", help="serve kopf's liveness probe, e.g. http://0.0.0.0:8080/healthz"
    )
    settings = parser.add_argument_group("settings (each also FLINK_MANAGER_<NAME>)")
    for name, field in Settings.model_fields.items():
        if name == "namespaces":
            continue
        flag = "--" + name.replace("_", "-")
        default = field.default
        help_text = _HELP.get(name, name.replace("_", " "))
        help_text += f" [{ENV_PREFIX}{name.upper()}; default {default}]"
        if isinstance(default, bool):
            settings.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif name == "metrics_port":
            settings.add_argument(flag, type=port, default=None, metavar="PORT", help=help_text)
        elif isinstance(default, int):
            settings.add_argument(flag, type=non_negative_int, default=None, metavar="N", help=help_text)
        elif isinstance(default, float):
            settings.add_argument(flag, type=float, default=None, metavar="SECONDS", help=help_text)
        else:
            settings.add_argument(flag, default=None, metavar="VALUE", help=help_text)
    output = parser.add_argument_group("output")
    output.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        default="kv",
        help="one line per record: key=value pairs, JSON objects, or short text",
    )
    output.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    parser.set_defaults(handler=run)


def settings_from(args: argparse.Namespace, env: dict[str, str] | None = None) -> Settings:
    """FLINK_MANAGER_* variables, overridden by the flags given."""
    overrides = {name: getattr(args, name, None) for name in Settings.model_fields}
    try:
        settings = Settings.from_env(os.environ if env is None else env, **overrides)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    from flink_manager.artifacts.hosts import HostPolicy

    try:
        HostPolicy.from_setting(settings.allow_private_artifact_hosts)
    except ValueError as exc:
        raise CliError(f"{ENV_PREFIX}ALLOW_PRIVATE_ARTIFACT_HOSTS: {exc}") from None
    return settings


def priority_from(args: argparse.Namespace) -> int:
    if args.priority is not None:
        return int(args.priority)
    raw = os.environ.get(PRIORITY_ENV, "").strip()
    try:
        return int(raw) if raw else 0
    except ValueError:
        raise CliError(f"{PRIORITY_ENV}={raw!r} is not a whole number") from None


def run(args: argparse.Namespace) -> int:
    """Run the operator until SIGTERM or Ctrl-C."""
    settings = settings_from(args)
    priority = priority_from(args)
    if args.standalone and args.peering:
        raise CliError("--standalone and --peering exclude each other")
    credentials = None
    if args.kubeconfig or args.context or not in_cluster():
        # Resolved here (not by kopf's kubeconfig login) so that --context works and certificate data is PEM.
        credentials = load_target(args.kubeconfig, args.context).credentials.to_kopf()
    logs.configure(args.log_format, verbose=args.verbose)
    from flink_manager.controller.runner import run_operator

    asyncio.run(
        run_operator(
            settings=settings,
            credentials=credentials,
            standalone=bool(args.standalone),
            peering_name=args.peering,
            priority=priority,
            liveness_endpoint=args.liveness,
            namespaces=settings.namespaces,
        )
    )
    return 0
