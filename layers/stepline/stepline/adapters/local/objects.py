"""S3 objects as files: ``<root>/<bucket>/<key>``, a folder per bucket, the key's ``/`` as folders.

What a distributed Map's ItemReader reads and its ResultWriter writes when the engine runs
locally (``stepline asl run --buckets DIR``; ``stepline run`` and ``serve`` keep theirs in
``<data>/buckets``). A bucket or key that would climb out of its folder (``..``, an empty
segment) is refused, as is a key ending in ``/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from stepline.ports.objects import ObjectStoreError, StoredObject


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def get(self, bucket: str, key: str) -> bytes:
        path = self._path(bucket, key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ObjectStoreError(f"s3://{bucket}/{key} does not exist (no file {path})") from None
        except OSError as error:
            raise ObjectStoreError(f"s3://{bucket}/{key} cannot be read ({path}: {error.strerror})") from None

    def list(self, bucket: str, prefix: str) -> list[StoredObject]:
        folder = self._bucket(bucket)
        if not folder.is_dir():
            raise ObjectStoreError(f"the bucket {bucket!r} does not exist (no folder {folder})")
        found = []
        for path in folder.rglob("*"):
            key = path.relative_to(folder).as_posix()
            if path.is_file() and key.startswith(prefix):
                found.append(self._described(key, path))
        return sorted(found, key=lambda stored: stored.key)

    def put(self, bucket: str, key: str, body: bytes) -> None:
        path = self._path(bucket, key)
        partial = path.with_name(f".{path.name}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(body)
            os.replace(partial, path)  # readers never see half an object
        except OSError as error:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise ObjectStoreError(f"s3://{bucket}/{key} cannot be written ({path}: {error.strerror})") from None

    def _bucket(self, bucket: str) -> Path:
        if not bucket or "/" in bucket or bucket in {".", ".."}:
            raise ObjectStoreError(f"{bucket!r} is not a bucket name")
        return self.root / bucket

    def _path(self, bucket: str, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in {"", ".", ".."} for part in parts):
            raise ObjectStoreError(f"{key!r} is not a key the local object store keeps (no empty, . or .. parts)")
        return self._bucket(bucket).joinpath(*parts)

    @staticmethod
    def _described(key: str, path: Path) -> StoredObject:
        body = path.read_bytes()
        digest = hashlib.md5(body, usedforsecurity=False).hexdigest()  # S3's ETag of a one-part object
        return StoredObject(key, len(body), f'"{digest}"', path.stat().st_mtime)
