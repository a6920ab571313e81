"""Finding the Kubernetes API and credentials as kubectl does: --kubeconfig, $KUBECONFIG, ~/.kube/config, or the
pod's ServiceAccount; --context picks a context, --namespace overrides the context's namespace.

The ServiceAccount is kopf's own login (the one the operator uses in a pod). kopf's kubeconfig login reads the
current context only, with no --context, no token files or credential plugins, and certificate paths as they are
written rather than relative to their kubeconfig, so the kubeconfig is read here, as kubectl reads it.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
from dataclasses import dataclass
from typing import Any

import yaml

from flink_manager.cli.common import CliError
from flink_manager.kube.client import Credentials, pem

SERVICE_ACCOUNT = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class KubeTarget:
    """Where to send requests, as whom, and the namespace to use when none is given."""

    credentials: Credentials
    namespace: str
    source: str  # the kubeconfig file(s) or "serviceaccount", for error messages


def in_cluster() -> bool:
    """Running in a pod with a ServiceAccount token mounted."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and (SERVICE_ACCOUNT / "token").is_file()


def load_target(kubeconfig: str | None = None, context: str | None = None, namespace: str | None = None) -> KubeTarget:
    """Resolve the API server, credentials and namespace; raises CliError with what is missing."""
    paths = _kubeconfig_paths(kubeconfig)
    if not paths:
        if in_cluster() and context is None:
            return _service_account(namespace)
        raise CliError("no kubeconfig: pass --kubeconfig, set $KUBECONFIG, or create ~/.kube/config")
    config = _merged(paths)
    name = context or config["current-context"]
    if not name:
        raise CliError(f"no current context in {', '.join(map(str, paths))}: pass --context")
    if name not in config["contexts"]:
        known = ", ".join(sorted(config["contexts"])) or "none"
        raise CliError(f"context {name!r} is not in {', '.join(map(str, paths))} (contexts: {known})")
    ctx = config["contexts"][name]
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in config["clusters"]:
        raise CliError(f"context {name!r} names cluster {cluster_name!r}, which is not in the kubeconfig")
    cluster = config["clusters"][cluster_name]
    user = config["users"].get(user_name) or {}
    base = config["bases"]
    if not cluster.get("server"):
        raise CliError(f"cluster {cluster_name!r} has no server in the kubeconfig")
    credentials = Credentials(
        server=str(cluster["server"]),
        ca_path=_path(cluster.get("certificate-authority"), base.get(("cluster", cluster_name))),
        ca_data=_pem(cluster.get("certificate-authority-data")),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        default_namespace=ctx.get("namespace"),
        **_user_credentials(user, base.get(("user", user_name)), user_name),
    )
    return KubeTarget(credentials, namespace or ctx.get("namespace") or "default", os.pathsep.join(map(str, paths)))


def _kubeconfig_paths(explicit: str | None) -> list[pathlib.Path]:
    raw = explicit if explicit is not None else os.environ.get("KUBECONFIG", "")
    paths = [pathlib.Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]
    if explicit is not None or raw.strip():
        missing = [p for p in paths if not p.is_file()]
        # kubectl ignores missing files of $KUBECONFIG but not an explicit --kubeconfig.
        if explicit is not None and missing:
            raise CliError(f"kubeconfig {missing[0]} does not exist")
        return [p for p in paths if p.is_file()]
    default = pathlib.Path("~/.kube/config").expanduser()
    return [default] if default.is_file() else []


def _merged(paths: list[pathlib.Path]) -> dict[str, Any]:
    """Merge kubeconfig files as kubectl does: the first file that sets a value wins."""
    merged: dict[str, Any] = {"current-context": None, "contexts": {}, "clusters": {}, "users": {}, "bases": {}}
    for path in paths:
        try:
            config = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CliError(f"cannot read kubeconfig {path}: {exc}") from None
        if not isinstance(config, dict):
            raise CliError(f"kubeconfig {path} is not a kubeconfig (no mapping at the top)")
        merged["current-context"] = merged["current-context"] or config.get("current-context")
        for section, key in (("contexts", "context"), ("clusters", "cluster"), ("users", "user")):
            for item in config.get(section) or ():
                if isinstance(item, dict) and item.get("name") not in merged[section]:
                    merged[section][item["name"]] = item.get(key) or {}
                    merged["bases"][(key, item["name"])] = path.parent
    return merged


