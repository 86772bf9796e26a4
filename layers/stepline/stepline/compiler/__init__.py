"""Pipeline → ASL compilation and static checks. Pure: no AWS, no engine."""

from __future__ import annotations

from typing import Any

from stepline.compiler.asl import (
    ActionState,
    CompilationError,
    CompiledPipeline,
    compile_pipeline,
    iter_states,
    placeholder_uses,
    substitute,
)
from stepline.compiler.checks import check_definition, definition_bytes, definition_json, history_event_bound
from stepline.definition.models import PipelineDeclaration

# The longest value each kind of placeholder can take, from the APIs' own limits: a Lambda
# FunctionName given as an ARN is at most 140 characters, a StateMachineArn at most 256.
LONGEST_FUNCTION_ARN = 140
LONGEST_STATE_MACHINE_ARN = 256

__all__ = [
    "ActionState",
    "CompilationError",
    "CompiledPipeline",
    "check_definition",
    "compile_checked",
    "compile_pipeline",
    "definition_bytes",
    "definition_json",
    "history_event_bound",
    "iter_states",
    "substitute",
]


def compile_checked(pipeline: PipelineDeclaration) -> CompiledPipeline:
    """Compile, then refuse a result that Step Functions would reject or could not finish,
    whatever ARNs the placeholders become: the size is measured with each at its longest."""
    compiled = compile_pipeline(pipeline)
    problems = check_definition(
        compiled.definition, measured=" with its ARNs at their longest", growth=longest_growth(compiled)
    )
    if problems:
        raise CompilationError(problems)
    return compiled


def _longest(name: str) -> int:
    return LONGEST_STATE_MACHINE_ARN if name.endswith("StateMachineArn") else LONGEST_FUNCTION_ARN


def longest_growth(compiled: CompiledPipeline) -> int:
    """Bytes the definition gains when every placeholder becomes the longest ARN it can be
    (neither a placeholder nor an ARN holds a character JSON escapes)."""
    return sum(
        count * (_longest(name) - len("${" + name + "}"))
        for name, count in placeholder_uses(compiled.definition).items()
    )


def longest_filled(compiled: CompiledPipeline) -> dict[str, Any]:
    """The definition with every placeholder replaced by a value as long as it can ever be."""
    return substitute(
        compiled.definition,
        {name: "x" * _longest(name) for name in compiled.placeholders},
    )
