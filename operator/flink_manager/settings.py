"""Operator settings: each one an environment variable `FLINK_MANAGER_*` and a flag of `flink-manager run`.

pydantic-settings maps each field to its variable and pydantic parses the value with the field's type (booleans as
1/0, true/false, yes/no, on/off). `Settings(...)` is exactly what it is given; `Settings.from_env()` reads the
variables, of the process or of a mapping, and lets the flags given win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "FLINK_MANAGER_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid")

    allow_insecure_artifacts: bool = False  # allow http:// and file:// artifact URLs
    history_limit: int = 50  # history entries kept per Execution (historyTotal counts all)
    max_artifact_bytes: int = 512 * 1024 * 1024
    metrics_port: int = 0  # Prometheus metrics on this port; 0 = off
    namespaces: Annotated[tuple[str, ...], NoDecode] = ()  # watched namespaces, comma-separated; empty = all
    artifact_cache_dir: Path = Path("/tmp/flink-manager/artifacts")
    workers: int = 16  # concurrent reconciles
    transition_poll_seconds: float = 1.0  # a cluster's poll interval while one of its jobs is changing state
    jar_grace_seconds: int = 600  # an uploaded jar nothing refers to is deleted from its cluster after this long
    jar_housekeeping_seconds: int = 600  # how often each cluster's jars are checked
    probe_interval_seconds: int = 300  # how often a cluster's /overview is read when no job changes
    # Artifact hosts allowed although they resolve to loopback, link-local or private addresses: host names,
    # addresses or networks (minio.storage.svc.cluster.local, .svc.cluster.local for a whole suffix, 10.0.0.0/8),
    # or * for all (development only); comma-separated.
    allow_private_artifact_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    s3_endpoint: str = ""  # the S3 endpoint of an s3:// Artifact without spec.s3.endpoint; empty: AWS's of its region
    artifact_secret_recheck_seconds: float = 5.0  # how often a failed Artifact re-reads the Secrets it names
    kube_request_timeout_seconds: float = 30.0  # deadline of every Kubernetes API request (a watch's reconnection too)

    @field_validator("namespaces", "allow_private_artifact_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: the environment is read by `from_env`, never behind a constructor's back."""
        del settings_cls, env_settings, dotenv_settings, file_secret_settings  # pydantic-settings passes them by name
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read the `FLINK_MANAGER_<FIELD>` variables (of the process, or of `env`); keyword overrides (CLI flags,
        None for a flag not given) win. ValueError names the variable and its value when one does not parse."""
        variables = _Variables(cls, os.environ if env is None else env)()
        flags = {k: v for k, v in overrides.items() if v is not None}
        values = {**variables, **flags}
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ValueError(_describe(cls, exc, values, set(variables) - set(flags))) from None


class _Variables(EnvSettingsSource):
    """The environment source of pydantic-settings, over a mapping of variables instead of the process's."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str]) -> None:
        self._variables = variables
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Names are matched case-insensitively, as the default source does (env_prefix and field names lowered).
        return {name.lower(): value for name, value in self._variables.items() if value != ""}


def _describe(cls: type[Settings], exc: ValidationError, values: dict[str, Any], from_variables: set[str]) -> str:
    """`FLINK_MANAGER_HISTORY_LIMIT='many' is not a valid int` (or pydantic's words for a flag)."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    if name not in from_variables:
        return f"{name}: {error['msg']}"
    annotation = cls.model_fields[name].annotation
    type_name = "list of names" if name == "namespaces" else getattr(annotation, "__name__", str(annotation))
    return f"{ENV_PREFIX}{name.upper()}={values[name]!r} is not a valid {type_name}"
