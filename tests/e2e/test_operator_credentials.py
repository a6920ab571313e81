"""FlinkClusters whose REST endpoint wants credentials, as Flink behind an authenticating proxy does: basic and bearer
credentials and a CA bundle read from Secrets; credentials Flink refuses give FlinkUnauthorized. The Secrets' values
are what the session's secret scan (conftest.py) then looks for in everything the operator wrote and logged."""

from __future__ import annotations

import base64
import secrets
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import EndToEnd
from tests.infra.faultproxy import FaultProxy
from tests.infra.flink.cluster import RealFlinkCluster
from tests.infra.kube.controlplane import generate_certificates

pytestmark = [pytest.mark.real_k8s, pytest.mark.real_flink]


def condition(body: dict[str, Any], type_: str) -> tuple[str, str]:
    found = next((c for c in (body.get("status") or {}).get("conditions", []) if c["type"] == type_), {})
    return found.get("status", ""), found.get("reason", "")


@pytest.fixture(scope="module")
def credentials() -> dict[str, str]:
    return {
        "username": "user-" + secrets.token_hex(6),
        "password": "pw-" + secrets.token_hex(16),
        "token": "tok-" + secrets.token_hex(20),
    }


@pytest.fixture(scope="module")
def proxies(
    real_flink: RealFlinkCluster, credentials: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Flink behind two authenticating proxies: plain HTTP with basic credentials, and TLS (a test CA) with a token."""
    pki = tmp_path_factory.mktemp("pki")
    generate_certificates(pki)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(pki / "apiserver.crt", pki / "apiserver.key")
    basic = base64.b64encode(f"{credentials['username']}:{credentials['password']}".encode()).decode()
    flink = ("127.0.0.1", real_flink.rest_port)
    started = {
        "basic": FaultProxy(flink, name="basic", auth=f"Basic {basic}").start(),
        "bearer": FaultProxy(flink, name="bearer", auth=f"Bearer {credentials['token']}", server_tls=tls).start(),
    }
    try:
        yield {**started, "ca": (pki / "ca.crt").read_text()}
    finally:
        for proxy in started.values():
            proxy.stop()


def cluster(name: str, url: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flinkmanager.io/v1alpha1",
        "kind": "FlinkCluster",
        "metadata": {"name": name},
        "spec": {"restUrl": url, "pollIntervalSeconds": 1, **spec},
    }


def secret(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}


def test_basic_and_bearer_credentials_and_a_ca_from_secrets(
    e2e: EndToEnd, proxies: dict[str, Any], credentials: dict[str, str]
) -> None:
    e2e.apply(
        secret("basic", username=credentials["username"], password=credentials["password"]),
        secret("wrong", username=credentials["username"], password="pw-" + secrets.token_hex(16)),
        secret("token", token=credentials["token"]),
        secret("ca", **{"ca.crt": proxies["ca"]}),
        cluster(
            "basic", e2e.operator.reach(proxies["basic"].url), auth={"type": "basic", "secretRef": {"name": "basic"}}
        ),
        cluster(
            "refused", e2e.operator.reach(proxies["basic"].url), auth={"type": "basic", "secretRef": {"name": "wrong"}}
        ),
        cluster(
            "bearer",
            proxies["bearer"].url,
            auth={"type": "bearer", "secretRef": {"name": "token"}},
            tls={"caSecretRef": {"name": "ca", "key": "ca.crt"}},
        ),
    )
    for name in ("basic", "bearer"):
        body = e2e.wait(
            f"fc/{name}",
            lambda b: condition(b, "Ready") == ("True", "Reachable") and b,
            what=f"FlinkCluster {name} Ready",
        )
        assert (body.get("status") or {}).get("flinkVersion") == "2.3.0"
    e2e.wait(
        "fc/refused",
        lambda b: condition(b, "Ready") == ("False", "FlinkUnauthorized"),
        what="FlinkCluster refused Unauthorized",
    )
    assert proxies["basic"].refused, "the proxy refused no request: the wrong password was never sent"
