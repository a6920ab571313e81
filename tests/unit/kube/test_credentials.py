"""Credentials from kopf's login: kubeconfig `*-data` fields arrive base64-encoded, ServiceAccounts as PEM."""

from __future__ import annotations

import base64

import kopf
import pytest

from flink_manager.kube.client import Credentials

PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(base64.b64encode(PEM).decode(), id="base64-text-from-kubeconfig"),
        pytest.param(PEM.decode(), id="pem-text"),
        pytest.param(PEM, id="pem-bytes"),
    ],
)
def test_certificate_data_becomes_pem_bytes(given: str | bytes) -> None:
    info = kopf.ConnectionInfo(server="https://k8s", ca_data=given, certificate_data=given, private_key_data=given)
    credentials = Credentials.from_kopf(info)
    assert credentials.ca_data == PEM
    assert credentials.certificate_data == PEM
    assert credentials.private_key_data == PEM


def test_absent_data_stays_absent() -> None:
    credentials = Credentials.from_kopf(kopf.ConnectionInfo(server="https://k8s", token="t"))
    assert credentials.ca_data is None and credentials.token == "t"


def test_credentials_go_to_kopf_and_back_unchanged() -> None:
    credentials = Credentials(
        server="https://k8s",
        token="t",
        ca_data=PEM,
        certificate_data=PEM,
        private_key_data=b"-----BEGIN KEY-----\n",
        insecure=True,
        default_namespace="team-a",
    )
    info = credentials.to_kopf()
    assert info.scheme == "Bearer"
    assert Credentials.from_kopf(info) == credentials
