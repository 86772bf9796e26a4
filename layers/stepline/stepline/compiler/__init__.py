"""Pipeline → ASL compilation and static checks. Pure: no AWS, no engine."""

from __future__ import annotations

from stepline.compiler.asl import (
    ActionState,
    CompilationError,
    CompiledPipeline,
    compile_pipeline,
    iter_states,
    substitute,
)
from stepline.compiler.checks import check_definition, history_event_bound
from stepline.definition.models import PipelineDeclaration

__all__ = [
    "ActionState",
    "CompilationError",
    "CompiledPipeline",
    "check_definition",
    "compile_checked",
    "compile_pipeline",
    "history_event_bound",
    "iter_states",
    "substitute",
]


def compile_checked(pipeline: PipelineDeclaration) -> CompiledPipeline:
    """Compile, then refuse a result that Step Functions would reject or could not finish."""
    compiled = compile_pipeline(pipeline)
    problems = check_definition(compiled.definition)
    if problems:
        raise CompilationError(problems)
    return compiled
