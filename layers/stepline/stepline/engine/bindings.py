"""What a state's paths, templates and expressions read besides the data they are applied to.

A ``Bindings`` is the context object itself (``$$`` in JSONPath, ``$states.context`` in
JSONata) with two attachments: the workflow variables the state can see (``$name``), and, in
a JSONata state, ``$states`` (``input``, ``context``, and ``result`` or ``errorOutput`` once
there is one). Evaluators compiled from a definition take ``(data, bindings)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

NO_VARIABLES: Mapping[str, Any] = MappingProxyType({})


class Bindings(dict[str, Any]):
    __slots__ = ("states", "variables")

    def __init__(self, context: Mapping[str, Any] | None = None, variables: Mapping[str, Any] = NO_VARIABLES) -> None:
        super().__init__(context or ())
        self.variables = variables
        self.states: dict[str, Any] | None = None

    def with_states(self, **states: Any) -> Bindings:
        """These bindings with ``$states`` set: ``input`` and ``context`` always, and what is given."""
        bound = Bindings(self, self.variables)
        bound.states = {"context": dict(self), **(self.states or {}), **states}
        return bound
