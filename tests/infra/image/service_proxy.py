"""The `kubernetes` Service for a container that is not in a cluster: `python3 service_proxy.py PORT HOST TARGET_PORT`
listens on PORT and relays each TCP connection to HOST:TARGET_PORT, byte for byte (TLS stays end to end).

It runs in the operator container's network namespace, as kube-proxy serves the Service in a pod's: kopf's
in-cluster login connects to https://kubernetes.default.svc (port 443), whatever port the test's API server has.
It uses only the standard library, so that it runs on the operator's image itself. SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import signal
import sys


async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the end on (a half-close, so the other direction may still finish)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()


async def serve(port: int, host: str, target_port: int) -> None:
    async def connect(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(host, target_port)
        except OSError as exc:
            print(f"cannot reach {host}:{target_port}: {exc}", flush=True)
            client_writer.close()
            return
        try:
            await asyncio.gather(relay(client_reader, server_writer), relay(server_reader, client_writer))
        finally:
            server_writer.close()
            client_writer.close()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await asyncio.start_server(connect, "0.0.0.0", port)
    async with server:
        print(f"relaying :{port} to {host}:{target_port}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
