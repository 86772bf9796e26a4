"""Drawing a pipeline: stages and actions in the terminal, or as a Mermaid flowchart for docs."""

from __future__ import annotations

from itertools import groupby

from stepline.definition.models import ActionDeclaration, PipelineDeclaration, StageDeclaration
from stepline.definition.problems import Problem
from stepline.definition.providers import find_provider

UNSUPPORTED = "not run by Stepline"


def unsupported_actions(pipeline: PipelineDeclaration) -> list[tuple[int, int]]:
    """(stage index, action index) of the actions whose provider Stepline does not run."""
    return [
        (stage_index, action_index)
        for stage_index, stage in enumerate(pipeline.stages)
        for action_index, action in enumerate(stage.actions)
        if find_provider(action.action_type_id) is None
    ]


def drawing_blockers(pipeline: PipelineDeclaration, errors: list[Problem]) -> list[Problem]:
    """The errors that keep a pipeline from being drawn: all but "not an action type Stepline
    runs" (a pipeline of any valid shape is drawn, its unsupported actions named)."""
    paths = {f"stages[{s}].actions[{a}].actionTypeId" for s, a in unsupported_actions(pipeline)}
    return [p for p in errors if not any(p.path.endswith(path) for path in paths)]


def run_order_groups(stage: StageDeclaration) -> list[list[ActionDeclaration]]:
    """The stage's actions grouped by runOrder, in the order they run."""
    ordered = sorted(stage.actions, key=lambda action: action.run_order)
    return [list(group) for _, group in groupby(ordered, key=lambda action: action.run_order)]


def render_text(pipeline: PipelineDeclaration) -> str:
    actions = sum(len(stage.actions) for stage in pipeline.stages)
    lines = [
        f"{pipeline.name} · {pipeline.pipeline_type.value} · {pipeline.execution_mode.value} · "
        f"{len(pipeline.stages)} stages, {actions} actions",
        "",
    ]
    name_width = max((len(a.name) for _, _, _, a in pipeline.actions()), default=0)
    type_width = max((len(str(a.action_type_id)) for _, _, _, a in pipeline.actions()), default=0)
    for index, stage in enumerate(pipeline.stages):
        if index:
            lines.append("▼")
        lines.append(f"● {stage.name}")
        for group in run_order_groups(stage):
            for position, action in enumerate(group):
                order = str(action.run_order) if position == 0 else ""
                if len(group) == 1:
                    joint = "─"
                elif position == 0:
                    joint = "┬"
                else:
                    joint = "└" if position == len(group) - 1 else "├"
                details = _details(action)
                if find_provider(action.action_type_id) is None:
                    details = f"{details}   ✗ {UNSUPPORTED}".lstrip()
                kind = str(action.action_type_id)
                line = f"│ {order:>3} {joint} {action.name:<{name_width}}  {kind:<{type_width}}  {details}"
                lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def _details(action: ActionDeclaration) -> str:
    parts = []
    if action.input_artifacts:
        parts.append("in: " + ", ".join(a.name for a in action.input_artifacts))
    if action.output_artifacts:
        parts.append("out: " + ", ".join(a.name for a in action.output_artifacts))
    if action.namespace:
        parts.append(f"ns: {action.namespace}")
    return "   ".join(parts)


def render_mermaid(pipeline: PipelineDeclaration) -> str:
    lines = ["flowchart LR"]
    previous: list[str] = []
    for stage_index, stage in enumerate(pipeline.stages):
        lines.append(f'  subgraph s{stage_index}["{_label(stage.name)}"]')
        lines.append("    direction TB")
        edges: list[str] = []
        for group in run_order_groups(stage):
            current = []
            for action in group:
                node = f"s{stage_index}a{stage.actions.index(action)}"
                current.append(node)
                note = f"<br/><small>{UNSUPPORTED}</small>" if find_provider(action.action_type_id) is None else ""
                lines.append(f'    {node}["{_label(action.name)}<br/><small>{action.action_type_id}</small>{note}"]')
            edges.extend(f"  {source} --> {target}" for source in previous for target in current)
            previous = current
        lines.append("  end")
        lines.extend(edges)
    return "\n".join(lines) + "\n"


def _label(text: str) -> str:
    return text.replace('"', "#quot;")
