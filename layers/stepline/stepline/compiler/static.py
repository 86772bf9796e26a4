"""The static state machines in statemachines/, with their ``${Name}`` resources filled in.

On AWS, SAM's DefinitionSubstitutions fill them; locally this does, from the same names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stepline.compiler.asl import substitute


def load_static(path: Path, values: Mapping[str, str]) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return substitute(definition, values)
