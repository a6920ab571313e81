"""Credentials for a source, read from a Secret's keys; their values never appear in a repr, message or log.

- s3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, optionally AWS_SESSION_TOKEN (the names the AWS tools read
  from the environment, so the same Secret can be mounted into a pod with envFrom);
- https and Maven: username and password (basic; a kubernetes.io/basic-auth Secret), or token (bearer).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

from flink_manager.artifacts.errors import SecretKeyMissing

S3_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
S3_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
S3_SESSION_TOKEN = "AWS_SESSION_TOKEN"


@dataclass(frozen=True)
class S3Keys:
    """An access key pair, with a session token for temporary credentials."""

    secret: str  # the Secret's name, for messages
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class BasicCredentials:
    secret: str
    username: str = field(repr=False)
    password: str = field(repr=False)

    def header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


@dataclass(frozen=True)
class BearerToken:
    secret: str
    token: str = field(repr=False)

    def header(self) -> str:
        return f"Bearer {self.token}"


HttpCredentials = BasicCredentials | BearerToken


def decode_secret_data(data: Mapping[str, str] | None) -> dict[str, str]:
    """A Secret's `data` (base64) as text; a value that is not UTF-8 is kept out (no source reads one)."""
    decoded: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            decoded[key] = base64.b64decode(value).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
    return decoded


def s3_keys(secret: str, data: Mapping[str, str]) -> S3Keys:
    """The S3 keys of a Secret's (decoded) data; SecretKeyMissing names the keys that are missing."""
    missing = [k for k in (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY) if not data.get(k)]
    if missing:
        raise SecretKeyMissing(
            f"Secret {secret!r} has no {' and no '.join(missing)} (an s3:// source reads "
            f"{S3_ACCESS_KEY_ID}, {S3_SECRET_ACCESS_KEY} and optionally {S3_SESSION_TOKEN})"
        )
    return S3Keys(secret, data[S3_ACCESS_KEY_ID], data[S3_SECRET_ACCESS_KEY], data.get(S3_SESSION_TOKEN) or None)


def http_credentials(secret: str, data: Mapping[str, str]) -> HttpCredentials:
    """Bearer when the Secret has `token`, basic when it has `username` and `password`."""
    if data.get("token"):
        return BearerToken(secret, data["token"])
    if data.get("username") and "password" in data:
        return BasicCredentials(secret, data["username"], data["password"])
    raise SecretKeyMissing(
        f"Secret {secret!r} has neither token nor username and password (an https or Maven "
        "source reads token for bearer authentication, or username and password for basic)"
    )
