"""Fetching artifacts by URL into a local cache, verified by sha256 and bounded in size.

Content is written to a temporary file while hashed, and only renamed to `<sha256>.jar` when the digest
matches: a cached file is always a verified one. https and s3 are allowed; http and file only when the
operator is started to allow them.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import aiohttp

from flink_manager.reconcile.artifact import url_refusal
from flink_manager.settings import Settings

CHUNK = 1 << 16


class ArtifactError(Exception):
    """A failed fetch or verification; `reason` becomes the Artifact's condition reason."""

    def __init__(self, reason: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class FetchedArtifact:
    path: Path
    sha256: str
    size_bytes: int


class ArtifactStore:
    """A directory of verified artifacts named by digest."""

    def __init__(self, cache_dir: Path, *, max_bytes: int, allow_insecure: bool, timeout: float = 300.0,
                 s3_endpoint: str | None = None) -> None:
        self.cache_dir = cache_dir
        self.max_bytes = max_bytes
        self.allow_insecure = allow_insecure
        self.timeout = timeout
        # Settings.s3_endpoint (FLINK_MANAGER_S3_ENDPOINT) when the caller does not pass it on.
        self.s3_endpoint = s3_endpoint if s3_endpoint is not None else Settings.from_env().s3_endpoint
        self._locks: dict[str, asyncio.Lock] = {}

    def path_for(self, sha256: str) -> Path:
        return self.cache_dir / f"{sha256}.jar"

    async def ensure(self, url: str, sha256: str) -> FetchedArtifact:
        """The verified local copy of the artifact, fetching it when it is not cached."""
        async with self._locks.setdefault(sha256, asyncio.Lock()):
            path = self.path_for(sha256)
            if path.exists():
                return FetchedArtifact(path, sha256, path.stat().st_size)
            return await self.fetch(url, sha256)

    async def fetch(self, url: str, sha256: str) -> FetchedArtifact:
        """Download (or copy) the URL, verify digest and size, and keep it in the cache."""
        refusal = url_refusal(url, self.allow_insecure)
        if refusal is not None:
            raise ArtifactError("InsecureURL" if "allow-insecure" in refusal else "UnsupportedURL", refusal)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=self.cache_dir, prefix=".partial-")
        digest = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(handle, "wb") as out:
                async for chunk in self._chunks(url):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise ArtifactError("TooLarge", f"{url} is larger than the limit of {self.max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            if actual != sha256:
                raise ArtifactError("ChecksumMismatch", f"sha256 of {url} is {actual}, not {sha256} as the spec says")
            path = self.path_for(sha256)
            os.replace(temp_name, path)
            return FetchedArtifact(path, sha256, size)
        finally:
            if os.path.exists(temp_name):
                os.unlink(temp_name)

    async def _chunks(self, url: str):  # type: ignore[no-untyped-def]
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(parsed.path)
            if not path.is_file():
                raise ArtifactError("FetchFailed", f"{url}: no such file")
            with path.open("rb") as source:
                while chunk := await asyncio.to_thread(source.read, CHUNK):
                    yield chunk
            return
        if parsed.scheme == "s3":
            # Anonymous read over the bucket's HTTPS endpoint (public buckets; FLINK_MANAGER_S3_ENDPOINT for others).
            endpoint = self.s3_endpoint.rstrip("/")
            url = f"{endpoint}/{parsed.netloc}{parsed.path}"
        timeout = aiohttp.ClientTimeout(total=self.timeout, sock_connect=30)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(url) as response:
                    if response.status >= 500 or response.status == 429:
                        raise ArtifactError("FetchFailed", f"{url}: HTTP {response.status}", retryable=True)
                    if response.status >= 400:
                        raise ArtifactError("FetchFailed", f"{url}: HTTP {response.status}")
                    length = response.content_length
                    if length is not None and length > self.max_bytes:
                        raise ArtifactError("TooLarge", f"{url} is {length} bytes, over the limit of {self.max_bytes}")
                    async for chunk in response.content.iter_chunked(CHUNK):
                        yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise ArtifactError("FetchFailed", f"{url}: {type(exc).__name__}: {exc}", retryable=True) from exc
