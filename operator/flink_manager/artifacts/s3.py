"""S3 and S3-compatible stores (MinIO, Ceph, R2…): reading an object for an Artifact, and the multipart upload of
`flink-manager artifact push`.

Reading: the request is signed by botocore's SigV4 signer and sent by the operator's own HTTP client (http.py),
so an S3 source gets the same host policy, CA handling, size limit and error mapping as every other source, and
no redirect is followed (aiobotocore's aiohttp session follows redirects, which would carry the session token
header to another host). Uploading, from a workstation: aiobotocore's client, for its multipart API.

Per Artifact: the endpoint (spec.s3.endpoint, else FLINK_MANAGER_S3_ENDPOINT, else AWS's of the region), the
region, the addressing style, and the keys of its Secret. An Artifact without a Secret reads anonymously
(unsigned): the operator never lends it its own cloud identity (botocore's default chain: environment, pod
identity, the instance metadata service), which would let anyone who may create an Artifact read what the
operator may.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from flink_manager.api.artifact import S3Options
from flink_manager.artifacts.credentials import S3Keys
from flink_manager.artifacts.errors import UnsupportedURL
from flink_manager.artifacts.http import FetchOptions, HttpFetcher, check_scheme
from flink_manager.artifacts.sources import Resolved, SourceAccess

# botocore's DEBUG records carry request headers, the access key id of Authorization among them.
logging.getLogger("botocore").setLevel(logging.INFO)
logging.getLogger("aiobotocore").setLevel(logging.INFO)

DEFAULT_REGION = "us-east-1"
MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_SIZE = 16 * 1024 * 1024  # S3 takes parts of 5 MiB to 5 GiB, at most 10,000 of them
# Bucket names that can be a DNS label of a virtual-hosted URL over https (no dots: the wildcard certificate).
VIRTUAL_HOST_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def split_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/key → (bucket, key)."""
    parts = urlsplit(url)
    bucket, key = parts.netloc, unquote(parts.path.lstrip("/"))
    if parts.scheme != "s3" or not bucket or not key:
        raise UnsupportedURL(f"{url}: an S3 location is s3://bucket/key")
    return bucket, key


def object_url(endpoint: str | None, region: str, bucket: str, key: str, *, path_style: bool) -> str:
    """The HTTP URL of an object: path-style (endpoint/bucket/key) or virtual-hosted (bucket.endpoint/key)."""
    base = (endpoint or f"https://s3.{region}.amazonaws.com").rstrip("/")
    path = quote(key, safe="/~")
    if path_style or not VIRTUAL_HOST_BUCKET.match(bucket) or _is_address(urlsplit(base).hostname or ""):
        return f"{base}/{bucket}/{path}"
    scheme, _, host = base.partition("://")
    return f"{scheme}://{bucket}.{host}/{path}"


def _is_address(host: str) -> bool:
    """An endpoint written as an address has no names below it for a virtual-hosted bucket."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def sign(url: str, keys: S3Keys, region: str) -> dict[str, str]:
    """SigV4 headers of a GET of `url` (botocore's S3 signer: host, x-amz-date, x-amz-content-sha256)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=url)
    credentials = Credentials(keys.access_key_id, keys.secret_access_key, keys.session_token)
    S3SigV4Auth(credentials, "s3", region).add_auth(request)
    return {k: v for k, v in request.headers.items() if k.lower() != "host"}


class S3Source:
    """An s3://bucket/key object, read with the Artifact's endpoint, region, addressing style and keys."""

    def __init__(self, url: str, options: S3Options | None, access: SourceAccess, fetch: FetchOptions) -> None:
        self.url = url
        self.options = options or S3Options()
        self.endpoint = (self.options.endpoint or fetch.s3_endpoint or "").rstrip("/") or None
        self.region = self.options.region or DEFAULT_REGION
        keys = access.s3_keys
        self.fetcher = HttpFetcher(
            fetch,
            authorize=(lambda target: sign(target, keys, self.region)) if keys is not None else None,
            secret=keys.secret if keys is not None else None,
            ca_pem=access.ca_pem,
            ca_secret=access.ca_secret,
            follow_redirects=False,
        )

    async def resolve(self, *, need_checksum: bool) -> Resolved:
        split_s3_url(self.url)
        if self.endpoint is not None:
            check_scheme(self.endpoint, self.fetcher.options.allow_insecure)
        return Resolved(self.url)

    def chunks(self, resolved: Resolved) -> AsyncIterator[bytes]:
        bucket, key = split_s3_url(resolved.url)
        return self.fetcher.chunks(
            object_url(self.endpoint, self.region, bucket, key, path_style=self.options.path_style)
        )

    async def close(self) -> None:
        await self.fetcher.close()


def client_config(*, path_style: bool) -> Any:
    """aiobotocore's client settings for an upload: the addressing style, no proxy from the environment."""
    from aiobotocore.config import AioConfig

    return AioConfig(
        s3={"addressing_style": "path" if path_style else "auto"},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=30,
        read_timeout=300,
        proxies={},
    )


async def upload(
    path: Path,
    url: str,
    *,
    endpoint: str | None,
    region: str | None,
    path_style: bool,
    ca_bundle: str | None = None,
    threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
) -> None:
    """Upload a file to s3://bucket/key with the caller's own AWS credentials (environment, profile): one PUT,
    or a multipart upload above `threshold` (aborted when a part fails, so no parts are left behind)."""
    from aiobotocore.session import get_session

    bucket, key = split_s3_url(url)
    async with get_session().create_client(
        "s3",
        region_name=region or DEFAULT_REGION,
        endpoint_url=endpoint,
        verify=ca_bundle,
        config=client_config(path_style=path_style),
    ) as client:
        size = (await asyncio.to_thread(path.stat)).st_size
        if size <= threshold:
            await client.put_object(
                Bucket=bucket,
                Key=key,
                Body=await asyncio.to_thread(path.read_bytes),
                ContentType="application/java-archive",
            )
            return
        created = await client.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/java-archive")
        upload_id = created["UploadId"]
        parts = []
        try:
            with await asyncio.to_thread(path.open, "rb") as source:
                number = 1
                while chunk := await asyncio.to_thread(source.read, part_size):
                    answer = await client.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
                    )
                    parts.append({"ETag": answer["ETag"], "PartNumber": number})
                    number += 1
            await client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise
