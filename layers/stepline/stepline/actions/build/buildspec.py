"""The CodeBuild buildspec, version 0.2, as a typed model with errors that name the key.

Keys the local runner does not act on (reports, cache, proxy, batch, run-as, runtime-versions,
parameter-store) are accepted and listed by ``not_acted_on`` so the caller can say so.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stepline.definition.problems import Problem, format_path
from stepline.files import MissingFile, UnreadableFile, read_limited

PHASES = ("install", "pre_build", "build", "post_build")
# A buildspec is a few KB: the cap keeps a mistaken file from being read into memory whole.
MAX_BUILDSPEC_BYTES = 5 * 1024 * 1024


class BuildspecError(ValueError):
    """A buildspec that cannot be run; every problem carries the key it is about."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: the buildspec is not valid:\n" + "\n".join(f"  {p}" for p in problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _commands(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


class Phase(_Model):
    commands: list[str] = Field(default_factory=list)
    finally_: list[str] = Field(default_factory=list, alias="finally")
    on_failure: Literal["ABORT", "CONTINUE"] = Field("ABORT", alias="on-failure")
    run_as: str | None = Field(None, alias="run-as")
    runtime_versions: dict[str, Any] | None = Field(None, alias="runtime-versions")

    _normalise = field_validator("commands", "finally_", mode="before")(_commands)

    @field_validator("on_failure", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class Env(_Model):
    shell: str = "bash"
    variables: dict[str, str] = Field(default_factory=dict)
    parameter_store: dict[str, str] = Field(default_factory=dict, alias="parameter-store")
    secrets_manager: dict[str, str] = Field(default_factory=dict, alias="secrets-manager")
    exported_variables: list[str] = Field(default_factory=list, alias="exported-variables")
    git_credential_helper: Any = Field(None, alias="git-credential-helper")

    @field_validator("variables", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: _scalar(item) for key, item in value.items()}
        return value


def _scalar(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


class ArtifactSpec(_Model):
    files: list[str] = Field(default_factory=list)
    name: str | None = None
    discard_paths: bool = Field(False, alias="discard-paths")
    base_directory: str | None = Field(None, alias="base-directory")
    exclude_paths: list[str] = Field(default_factory=list, alias="exclude-paths")
    enable_symlinks: bool = Field(False, alias="enable-symlinks")
    s3_prefix: str | None = Field(None, alias="s3-prefix")

    _normalise = field_validator("files", "exclude_paths", mode="before")(_commands)

    @field_validator("discard_paths", "enable_symlinks", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lower() in {"yes", "no"}:
            return value.lower() == "yes"
        return value


class Artifacts(ArtifactSpec):
    secondary_artifacts: dict[str, ArtifactSpec] = Field(default_factory=dict, alias="secondary-artifacts")


class Phases(_Model):
    install: Phase | None = None
    pre_build: Phase | None = None
    build: Phase | None = None
    post_build: Phase | None = None


class Buildspec(_Model):
    version: str
    run_as: str | None = Field(None, alias="run-as")
    env: Env = Field(default_factory=Env)
    proxy: dict[str, Any] | None = None
    batch: dict[str, Any] | None = None
    phases: Phases = Field(default_factory=Phases)
    reports: dict[str, Any] | None = None
    artifacts: Artifacts | None = None
    cache: dict[str, Any] | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        text = str(value)
        if text != "0.2":
            raise ValueError(f"version {text} is not supported; the local runner runs buildspec version 0.2")
        return text

    def not_acted_on(self) -> list[str]:
        """Keys given that the local runner accepts without acting on them."""
        ignored = [key for key in ("proxy", "batch", "reports", "cache", "run_as") if getattr(self, key)]
        ignored += [f"env.{key}" for key in ("parameter_store", "git_credential_helper") if getattr(self.env, key)]
        for name in PHASES:
            phase = getattr(self.phases, name)
            if phase is not None and phase.runtime_versions:
                ignored.append(f"phases.{name}.runtime-versions (the machine's own tools are used)")
            if phase is not None and phase.run_as:
                ignored.append(f"phases.{name}.run-as")
        return [key.replace("_", "-") if "(" not in key else key for key in ignored]


_KNOWN = sorted(
    {
        alias or name
        for model in (Buildspec, Env, Phases, Phase, Artifacts)
        for name, field in model.model_fields.items()
        for alias in [field.alias]
    }
)


def parse_buildspec(text: str, source: str) -> Buildspec:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise BuildspecError(
            source, [Problem("", f"is not valid YAML: {where}{getattr(error, 'problem', error)}")]
        ) from None
    except RecursionError:
        raise BuildspecError(source, [Problem("", "nests lists or mappings too deeply to be read")]) from None
    if not isinstance(document, dict):
        raise BuildspecError(source, [Problem("", "must be a YAML mapping with version and phases")])
    try:
        return Buildspec.model_validate(document)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            location = [part for part in detail["loc"] if part != "[key]"]
            path = format_path(location)
            if detail["type"] == "extra_forbidden":
                name = str(location[-1])
                guess = difflib.get_close_matches(name, _KNOWN, n=1)
                message = "is not a buildspec key" + (f" (did you mean {guess[0]!r}?)" if guess else "")
            elif detail["type"] == "missing":
                message = "is required"
            else:
                message = detail["msg"].removeprefix("Value error, ")
            problems.append(Problem(path, message))
        raise BuildspecError(source, problems) from None


def load_buildspec(path: Path) -> Buildspec:
    try:
        text = read_limited(path, MAX_BUILDSPEC_BYTES, "a buildspec").decode("utf-8")
    except MissingFile:
        raise BuildspecError(str(path), [Problem("", "no buildspec file here")]) from None
    except UnreadableFile as error:
        raise BuildspecError(str(path), [Problem("", error.reason)]) from None
    except UnicodeDecodeError as error:
        raise BuildspecError(str(path), [Problem("", f"cannot be read: {error}")]) from None
    return parse_buildspec(text, str(path))
