"""Operator settings from FLINK_MANAGER_* variables: names, parsing, precedence and errors."""

from __future__ import annotations

import pathlib

import pytest

from flink_manager.settings import Settings
from tests.infra.processes import free_port


def test_every_setting_is_read_from_its_variable() -> None:
    settings = Settings.from_env(
        {
            "FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS": "yes",
            "FLINK_MANAGER_HISTORY_LIMIT": "7",
            "FLINK_MANAGER_MAX_ARTIFACT_BYTES": "1024",
            "FLINK_MANAGER_METRICS_PORT": "9090",
            "FLINK_MANAGER_NAMESPACES": "team-a, team-b,,",
            "FLINK_MANAGER_ARTIFACT_CACHE_DIR": "/var/cache/jars",
            "FLINK_MANAGER_WORKERS": "4",
            "FLINK_MANAGER_TRANSITION_POLL_SECONDS": "0.5",
            "FLINK_MANAGER_JAR_GRACE_SECONDS": "60",
            "FLINK_MANAGER_JAR_HOUSEKEEPING_SECONDS": "30",
            "FLINK_MANAGER_PROBE_INTERVAL_SECONDS": "120",
            "FLINK_MANAGER_S3_ENDPOINT": "http://minio:9000",
            "FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS": "minio.storage.svc, .svc.cluster.local,10.96.0.0/12",
            "FLINK_MANAGER_ARTIFACT_SECRET_RECHECK_SECONDS": "2.5",
        }
    )
    assert settings == Settings(
        allow_insecure_artifacts=True,
        history_limit=7,
        max_artifact_bytes=1024,
        metrics_port=9090,
        namespaces=("team-a", "team-b"),
        artifact_cache_dir=pathlib.Path("/var/cache/jars"),
        workers=4,
        transition_poll_seconds=0.5,
        jar_grace_seconds=60,
        jar_housekeeping_seconds=30,
        probe_interval_seconds=120,
        s3_endpoint="http://minio:9000",
        allow_private_artifact_hosts=("minio.storage.svc", ".svc.cluster.local", "10.96.0.0/12"),
        artifact_secret_recheck_seconds=2.5,
    )


def test_empty_and_unknown_variables_are_ignored_and_flags_win() -> None:
    env = {"FLINK_MANAGER_WORKERS": "", "FLINK_MANAGER_CACHE": "/elsewhere", "FLINK_MANAGER_HISTORY_LIMIT": "9"}
    assert Settings.from_env(env) == Settings(history_limit=9)
    assert Settings.from_env(env, history_limit=3, workers=None).history_limit == 3


def test_the_constructor_does_not_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLINK_MANAGER_WORKERS", "2")
    assert Settings().workers == 16
    assert Settings.from_env().workers == 2


@pytest.mark.parametrize(
    ("name", "value", "type_name"),
    [
        ("FLINK_MANAGER_WORKERS", "many", "int"),
        ("FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS", "maybe", "bool"),
        ("FLINK_MANAGER_TRANSITION_POLL_SECONDS", "soon", "float"),
    ],
)
def test_a_value_that_does_not_parse_names_its_variable(name: str, value: str, type_name: str) -> None:
    with pytest.raises(ValueError) as raised:
        Settings.from_env({name: value})
    assert str(raised.value) == f"{name}={value!r} is not a valid {type_name}"


async def test_the_s3_endpoint_setting_is_where_s3_urls_are_read(tmp_path: pathlib.Path) -> None:
    """An s3:// Artifact without spec.s3.endpoint is read from FLINK_MANAGER_S3_ENDPOINT (anonymously: no Secret)."""
    import hashlib

    from aiohttp import web

    from flink_manager.api.artifact import ArtifactSpec
    from flink_manager.artifacts.http import FetchOptions
    from flink_manager.artifacts.sources import SourceAccess, open_source
    from flink_manager.artifacts.store import ArtifactStore
    from flink_manager.reconcile.artifact import Pin

    content = b"jar bytes"

    async def bucket_object(request: web.Request) -> web.Response:
        return web.Response(body=content)

    app = web.Application()
    app.router.add_get("/jars/team/job.jar", bucket_object)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        settings = Settings.from_env(
            {
                "FLINK_MANAGER_S3_ENDPOINT": f"http://127.0.0.1:{port}/",
                "FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS": "true",
                "FLINK_MANAGER_ALLOW_PRIVATE_ARTIFACT_HOSTS": "127.0.0.1",
            }
        )
        store = ArtifactStore(tmp_path, FetchOptions.from_settings(settings))
        digest = hashlib.sha256(content).hexdigest()
        spec = ArtifactSpec(url="s3://jars/team/job.jar", sha256=digest)
        verified = await store.verify(open_source(spec, SourceAccess(), store.options), Pin(sha256=digest))
        assert verified.path.read_bytes() == content
        assert verified.resolved.url == "s3://jars/team/job.jar"
    finally:
        await runner.cleanup()
