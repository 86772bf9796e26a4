"""Rules a pipeline must follow beyond its shape: CodePipeline's, with CodePipeline's numbers.

Each rule is a small generator of problems over a parsed declaration. ``validate`` runs them
all, so a user sees every problem at once. Warnings mark fields Stepline accepts but does not
act on yet — never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from stepline.definition.action_checks import check_action
from stepline.definition.globs import GlobError, compile_glob
from stepline.definition.models import (
    ActionCategory,
    ActionDeclaration,
    ExecutionMode,
    FailureConditions,
    FilterCriteria,
    GateConditions,
    PipelineDeclaration,
    PipelineType,
)
from stepline.definition.problems import Problem, did_you_mean, warning
from stepline.definition.providers import find_provider
from stepline.definition.variables import (
    CODEPIPELINE,
    CODEPIPELINE_KEYS,
    PIPELINE_VARIABLES,
    RESERVED_NAMESPACES,
    references_in,
)

MIN_STAGES, MAX_STAGES = 2, 50
MIN_ACTIONS_PER_STAGE, MAX_ACTIONS_PER_STAGE = 1, 50
MAX_ACTIONS_PER_PIPELINE = 500
# Source providers whose changes are git pushes, so branch/tag/path triggers apply. CodePipeline
# allows triggers on connections only; Stepline also filters CodeCommit and plain git pushes.
GIT_SOURCES = frozenset({"CodeCommit", "CodeStarSourceConnection", "GitHub", "Git"})

Rule = Callable[[PipelineDeclaration], Iterator[Problem]]
RULES: list[Rule] = []


def rule(check: Rule) -> Rule:
    RULES.append(check)
    return check


def validate(pipeline: PipelineDeclaration) -> list[Problem]:
    """Every problem every rule finds, errors and warnings, in rule order."""
    return [problem for check in RULES for problem in check(pipeline)]


@dataclass(frozen=True)
class _Placed:
    """An action with where it sits, for rules that compare positions."""

    stage_index: int
    stage: str
    action_index: int
    action: ActionDeclaration

    @property
    def path(self) -> str:
        return f"stages[{self.stage_index}].actions[{self.action_index}]"

    @property
    def label(self) -> str:
        return f"action {self.action.name!r} in stage {self.stage!r}"

    def finishes_before(self, other: _Placed) -> bool:
        if self.stage_index != other.stage_index:
            return self.stage_index < other.stage_index
        return self.action.run_order < other.action.run_order


def _placed(pipeline: PipelineDeclaration) -> list[_Placed]:
    return [
        _Placed(stage_index, stage.name, action_index, action)
        for stage_index, stage, action_index, action in pipeline.actions()
    ]


@rule
def stage_and_action_counts(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    count = len(pipeline.stages)
    if not MIN_STAGES <= count <= MAX_STAGES:
        yield Problem("stages", f"has {count} stages; a pipeline has {MIN_STAGES} to {MAX_STAGES}")
    for index, stage in enumerate(pipeline.stages):
        actions = len(stage.actions)
        if not MIN_ACTIONS_PER_STAGE <= actions <= MAX_ACTIONS_PER_STAGE:
            yield Problem(
                f"stages[{index}].actions",
                f"stage {stage.name!r} has {actions} actions; a stage has "
                f"{MIN_ACTIONS_PER_STAGE} to {MAX_ACTIONS_PER_STAGE}",
            )
    total = sum(len(stage.actions) for stage in pipeline.stages)
    if total > MAX_ACTIONS_PER_PIPELINE:
        yield Problem("stages", f"has {total} actions; a pipeline has at most {MAX_ACTIONS_PER_PIPELINE}")


def _repeats(names: Iterable[str]) -> Iterator[tuple[int, str, int]]:
    """(index, name, index of its first use) for every name used before."""
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            yield index, name, first[name]
        first.setdefault(name, index)


@rule
def unique_names(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    for index, name, first in _repeats(stage.name for stage in pipeline.stages):
        yield Problem(f"stages[{index}].name", f"stage name {name!r} is already used by stages[{first}]")
    for stage_index, stage in enumerate(pipeline.stages):
        for index, name, first in _repeats(action.name for action in stage.actions):
            yield Problem(
                f"stages[{stage_index}].actions[{index}].name",
                f"action name {name!r} is already used in stage {stage.name!r} by actions[{first}]",
            )
    for index, name, first in _repeats(variable.name for variable in pipeline.variables):
        yield Problem(
            f"variables[{index}].name",
            f"pipeline variable {name!r} is already declared by variables[{first}]",
        )


@rule
def sources_only_in_first_stage(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    for placed in _placed(pipeline):
        is_source = placed.action.action_type_id.category is ActionCategory.SOURCE
        if placed.stage_index == 0 and not is_source:
            yield Problem(
                f"{placed.path}.actionTypeId.category",
                f"the first stage holds only source actions; {placed.label} is a "
                f"{placed.action.action_type_id.category.value} action",
            )
        elif placed.stage_index > 0 and is_source:
            yield Problem(
                f"{placed.path}.actionTypeId.category",
                f"source actions belong in the first stage; {placed.label} is in stage {placed.stage_index + 1}",
            )


@rule
def providers_and_configuration(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    for placed in _placed(pipeline):
        yield from check_action(pipeline, placed.action, placed.path)


@rule
def artifacts_flow_forward(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    producers: dict[str, _Placed] = {}
    placed_actions = _placed(pipeline)
    for placed in placed_actions:
        for index, artifact in enumerate(placed.action.output_artifacts):
            earlier = producers.get(artifact.name)
            if earlier is not None:
                yield Problem(
                    f"{placed.path}.outputArtifacts[{index}].name",
                    f"output artifact {artifact.name!r} is already produced by {earlier.label}; "
                    "output artifact names are unique in a pipeline",
                )
            else:
                producers[artifact.name] = placed
    for placed in placed_actions:
        seen: set[str] = set()
        for index, wanted in enumerate(placed.action.input_artifacts):
            path = f"{placed.path}.inputArtifacts[{index}].name"
            if wanted.name in seen:
                yield Problem(path, f"input artifact {wanted.name!r} is listed twice")
            seen.add(wanted.name)
            producer = producers.get(wanted.name)
            if producer is None:
                yield Problem(
                    path,
                    f"no action produces an artifact named {wanted.name!r}"
                    + did_you_mean(wanted.name, sorted(producers)),
                )
            elif not producer.finishes_before(placed):
                yield Problem(
                    path,
                    f"artifact {wanted.name!r} comes from {producer.label} (runOrder "
                    f"{producer.action.run_order}), which has not finished when {placed.label} "
                    f"(runOrder {placed.action.run_order}) starts",
                )


@rule
def namespaces(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    artifact_names = {artifact.name for _, _, _, action in pipeline.actions() for artifact in action.output_artifacts}
    seen: dict[str, _Placed] = {}
    for placed in _placed(pipeline):
        namespace = placed.action.namespace
        if namespace is None:
            continue
        path = f"{placed.path}.namespace"
        if namespace in RESERVED_NAMESPACES:
            yield Problem(path, f"{namespace!r} is reserved; choose another namespace")
        elif namespace in seen:
            yield Problem(path, f"namespace {namespace!r} is already used by {seen[namespace].label}")
        elif namespace in artifact_names:
            yield Problem(path, f"namespace {namespace!r} is also an artifact name; they must differ")
        seen.setdefault(namespace, placed)


@rule
def variable_references(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    producers: dict[str, _Placed] = {p.action.namespace: p for p in _placed(pipeline) if p.action.namespace is not None}
    declared = {variable.name for variable in pipeline.variables}
    for placed in _placed(pipeline):
        for path, text in _texts_with_variables(placed):
            for reference in references_in(text):
                reason = _reference_problem(pipeline, placed, producers, declared, reference.namespace, reference.key)
                if reason:
                    yield Problem(path, f"{reference}: {reason}")


def _texts_with_variables(placed: _Placed) -> Iterator[tuple[str, str]]:
    action = placed.action
    for key, value in action.configuration.items():
        yield f"{placed.path}.configuration.{key}", value
    for index, command in enumerate(action.commands or []):
        yield f"{placed.path}.commands[{index}]", command
    for index, variable in enumerate(action.environment_variables or []):
        yield f"{placed.path}.environmentVariables[{index}].value", variable.value


def _reference_problem(
    pipeline: PipelineDeclaration,
    placed: _Placed,
    producers: dict[str, _Placed],
    declared: set[str],
    namespace: str,
    key: str,
) -> str | None:
    if namespace == CODEPIPELINE:
        if key in CODEPIPELINE_KEYS:
            return None
        return f"the codepipeline namespace has only {', '.join(sorted(CODEPIPELINE_KEYS))}"
    if namespace == PIPELINE_VARIABLES:
        if pipeline.pipeline_type is PipelineType.V1:
            return "pipeline variables need pipelineType V2"
        if key in declared:
            return None
        return f"no pipeline variable {key!r} is declared{did_you_mean(key, sorted(declared))}"
    producer = producers.get(namespace)
    if producer is None:
        known = sorted(producers)
        return f"no action declares the namespace {namespace!r}{did_you_mean(namespace, known)}"
    if producer is placed or not producer.finishes_before(placed):
        return f"namespace {namespace!r} belongs to {producer.label}, which has not finished when {placed.label} starts"
    offered = _variables_offered(producer.action)
    if offered is not None and key not in offered:
        listing = ", ".join(sorted(offered)) or "no variables"
        return f"{producer.label} ({producer.action.action_type_id}) produces {listing}; not {key!r}"
    return None


def _variables_offered(action: ActionDeclaration) -> frozenset[str] | None:
    provider = find_provider(action.action_type_id)
    if provider is None:
        return None  # already reported as an unknown provider
    if provider.takes_commands:
        return frozenset(action.output_variables or [])
    return provider.output_variables


@rule
def version_two_features(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    if pipeline.pipeline_type is PipelineType.V2:
        return
    if pipeline.variables:
        yield Problem("variables", "pipeline variables need pipelineType V2")
    if pipeline.triggers:
        yield Problem("triggers", "triggers need pipelineType V2")
    if pipeline.execution_mode is not ExecutionMode.SUPERSEDED:
        yield Problem("executionMode", f"{pipeline.execution_mode.value} needs pipelineType V2")
    for index, stage in enumerate(pipeline.stages):
        for field, value in (
            ("onFailure", stage.on_failure),
            ("onSuccess", stage.on_success),
            ("beforeEntry", stage.before_entry),
        ):
            if value is not None:
                yield Problem(f"stages[{index}].{field}", "stage conditions need pipelineType V2")


@rule
def action_timeouts(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    for placed in _placed(pipeline):
        type_id = placed.action.action_type_id
        if placed.action.timeout_in_minutes is not None and type_id.key != (
            "Approval",
            "AWS",
            "Manual",
        ):
            yield Problem(
                f"{placed.path}.timeoutInMinutes",
                f"only manual approval actions take timeoutInMinutes; this is a {type_id} action",
            )


@rule
def artifact_stores_and_regions(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    if pipeline.artifact_store is not None and pipeline.artifact_stores is not None:
        yield Problem("artifactStores", "declare artifactStore or artifactStores, not both")
    regions = sorted({action.region for _, _, _, action in pipeline.actions() if action.region})
    if len(regions) <= 1:
        return
    if pipeline.artifact_store is not None:
        yield Problem(
            "artifactStore",
            f"actions run in several Regions ({', '.join(regions)}); "
            "cross-Region pipelines need artifactStores with one store per Region",
        )
    elif pipeline.artifact_stores is not None:
        missing = [region for region in regions if region not in pipeline.artifact_stores]
        if missing:
            yield Problem("artifactStores", f"has no artifact store for {', '.join(missing)}")


@rule
def triggers(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    sources = {action.name: action for action in pipeline.stages[0].actions} if pipeline.stages else {}
    seen: dict[str, int] = {}
    for index, trigger in enumerate(pipeline.triggers):
        config = trigger.git_configuration
        path = f"triggers[{index}].gitConfiguration"
        source = sources.get(config.source_action_name)
        if source is None:
            yield Problem(
                f"{path}.sourceActionName",
                f"the first stage has no action named {config.source_action_name!r}"
                + did_you_mean(config.source_action_name, sorted(sources)),
            )
        elif source.action_type_id.provider not in GIT_SOURCES:
            yield Problem(
                f"{path}.sourceActionName",
                f"{config.source_action_name!r} is a {source.action_type_id} action; triggers "
                "filter git pushes, so they need a CodeCommit, connection, GitHub or Git source",
            )
        if config.source_action_name in seen:
            yield Problem(
                f"{path}.sourceActionName",
                f"source action {config.source_action_name!r} already has a trigger "
                f"(triggers[{seen[config.source_action_name]}]); use one trigger per source action",
            )
        seen.setdefault(config.source_action_name, index)
        if not config.push and not config.pull_request:
            yield Problem(path, "a trigger needs push or pullRequest filters")
        for filter_index, push in enumerate(config.push or []):
            filter_path = f"{path}.push[{filter_index}]"
            if push.tags is None and push.branches is None:
                yield Problem(filter_path, "a push filter needs branches or tags")
            if push.file_paths is not None and push.branches is None:
                yield Problem(
                    f"{filter_path}.filePaths",
                    "file path filters need a branches filter beside them",
                )
            if push.tags is not None and push.branches is not None:
                yield warning(
                    filter_path,
                    "a push is either to a tag or to a branch: this filter matches tag pushes by "
                    "tags and branch pushes by branches; consider two filters",
                )
            for name, criteria in (
                ("tags", push.tags),
                ("branches", push.branches),
                ("filePaths", push.file_paths),
            ):
                yield from _empty_criteria(f"{filter_path}.{name}", criteria)
        for filter_index, pull in enumerate(config.pull_request or []):
            filter_path = f"{path}.pullRequest[{filter_index}]"
            for name, criteria in (("branches", pull.branches), ("filePaths", pull.file_paths)):
                yield from _empty_criteria(f"{filter_path}.{name}", criteria)


def _empty_criteria(path: str, criteria: FilterCriteria | None) -> Iterator[Problem]:
    if criteria is None:
        return
    if not criteria.includes and not criteria.excludes:
        yield Problem(path, "needs includes or excludes")
    for side in ("includes", "excludes"):
        for index, pattern in enumerate(getattr(criteria, side) or []):
            try:
                compile_glob(pattern)
            except GlobError as error:
                yield Problem(f"{path}.{side}[{index}]", str(error))


@rule
def not_yet_supported(pipeline: PipelineDeclaration) -> Iterator[Problem]:
    for index, stage in enumerate(pipeline.stages):
        for field, value in (
            ("onFailure", stage.on_failure),
            ("onSuccess", stage.on_success),
            ("beforeEntry", stage.before_entry),
            ("blockers", stage.blockers),
        ):
            checked = {"beforeEntry": ("FAIL", "SKIP"), "onSuccess": ("FAIL",)}.get(field)
            built = (field == "onFailure" and _retried(stage.on_failure)) or (
                checked is not None and value is not None and _gate_checks(value, checked)  # type: ignore[arg-type]
            )
            if value is not None and not built:
                yield warning(f"stages[{index}].{field}", "is not yet supported: it has no effect")
    for placed in _placed(pipeline):
        if placed.action.role_arn is not None:
            yield warning(
                f"{placed.path}.roleArn",
                "is not yet supported: the action runs with the stack's own role",
            )


def _gate_checks(conditions: GateConditions, results: tuple[str, ...]) -> bool:
    """Conditions the stage gate evaluates (stepline.control.conditions): VariableCheck and
    CloudWatchAlarm rules with one of ``results``."""
    return all(
        (condition.result is None or condition.result.value in results)
        and all(
            rule.rule_type_id.provider in {"VariableCheck", "CloudWatchAlarm", "DeploymentWindow"}
            for rule in condition.rules
        )
        for condition in conditions.conditions
    )


def _retried(failure: FailureConditions | None) -> bool:
    """An onFailure the compiler builds: RETRY, with no condition of its own."""
    return (
        failure is not None
        and failure.result is not None
        and failure.result.value == "RETRY"
        and not failure.conditions
    )
