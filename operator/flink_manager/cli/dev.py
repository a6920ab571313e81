"""`flink-manager dev`: the whole product on a laptop, no cluster and no Flink needed."""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import shutil
import signal
import time
from typing import Any

from flink_manager.cli import logs
from flink_manager.cli.common import CliError, Formatter, port, positive_int, require_dev_package

DESCRIPTION = """\
Run an embedded Kubernetes API, a simulated Flink session cluster (or a real one with --flink-url) and the
operator in this one process, and an S3-compatible server (moto, with the bucket `jars`) beside it; create the
FlinkCluster `default` and the Secret `dev-s3` (the bucket's keys, also in .flink-manager/s3.env for
`flink-manager artifact push`), serve the example job's JAR over http, and apply examples/quickstart (see its
README for the two substitutions). A kubeconfig for kubectl is written to .flink-manager/kubeconfig. Ctrl-C or
SIGTERM stops everything; nothing is kept (it all lives in memory).

examples:
  flink-manager dev
  kubectl --kubeconfig .flink-manager/kubeconfig get fex -w          # in another terminal
  flink-manager dev --flink-url http://localhost:8081 --api-port 16443
"""

# kopf warns that it ignores OS signals when it runs outside the main thread: here the main thread handles them.
_EXPECTED_WARNINGS = ("OS signals are ignored",)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "dev",
        help="run everything locally: Kubernetes API, simulated Flink, operator",
        description=DESCRIPTION,
        formatter_class=Formatter,
    )
    parser.add_argument("--api-port", type=port, default=6443, help="port of the Kubernetes API (http; 0: any)")
    parser.add_argument("--flink-port", type=port, default=8081, help="port of the simulated Flink (0: any)")
    parser.add_argument(
        "--flink-version",
        default=None,
        metavar="VERSION",
        help="the Flink version the simulator answers as (default: the newest, 2.3.0)",
    )
    parser.add_argument(
        "--flink-url",
        help="use this real Flink REST endpoint instead of the simulator (its jobs "
        "keep running when dev exits: stop or cancel them first)",
    )
    parser.add_argument("--artifacts-port", type=port, default=0, help="port of the JAR server (0: any)")
    parser.add_argument("--s3-port", type=port, default=9000, help="port of the S3-compatible server (0: any)")
    parser.add_argument("--metrics-port", type=port, default=0, help="serve the operator's metrics here (0: off)")
    parser.add_argument("--host", default="127.0.0.1", help="address every server listens on")
    parser.add_argument(
        "--state-dir",
        default=".flink-manager",
        help="folder for the kubeconfig, savepoints, checkpoints and the artifact cache",
    )
    parser.add_argument("--kubeconfig", help="write the kubeconfig here (default: STATE_DIR/kubeconfig)")
    parser.add_argument("--no-examples", action="store_true", help="apply nothing but the FlinkCluster `default`")
    parser.add_argument("--examples", help="the folder to apply (default: examples/quickstart of this checkout)")
    parser.add_argument("--jar", help="the example job's JAR (default: .cache/jobs/, built if missing)")
    parser.add_argument(
        "--serve",
        action="append",
        default=[],
        metavar="FILE",
        help="also serve this local JAR over http (repeatable); its URL and sha256 are printed",
    )
    parser.add_argument("--slots", type=positive_int, default=8, help="task slots of the simulated Flink")
    parser.add_argument(
        "--timings",
        choices=("real", "fast"),
        default="real",
        help="simulated Flink step durations: like a small real cluster, or a few ms each",
    )
    parser.add_argument(
        "--poll-interval", type=positive_int, default=2, help="pollIntervalSeconds of the FlinkCluster `default`"
    )
    parser.add_argument("--log-format", choices=logs.FORMATS, default="text", help="operator log format (stderr)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    parser.set_defaults(handler=dev)


def _options(args: argparse.Namespace) -> Any:
    from flink_manager.schema.packaged import AssetError
    from flink_manager_dev.assets import checkout_root, example_job_jar
    from flink_manager_dev.simulator import Timings
    from flink_manager_dev.simulator.versions import NEWEST, UnknownVersion, release
    from flink_manager_dev.stack import DevOptions

    examples_dir: pathlib.Path | None = None
    jar: pathlib.Path | None = None
    if not args.no_examples:
        root = checkout_root()
        if args.examples:
            examples_dir = pathlib.Path(args.examples)
            if not examples_dir.is_dir():
                raise CliError(f"--examples {args.examples}: no such folder")
        elif root is not None:
            examples_dir = root / "examples" / "quickstart"
        else:
            raise CliError("no examples/quickstart here: run from a Flink Manager checkout, or pass --no-examples")
        if args.jar:
            jar = pathlib.Path(args.jar)
            if not jar.is_file():
                raise CliError(f"--jar {args.jar}: no such file")
        else:
            if root is None:
                raise CliError("no example job JAR: pass --jar, or run from a checkout")
            try:
                jar = example_job_jar(root, build=True)
            except AssetError as exc:
                raise CliError(str(exc)) from None
    try:
        flink_version = release(args.flink_version or NEWEST).version
    except UnknownVersion as exc:
        raise CliError(f"--flink-version: {exc}") from None
    if args.flink_version and args.flink_url:
        raise CliError("--flink-version is the simulator's: a real Flink at --flink-url reports its own")
    state_dir = pathlib.Path(args.state_dir)
    return DevOptions(
        state_dir=state_dir,
        kubeconfig=pathlib.Path(args.kubeconfig) if args.kubeconfig else None,
        host=args.host,
        api_port=args.api_port,
        flink_port=args.flink_port,
        flink_url=args.flink_url,
        flink_version=flink_version,
        artifacts_port=args.artifacts_port,
        s3_port=args.s3_port,
        metrics_port=args.metrics_port,
        slots=args.slots,
        timings=Timings.fast() if args.timings == "fast" else Timings(),
        poll_interval_seconds=args.poll_interval,
        examples_dir=examples_dir,
        example_jar=jar,
        served_files=tuple(pathlib.Path(p) for p in args.serve),
    )


def dev(args: argparse.Namespace) -> int:
    """Run the dev stack until Ctrl-C or SIGTERM."""
    started = time.monotonic()
    require_dev_package("dev")
    options = _options(args)
    logs.configure(args.log_format, verbose=args.verbose, drop=_EXPECTED_WARNINGS)
    return asyncio.run(_serve(options, started))


async def _serve(options: Any, started: float) -> int:
    from flink_manager_dev.stack import DevStack, DevStackError, sha256_of

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stack = DevStack(options)
    try:
        await stack.start()
    except DevStackError as exc:
        raise CliError(str(exc)) from None
    try:
        _say(_banner(stack, options, sha256_of))
        follower = asyncio.create_task(_follow_quickstart(stack, started, stop))
        await stop.wait()
        follower.cancel()
        _say("stopping: the operator, then Flink and the Kubernetes API …")
    finally:
        await stack.stop()
    _say(f"stopped after {time.monotonic() - started:.1f}s")
    return 0


async def _follow_quickstart(stack: Any, started: float, stop: asyncio.Event) -> None:
    """Say once when the quickstart's Execution is Running (or Failed): the stack works end to end."""
    name = stack.quickstart_execution()
    if name is None:
        return
    while not stop.is_set():
        phase = stack.execution_phase(name)
        if phase in ("Running", "Failed"):
            _say(f"Execution {name} is {phase}, {time.monotonic() - started:.1f}s after start")
            return
        if stack.operator is not None and not stack.operator.alive:
            _say("the operator stopped unexpectedly; see the log above")
            stop.set()
            return
        await asyncio.sleep(0.1)


def _kubectl_hint() -> str:
    if shutil.which("kubectl"):
        return "kubectl"
    from flink_manager_dev.assets import cache_directory, checkout_root

    root = checkout_root()
    if root is not None:
        built = sorted(cache_directory(root).glob("kube/*/bin/kubectl"))
        if built:
            return _shown(built[-1])
    return "kubectl"


def _shown(path: pathlib.Path | str) -> str:
    """A path as short as it can be: relative below the current folder, else absolute."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(pathlib.Path(path).resolve())


def _banner(stack: Any, options: Any, sha256_of: Any) -> str:
    kubeconfig = _shown(options.kubeconfig_path)
    kubectl = f"{_kubectl_hint()} --kubeconfig {kubeconfig}"
    flink = (
        f"Flink {stack.flink_url}"
        if options.flink_url
        else f"simulated Flink {options.flink_version} {stack.flink_url}"
    )
    lines = [
        "",
        f"Flink Manager dev stack: Kubernetes API {stack.api_url} · {flink} · JARs {stack.files.url}",
        f"kubeconfig: {kubeconfig}",
    ]
    if stack.s3 is not None:
        s3_env = _shown(options.state_dir / "s3.env")
        lines.append(f"S3 {stack.s3.endpoint}: bucket jars, keys in the Secret dev-s3 and in {s3_env}")
    for path in options.served_files:
        lines.append(f"serving {path} at {stack.files.url_of(path.name)} (sha256 {sha256_of(path)})")
    execution = stack.quickstart_execution()
    lines += ["", "Try, in another terminal:", f"  {kubectl} get flink", f"  {kubectl} get fex -w"]
    if execution:
        patch = f"{kubectl} patch fex {execution} --type merge -p"
        lines += [
            f'  {patch} \'{{"spec":{{"state":"Stopped"}}}}\'     # stop with a savepoint',
            f'  {patch} \'{{"spec":{{"state":"Running"}}}}\'     # resume from it',
            f'  {patch} \'{{"spec":{{"restartNonce":1}}}}\'        # restart',
            f"  flink-manager history {execution} --kubeconfig {kubeconfig}",
            f"  {kubectl} get fex {execution} -o jsonpath='{{.status.history}}'",
            f"  {kubectl} describe fex {execution}",
        ]
    if stack.s3 is not None:
        lines += [
            f"  source {_shown(options.state_dir / 's3.env')}    # then upload a JAR and run it:",
            f"  flink-manager artifact push my-job.jar --to s3://jars/my-job.jar --endpoint {stack.s3.endpoint} "
            f"--path-style --credentials-secret dev-s3 | {kubectl} apply -f -",
        ]
    lines += ["", "Ctrl-C stops everything (all state is in memory).", ""]
    return "\n".join(lines)


def _say(text: str) -> None:
    print(text, flush=True)
