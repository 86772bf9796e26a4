"""Artifacts are zip files: packing a directory, and unpacking one without trusting it.

Unpacking refuses, naming the entry: paths that escape the target (``../``, absolute paths,
drive letters), symbolic links that point outside it, more entries or more bytes than the
caps, an expansion out of all proportion to the archive's size (a 1 MB zip of 1 GiB), and
entries whose real size exceeds what their header claims. Nothing is written outside the
target, and a refused archive leaves no partial files behind.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# CodePipeline's largest source artifact is 5 GB (S3); a bound keeps a bomb from filling the disk.
MAX_UNPACKED_BYTES = 5 * 1024**3
MAX_ENTRIES = 100_000  # an S3 source object may hold at most 100,000 files
# Real content deflates 2-10 times (text, code) and rarely past 100 (logs, padding); a bomb
# deflates about 1,000 times. Applications that unpack untrusted zips refuse at 100:1 (Apache
# POI's default minimum inflate ratio is 0.01). Below RATIO_FLOOR bytes unpacked no ratio is
# asked: a few megabytes of zeros are harmless, and a small file may compress very well.
MAX_RATIO = 100
RATIO_FLOOR = 64 * 1024**2
_CHUNK = 1024 * 1024


class ArchiveError(ValueError):
    """An artifact that cannot be trusted or read; the message names the entry and the reason."""


@dataclass(frozen=True)
class Limits:
    max_bytes: int = MAX_UNPACKED_BYTES
    max_entries: int = MAX_ENTRIES
    max_ratio: int = MAX_RATIO
    ratio_floor: int = RATIO_FLOOR


DEFAULT_LIMITS = Limits()


def pack_directory(source: Path, archive: Path, files: Iterable[Path] | None = None) -> int:
    """Zip ``files`` (paths relative to ``source``; default: everything) into ``archive``."""
    chosen = sorted(files) if files is not None else sorted(_walk(source))
    return pack_entries(source, archive, [(relative, PurePosixPath(*relative.parts).as_posix()) for relative in chosen])


def pack_entries(source: Path, archive: Path, entries: Iterable[tuple[Path, str]]) -> int:
    """Zip each (path relative to ``source``, name in the archive); returns the entries written.

    Files are streamed, never read whole into memory; symbolic links are stored as links, as
    ``git archive`` and CodeBuild store them.
    """
    count = 0
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as bundle:
        for relative, name in entries:
            path = source / relative
            if path.is_symlink():
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                bundle.writestr(info, os.readlink(path))
            elif path.is_file():
                info = zipfile.ZipInfo.from_file(path, name)
                info.compress_type = zipfile.ZIP_DEFLATED
                with path.open("rb") as reader, bundle.open(info, "w") as writer:
                    shutil.copyfileobj(reader, writer, _CHUNK)
            else:
                continue
            count += 1
    return count


def _walk(source: Path) -> Iterable[Path]:
    for folder, directories, names in os.walk(source):
        base = Path(folder)
        directories.sort()
        for name in names:
            yield (base / name).relative_to(source)
        for name in directories:
            if (base / name).is_symlink():
                yield (base / name).relative_to(source)


def unpack(archive: Path, target: Path, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """Unpack a zip into ``target`` safely; returns the entry names written."""
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"{archive.name} is not a readable zip archive ({error})") from None
    with bundle:
        entries = bundle.infolist()
        if len(entries) > limits.max_entries:
            raise ArchiveError(
                f"{archive.name} has {len(entries):,} entries; at most {limits.max_entries:,} are unpacked"
            )
        declared = sum(entry.file_size for entry in entries)
        if declared > limits.max_bytes:
            raise ArchiveError(
                f"{archive.name} unpacks to {declared:,} bytes; at most {limits.max_bytes:,} are allowed"
            )
        # Declared sizes suffice: no entry may unpack to more than its header declares (below).
        size = max(archive.stat().st_size, 1)
        if declared > limits.ratio_floor and declared > size * limits.max_ratio:
            raise ArchiveError(
                f"{archive.name} is {size:,} bytes and unpacks to {declared:,}, {declared // size:,} times its size; "
                f"past {limits.ratio_floor:,} bytes an artifact may unpack to at most {limits.max_ratio} times its size"
            )
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=target))
        try:
            try:
                written = _extract(bundle, entries, staging, root, limits, archive.name)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
                raise ArchiveError(f"{archive.name} is corrupt: {error}") from None
            for child in staging.iterdir():
                destination = target / child.name
                if destination.exists() or destination.is_symlink():
                    _remove(destination)
                child.rename(destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return written


def _extract(
    bundle: zipfile.ZipFile, entries: list[zipfile.ZipInfo], staging: Path, root: Path, limits: Limits, label: str
) -> list[str]:
    written: list[str] = []
    total = 0
    links: list[tuple[Path, str, str]] = []
    for entry in entries:
        relative = _safe_relative(entry.filename, label)
        if relative is None:
            continue  # the archive's root directory entry
        destination = staging / relative
        mode = entry.external_attr >> 16
        if entry.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        if stat.S_ISLNK(mode):
            pointee = bundle.read(entry).decode("utf-8", "replace")
            links.append((destination, pointee, entry.filename))
            continue
        with bundle.open(entry) as reader, destination.open("wb") as writer:
            size = 0
            while chunk := reader.read(_CHUNK):
                size += len(chunk)
                total += len(chunk)
                if size > entry.file_size or total > limits.max_bytes:
                    raise ArchiveError(f"{label}: {entry.filename} holds more data than its header declares")
                writer.write(chunk)
        if mode & 0o111:
            destination.chmod(0o755)
        written.append(entry.filename)
    for destination, pointee, name in links:
        # A link may point anywhere inside the artifact, never outside it.
        final = root / destination.relative_to(staging)
        resolved = (final.parent / pointee).resolve() if not os.path.isabs(pointee) else Path(pointee).resolve()
        if os.path.isabs(pointee) or not _inside(resolved, root):
            raise ArchiveError(f"{label}: the symbolic link {name} points outside the artifact ({pointee})")
        destination.symlink_to(pointee)
        written.append(name)
    return written


def _safe_relative(name: str, label: str) -> Path | None:
    if "\x00" in name:
        raise ArchiveError(f"{label}: an entry name contains a NUL byte")
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (posix.parts and posix.parts[0].endswith(":")):
        raise ArchiveError(f"{label}: the entry {name} has an absolute path")
    parts = [part for part in posix.parts if part not in {"", "."}]
    if any(part == ".." for part in parts):
        raise ArchiveError(f"{label}: the entry {name} would be written outside the target directory")
    return Path(*parts) if parts else None


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
