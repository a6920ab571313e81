"""S3 and S3-compatible stores (MinIO, Ceph, R2…): reading an object for an Artifact, and the multipart upload of
`flink-manager artifact push`. Requests are signed and sent by aiobotocore (botocore's SigV4 over aiohttp).

Per Artifact: the endpoint (spec.s3.endpoint, else FLINK_MANAGER_S3_ENDPOINT, else AWS's), the region and the
addressing style, and the keys of its Secret. An Artifact without a Secret reads anonymously (unsigned): the
operator never lends it its own cloud identity (botocore's default chain: environment, pod identity, the
instance metadata service), which would let anyone who may create an Artifact read what the operator may.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore import UNSIGNED
from botocore.exceptions import BotoCoreError, ClientError, SSLError

from flink_manager.api.artifact import S3Options
from flink_manager.artifacts.credentials import S3Keys
from flink_manager.artifacts.errors import (
    ArtifactError,
    ArtifactNotFound,
    AuthenticationFailed,
    FetchFailed,
    HostRefused,
    TooLarge,
    UnsupportedURL,
)
from flink_manager.artifacts.hosts import HostPolicy, HostRefusedError, PolicyResolver
from flink_manager.artifacts.http import CHUNK, FetchOptions, check_scheme
from flink_manager.artifacts.sources import Resolved, SourceAccess

# botocore's DEBUG records carry request headers, the access key id of Authorization among them.
logging.getLogger("botocore").setLevel(logging.INFO)
logging.getLogger("aiobotocore").setLevel(logging.INFO)

DEFAULT_REGION = "us-east-1"
AUTH_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                        "InvalidToken", "TokenRefreshRequired", "InvalidSecurity", "AllAccessDisabled"})
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})
MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_SIZE = 16 * 1024 * 1024  # S3 takes parts of 5 MiB to 5 GiB, at most 10,000 of them

_session: AioSession | None = None


def session() -> AioSession:
    """One botocore session per process (it caches the service models it loads)."""
    global _session  # noqa: PLW0603 - a process-wide cache
    if _session is None:
        _session = get_session()
    return _session


def split_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/key → (bucket, key)."""
    parts = urlsplit(url)
    bucket, key = parts.netloc, unquote(parts.path.lstrip("/"))
    if parts.scheme != "s3" or not bucket or not key:
        raise UnsupportedURL(f"{url}: an S3 location is s3://bucket/key")
    return bucket, key


@contextlib.contextmanager
def ca_file(ca_pem: str | None) -> Iterator[str | None]:
    """botocore takes a CA bundle as a file: the PEM of caSecretRef, for as long as the client lives."""
    if not ca_pem:
        yield None
        return
    handle, name = tempfile.mkstemp(prefix="flink-manager-ca-", suffix=".pem")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(ca_pem)
        yield name
    finally:
        os.unlink(name)


def client_config(*, path_style: bool, signed: bool, timeout: float, policy: HostPolicy | None) -> AioConfig:
    """Path or virtual-hosted addressing; unsigned requests without keys; the host policy in the connector."""
    options: dict[str, Any] = {
        "s3": {"addressing_style": "path" if path_style else "auto"},
        "retries": {"mode": "standard", "max_attempts": 2},
        "connect_timeout": 30,
        "read_timeout": timeout,
        "proxies": {},  # HTTP(S)_PROXY would take the connection past the host policy
    }
    if not signed:
        options["signature_version"] = UNSIGNED
    if policy is not None:
        options["connector_args"] = {"resolver": PolicyResolver(policy)}
    return AioConfig(**options)


