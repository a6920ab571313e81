"""Running the embedded API outside the caller's event loop: in a thread, or as `python -m …kubeapi`."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flink_manager_dev.kubeapi.server import EmbeddedKubernetes

T = TypeVar("T")


class ThreadedKubernetes:
    """An EmbeddedKubernetes on its own event loop in a daemon thread (for synchronous callers and the CLI)."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.api: EmbeddedKubernetes | None = None
        self.url: str | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0) -> str:
        """Start the thread and the server; return the URL."""
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def main() -> None:
                try:
                    self.api = EmbeddedKubernetes(**self._kwargs)
                    ready.set_result(await self.api.start(host, port))
                except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                    ready.set_exception(exc)
                    return
                await asyncio.Event().wait()

            try:
                loop.run_until_complete(main())
            except asyncio.CancelledError:
                pass
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="embedded-kubernetes", daemon=True)
        self._thread.start()
        self.url = ready.result(timeout=timeout)
        return self.url

    def call(self, fn: Callable[[EmbeddedKubernetes], T], timeout: float = 30.0) -> T:
        """Run `fn(api)` on the server's loop (the API is not thread-safe) and return its result."""
        assert self._loop is not None and self.api is not None
        api = self.api

        async def invoke() -> T:
            return fn(api)

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server and the thread."""
        if self._loop is None or self.api is None:
            return
        api, loop = self.api, self._loop
        asyncio.run_coroutine_threadsafe(api.stop(), loop).result(timeout)

        def cancel_all() -> None:
            for task in asyncio.all_tasks(loop):
                task.cancel()

        loop.call_soon_threadsafe(cancel_all)
        if self._thread is not None:
            self._thread.join(timeout)
        self._loop = None
        self.api = None


def main(argv: list[str] | None = None) -> int:
    """`python -m flink_manager_dev.kubeapi [--port N] [--crds DIR] [--kubeconfig PATH] [--token T]`."""
    parser = argparse.ArgumentParser(
        prog="python -m flink_manager_dev.kubeapi", description="Serve the embedded Kubernetes API until interrupted."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--crds", action="append", default=[], help="a CRD file or directory (repeatable)")
    parser.add_argument("--kubeconfig", help="write a kubeconfig here")
    parser.add_argument("--token", default=os.environ.get("FLINK_MANAGER_KUBEAPI_TOKEN"))
    parser.add_argument("--watch-window", type=int, default=2000)
    args = parser.parse_args(argv)

    async def run() -> None:
        api = EmbeddedKubernetes(token=args.token, crds=args.crds, watch_window=args.watch_window)
        url = await api.start(args.host, args.port)
        if args.kubeconfig:
            api.write_kubeconfig(args.kubeconfig)
        print(f"ready {url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await api.stop()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
