"""Validating and compiling a pipeline at CodePipeline's limits, beside json.dumps of its ASL.

json.dumps of the very definition the compiler produces is the floor: any compiler must at
least write that much JSON. The ratio says how much work validation and compilation add.
"""

from __future__ import annotations

import json

from bench.timing import compare, interleaved, spread
from stepline.compiler import compile_checked, compile_pipeline
from stepline.definition import validate
from stepline.definition.models import PipelineDeclaration
from tests.helpers import maximal


def main() -> None:
    document = maximal(stages=50, actions_per_stage=10)
    pipeline = PipelineDeclaration.model_validate(document)
    definition = compile_checked(pipeline).definition

    def validate_and_compile() -> str:
        parsed = PipelineDeclaration.model_validate(document)
        assert not validate(parsed)
        return compile_checked(parsed).to_json()

    size = len(json.dumps(definition))
    compare(
        f"compile: 50 stages x 10 actions (500 actions; ASL {size / 1024:.0f} KiB)",
        ("stepline parse + validate + compile + checks", validate_and_compile),
        ("json.dumps of the same definition", lambda: json.dumps(definition, indent=2)),
        rounds=5,
    )
    parts = interleaved(
        {
            "parse": (lambda: PipelineDeclaration.model_validate(document), 1),
            "rules": (lambda: validate(pipeline), 1),
            "compile": (lambda: compile_pipeline(pipeline), 1),
        },
        rounds=5,
    )
    print(
        "  of which (cpu ms): "
        + ", ".join(f"{name} {spread(samples.cpu, digits=1)}" for name, samples in parts.items())
    )
