"""CreateCustomActionType, DeleteCustomActionType, ListActionTypes: the action types Stepline
runs (its provider registry) and the custom types job workers run, kept by the ActionTypes port.

A pipeline may use a custom type once it is registered: CreatePipeline and UpdatePipeline check
each ``Custom`` action that Stepline does not run itself against its type (registered, its
required configuration keys given, no others, its artifact counts) — the checks the pure
definition rules cannot make, since the types live in a store.
"""

from __future__ import annotations

from typing import Any

from stepline.actions.jobs import type_key
from stepline.api.codepipeline.errors import AwsError, validation
from stepline.api.codepipeline.jobs import types_store
from stepline.api.codepipeline.protocol import Call, operation
from stepline.definition.models import PipelineDeclaration
from stepline.definition.plugins import installed
from stepline.definition.providers import PROVIDERS, find_provider, plugin_provider


def _built_in(category: str, provider: str) -> bool:
    """One of Stepline's own types, or an installed plugin's."""
    return any(p.key == (category, "Custom", provider) for p in PROVIDERS) or (
        (category, "Custom", provider) in installed()
    )


@operation("CreateCustomActionType")
def create_custom_action_type(call: Call) -> dict[str, Any]:
    given = call.input
    category, provider, version = given["category"], given["provider"], given["version"]
    if category in {"Approval", "Compute"}:
        raise validation(
            f"a custom action type's category must be Source, Build, Deploy, Test or Invoke, not {category}"
        )
    if _built_in(category, provider):
        raise validation(f"{category}/Custom/{provider} is one of Stepline's own action types")
    for details in ("inputArtifactDetails", "outputArtifactDetails"):
        if given[details]["minimumCount"] > given[details]["maximumCount"]:
            raise validation(f"{details}: minimumCount is more than maximumCount")
    declared = {
        "id": {"category": category, "owner": "Custom", "provider": provider, "version": version},
        "settings": given.get("settings"),
        "actionConfigurationProperties": given.get("configurationProperties", []),
        "inputArtifactDetails": given["inputArtifactDetails"],
        "outputArtifactDetails": given["outputArtifactDetails"],
    }
    declared = {name: value for name, value in declared.items() if value is not None}
    if not types_store().put_type(type_key(category, provider, version), declared):
        raise validation(f"the action type {category}/Custom/{provider} version {version} already exists")
    return {"actionType": declared, "tags": given.get("tags")}


@operation("DeleteCustomActionType")
def delete_custom_action_type(call: Call) -> dict[str, Any]:
    given = call.input
    types_store().delete_type(type_key(given["category"], given["provider"], given["version"]))
    return {}


def _built_in_types() -> list[dict[str, Any]]:
    listed = []
    plugins = [plugin_provider(plugin) for plugin in installed().values()]
    for provider in [*PROVIDERS, *plugins]:
        properties = [
            {"name": key, "required": key in provider.required, "key": False, "secret": False}
            for key in sorted(provider.known_keys)
        ]
        for version in sorted(provider.versions):
            listed.append(
                {
                    "id": {
                        "category": provider.category,
                        "owner": provider.owner,
                        "provider": provider.provider,
                        "version": version,
                    },
                    "actionConfigurationProperties": properties[:10],
                    "inputArtifactDetails": {"minimumCount": provider.inputs[0], "maximumCount": provider.inputs[1]},
                    "outputArtifactDetails": {"minimumCount": provider.outputs[0], "maximumCount": provider.outputs[1]},
                }
            )
    return listed


@operation("ListActionTypes")
def list_action_types(call: Call) -> dict[str, Any]:
    owner = call.input.get("actionOwnerFilter")
    listed = _built_in_types() + list(types_store().types().values())
    return {"actionTypes": [t for t in listed if owner in {None, t["id"]["owner"]}]}


def check_custom_actions(pipeline: PipelineDeclaration) -> None:
    """InvalidActionDeclarationException for a custom action whose type is not registered or
    whose configuration or artifacts the type does not take."""
    registered: dict[str, dict[str, Any]] | None = None
    for _, stage, _, action in pipeline.actions():
        type_id = action.action_type_id
        provider = find_provider(type_id)
        if provider is None or not provider.open_configuration:
            continue
        if registered is None:
            registered = types_store().types()
        where = f"action '{action.name}' of stage '{stage.name}'"
        declared = registered.get(type_key(type_id.category.value, type_id.provider, type_id.version))
        if declared is None:
            raise AwsError(
                "InvalidActionDeclarationException",
                f"ActionType ({type_id}, version {type_id.version}) in {where} is not available: "
                "register it with CreateCustomActionType",
            )
        _check_against(declared, action.configuration, len(action.input_artifacts), len(action.output_artifacts), where)


def _check_against(
    declared: dict[str, Any], configuration: dict[str, str], inputs: int, outputs: int, where: str
) -> None:
    properties = {p["name"]: p for p in declared.get("actionConfigurationProperties", [])}
    problems = [
        f"configuration key '{k}' is required"
        for k, p in properties.items()
        if p["required"] and k not in configuration
    ]
    problems += [f"configuration key '{k}' is not one of the type's" for k in configuration if k not in properties]
    for given, details, label in (
        (inputs, "inputArtifactDetails", "input"),
        (outputs, "outputArtifactDetails", "output"),
    ):
        low, high = declared[details]["minimumCount"], declared[details]["maximumCount"]
        if not low <= given <= high:
            problems.append(f"it has {given} {label} artifacts; the type takes {low} to {high}")
    if problems:
        raise AwsError("InvalidActionDeclarationException", f"{where}: {'; '.join(problems)}")
