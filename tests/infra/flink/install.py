"""Install real Flink versions from PyPI's `apache-flink-libraries` into $FLINK_MANAGER_CACHE/flink-<version>.

`python -m tests.infra.flink.install [VERSION ...]` (default: every version of versions.py). Each version is a
FLINK_HOME-like folder: `lib/`, `bin/bash-java-utils.jar`, `plugins/`, and `conf/` with the distribution's own
default configuration file (taken from its flink-dist jar) and our log4j.properties. The file from PyPI is
downloaded once, hash-pinned, into $PIP_CACHE_DIR/downloads (several at a time), and only unpacked, never
installed. Idempotent: a version whose marker matches its digest and layout is left alone.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

from tests.infra.flink.versions import DISTRIBUTIONS, PACKAGE, FlinkDistribution, distribution

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
# Bumped whenever the unpacked layout changes, so existing installs are refreshed.
LAYOUT = 2
WANTED = ("lib/", "bin/", "plugins/")


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("FLINK_MANAGER_CACHE") or REPO_ROOT / ".cache")


def downloads_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("PIP_CACHE_DIR") or cache_dir() / "pip") / "downloads"


def home_of(row: FlinkDistribution) -> pathlib.Path:
    return cache_dir() / f"flink-{row.version}"


def marker_text(row: FlinkDistribution) -> str:
    return f"{row.sha256} layout-{LAYOUT}"


def installed(row: FlinkDistribution) -> bool:
    marker = home_of(row) / ".installed"
    return marker.is_file() and marker.read_text().strip() == marker_text(row)


def sha256_of(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(row: FlinkDistribution) -> pathlib.Path:
    """The distribution file, verified; downloaded by pip (hash-pinned) unless already there."""
    target = downloads_dir() / row.filename
    if target.is_file() and sha256_of(target) == row.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    print(
        f"Downloading {PACKAGE}=={row.version} ({row.size_mb} MB, {'wheel' if row.wheel else 'source distribution'})",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix=f"flink-{row.version}-", dir=target.parent) as scratch:
        requirements = pathlib.Path(scratch) / "requirements.txt"
        requirements.write_text(f"{PACKAGE}=={row.version} --hash=sha256:{row.sha256}\n")
        # An sdist is only downloaded (pip prepares its metadata, with build tools from wheels), never built.
        kind = ["--only-binary=:all:"] if row.wheel else [f"--no-binary={PACKAGE}"]
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-cache-dir",
                "--no-deps",
                "--require-hashes",
                *kind,
                "--dest",
                scratch,
                "-r",
                str(requirements),
            ],
            check=True,
        )
        fetched = pathlib.Path(scratch) / row.filename
        if not fetched.is_file():
            raise RuntimeError(f"pip did not leave {row.filename} in {scratch}: {os.listdir(scratch)}")
        fetched.replace(target)
    print(f"Downloaded {row.filename} in {time.monotonic() - began:.0f}s", flush=True)
    return target


def unpack(row: FlinkDistribution, archive: pathlib.Path, target: pathlib.Path) -> None:
    """lib/, bin/ and plugins/ of the wheel (`pyflink/…`) or the source distribution (`<name>-<version>/deps/…`)."""
    if row.wheel:
        with zipfile.ZipFile(archive) as wheel:
            for member in wheel.infolist():
                relative = member.filename.removeprefix("pyflink/")
                if member.is_dir() or relative == member.filename or not relative.startswith(WANTED):
                    continue
                _write(target / relative, wheel.open(member))
        return
    with tarfile.open(archive, "r:gz") as sdist:
        for member in sdist:
            parts = member.name.split("/", 2)
            if not member.isfile() or len(parts) < 3 or parts[1] != "deps" or not parts[2].startswith(WANTED):
                continue
            source = sdist.extractfile(member)
            assert source is not None
            _write(target / parts[2], source)


def _write(destination: pathlib.Path, source: object) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with source as reader, destination.open("wb") as sink:  # type: ignore[attr-defined]
        shutil.copyfileobj(reader, sink)


def install(row: FlinkDistribution, archive: pathlib.Path) -> float:
    """Unpack a downloaded distribution into its home; returns the seconds it took."""
    began = time.monotonic()
    home = home_of(row)
    cache_dir().mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f"flink-{row.version}.staging.", dir=cache_dir()))
    try:
        unpack(row, archive, staging)
        # The distribution's default configuration (with the JVM flags Java 17 needs) is inside flink-dist.
        (staging / "conf").mkdir()
        with zipfile.ZipFile(next((staging / "lib").glob("flink-dist-*.jar"))) as dist:
            (staging / "conf" / row.config_file).write_bytes(dist.read(row.config_file))
        shutil.copy(HERE / "log4j.properties", staging / "conf" / "log4j.properties")
        (staging / ".installed").write_text(marker_text(row) + "\n")
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)  # swapped in whole: an interrupted run never leaves half an install
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", help="versions or release lines (default: all of versions.py)")
    parser.add_argument("--parallel-downloads", type=int, default=4)
    args = parser.parse_args(argv)
    rows = [distribution(version) for version in args.versions] if args.versions else list(DISTRIBUTIONS)
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        print("java (17) is required to run Flink", file=sys.stderr)
        return 1
    missing = [row for row in rows if not installed(row)]
    for row in rows:
        if row not in missing:
            print(f"Flink {row.version} is installed in {home_of(row)}")
    if not missing:
        return 0
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.parallel_downloads)) as pool:
        downloads = {row: pool.submit(download, row) for row in missing}
        for row in missing:  # unpack one at a time, in order, as the downloads arrive
            seconds = install(row, downloads[row].result())
            print(f"Flink {row.version} is installed in {home_of(row)} (unpacked in {seconds:.1f}s)", flush=True)
    print(f"Installed {len(missing)} Flink version(s) in {time.monotonic() - began:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
