"""Reading a job jar: its digest, size, and the entry classes its manifest names."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JarInfo:
    sha256: str
    size_bytes: int
    entry_classes: tuple[str, ...]


def inspect_jar(path: Path) -> JarInfo:
    """Digest, size and entry classes (manifest `Entry-Class`/`Program-Class`/`Main-Class`) of a jar."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    classes: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (KeyError, zipfile.BadZipFile):
        manifest = ""
    for key, value in _manifest_attributes(manifest):
        if key in ("Entry-Class", "Program-Class", "Main-Class") and value and value not in classes:
            classes.append(value)
    return JarInfo(digest.hexdigest(), path.stat().st_size, tuple(classes))


def _manifest_attributes(text: str) -> list[tuple[str, str]]:
    """Manifest lines, with continuation lines (starting with a space) joined."""
    lines: list[str] = []
    for raw in text.splitlines():
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    pairs = []
    for line in lines:
        key, _, value = line.partition(":")
        pairs.append((key.strip(), value.strip()))
    return pairs
