"""template.yaml read as `sam local invoke` reads it: which handler and which static state
machine each stack output names, so the local runtime fills placeholders from the same file
that deploys them.

A placeholder is a stack output's name (``SourceFunctionArn``). An output that is
``!GetAtt <Function>.Arn`` of an ``AWS::Serverless::Function`` names a handler: its CodeUri
folder and Handler (``app.lambda_handler``). One that is ``!Ref <StateMachine>`` of an
``AWS::Serverless::StateMachine`` names a static definition: its DefinitionUri, with
DefinitionSubstitutions of ``!GetAtt <Function>.Arn`` mapped to those handlers.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stepline.errors import ConfigurationError


class _CloudFormationLoader(yaml.SafeLoader):
    """CloudFormation's short tags (!Ref, !GetAtt, !Sub …) read as {"Ref": …}-style values."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _tag)


@dataclass(frozen=True)
class Handler:
    folder: Path
    module: str
    function: str

    def load(self) -> Any:
        path = self.folder / f"{self.module}.py"
        spec = importlib.util.spec_from_file_location(f"stepline_function_{self.folder.name}", path)
        if spec is None or spec.loader is None or not path.is_file():
            raise ConfigurationError(f"template.yaml names a handler at {path}, which cannot be loaded")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module, self.function)


@dataclass(frozen=True)
class StaticMachine:
    name: str
    definition: dict[str, Any]
    substitutions: dict[str, str] = field(default_factory=dict)  # placeholder → handler placeholder


@dataclass(frozen=True)
class LocalStack:
    handlers: dict[str, Handler]
    machines: dict[str, StaticMachine]


def load_template(path: Path) -> dict[str, Any]:
    """template.yaml as data, CloudFormation's short tags in their long form."""
    try:
        template: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)  # noqa: S506  # a SafeLoader
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"cannot read {path}: {error}") from None
    return template


def read_template(home: Path) -> LocalStack:
    template = load_template(home / "template.yaml")
    resources: dict[str, Any] = template.get("Resources", {})
    functions = {
        name: Handler(home / body["Properties"]["CodeUri"], *str(body["Properties"]["Handler"]).rsplit(".", 1))
        for name, body in resources.items()
        if body.get("Type") == "AWS::Serverless::Function"
    }
    handlers: dict[str, Handler] = {}
    machines: dict[str, Any] = {}
    for output, body in template.get("Outputs", {}).items():
        value = body.get("Value") if isinstance(body, dict) else None
        if not isinstance(value, dict):
            continue
        target = _function_of(value, functions)
        if target is not None:
            handlers[output] = functions[target]
        elif resources.get(value.get("Ref", ""), {}).get("Type") == "AWS::Serverless::StateMachine":
            machines[output] = value["Ref"]
    # A static state machine's substitutions name functions; each becomes the placeholder of
    # the output that names that function (or "<Function>Arn" when none does).
    placeholder_of = {_function_of(body.get("Value"), functions): name for name, body in template["Outputs"].items()}
    static: dict[str, StaticMachine] = {}
    for output, resource in machines.items():
        properties = resources[resource]["Properties"]
        definition = json.loads((home / properties["DefinitionUri"]).read_text(encoding="utf-8"))
        substitutions = {}
        for key, value in properties.get("DefinitionSubstitutions", {}).items():
            function = _function_of(value, functions)
            if function is not None:
                placeholder = placeholder_of.get(function) or f"{function}Arn"
                handlers.setdefault(placeholder, functions[function])
                substitutions[key] = placeholder
        static[output] = StaticMachine(f"stepline-{resource}", definition, substitutions)
    return LocalStack(handlers, static)


def _function_of(value: Any, functions: dict[str, Handler]) -> str | None:
    """The function ``!GetAtt <Function>.Arn`` names, if ``value`` is that."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        resource, *attribute = value["Fn::GetAtt"]
        if attribute == ["Arn"] and resource in functions:
            return str(resource)
    return None
