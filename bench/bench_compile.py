"""Validating and compiling a pipeline at CodePipeline's limits, beside json.dumps of its ASL.

json.dumps of the very definition the compiler produces is the floor: any compiler must at
least write that much JSON. The ratio says how much work validation and compilation add.
"""

from __future__ import annotations

import json

from bench.timing import best_seconds, report
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

    ours = best_seconds(validate_and_compile, repeat=5)
    peer = best_seconds(lambda: json.dumps(definition, indent=2), repeat=5)
    size = len(json.dumps(definition))
    report(
        f"compile: 50 stages x 10 actions (500 actions; ASL {size / 1024:.0f} KiB)",
        ("stepline parse + validate + compile + checks", ours),
        ("json.dumps of the same definition", peer),
    )
    parse = best_seconds(lambda: PipelineDeclaration.model_validate(document))
    rules = best_seconds(lambda: validate(pipeline))
    compile_only = best_seconds(lambda: compile_pipeline(pipeline))
    parts = {"parse": parse, "rules": rules, "compile": compile_only}
    print("  of which: " + ", ".join(f"{name} {seconds * 1000:.1f} ms" for name, seconds in parts.items()))
