"""Small jars for tests: a manifest that names the entry class, and class files (the simulator checks that the entry
class is in the jar; the operator reads the manifest)."""

from __future__ import annotations

import hashlib
import io
import pathlib
import zipfile
from collections.abc import Iterable

ENTRY_CLASS = "com.example.Job"
CLASS_BYTES = b"\xca\xfe\xba\xbe"  # a class file's magic number: enough for whoever only lists the entries


def jar_bytes(
    entry_class: str | None = ENTRY_CLASS,
    *,
    classes: Iterable[str] | None = None,
    manifest_key: str = "Entry-Class",
    manifest: bool = True,
) -> bytes:
    """A jar whose manifest names `entry_class` under `manifest_key` (Flink reads Entry-Class, else Main-Class);
    it holds `classes`, by default the entry class. No manifest at all with `manifest=False`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if manifest:
            named = f"{manifest_key}: {entry_class}\n" if entry_class else ""
            archive.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\n{named}")
        for name in classes if classes is not None else [entry_class] if entry_class else []:
            archive.writestr(name.replace(".", "/") + ".class", CLASS_BYTES)
    return buffer.getvalue()


def write_jar(
    path: pathlib.Path | str,
    entry_class: str | None = ENTRY_CLASS,
    *,
    classes: Iterable[str] | None = None,
    manifest_key: str = "Entry-Class",
    manifest: bool = True,
) -> str:
    """Write that jar to `path`; its sha256 (hex), as an Artifact's spec names it."""
    content = jar_bytes(entry_class, classes=classes, manifest_key=manifest_key, manifest=manifest)
    pathlib.Path(path).write_bytes(content)
    return hashlib.sha256(content).hexdigest()
