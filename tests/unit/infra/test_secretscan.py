"""The secret scan finds a Secret's value however the operator might have let it out, and nothing else."""

from __future__ import annotations

import base64
import json

import pytest

from tests.infra.secretscan import SecretScan

PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    + "MIIBszCCAVmgAwIBAgIUQ2xvdWQtbmF0aXZlLXRlc3QtY2EtMDEwCgYIKoZIzj0E\n" * 3
    + "-----END CERTIFICATE-----\n"
)


def b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def scan_with_secrets() -> SecretScan:
    scan = SecretScan()
    scan.add_secrets_from(
        {
            "items": [
                {
                    "metadata": {"namespace": "ns", "name": "basic"},
                    "data": {"username": b64("flink-user-4f2a"), "password": b64("pw-9c1d7e5b3a")},
                },
                {"metadata": {"namespace": "ns", "name": "token"}, "data": {"token": b64("tok-0123456789abcdef")}},
                {"metadata": {"namespace": "ns", "name": "ca"}, "data": {"ca.crt": b64(PEM)}},
                {"metadata": {"namespace": "ns", "name": "short"}, "data": {"user": b64("admin")}},
            ]
        }
    )
    return scan


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param("token=tok-0123456789abcdef", "ns/token:token", id="as-is"),
        pytest.param(
            f"Authorization: Basic {b64('flink-user-4f2a:pw-9c1d7e5b3a')}",
            "ns/basic:username+password",
            id="basic-header",
        ),
        pytest.param(json.dumps({"message": PEM}), "ns/ca:ca.crt", id="escaped-in-json"),
        pytest.param(
            "... MIIBszCCAVmgAwIBAgIUQ2xvdWQtbmF0aXZlLXRlc3QtY2EtMDEwCgYIKoZIzj0E ...",
            "ns/ca:ca.crt",
            id="one-line-of-a-pem",
        ),
        pytest.param(f"password: {b64('pw-9c1d7e5b3a')}", "ns/basic:password", id="base64"),
    ],
)
def test_a_secret_value_in_a_text_is_found(text: str, secret: str) -> None:
    scan = scan_with_secrets()
    scan.add_text("operator log", text)
    assert secret in {leak.secret for leak in scan.leaks()}


def test_texts_without_secret_values_pass_and_short_values_are_counted_not_searched() -> None:
    scan = scan_with_secrets()
    scan.add_text("operator log", "the admin asked for a savepoint; FlinkCluster default is Ready")
    scan.add_objects("status", [{"status": {"phase": "Running", "message": "no problem known"}}])
    assert scan.leaks() == []
    assert "ns/short:user" in scan.too_short
    assert len(scan.secrets) == 5