class S3Source:
    """An s3://bucket/key object, read with the Artifact's endpoint, region, addressing style and keys."""

    def __init__(self, url: str, options: S3Options | None, access: SourceAccess, fetch: FetchOptions) -> None:
        self.url = url
        self.options = options or S3Options()
        self.access = access
        self.fetch = fetch
        self.endpoint = (self.options.endpoint or fetch.s3_endpoint or "").rstrip("/") or None
        self.region = self.options.region or DEFAULT_REGION

    def where(self) -> str:
        return f"{self.url} at {self.endpoint}" if self.endpoint else f"{self.url} (AWS, {self.region})"

    async def resolve(self, *, need_checksum: bool) -> Resolved:
        split_s3_url(self.url)
        if self.endpoint is not None:
            check_scheme(self.endpoint, self.fetch.allow_insecure)
            try:
                self.fetch.policy.check_literal(urlsplit(self.endpoint).hostname or "")
            except HostRefusedError as exc:
                raise HostRefused(f"S3 endpoint: {exc.message}") from None
        return Resolved(self.url)

    async def chunks(self, resolved: Resolved) -> AsyncIterator[bytes]:
        bucket, key = split_s3_url(resolved.url)
        keys = self.access.s3_keys
        config = client_config(path_style=self.options.path_style, signed=keys is not None,
                               timeout=self.fetch.timeout, policy=self.fetch.policy)
        with ca_file(self.access.ca_pem) as ca:
            try:
                async with session().create_client(
                    "s3", region_name=self.region, endpoint_url=self.endpoint, verify=ca,
                    aws_access_key_id=keys.access_key_id if keys else None,
                    aws_secret_access_key=keys.secret_access_key if keys else None,
                    aws_session_token=keys.session_token if keys else None, config=config,
                ) as client:
                    response = await client.get_object(Bucket=bucket, Key=key)
                    length = response.get("ContentLength")
                    if length is not None and length > self.fetch.max_bytes:
                        raise TooLarge(f"{self.url} is {length} bytes, over the limit of {self.fetch.max_bytes}")
                    async with response["Body"] as body:
                        async for chunk in body.iter_chunks(CHUNK):
                            yield chunk
            except ArtifactError:
                raise
            except ClientError as exc:
                raise self._client_error(exc) from None
            except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
                raise self._transport_error(exc) from None

    def _client_error(self, exc: ClientError) -> ArtifactError:
        error = exc.response.get("Error") or {}
        code = str(error.get("Code") or "")
        status = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        keys = self.access.s3_keys
        if code in AUTH_CODES or status in (401, 403):
            if keys is None:
                return AuthenticationFailed(f"{self.where()} refused anonymous access ({code or status}): name a "
                                            "Secret with keys in spec.credentialsSecretRef")
            return AuthenticationFailed(f"{self.where()} refused the keys of Secret {keys.secret!r} "
                                        f"({code or status})")
        if code in NOT_FOUND_CODES or status == 404:
            return ArtifactNotFound(f"{self.where()}: {code or 'HTTP 404'}, no such object")
        if 300 <= status < 400:
            return FetchFailed(f"{self.where()} answered a redirect ({code or status}): the bucket is elsewhere; "
                               "set spec.s3.region or spec.s3.endpoint")
        return FetchFailed(f"{self.where()}: {code or status}", retryable=status >= 500 or status == 429)

    def _transport_error(self, exc: BaseException) -> ArtifactError:
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, HostRefusedError):
                return HostRefused(f"S3 endpoint: {cause.message}")
            cause = cause.__cause__ or cause.__context__
        if isinstance(exc, SSLError):
            return FetchFailed(f"{self.where()}: the endpoint's certificate is not trusted; a private CA goes in "
                               "spec.caSecretRef")
        return FetchFailed(f"{self.where()}: {type(exc).__name__}", retryable=True)

    async def close(self) -> None:
        pass


async def upload(path: Path, url: str, *, endpoint: str | None, region: str | None, path_style: bool,
                 ca_bundle: str | None = None, threshold: int = MULTIPART_THRESHOLD,
                 part_size: int = PART_SIZE) -> None:
    """Upload a file to s3://bucket/key with the caller's own AWS credentials (environment, profile): one PUT,
    or a multipart upload above `threshold` (aborted when a part fails, so no parts are left behind)."""
    bucket, key = split_s3_url(url)
    config = client_config(path_style=path_style, signed=True, timeout=300.0, policy=None)
    async with session().create_client("s3", region_name=region or DEFAULT_REGION, endpoint_url=endpoint,
                                       verify=ca_bundle, config=config) as client:
        size = path.stat().st_size
        if size <= threshold:
            await client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(),
                                    ContentType="application/java-archive")
            return
        created = await client.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/java-archive")
        upload_id = created["UploadId"]
        parts = []
        try:
            with path.open("rb") as source:
                number = 1
                while chunk := source.read(part_size):
                    answer = await client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                                      Body=chunk)
                    parts.append({"ETag": answer["ETag"], "PartNumber": number})
                    number += 1
            await client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                                   MultipartUpload={"Parts": parts})
        except BaseException:
            with contextlib.suppress(Exception):
                await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
