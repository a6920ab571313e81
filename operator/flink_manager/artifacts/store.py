"""Verified artifacts in a local cache, named by digest; fetching verifies before anything is kept.

Content is streamed to a temporary file while hashed and counted (the size limit applies while streaming, not
after), and renamed to `<sha256>.jar` only when every pin holds: a cached file is always a verified one. The
pins, strongest first: spec.sha256; the digest recorded when the same resolved URL was verified before (the
content behind a Maven release or a snapshot build must not change); the repository's own checksum file.

The cache serves uploads to Flink only. Verifying an Artifact always reads its source, with its own
credentials: an Artifact cannot become Ready because another one, perhaps in another namespace with other
credentials, brought the same digest into the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flink_manager.artifacts.errors import ArtifactError, DigestMismatch, TooLarge
from flink_manager.artifacts.http import FetchOptions, shown
from flink_manager.artifacts.sources import Resolved, Source
from flink_manager.reconcile.artifact import Pin


@dataclass(frozen=True)
class Verified:
    """A verified JAR in the cache: where it came from and what it is."""

    resolved: Resolved
    path: Path
    sha256: str
    size_bytes: int
    verified_by: str


class ArtifactStore:
    """A directory of verified artifacts named by digest, and the operator's fetch options."""

    def __init__(self, cache_dir: Path, options: FetchOptions) -> None:
        self.cache_dir = cache_dir
        self.options = options
        self._locks: dict[str, asyncio.Lock] = {}

    def path_for(self, sha256: str) -> Path:
        return self.cache_dir / f"{sha256}.jar"

    def cached(self, sha256: str) -> Path | None:
        path = self.path_for(sha256)
        return path if path.exists() else None

    async def verify(self, source: Source, pin: Pin) -> Verified:
        """Resolve the source, fetch what it resolves to, verify it against the pins, and keep it."""
        try:
            resolved = await source.resolve(need_checksum=pin.sha256 is None)
            return await self._fetch(source, resolved, pin)
        finally:
            await source.close()

    async def ensure(self, source: Source, resolved: Resolved, sha256: str) -> Path:
        """The cached content of `sha256`, fetched again from what was resolved when it was verified if the cache
        lost it (a restart); no new resolution, so a snapshot's newer build can never stand in for it."""
        async with self._locks.setdefault(sha256, asyncio.Lock()):
            try:
                path = self.cached(sha256)
                if path is not None:
                    return path
                return (await self._fetch(source, resolved, Pin(sha256=sha256))).path
            finally:
                await source.close()

    async def _fetch(self, source: Source, resolved: Resolved, pin: Pin) -> Verified:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        checksum = resolved.checksum
        digest = hashlib.sha256()
        repository_digest = hashlib.new(checksum.algorithm) if checksum is not None else None
        handle, temp_name = tempfile.mkstemp(dir=self.cache_dir, prefix=".partial-")
        size = 0
        try:
            with os.fdopen(handle, "wb") as out:
                async for chunk in source.chunks(resolved):
                    size += len(chunk)
                    if size > self.options.max_bytes:
                        raise TooLarge(
                            f"{shown(resolved.url)} is larger than the limit of {self.options.max_bytes} bytes"
                        )
                    digest.update(chunk)
                    if repository_digest is not None:
                        repository_digest.update(chunk)
                    out.write(chunk)
            actual = digest.hexdigest()
            verified_by = check_pins(
                resolved, pin, actual, repository_digest.hexdigest() if repository_digest is not None else None
            )
            path = self.path_for(actual)
            os.replace(temp_name, path)
            return Verified(resolved, path, actual, size, verified_by)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)  # renamed when verified; otherwise a partial or refused download


def check_pins(resolved: Resolved, pin: Pin, sha256: str, repository_hexdigest: str | None) -> str:
    """What verified the content (for status), or DigestMismatch saying which pin it broke."""
    where = shown(resolved.url)
    if pin.sha256 is not None:
        if sha256 != pin.sha256:
            raise DigestMismatch(f"sha256 of {where} is {sha256}, not {pin.sha256} as spec.sha256 says")
        return "spec.sha256"
    if pin.previous_sha256 is not None and pin.previous_url == resolved.url and sha256 != pin.previous_sha256:
        raise DigestMismatch(
            f"the content of {where} changed: sha256 {sha256}, but {pin.previous_sha256} when it "
            "was verified before; set spec.sha256 to accept the new content"
        )
    checksum = resolved.checksum
    if checksum is None:
        raise ArtifactError(f"{where}: nothing to verify the content against")  # a source bug: resolve gave none
    if repository_hexdigest != checksum.hexdigest:
        raise DigestMismatch(
            f"{checksum.algorithm} of {where} is {repository_hexdigest}, not "
            f"{checksum.hexdigest} as the repository's {checksum.file} says"
        )
    return checksum.file
