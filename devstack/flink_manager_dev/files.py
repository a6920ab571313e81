"""Serving local JARs over http for the dev stack's Artifacts (which the dev operator may fetch over http)."""

from __future__ import annotations

import pathlib

import aiohttp.web


class FileServer:
    """Serves named local files at `http://host:port/<name>`, nothing else."""

    def __init__(self) -> None:
        self.files: dict[str, pathlib.Path] = {}
        self._runner: aiohttp.web.AppRunner | None = None
        self.url = ""

    def add(self, path: pathlib.Path, name: str | None = None) -> str:
        """Serve `path` (by its file name unless `name` is given); returns its URL once started, else its name."""
        name = name or path.name
        self.files[name] = path.resolve()
        return f"{self.url}/{name}" if self.url else name

    def url_of(self, name: str) -> str:
        return f"{self.url}/{name}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = aiohttp.web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/{name}", self._file)
        self._runner = aiohttp.web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = aiohttp.web.TCPSite(self._runner, host, port)
        await site.start()
        actual = self._runner.addresses[0]
        self.url = f"http://{actual[0]}:{actual[1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _index(self, _: aiohttp.web.Request) -> aiohttp.web.Response:
        return aiohttp.web.Response(text="".join(f"{self.url_of(name)}\n" for name in sorted(self.files)))

    async def _file(self, request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        path = self.files.get(request.match_info["name"])
        if path is None or not path.is_file():
            raise aiohttp.web.HTTPNotFound(text=f"{request.match_info['name']} is not served here\n")
        return aiohttp.web.FileResponse(path)
