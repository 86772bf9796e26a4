"""Matching a push to a local repository against a CodeCommit, connection or GitHub source
mapped to it (`stepline apply --source`), and the registry keeping that mapping."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stepline.adapters.local.registry import SqliteRegistry
from stepline.definition import parse_pipeline
from stepline.ports.pipelines import RegisteredPipeline
from stepline.triggers.changes import from_git_hook
from stepline.triggers.matching import match


def declaration(provider: str, configuration: dict[str, str]) -> dict[str, Any]:
    build = {
        "name": "Build",
        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "configuration": {"ProjectName": "p"},
        "inputArtifacts": [{"name": "Src"}],
    }
    owner = "ThirdParty" if provider == "GitHub" else "AWS"
    source = {
        "name": "Checkout",
        "actionTypeId": {"category": "Source", "owner": owner, "provider": provider, "version": "1"},
        "configuration": configuration,
        "outputArtifacts": [{"name": "Src"}],
    }
    stages = [{"name": "Source", "actions": [source]}, {"name": "Build", "actions": [build]}]
    return {"name": "app", "pipelineType": "V2", "stages": stages}


SOURCES = [
    ("CodeCommit", {"RepositoryName": "reminders", "BranchName": "main"}, "reminders"),
    (
        "CodeStarSourceConnection",
        {
            "ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/abc",
            "FullRepositoryId": "acme/reminders",
            "BranchName": "main",
        },
        "acme/reminders",
    ),
    ("GitHub", {"Owner": "acme", "Repo": "reminders", "Branch": "main", "OAuthToken": "****"}, "reminders"),
]


@pytest.mark.parametrize(("provider", "configuration", "name"), SOURCES, ids=[s[0] for s in SOURCES])
def test_a_push_to_the_mapped_repository_starts_the_source(
    tmp_path: Path, provider: str, configuration: dict[str, str], name: str
) -> None:
    # Given a source on a service, and the local repository mapped to its name
    pipeline = parse_pipeline(declaration(provider, configuration), "p.json").pipeline
    push = from_git_hook(str(tmp_path / "reminders.git"), "refs/heads/main", "", "a" * 40)
    assert push is not None
    # When a push to that repository is matched, Then it starts the pipeline through the source
    assert match(pipeline, push, set, {name: str(tmp_path / "reminders.git")}).actions == ["Checkout"]
    # And with no mapping, or one to another repository, it does not, and says it reads no such repository
    for sources in ({}, {name: str(tmp_path / "other.git")}):
        outcome = match(pipeline, push, set, sources)
        assert outcome.actions == []
        assert outcome.reasons == [f"no source action reads Git repository {tmp_path / 'reminders.git'}"]


def test_the_registry_keeps_a_pipelines_sources_and_reads_older_entries(tmp_path: Path) -> None:
    # Given a registry written before sources were kept (its pipelines table only), with pipeline b
    document = declaration(*SOURCES[0][:2])
    with sqlite3.connect(tmp_path / "pipelines.sqlite") as old:
        old.execute(
            "CREATE TABLE pipelines (name TEXT PRIMARY KEY, state_machine_arn TEXT NOT NULL, "
            "declaration TEXT NOT NULL, registered_at REAL NOT NULL)"
        )
        old.execute("INSERT INTO pipelines VALUES ('b', 'arn:b', ?, 2.0)", (json.dumps(document),))
    old.close()
    # When it is opened now and pipeline a is registered with a mapping
    registry = SqliteRegistry(tmp_path / "pipelines.sqlite")
    mapped = RegisteredPipeline(
        name="a", state_machine_arn="arn:a", declaration=document, registered_at=1.0, sources={"reminders": "/r"}
    )
    registry.put(mapped)
    # Then each reads back with its own mapping, none for the older entry
    assert registry.get("a") == mapped
    assert [(e.name, e.sources) for e in registry.all()] == [("a", {"reminders": "/r"}), ("b", {})]
    registry.close()
