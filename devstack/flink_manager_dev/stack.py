"""`flink-manager dev`: an embedded Kubernetes API, a simulated (or real) Flink, a JAR server, an S3-compatible
bucket and the operator, with the quickstart applied — no cluster, no Flink installation.

The bucket is moto's S3 server (a child process, authentication enforced; flink_manager_dev.s3): its keys are in
the Secret `dev-s3` for Artifacts and in STATE_DIR/s3.env for `flink-manager artifact push`.

The API, the simulator and the JAR server run on the caller's event loop; the operator runs on a loop of its own
in a thread (kopf treats every task of its loop as its own at shutdown, and the servers' connections are not).
Stopping sets the operator's stop flag, waits for it to finish against the still-running API, then stops the
servers. Everything lives in memory: a new `dev` starts from scratch.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import copy
import hashlib
import logging
import pathlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kopf
import yaml

from flink_manager import API_VERSION
from flink_manager.schema.packaged import crd_directory
from flink_manager.settings import Settings
from flink_manager_dev.files import FileServer
from flink_manager_dev.kubeapi import EmbeddedKubernetes
from flink_manager_dev.s3 import S3Server, S3ServerError
from flink_manager_dev.simulator import SimulatedFlink, Timings
from flink_manager_dev.simulator.versions import NEWEST

logger = logging.getLogger("flink_manager_dev")

CLUSTER_NAME = "default"
QUICKSTART_ARTIFACT = "stateful-counter"
QUICKSTART_CLUSTER_FILE = "00-flinkcluster.yaml"
EXAMPLES_MANAGER = "flink-manager-dev"  # the field manager of what `dev` applies: performedBy of its first START
S3_BUCKET = "jars"
S3_SECRET = "dev-s3"
S3_ENV_FILE = "s3.env"
OPERATOR_STOP_TIMEOUT = 30.0


class DevStackError(Exception):
    """The stack cannot start (a port in use, a missing file); the message says what to do."""


@dataclass
class DevOptions:
    """What `flink-manager dev` runs, and where."""

    state_dir: pathlib.Path = pathlib.Path(".flink-manager")
    kubeconfig: pathlib.Path | None = None  # default: state_dir/kubeconfig
    host: str = "127.0.0.1"
    api_port: int = 6443
    flink_port: int = 8081
    flink_url: str | None = None  # a real Flink REST endpoint instead of the simulator
    flink_version: str = NEWEST  # the version the simulator answers as
    artifacts_port: int = 0
    s3_port: int = 9000
    metrics_port: int = 0
    slots: int = 8
    timings: Timings = field(default_factory=Timings)
    poll_interval_seconds: int = 2
    examples_dir: pathlib.Path | None = None  # None: no examples
    example_jar: pathlib.Path | None = None
    served_files: tuple[pathlib.Path, ...] = ()
    operator_start_timeout: float = 60.0

    @property
    def kubeconfig_path(self) -> pathlib.Path:
        return self.kubeconfig or self.state_dir / "kubeconfig"


@dataclass(frozen=True)
class Example:
    """One object of the examples folder as `dev` applies it."""

    source: pathlib.Path
    body: dict[str, Any]


def quickstart_objects(examples_dir: pathlib.Path, jar_url: str, jar_sha256: str) -> list[Example]:
    """The quickstart's objects in file-name order, with exactly the substitutions its README names: no
    FlinkCluster file (dev creates its own), and the Artifact's url and sha256 set to the served JAR."""
    objects: list[Example] = []
    for path in sorted(examples_dir.glob("*.y*ml")):
        if path.name == QUICKSTART_CLUSTER_FILE or path.name.startswith("kustomization"):
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if not isinstance(document, dict) or document.get("apiVersion") != API_VERSION:
                continue
            body = copy.deepcopy(document)
            if body.get("kind") == "Artifact" and body.get("metadata", {}).get("name") == QUICKSTART_ARTIFACT:
                body["spec"]["url"] = jar_url
                body["spec"]["sha256"] = jar_sha256
            objects.append(Example(path, body))
    return objects


def cluster_object(rest_url: str, poll_interval_seconds: int) -> dict[str, Any]:
    """The FlinkCluster `default` pointing at the dev stack's Flink."""
    return {
        "apiVersion": API_VERSION,
        "kind": "FlinkCluster",
        "metadata": {"name": CLUSTER_NAME},
        "spec": {"restUrl": rest_url, "pollIntervalSeconds": poll_interval_seconds},
    }


