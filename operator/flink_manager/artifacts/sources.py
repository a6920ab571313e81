"""Where an artifact comes from: one Source per kind of spec, behind one interface.

A Source resolves (a Maven version to its file; a URL to itself), then streams the content of what it resolved
to. Verifying the content is the store's job (store.py), for every source alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from flink_manager.api.artifact import ArtifactSpec, MavenSource
from flink_manager.artifacts import maven
from flink_manager.artifacts.credentials import HttpCredentials, S3Keys
from flink_manager.artifacts.errors import ArtifactNotFound, InsecureURL, UnsupportedURL
from flink_manager.artifacts.http import CHUNK, FetchOptions, HttpFetcher, check_scheme


@dataclass(frozen=True)
class Resolved:
    """What a source resolved to: the URL read (no credentials in it), a Maven version, the repository's checksum."""

    url: str
    version: str | None = None
    checksum: maven.RepositoryChecksum | None = None


class Source(Protocol):
    """One place an artifact can be fetched from, with the credentials and CA its Artifact names."""

    async def resolve(self, *, need_checksum: bool) -> Resolved:
        """What the spec points at now (for Maven, reading metadata and, when asked, the checksum file)."""

    def chunks(self, resolved: Resolved) -> AsyncIterator[bytes]:
        """The content of what was resolved."""

    async def close(self) -> None:
        """Release connections."""


@dataclass(frozen=True)
class SourceAccess:
    """What a source is reached with, read from the Secrets the Artifact names."""

    http_credentials: HttpCredentials | None = None
    s3_keys: S3Keys | None = None
    ca_pem: str | None = None
    ca_secret: str | None = None


class HttpSource:
    """An https:// (or, where allowed, http://) URL."""

    def __init__(self, url: str, fetcher: HttpFetcher) -> None:
        self.url = url
        self.fetcher = fetcher

    async def resolve(self, *, need_checksum: bool) -> Resolved:
        check_scheme(self.url, self.fetcher.options.allow_insecure)
        return Resolved(self.url)

    def chunks(self, resolved: Resolved) -> AsyncIterator[bytes]:
        return self.fetcher.chunks(resolved.url)

    async def close(self) -> None:
        await self.fetcher.close()


class FileSource:
    """A file:// URL on the operator's own file system (development only)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def resolve(self, *, need_checksum: bool) -> Resolved:
        return Resolved(self.url)

    async def chunks(self, resolved: Resolved) -> AsyncIterator[bytes]:
        path = Path(unquote(urlsplit(resolved.url).path))
        try:
            source = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError):
            raise ArtifactNotFound(f"{resolved.url}: no such file") from None
        with source:
            while chunk := await asyncio.to_thread(source.read, CHUNK):
                yield chunk

    async def close(self) -> None:
        pass


class MavenRepositorySource:
    """Maven coordinates in a repository reached over http(s)."""

    def __init__(self, coordinates: MavenSource, fetcher: HttpFetcher) -> None:
        self.coordinates = coordinates
        self.fetcher = fetcher

    async def resolve(self, *, need_checksum: bool) -> Resolved:
        source = self.coordinates
        version = source.version
        if source.is_snapshot:
            url = maven.version_directory(source) + maven.METADATA
            try:
                metadata = await self.fetcher.read_small(url, maven.METADATA_LIMIT)
            except ArtifactNotFound:
                raise maven.metadata_not_found(source, url) from None
            version = maven.snapshot_build(source, metadata)
        url = maven.jar_url(source, version)
        checksum = await self._checksum(url) if need_checksum else None
        return Resolved(url, version, checksum)

    async def _checksum(self, url: str) -> maven.RepositoryChecksum:
        for algorithm in maven.CHECKSUM_ALGORITHMS:
            file = f"{url}.{algorithm}"
            try:
                text = await self.fetcher.read_small(file, 4096)
            except ArtifactNotFound:
                continue
            return maven.parse_checksum(algorithm, text, file.rsplit("/", 1)[-1])
        raise maven.no_checksum(url)

    def chunks(self, resolved: Resolved) -> AsyncIterator[bytes]:
        return self.fetcher.chunks(resolved.url)

    async def close(self) -> None:
        await self.fetcher.close()


def open_source(spec: ArtifactSpec, access: SourceAccess, options: FetchOptions) -> Source:
    """The Source for an Artifact's spec (InsecureURL, UnsupportedURL when the operator cannot fetch it)."""
    if spec.maven is not None:
        check_scheme(spec.maven.repository, options.allow_insecure)
        return MavenRepositorySource(spec.maven, _fetcher(access, options))
    url = spec.url or ""
    scheme = urlsplit(url).scheme
    if scheme in ("https", "http"):
        check_scheme(url, options.allow_insecure)
        return HttpSource(url, _fetcher(access, options))
    if scheme == "s3":
        from flink_manager.artifacts.s3 import S3Source  # botocore loads only where an s3:// Artifact is

        return S3Source(url, spec.s3, access, options)
    if scheme == "file":
        if not options.allow_insecure:
            raise InsecureURL(f"{url}: file:// is refused unless the operator runs with --allow-insecure-artifacts")
        return FileSource(url)
    raise UnsupportedURL(f"unsupported URL scheme {scheme!r}")


def _fetcher(access: SourceAccess, options: FetchOptions) -> HttpFetcher:
    return HttpFetcher(options, credentials=access.http_credentials, ca_pem=access.ca_pem, ca_secret=access.ca_secret)
