"""The function README's `stepline asl run` example passes as --function greet=handlers.py:greet."""

from __future__ import annotations

from typing import Any


def greet(event: dict[str, Any], context: Any) -> dict[str, str]:
    return {"greeting": f"hello {event['who']}"}
