"""What every Lambda handler does first: parse the event at the edge, and name bad input clearly."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from stepline.definition.problems import format_path
from stepline.errors import ConfigurationError

Model = TypeVar("Model", bound=BaseModel)


def parse(model: type[Model], event: Any) -> Model:
    try:
        return model.model_validate(event)
    except ValidationError as error:
        problems = "; ".join(f"{format_path(p['loc']) or '(event)'}: {p['msg']}" for p in error.errors()[:5])
        raise ConfigurationError(f"the event is not a {model.__name__}: {problems}") from None
