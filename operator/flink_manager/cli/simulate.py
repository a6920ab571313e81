"""`flink-manager simulate`: a simulated Flink session cluster (its REST API) until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
from typing import TYPE_CHECKING, Any

from flink_manager.cli.common import CliError, positive_int, require_dev_package

if TYPE_CHECKING:
    from flink_manager_dev.simulator import SimulatedFlink


def simulate(args: argparse.Namespace) -> int:
    """Serve a simulated Flink session cluster, answering as the given Flink version does, until interrupted."""
    require_dev_package("simulate")
    from flink_manager_dev.simulator import SimulatedFlink, Timings
    from flink_manager_dev.simulator.versions import UnknownVersion, release

    try:
        flink_version = release(args.flink_version).version
    except UnknownVersion as exc:
        raise CliError(f"--flink-version: {exc}") from None
    base = Timings.fast() if args.timings == "fast" else Timings()
    overrides: dict[str, float] = {}
    known = {field.name for field in dataclasses.fields(Timings)}
    for item in args.timing:
        name, _, value = item.partition("=")
        if name not in known:
            raise CliError(f"--timing {item!r}: unknown step {name!r} (one of {', '.join(sorted(known))})")
        try:
            overrides[name] = float(value)
        except ValueError:
            raise CliError(f"--timing {item!r}: {value!r} is not a number of seconds") from None
    simulator = SimulatedFlink(
        slots=args.slots,
        savepoint_dir=args.savepoint_dir or None,
        checkpoint_dir=args.checkpoint_dir,
        seed=args.seed,
        timings=base.replace(**overrides),
        flink_version=flink_version,
    )
    return asyncio.run(_serve(simulator, args.host, args.port))


async def _serve(simulator: SimulatedFlink, host: str, port: int) -> int:
    try:
        url = await simulator.start(host, port)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    print(
        f"Simulated Flink {simulator.cluster.release.version} session cluster at {url} ({simulator.cluster.slots} slots); "
        f"faults and counters at {url}/_simulator/. Ctrl-C stops it.",
        flush=True,
    )
    try:
        await stopped.wait()
    finally:
        await simulator.stop()
    return 0


def add_parser(commands: Any) -> None:
    sim = commands.add_parser(
        "simulate", help="serve a simulated Flink session cluster (REST API)", description=simulate.__doc__
    )
    sim.add_argument(
        "--flink-version",
        default="2.3.0",
        metavar="VERSION",
        help="answer as this Flink version does, 1.18.1 to 2.3.0 (default 2.3.0); an older one such as "
        "1.17.2 is reported as such, to see the operator refuse it",
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=8081, help="port to listen on (default 8081; 0 picks a free one)")
    sim.add_argument("--slots", type=positive_int, default=4, help="task slots of the one TaskManager (default 4)")
    sim.add_argument(
        "--savepoint-dir",
        default="file:/tmp/flink-simulator/savepoints",
        help="default savepoint directory URI ('' for none, as a cluster without one)",
    )
    sim.add_argument(
        "--checkpoint-dir", default="file:/tmp/flink-simulator/checkpoints", help="checkpoint directory URI"
    )
    sim.add_argument(
        "--seed", type=int, default=None, help="seed for generated ids and injected faults (deterministic runs)"
    )
    sim.add_argument(
        "--timings",
        choices=("real", "fast"),
        default="real",
        help="step durations: like a small real cluster (default) or a few milliseconds each",
    )
    sim.add_argument(
        "--timing",
        action="append",
        default=[],
        metavar="STEP=SECONDS",
        help="override one step, e.g. --timing savepoint=5 (repeatable)",
    )
    sim.set_defaults(handler=simulate)
