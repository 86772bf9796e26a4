"""Secrets by name: Secrets Manager on AWS, the environment on one machine."""

from __future__ import annotations

from typing import Protocol


class SecretStore(Protocol):
    def get(self, name: str) -> str:
        """The secret's value; LookupError naming it when there is none."""
        ...
