"""Objects in buckets, as a distributed Map's ItemReader reads them and its ResultWriter writes them.

The engine reaches S3 only through the ``ObjectStore`` it is given (``Engine(objects=...)``), so
it stays free of boto3: locally a directory with a folder per bucket
(``stepline.adapters.local.objects``), against AWS S3 itself (``stepline.adapters.aws.objects``).
Without one, a Map that reads or writes objects fails with ``States.ItemReaderFailed`` or
``States.ResultWriterFailed``, saying how to give one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ObjectStoreError(Exception):
    """A read, listing or write failed: the message names the object and says why."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One object of a listing, with what ListObjectsV2 tells of it."""

    key: str
    size: int
    etag: str  # quoted, as S3 gives it: '"<md5>"'
    last_modified: float  # seconds since the epoch
    storage_class: str = "STANDARD"


class ObjectStore(Protocol):
    def get(self, bucket: str, key: str) -> bytes:
        """The object's bytes (ObjectStoreError if it cannot be read)."""
        ...

    def list(self, bucket: str, prefix: str) -> list[StoredObject]:
        """Every object whose key starts with ``prefix``, in key order."""
        ...

    def put(self, bucket: str, key: str, body: bytes) -> None:
        """Write (or replace) the object."""
        ...


class NoObjectStore:
    """What an engine given no object store has: every use fails, saying how to give one."""

    _WHY = "the local engine was given no object store for S3 (stepline asl run --buckets DIR: one folder per bucket)"

    def get(self, bucket: str, key: str) -> bytes:
        raise ObjectStoreError(f"cannot read s3://{bucket}/{key}: {self._WHY}")

    def list(self, bucket: str, prefix: str) -> list[StoredObject]:
        raise ObjectStoreError(f"cannot list s3://{bucket}/{prefix}: {self._WHY}")

    def put(self, bucket: str, key: str, body: bytes) -> None:
        raise ObjectStoreError(f"cannot write s3://{bucket}/{key}: {self._WHY}")
