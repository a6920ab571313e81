"""Finding the API server and credentials as kubectl does: files, contexts, namespaces, tokens, certificates,
credential plugins; and what kopf gets from them."""

from __future__ import annotations

import base64
import pathlib
import sys
import textwrap

import pytest
import yaml

from flink_manager.cli.common import CliError
from flink_manager.cli.kubeconfig import load_target

PEM = b"-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n"


def write(path: pathlib.Path, config: dict) -> pathlib.Path:
    path.write_text(yaml.safe_dump(config))
    return path


def config(**overrides: object) -> dict:
    base = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "dev",
        "clusters": [
            {"name": "local", "cluster": {"server": "http://127.0.0.1:6443"}},
            {
                "name": "prod",
                "cluster": {
                    "server": "https://prod.example.com",
                    "certificate-authority-data": base64.b64encode(PEM).decode(),
                },
            },
        ],
        "users": [
            {"name": "admin", "user": {"token": "t0k3n"}},
            {"name": "robot", "user": {"tokenFile": "token.txt"}},
            {
                "name": "cert",
                "user": {
                    "client-certificate-data": base64.b64encode(PEM).decode(),
                    "client-key-data": base64.b64encode(b"KEY").decode(),
                },
            },
        ],
        "contexts": [
            {"name": "dev", "context": {"cluster": "local", "user": "admin"}},
            {"name": "prod", "context": {"cluster": "prod", "user": "robot", "namespace": "flink"}},
            {"name": "certs", "context": {"cluster": "prod", "user": "cert"}},
        ],
    }
    base.update(overrides)
    return base


def test_the_current_context(tmp_path: pathlib.Path) -> None:
    target = load_target(str(write(tmp_path / "config", config())))
    assert (target.credentials.server, target.credentials.token, target.namespace) == (
        "http://127.0.0.1:6443",
        "t0k3n",
        "default",
    )


def test_another_context_with_its_namespace_ca_and_token_file(tmp_path: pathlib.Path) -> None:
    (tmp_path / "token.txt").write_text("from-file\n")
    path = write(tmp_path / "config", config())
    target = load_target(str(path), context="prod")
    assert target.credentials.ca_data == PEM  # base64 in the file, PEM for the clients
    assert (target.credentials.token, target.namespace) == ("from-file", "flink")
    assert load_target(str(path), context="prod", namespace="other").namespace == "other"


def test_client_certificates_reach_kopf_as_pem(tmp_path: pathlib.Path) -> None:
    target = load_target(str(write(tmp_path / "config", config())), context="certs")
    info = target.credentials.to_kopf()
    assert (info.certificate_data, info.private_key_data, info.ca_data) == (PEM, b"KEY", PEM)
    assert info.token is None


def test_kubeconfig_variable_merges_files_first_wins(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write(
        tmp_path / "a",
        {
            "current-context": "mine",
            "contexts": [{"name": "mine", "context": {"cluster": "local", "user": "admin", "namespace": "team-a"}}],
        },
    )
    second = write(tmp_path / "b", config())
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'absent'}:{second}")
    target = load_target()
    assert (target.credentials.server, target.namespace) == ("http://127.0.0.1:6443", "team-a")


def test_an_exec_credential_plugin(tmp_path: pathlib.Path) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        textwrap.dedent("""\
        import json, os
        assert json.loads(os.environ["KUBERNETES_EXEC_INFO"])["kind"] == "ExecCredential"
        print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                          "status": {"token": os.environ["PLUGIN_TOKEN"]}}))
        """)
    )
    cfg = config()
    cfg["users"].append(
        {
            "name": "sso",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": sys.executable,
                    "args": [str(plugin)],
                    "env": [{"name": "PLUGIN_TOKEN", "value": "from-plugin"}],
                }
            },
        }
    )
    cfg["contexts"].append({"name": "sso", "context": {"cluster": "prod", "user": "sso"}})
    assert load_target(str(write(tmp_path / "config", cfg)), context="sso").credentials.token == "from-plugin"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("nope", "context 'nope' is not in"),
        ("broken", "context 'broken' names cluster 'gone', which is not in the kubeconfig"),
    ],
)
def test_a_bad_context_is_a_clear_error(context: str, message: str, tmp_path: pathlib.Path) -> None:
    cfg = config()
    cfg["contexts"].append({"name": "broken", "context": {"cluster": "gone", "user": "admin"}})
    with pytest.raises(CliError, match=message):
        load_target(str(write(tmp_path / "config", cfg)), context=context)


def test_no_kubeconfig_at_all(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(CliError, match="no kubeconfig: pass --kubeconfig"):
        load_target()
    with pytest.raises(CliError, match="does not exist"):
        load_target(str(tmp_path / "missing"))
