"""S3 request building: object URLs by addressing style, and the SigV4 headers botocore's signer gives a GET
(moto checks signatures in the component tests; it cannot check session tokens, so their header is checked here)."""

from __future__ import annotations

import pytest

from flink_manager.artifacts.credentials import S3Keys
from flink_manager.artifacts.errors import UnsupportedURL
from flink_manager.artifacts.s3 import object_url, sign, split_s3_url


@pytest.mark.parametrize(
    ("endpoint", "bucket", "key", "path_style", "url"),
    [
        pytest.param(None, "jobs", "a/b.jar", False, "https://jobs.s3.eu-west-1.amazonaws.com/a/b.jar", id="aws"),
        pytest.param(
            None, "jobs", "a/b.jar", True, "https://s3.eu-west-1.amazonaws.com/jobs/a/b.jar", id="aws-path-style"
        ),
        pytest.param(
            None,
            "my.jobs",
            "b.jar",
            False,
            "https://s3.eu-west-1.amazonaws.com/my.jobs/b.jar",
            id="dotted-bucket-in-the-path",
        ),
        pytest.param(
            "http://10.96.4.2:9000", "jobs", "b.jar", False, "http://10.96.4.2:9000/jobs/b.jar", id="address-endpoint"
        ),
        pytest.param(
            "https://minio.storage.svc:9000/",
            "jobs",
            "b.jar",
            True,
            "https://minio.storage.svc:9000/jobs/b.jar",
            id="minio",
        ),
        pytest.param(
            "https://minio.storage.svc:9000",
            "jobs",
            "dir/my job+1.jar",
            True,
            "https://minio.storage.svc:9000/jobs/dir/my%20job%2B1.jar",
            id="key-encoded",
        ),
    ],
)
def test_object_urls(endpoint: str | None, bucket: str, key: str, path_style: bool, url: str) -> None:
    assert object_url(endpoint, "eu-west-1", bucket, key, path_style=path_style) == url


def test_an_s3_url_names_a_bucket_and_a_key() -> None:
    assert split_s3_url("s3://jobs/dir/my%20job.jar") == ("jobs", "dir/my job.jar")
    for url in ("s3://jobs", "s3://jobs/", "s3:///key", "https://jobs/key"):
        with pytest.raises(UnsupportedURL):
            split_s3_url(url)


def test_a_get_is_signed_with_the_keys_and_carries_the_session_token() -> None:
    keys = S3Keys("minio-reader", "AKIAEXAMPLE", "secret-key-value", "session-token-value")
    headers = sign("https://minio.storage.svc:9000/jobs/b.jar", keys, "us-east-1")
    authorization = headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/")
    assert "/us-east-1/s3/aws4_request" in authorization
    signed = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    assert {"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"} <= set(signed)
    assert headers["X-Amz-Security-Token"] == "session-token-value"
    assert "secret-key-value" not in repr(headers) and "secret-key-value" not in repr(keys)
    without = sign(
        "https://minio.storage.svc:9000/jobs/b.jar", S3Keys("s", "AKIAEXAMPLE", "secret-key-value"), "us-east-1"
    )
    assert "X-Amz-Security-Token" not in without
