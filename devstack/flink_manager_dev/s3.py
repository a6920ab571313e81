"""An S3-compatible server for `flink-manager dev` and the tests: moto's standalone server (PyPI `moto`), run as a
child process, with request authentication enforced.

moto checks SigV4 signatures against the IAM access keys it holds once authentication is on
(INITIAL_NO_AUTH_ACTION_COUNT: the first N requests pass unauthenticated; we spend them creating one user, its
policy and its access key). From then on a request with a wrong secret key is refused by the server itself
(SignatureDoesNotMatch), an unknown key id too (InvalidAccessKeyId), and an unsigned one (AccessDenied).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# The requests made without authentication: create the user, give it a policy, create its access key.
SETUP_ACTIONS = 3
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
REGION = "us-east-1"


class S3ServerError(Exception):
    """The server did not start (a port in use, moto missing); the message says what happened."""


@dataclass(frozen=True)
class S3Keys:
    """An access key pair of the server's one user (the values go into Secrets; never print them in logs)."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)

    def secret_data(self) -> dict[str, str]:
        """As a Secret's stringData, with the keys an s3:// Artifact reads."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: a killed parent leaves no server behind


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class S3Server:
    """moto's server on `host:port` (0: a free port), over https when given a certificate and key."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        certificate: pathlib.Path | None = None,
        key: pathlib.Path | None = None,
        ca_bundle: pathlib.Path | None = None,
        log_path: pathlib.Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.certificate = certificate
        self.key = key
        self.ca_bundle = ca_bundle  # to trust the certificate from here
        self.log_path = log_path
        self.keys: S3Keys | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.certificate else "http"
        return f"{scheme}://{self.host}:{self.port}"

    async def start(self, timeout: float = 60.0) -> S3Keys:
        """Start the server, create its user and access key; returns the key pair."""
        if self.port == 0:
            self.port = _free_port(self.host)
        command = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
        if self.certificate and self.key:
            command += ["-c", str(self.certificate), "-k", str(self.key)]
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_ACTIONS), "MOTO_ALLOW_NONEXISTENT_REGION": "1"}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            env.pop(name, None)
        self._log = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        try:
            # Not in a worker thread: the parent-death signal follows the thread that forks, and a worker thread ends.
            self._process = subprocess.Popen(  # noqa: ASYNC220 - a fork, not a wait
                command, stdout=self._log, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent
            )
        except OSError as exc:
            raise S3ServerError(f"cannot start moto's server: {exc}") from None
        await self._wait_up(timeout)
        self.keys = await self._create_user()
        return self.keys

    async def _wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        ssl = not self.certificate  # its own certificate is checked by the clients given ca_bundle
        async with aiohttp.ClientSession() as session:
            while True:
                if self._process is not None and self._process.poll() is not None:
                    raise S3ServerError(
                        f"moto's server exited with {self._process.returncode} "
                        f"(is port {self.port} in use? is moto installed?)"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    async with session.get(
                        f"{self.endpoint}/moto-api/data.json", ssl=ssl, timeout=aiohttp.ClientTimeout(total=2)
                    ) as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise S3ServerError(f"moto's server did not answer on {self.endpoint} within {timeout:g}s")
                await asyncio.sleep(0.1)

    def client(self, keys: S3Keys | None = None) -> Any:
        """An aiobotocore S3 client of the server (`async with server.client() as s3:`), signed with `keys`."""
        return self._client("s3", keys or self.keys)

    def _client(self, service: str, keys: S3Keys | None) -> Any:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        return get_session().create_client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            verify=str(self.ca_bundle) if self.ca_bundle else None,
            aws_access_key_id=keys.access_key_id if keys else "setup",
            aws_secret_access_key=keys.secret_access_key if keys else "setup",
            config=AioConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, proxies={}),
        )

    async def _create_user(self) -> S3Keys:
        async with self._client("iam", None) as iam:
            await iam.create_user(UserName="flink-manager-dev")
            await iam.put_user_policy(UserName="flink-manager-dev", PolicyName="s3", PolicyDocument=json.dumps(POLICY))
            created = (await iam.create_access_key(UserName="flink-manager-dev"))["AccessKey"]
        return S3Keys(created["AccessKeyId"], created["SecretAccessKey"])

    async def create_bucket(self, bucket: str) -> None:
        async with self.client() as s3:
            await s3.create_bucket(Bucket=bucket)

    async def put(self, bucket: str, key: str, body: bytes) -> None:
        async with self.client() as s3:
            await s3.put_object(Bucket=bucket, Key=key, Body=body)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait, 10)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
            self._log = None
