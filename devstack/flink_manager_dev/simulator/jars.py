"""Uploaded jars of the simulated cluster: what Flink reads from a jar without running it."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

# The manifest attributes Flink's JarManifestParser reads, in its order of preference.
_ENTRY_ATTRIBUTES = ("program-class", "Main-Class")


@dataclass(frozen=True)
class SimulatedJar:
    """An uploaded jar: its id (`<uuid>_<filename>`), name, upload time (ms) and what its archive holds.

    `classes` is None when the upload is not a zip archive: the simulator then accepts any entry class
    (real Flink would fail to open such a jar; tests often upload placeholder bytes).
    """

    id: str
    name: str
    uploaded: int
    size: int
    manifest_entry: str | None
    classes: frozenset[str] | None

    @classmethod
    def inspect(cls, jar_id: str, name: str, uploaded: int, content: bytes) -> SimulatedJar:
        """Read the manifest's entry class and the class names of a jar's content."""
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = archive.namelist()
                manifest = (
                    archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
                    if "META-INF/MANIFEST.MF" in names
                    else ""
                )
        except (zipfile.BadZipFile, OSError, ValueError):
            return cls(jar_id, name, uploaded, len(content), None, None)
        classes = frozenset(n[: -len(".class")].replace("/", ".") for n in names if n.endswith(".class"))
        return cls(jar_id, name, uploaded, len(content), _manifest_entry(manifest), classes)

    def has_class(self, entry_class: str) -> bool:
        """Whether the jar contains this class (always true for a jar that is not an archive)."""
        return self.classes is None or entry_class in self.classes


def _manifest_entry(manifest: str) -> str | None:
    """The entry class a manifest declares (continuation lines joined, as the jar format specifies)."""
    attributes: dict[str, str] = {}
    last = None
    for line in manifest.splitlines():
        if line.startswith(" ") and last is not None:
            attributes[last] += line[1:]
        elif ":" in line:
            last, value = line.split(":", 1)
            attributes[last.strip()] = value.strip()
    for attribute in _ENTRY_ATTRIBUTES:
        if attributes.get(attribute):
            return attributes[attribute]
    return None
