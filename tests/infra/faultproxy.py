"""A TCP proxy a test controls: it forwards, or it goes silent — accepts connections and sends nothing, as a network
path that drops packets does (not a refused connection, which a client notices at once).

The proxy runs on its own event loop in a thread, so blocking tests and async tests drive it alike.

- `silence()` / `resume()`: while silent, bytes from either side are swallowed and new connections are accepted and
  never answered; on `resume()` the connections that lost bytes are closed (their streams are broken) and new ones
  are forwarded again.
- `waits`: for every connection, each span during which the client had sent bytes and got nothing back — from its
  first unanswered bytes to the first byte of the answer, or to the moment it gave up and closed the connection.
  A client with a deadline closes its connection at that deadline, so the longest span during a silence is the
  longest any request waited. It needs no knowledge of the protocol: TLS passes through untouched.
- With `http=True` (plain HTTP/1.1 to the proxy, or TLS it terminates with `server_tls`, and with `upstream_tls` again
  towards the upstream) it also reads each request's head, and names it in its `Wait`: `requests` lists them, `auth` refuses a request without the expected `Authorization` header (401, as an
  authenticating proxy in front of Flink would), `hold(pattern)` keeps a matching request until `release()`, and
  `silence_after(pattern)` forwards a matching request and then goes silent, so its answer is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

CHUNK = 65536


@dataclasses.dataclass
class Wait:
    """A span during which a client waited for an answer (monotonic times); `end` None while it still waits."""

    connection: int
    start: float
    end: float | None = None
    answered: bool = False  # ended by an answer (False: the client closed the connection, or it is still open)
    request: str | None = None  # `METHOD path` of the request waited on (HTTP mode; None for raw TCP)

    def seconds(self, now: float | None = None) -> float:
        return (self.end if self.end is not None else (now or time.monotonic())) - self.start


@dataclasses.dataclass(frozen=True)
class Request:
    """The head of one HTTP request through the proxy."""

    connection: int
    at: float
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class _Connection:
    def __init__(self, number: int, client: asyncio.StreamWriter) -> None:
        self.number = number
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None
        self.wait: Wait | None = None
        self.swallowed = False  # lost bytes to a silence: broken, closed on resume
        self.closed = asyncio.Event()


class FaultProxy:
    """A controllable proxy from 127.0.0.1:`port` to `upstream` (host, port)."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        name: str = "proxy",
        http: bool = False,
        auth: str | None = None,
        server_tls: ssl.SSLContext | None = None,
        upstream_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.upstream = upstream
        self.name = name
        self.http = http or auth is not None or server_tls is not None
        self.auth = auth
        self.server_tls = server_tls
        self.upstream_tls = upstream_tls  # TLS again towards the upstream (which the proxy then sees in the clear)
        self.port = 0
        self.waits: list[Wait] = []
        self.requests: list[Request] = []
        self.refused: list[Request] = []  # requests answered 401 for want of the expected Authorization header
        self.silences: list[tuple[float, float | None]] = []  # (start, end) of each silence
        self._silent = False
        self._holds: list[tuple[re.Pattern[str], asyncio.Event]] = []
        self._waiting_at_hold: list[Request] = []  # touched on the proxy's loop only
        self._cut_after: re.Pattern[str] | None = None
        self._connections: dict[int, _Connection] = {}
        self._count = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"fault-proxy-{name}", daemon=True)

    # -- life

    def start(self) -> FaultProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    async def _listen(self) -> None:
        # TLS is started per connection, once the proxy forwards: a silent proxy answers no handshake either.
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self._call(self._close_all(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections.values()):
            self._drop(connection)

    def _call(self, coroutine: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

    @property
    def url(self) -> str:
        return f"{'https' if self.server_tls is not None else 'http'}://127.0.0.1:{self.port}"

    # -- control (from any thread)

    @property
    def silent(self) -> bool:
        return self._silent

    def silence(self) -> None:
        """Swallow everything from now on; accept new connections and never answer them."""
        with self._lock:
            if not self._silent:
                self._silent = True
                self.silences.append((time.monotonic(), None))

    def resume(self) -> None:
        """Forward again; close the connections that lost bytes meanwhile."""
        self._call(self._resume())

    async def _resume(self) -> None:
        with self._lock:
            self._silent = False
            self._cut_after = None
            if self.silences and self.silences[-1][1] is None:
                self.silences[-1] = (self.silences[-1][0], time.monotonic())
        for connection in list(self._connections.values()):
            if connection.swallowed:
                self._drop(connection)

    def hold(self, pattern: str) -> None:
        """Keep requests whose `METHOD path` matches `pattern` (a regular expression) until `release()`."""
        self._call(self._hold(pattern))

    async def _hold(self, pattern: str) -> None:
        self._holds.append((re.compile(pattern), asyncio.Event()))

    def release(self) -> None:
        """Let the held requests (and any that match later) through."""
        self._call(self._release())

    async def _release(self) -> None:
        holds, self._holds = self._holds, []
        for _, event in holds:
            event.set()

    def silence_after(self, pattern: str) -> None:
        """Forward the next request matching `pattern`, then go silent: the request is applied, its answer lost."""
        with self._lock:
            self._cut_after = re.compile(pattern)

    def matching(self, pattern: str, since: float = 0.0) -> list[Request]:
        """The requests whose `METHOD path` matched `pattern`, made after `since` (monotonic)."""
        compiled = re.compile(pattern)
        with self._lock:
            return [r for r in self.requests if r.at >= since and compiled.search(str(r))]

    def held(self, pattern: str = "") -> list[Request]:
        """Requests that wait at a hold now (matching `pattern`)."""
        return self._call(self._held(pattern))

    async def _held(self, pattern: str) -> list[Request]:
        return [r for r in self._waiting_at_hold if re.search(pattern, str(r))]

    def waits_during(self, start: float, end: float | None = None) -> list[Wait]:
        """The waits that overlapped [start, end] (end: now)."""
        end = end if end is not None else time.monotonic()
        with self._lock:
            return [w for w in self.waits if w.start <= end and (w.end is None or w.end >= start)]

    def open_connections(self) -> int:
        return len(self._connections)

    # -- forwarding

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._count += 1
            connection = _Connection(self._count, writer)
        self._connections[connection.number] = connection
        upstream_task: asyncio.Task[None] | None = None
        try:
            if self._silent:
                connection.swallowed = True
                await self._swallow(reader, connection)
                return
            if self.server_tls is not None:
                await writer.start_tls(self.server_tls)
            if self.upstream_tls is not None:
                up_reader, up_writer = await asyncio.open_connection(
                    *self.upstream, ssl=self.upstream_tls, server_hostname=self.upstream[0]
                )
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            connection.upstream = up_writer
            upstream_task = asyncio.create_task(self._pump_back(up_reader, connection))
            if self.http:
                await self._forward_http(reader, connection)
            else:
                await self._forward_raw(reader, connection)
        except (ConnectionError, OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self._end_wait(connection, answered=False)
            self._drop(connection)
            if upstream_task is not None:
                upstream_task.cancel()
            self._connections.pop(connection.number, None)

    async def _swallow(self, reader: asyncio.StreamReader, connection: _Connection) -> None:
        """Read and drop until the client closes (or resume() closes the connection)."""
        while True:
            data = await reader.read(CHUNK)
            if not data:
                return
            self._client_sent(connection)

    def _client_sent(self, connection: _Connection, request: str | None = None) -> None:
        with self._lock:
            if connection.wait is None:
                connection.wait = Wait(connection.number, time.monotonic(), request=request)
                self.waits.append(connection.wait)

    def _end_wait(self, connection: _Connection, *, answered: bool) -> None:
        with self._lock:
            if connection.wait is not None:
                connection.wait.end = time.monotonic()
                connection.wait.answered = answered
                connection.wait = None

    async def _forward_raw(self, reader: asyncio.StreamReader, connection: _Connection) -> None:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                return
            self._client_sent(connection)
            await self._send_up(connection, data)

    async def _send_up(self, connection: _Connection, data: bytes) -> None:
        if self._silent or connection.swallowed:
            connection.swallowed = True
            return
        assert connection.upstream is not None
        connection.upstream.write(data)
        await connection.upstream.drain()

    async def _pump_back(self, reader: asyncio.StreamReader, connection: _Connection) -> None:
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                if self._silent or connection.swallowed:
                    connection.swallowed = True
                    continue
                self._end_wait(connection, answered=True)
                connection.client.write(data)
                await connection.client.drain()
        except (ConnectionError, OSError):
            pass
        if not connection.swallowed:
            self._drop(connection)  # the server closed: so does the client's side

    async def _forward_http(self, reader: asyncio.StreamReader, connection: _Connection) -> None:
        while True:
            head = await self._read_head(reader)
            if head is None:
                return
            request_line, _, rest = head.partition(b"\r\n")
            method, path = (request_line.decode("latin-1").split(" ") + ["", ""])[:2]
            self._client_sent(connection, f"{method} {path}")
            headers = _headers(rest)
            body = await _read_body(reader, headers)
            request = Request(connection.number, time.monotonic(), method, path)
            with self._lock:
                self.requests.append(request)
            if self.auth is not None and headers.get("authorization") != self.auth:
                with self._lock:
                    self.refused.append(request)
                self._end_wait(connection, answered=True)
                connection.client.write(
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 29\r\nConnection: close\r\n\r\n"
                    b'{"errors": ["Unauthorized."]}'
                )
                await connection.client.drain()
                return
            for pattern, released in list(self._holds):
                if pattern.search(str(request)):
                    self._waiting_at_hold.append(request)
                    try:
                        await released.wait()
                    finally:
                        self._waiting_at_hold.remove(request)
            await self._send_up(connection, head + body)
            with self._lock:
                cut = self._cut_after is not None and self._cut_after.search(str(request))
            if cut:
                self.silence()

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
        try:
            return await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None

    def _drop(self, connection: _Connection) -> None:
        for writer in (connection.client, connection.upstream):
            if writer is not None and not writer.is_closing():
                with contextlib.suppress(Exception):
                    writer.close()


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The request body as sent (chunked framing kept), so it is forwarded byte for byte."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            parts.append(size_line)
            size = int(size_line.split(b";")[0].strip(), 16)
            data = await reader.readexactly(size + 2)
            parts.append(data)
            if size == 0:
                return b"".join(parts)
    length = int(headers.get("content-length") or 0)
    return await reader.readexactly(length) if length else b""


def longest_wait(
    proxies: list[FaultProxy], start: float, end: float | None = None, keep: Callable[[Wait], bool] = lambda w: True
) -> float:
    """The longest any client waited on these proxies during [start, end] (0 when none waited)."""
    return max((w.seconds() for p in proxies for w in p.waits_during(start, end) if keep(w)), default=0.0)
