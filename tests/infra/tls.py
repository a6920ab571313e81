"""A certificate authority made by the test, and serving certificates it signs (openssl, as for the control plane)."""

from __future__ import annotations

import pathlib
import subprocess
from dataclasses import dataclass

EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")  # P-256: generated in milliseconds


def _openssl(*args: str, cwd: pathlib.Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed:\n{result.stderr}")


@dataclass(frozen=True)
class ServingCertificate:
    certificate: pathlib.Path
    key: pathlib.Path


@dataclass(frozen=True)
class LocalCA:
    """A CA (its PEM is what an Artifact's caSecretRef holds) and a folder to issue certificates in."""

    folder: pathlib.Path
    certificate: pathlib.Path
    key: pathlib.Path

    @property
    def pem(self) -> str:
        return self.certificate.read_text()

    @classmethod
    def create(cls, folder: pathlib.Path, name: str = "flink-manager-artifacts-test-ca") -> LocalCA:
        folder.mkdir(parents=True, exist_ok=True)
        _openssl(
            "req",
            "-x509",
            *EC,
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "7",
            "-subj",
            f"/CN={name}",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            cwd=folder,
        )
        return cls(folder, folder / "ca.crt", folder / "ca.key")

    def issue(self, name: str, *sans: str) -> ServingCertificate:
        """A serving certificate for these subject alternative names (IP:… or DNS:…)."""
        _openssl(
            "req",
            "-x509",
            *EC,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.crt",
            "-days",
            "7",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName={','.join(sans)}",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature",
            "-addext",
            "extendedKeyUsage=serverAuth",
            cwd=self.folder,
        )
        return ServingCertificate(self.folder / f"{name}.crt", self.folder / f"{name}.key")
