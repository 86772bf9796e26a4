"""AWS's own description of an API, as botocore ships it: the shapes CodePipeline's requests
and answers take, which Stepline's CodePipeline API checks requests against."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import botocore.loaders


@lru_cache(maxsize=4)
def service_model(service: str) -> dict[str, Any]:
    """The service's ``service-2`` model (operations, shapes, metadata) as plain data."""
    model: dict[str, Any] = botocore.loaders.Loader().load_service_model(service, "service-2")
    return model