def sha256_of(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


class OperatorThread:
    """The operator on an event loop of its own, in a thread; stopped through a flag, like kopf's own stop flag.

    On the caller's loop, kopf would take the caller's tasks (a test fixture's teardown, the dev stack's own) for
    tasks of its own and wait for them before exiting.
    """

    def __init__(self, settings: Settings, credentials: kopf.ConnectionInfo, memo: kopf.Memo | None = None) -> None:
        self.settings = settings
        self.credentials = credentials
        self.memo = memo
        self.ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.stop_flag: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="flink-manager-operator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _main(self) -> None:
        from flink_manager.controller.runner import run_operator

        try:
            asyncio.run(
                run_operator(
                    settings=self.settings,
                    credentials=self.credentials,
                    memo=self.memo,
                    stop_flag=self.stop_flag,
                    ready_flag=self.ready,
                    standalone=True,
                )
            )
        except BaseException as exc:  # noqa: BLE001 - reported to the thread that started it
            self.error = exc
        finally:
            if not self.ready.done():
                self.ready.set_exception(self.error or RuntimeError("the operator exited during start-up"))

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    async def wait_ready(self, timeout: float) -> None:
        """Until the operator has started; DevStackError when it failed to or took longer than `timeout`."""
        try:
            await asyncio.wait_for(asyncio.wrap_future(self.ready), timeout)
        except TimeoutError:
            raise DevStackError(f"the operator did not start within {timeout:g}s") from None
        except Exception as exc:
            raise DevStackError(f"the operator failed to start: {exc}") from exc

    async def stop(self, timeout: float = 30.0) -> bool:
        """Raise the stop flag and wait for the thread to end; False when it is still running after `timeout`."""
        if not self.stop_flag.done():
            self.stop_flag.set_result(None)
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            await asyncio.to_thread(self._thread.join, 0.2)
        return not self._thread.is_alive()


class DevStack:
    """The running stack: `await stack.start()`, then `await stack.stop()`."""

    def __init__(self, options: DevOptions) -> None:
        self.options = options
        self.api: EmbeddedKubernetes | None = None
        self.simulator: SimulatedFlink | None = None
        self.files = FileServer()
        self.s3: S3Server | None = None
        self.operator: OperatorThread | None = None
        self.api_url = ""
        self.flink_url = ""
        self.applied: list[Example] = []
        self.started_at = time.monotonic()

    async def start(self) -> None:
        """Start everything; on failure, stop what was started and raise DevStackError."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        options = self.options
        options.state_dir.mkdir(parents=True, exist_ok=True)
        self.s3 = S3Server(host=options.host, port=options.s3_port, log_path=options.state_dir / "s3.log")
        s3_started = asyncio.create_task(self._start_s3())  # moto takes seconds to start: meanwhile, the rest
        try:
            await self._start_the_rest(s3_started)
        finally:
            if not s3_started.done():
                s3_started.cancel()
            with contextlib.suppress(asyncio.CancelledError, DevStackError):
                await s3_started

    async def _start_s3(self) -> None:
        """The bucket, the Secret `dev-s3` with its keys, and STATE_DIR/s3.env for `artifact push`."""
        assert self.s3 is not None
        options = self.options
        if options.s3_port and _port_taken(options.host, options.s3_port):
            raise DevStackError(
                f"the S3 server cannot listen on {options.host}:{options.s3_port}: Address already in "
                "use (is another `flink-manager dev` running? choose another port with --s3-port, "
                "0 for any free one)"
            )
        try:
            keys = await self.s3.start()
            await self.s3.create_bucket(S3_BUCKET)
        except S3ServerError as exc:
            raise DevStackError(str(exc)) from None
        env = options.state_dir / S3_ENV_FILE
        env.touch(mode=0o600)
        env.write_text(
            f"export AWS_ACCESS_KEY_ID={keys.access_key_id}\nexport AWS_SECRET_ACCESS_KEY={keys.secret_access_key}\n"
        )

    def _s3_secret(self) -> dict[str, Any]:
        assert self.s3 is not None and self.s3.keys is not None
        data = {k: base64.b64encode(v.encode()).decode() for k, v in self.s3.keys.secret_data().items()}
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": S3_SECRET, "namespace": "default"},
            "type": "Opaque",
            "data": data,
        }

    async def _start_the_rest(self, s3_started: asyncio.Task[None]) -> None:
        options = self.options
        self.api = EmbeddedKubernetes(crds=[crd_directory()])
        self.api_url = await _listen(
            lambda: self.api.start(options.host, options.api_port),  # type: ignore[union-attr]
            "the Kubernetes API",
            options.host,
            options.api_port,
            "--api-port",
        )
        if options.flink_url:
            self.flink_url = options.flink_url.rstrip("/")
        else:
            savepoints = (options.state_dir / "savepoints").resolve()
            checkpoints = (options.state_dir / "checkpoints").resolve()
            self.simulator = SimulatedFlink(
                slots=options.slots,
                timings=options.timings,
                flink_version=options.flink_version,
                savepoint_dir=f"file:{savepoints}",
                checkpoint_dir=f"file:{checkpoints}",
            )
            self.flink_url = await _listen(
                lambda: self.simulator.start(options.host, options.flink_port),  # type: ignore[union-attr]
                "the simulated Flink",
                options.host,
                options.flink_port,
                "--flink-port",
            )
        for path in options.served_files:
            if not path.is_file():
                raise DevStackError(f"{path}: no such file to serve")
            self.files.add(path)
        if options.example_jar is not None:
            self.files.add(options.example_jar)
        await _listen(
            lambda: self.files.start(options.host, options.artifacts_port),
            "the artifact server",
            options.host,
            options.artifacts_port,
            "--artifacts-port",
        )
        self.api.write_kubeconfig(options.kubeconfig_path)
        # Everything dev serves listens on loopback (or --host): allowed, as http is.
        settings = Settings.from_env(
            allow_insecure_artifacts=True,
            allow_private_artifact_hosts=("*",),
            artifact_cache_dir=(options.state_dir / "artifacts").resolve(),
            metrics_port=options.metrics_port or None,
        )
        self.operator = OperatorThread(settings, kopf.ConnectionInfo(server=self.api_url))
        self.operator.start()
        await self.operator.wait_ready(options.operator_start_timeout)
        self.api.create(cluster_object(self.flink_url, options.poll_interval_seconds), manager=EXAMPLES_MANAGER)
        if options.examples_dir is not None:
            if options.example_jar is None:
                raise DevStackError("the examples need the example job's JAR")
            jar_url = self.files.url_of(options.example_jar.name)
            for example in quickstart_objects(options.examples_dir, jar_url, sha256_of(options.example_jar)):
                try:
                    self.api.create(example.body, manager=EXAMPLES_MANAGER)
                except Exception as exc:  # noqa: BLE001 - an ApiError of the embedded API: the manifest is wrong
                    raise DevStackError(f"{example.source}: {exc}") from None
                self.applied.append(example)
        await s3_started
        self.api.create(self._s3_secret(), manager=EXAMPLES_MANAGER)

    def quickstart_execution(self) -> str | None:
        """The name of the first Execution applied from the examples."""
        return next((e.body["metadata"]["name"] for e in self.applied if e.body.get("kind") == "Execution"), None)

    def execution_phase(self, name: str, namespace: str = "default") -> str | None:
        assert self.api is not None
        body = self.api.get(API_VERSION, "Execution", name, namespace)
        return ((body or {}).get("status") or {}).get("phase")

    async def stop(self) -> None:
        """Stop the operator first (it may still talk to the API), then the servers."""
        if self.operator is not None:
            if not await self.operator.stop(OPERATOR_STOP_TIMEOUT):
                logger.warning("the operator did not stop within %gs; exiting anyway", OPERATOR_STOP_TIMEOUT)
            self.operator = None
        await self.files.stop()
        if self.s3 is not None:
            await self.s3.stop()
            self.s3 = None
        if self.simulator is not None:
            await self.simulator.stop()
            self.simulator = None
        if self.api is not None:
            await self.api.stop()
            self.api = None


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


async def _listen(start: Callable[[], Any], what: str, host: str, port: int, flag: str) -> str:
    try:
        return str(await start())
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise DevStackError(
            f"{what} cannot listen on {host}:{port}: {reason} (is another `flink-manager dev` "
            f"running? choose another port with {flag}, 0 for any free one)"
        ) from None
