"""Small records by key (idempotent actions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Records(Protocol):
    """Small records by key, so a retried action finds what its first attempt already did."""

    def get(self, key: str) -> dict[str, object] | None: ...

    def put(self, key: str, record: Mapping[str, object]) -> None: ...