def _path(value: Any, base: pathlib.Path | None) -> str | None:
    if not value:
        return None
    path = pathlib.Path(str(value)).expanduser()
    return str(path if path.is_absolute() or base is None else base / path)


def _pem(data: Any) -> bytes | None:
    """kubeconfig `*-data` fields are base64 of PEM; the clients want PEM."""
    try:
        return pem(str(data) if data else None)
    except ValueError:
        raise CliError("a *-data field of the kubeconfig is not base64") from None


def _user_credentials(user: dict[str, Any], base: pathlib.Path | None, name: str | None) -> dict[str, Any]:
    if user.get("auth-provider"):
        provider = (user["auth-provider"] or {}).get("name", "?")
        token = ((user["auth-provider"] or {}).get("config") or {}).get("access-token")
        if not token:
            raise CliError(
                f"user {name!r} uses the auth provider {provider!r}, which is not supported: "
                "use a token or an exec plugin"
            )
        return {"token": token}
    values: dict[str, Any] = {
        "certificate_path": _path(user.get("client-certificate"), base),
        "certificate_data": _pem(user.get("client-certificate-data")),
        "private_key_path": _path(user.get("client-key"), base),
        "private_key_data": _pem(user.get("client-key-data")),
        "username": user.get("username"),
        "password": user.get("password"),
        "token": user.get("token"),
    }
    if not values["token"] and user.get("tokenFile"):
        token_file = pathlib.Path(_path(user["tokenFile"], base) or "")
        try:
            values["token"] = token_file.read_text().strip()
        except OSError as exc:
            raise CliError(f"cannot read the token file {token_file}: {exc.strerror}") from None
    if user.get("exec"):
        values.update(_exec_credentials(user["exec"], name))
    return values


def _exec_credentials(spec: dict[str, Any], name: str | None) -> dict[str, Any]:
    """Run a client-go credential plugin (`users[].user.exec`) and take the token or certificate it prints."""
    command = [str(spec.get("command") or "")] + [str(a) for a in spec.get("args") or ()]
    env = dict(os.environ)
    env.update({str(e.get("name")): str(e.get("value")) for e in spec.get("env") or () if isinstance(e, dict)})
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {
            "apiVersion": spec.get("apiVersion", "client.authentication.k8s.io/v1"),
            "kind": "ExecCredential",
            "spec": {"interactive": False},
        }
    )
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CliError(f"the credential plugin of user {name!r} ({command[0]}) failed: {exc}") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise CliError(f"the credential plugin of user {name!r} ({command[0]}) failed: {last}")
    try:
        status = json.loads(result.stdout).get("status") or {}
    except ValueError:
        raise CliError(f"the credential plugin of user {name!r} printed no ExecCredential") from None
    values: dict[str, Any] = {}
    if status.get("token"):
        values["token"] = status["token"]
    if status.get("clientCertificateData"):
        values["certificate_data"] = status["clientCertificateData"].encode()
        values["certificate_path"] = None
    if status.get("clientKeyData"):
        values["private_key_data"] = status["clientKeyData"].encode()
        values["private_key_path"] = None
    return values


def _service_account(namespace: str | None) -> KubeTarget:
    import kopf

    info = kopf.login_with_service_account(settings=kopf.OperatorSettings())
    if info is None:
        raise CliError(f"no ServiceAccount token in {SERVICE_ACCOUNT}")
    credentials = Credentials.from_kopf(info)
    return KubeTarget(credentials, namespace or credentials.default_namespace or "default", "serviceaccount")
