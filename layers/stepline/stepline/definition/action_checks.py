"""One action against what its provider accepts (``providers.py``): the checks behind the rule
``providers_and_configuration`` in ``rules.py``."""

from __future__ import annotations

from collections.abc import Iterator

from stepline.definition.models import ActionDeclaration, PipelineDeclaration, PipelineType
from stepline.definition.problems import Problem, did_you_mean, warning
from stepline.definition.providers import Provider, find_provider, supported_type_names


def check_action(pipeline: PipelineDeclaration, action: ActionDeclaration, path: str) -> Iterator[Problem]:
    """What the action's provider refuses or warns of: its type and version, configuration,
    artifacts and commands."""
    type_id = action.action_type_id
    provider = find_provider(type_id)
    if provider is None:
        yield Problem(
            f"{path}.actionTypeId",
            f"{type_id} is not an action type Stepline runs; supported: " + ", ".join(supported_type_names()),
        )
        return
    if provider.open_configuration:
        yield warning(
            f"{path}.actionTypeId",
            f"{type_id} runs as a job for workers of that custom action type (CreateCustomActionType registers "
            "it; a worker polls with PollForJobs)",
        )
    if type_id.version not in provider.versions:
        yield Problem(
            f"{path}.actionTypeId.version",
            f"version {type_id.version!r} of {type_id} is not supported; use " + ", ".join(sorted(provider.versions)),
        )
    if provider.v2_only and pipeline.pipeline_type is PipelineType.V1:
        yield Problem(f"{path}.actionTypeId", f"{type_id} actions need pipelineType V2")
    yield from _configuration(path, action, provider)
    if provider.configuration_check is not None:
        inputs = [artifact.name for artifact in action.input_artifacts]
        for key, problem in provider.configuration_check(action.configuration, inputs):
            yield Problem(f"{path}.configuration.{key}", problem)
    yield from _artifact_counts(path, action, provider.inputs, "input", len(action.input_artifacts))
    yield from _artifact_counts(path, action, provider.outputs, "output", len(action.output_artifacts))
    yield from _commands(path, action, provider)


def _configuration(path: str, action: ActionDeclaration, provider: Provider) -> Iterator[Problem]:
    """Each configuration key: required, known to the provider, and its value acceptable."""
    type_id = action.action_type_id
    for key in sorted(provider.required - action.configuration.keys()):
        yield Problem(f"{path}.configuration.{key}", f"is required by {type_id} actions")
    for key, value in action.configuration.items():
        key_path = f"{path}.configuration.{key}"
        if key.endswith(".$"):
            yield Problem(
                key_path,
                "a configuration key must not end in '.$' (Step Functions reads such keys as paths)",
            )
        if key not in provider.known_keys and not provider.open_configuration:
            known = sorted(provider.known_keys)
            takes = ", ".join(known) if known else "no configuration"
            yield Problem(
                key_path,
                f"is not a configuration key of {type_id}{did_you_mean(key, known)}; it takes: {takes}",
            )
            continue
        if "#{" in value:
            continue  # checked once resolved, when the action starts
        check = provider.value_checks.get(key)
        reason = check(value) if check else None
        if reason:
            yield Problem(key_path, reason)
        unsupported = provider.not_yet_supported.get(key)
        if unsupported and value.lower() == unsupported[0].lower():
            yield warning(key_path, f"{key}={value} is not yet supported: {unsupported[1]}")


def _commands(path: str, action: ActionDeclaration, provider: Provider) -> Iterator[Problem]:
    """Commands, output variables and chosen output files: Compute/AWS/Commands actions only."""
    type_id = action.action_type_id
    if provider.takes_commands and not action.commands:
        yield Problem(f"{path}.commands", f"is required by {type_id} actions")
    if not provider.takes_commands:
        if action.commands:
            yield Problem(f"{path}.commands", "only Compute/AWS/Commands actions take commands")
        if action.output_variables:
            yield Problem(
                f"{path}.outputVariables",
                "only Compute/AWS/Commands actions declare outputVariables",
            )
        for index, artifact in enumerate(action.output_artifacts):
            if artifact.files:
                yield Problem(
                    f"{path}.outputArtifacts[{index}].files",
                    "only Compute/AWS/Commands actions choose the files of their output artifacts",
                )


def _artifact_counts(
    path: str, action: ActionDeclaration, bounds: tuple[int, int], kind: str, count: int
) -> Iterator[Problem]:
    low, high = bounds
    if low <= count <= high:
        return
    expected = f"exactly {low}" if low == high else f"{low} to {high}"
    yield Problem(
        f"{path}.{kind}Artifacts",
        f"{action.action_type_id} actions take {expected} {kind} artifact{'s' if high != 1 else ''}; "
        f"this one has {count}",
    )
