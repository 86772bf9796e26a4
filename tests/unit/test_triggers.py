"""Trigger logic: glob filters, event parsing, matching, and idempotent starts on the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stepline import wiring
from stepline.adapters.local.registry import SqliteRegistry
from stepline.adapters.local.workflows import EngineWorkflows
from stepline.api.app import handle
from stepline.compiler import compile_checked, substitute
from stepline.definition import parse_pipeline
from stepline.definition.globs import GlobError, glob_match
from stepline.definition.models import PipelineDeclaration
from stepline.engine import Engine, Functions
from stepline.ports.pipelines import RegisteredPipeline
from stepline.ports.pushes import GitHubPush
from stepline.registry import state_machine_name
from stepline.triggers.changes import CodeCommitStateChange, RepositoryChange, from_codecommit, from_github
from stepline.triggers.matching import match
from stepline.triggers.starting import PushesToPipelines, start_matching
from tests.helpers import load_event, watching


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("main", "main", True),
        ("main", "maintenance", False),
        ("feature/*", "feature/login", True),
        ("feature/*", "feature/login/v2", False),  # * stays inside one component
        ("feature/**", "feature/login/v2", True),  # ** crosses components
        ("release-?", "release-1", True),
        ("release-?", "release-10", False),
        ("v[0-9]*", "v1.2.0", True),
        ("v[!0-9]*", "v1.2.0", False),
        ("*.{java,class}", "App.class", True),
        ("*.{java,class}", "App.kt", False),
        ("src/**/*.py", "src/app/main.py", True),
        ("src/**/*.py", "src/main.py", False),  # Java's glob: "**/" needs a directory there
        ("docs/**", "docs/guide/setup.md", True),
        ("\\*", "*", True),
        ("\\*", "a", False),
        ("a.b", "axb", False),  # the dot is literal
    ],
)
def test_globs_read_as_codepipeline_documents_them(pattern: str, name: str, matches: bool) -> None:
    assert glob_match(pattern, name) is matches


@pytest.mark.parametrize("pattern", ["feature/[abc", "{a,b", "trailing\\", "{a,{b,c}}"])
def test_an_unreadable_glob_is_refused_with_the_reason(pattern: str) -> None:
    with pytest.raises(GlobError, match=r"never closed|escapes nothing|cannot nest"):
        glob_match(pattern, "x")


def test_a_codecommit_branch_update_becomes_a_change() -> None:
    # Given the documented "CodeCommit Repository State Change" for a branch update
    event = CodeCommitStateChange.model_validate(load_event("trigger/codecommit-branch-updated.json"))
    # When read
    change = from_codecommit(event)
    # Then it names the repository, branch and both commits, and keeps the event id
    assert change is not None
    assert (change.provider, change.repository, change.reference_type, change.reference_name) == (
        "CodeCommit",
        "FriendReminders",
        "branch",
        "master",
    )
    assert change.commit_id == "3e9ecf5a1ad7a2c5f8e6b4d2c1a09f8e7d6c5b4a"
    assert change.old_commit_id == "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
    assert change.event_id == "6f1b2d4c-0a9e-4b61-8c2f-3d5e7a9b1c01"
    assert not change.deleted
    assert change.paths is None  # CodeCommit's event does not list files


def test_codecommit_deletes_are_changes_marked_deleted_and_other_events_are_none() -> None:
    deleted = from_codecommit(CodeCommitStateChange.model_validate(load_event("trigger/codecommit-tag-deleted.json")))
    assert deleted is not None
    assert deleted.deleted
    assert deleted.reference_type == "tag"
    merge = load_event("trigger/codecommit-branch-updated.json")
    merge["detail"] = {"event": "unreferencedMergeCommitCreated", "repositoryName": "FriendReminders"}
    assert from_codecommit(CodeCommitStateChange.model_validate(merge)) is None


def test_a_github_push_becomes_a_change_with_its_changed_files() -> None:
    body = json.loads(load_event("api/github-push.json")["body"])
    change = from_github(GitHubPush.model_validate({**body, "delivery": "d-1"}))
    assert change is not None
    assert (change.provider, change.repository, change.reference_name) == ("GitHub", "example-org/payments", "main")
    assert change.paths is not None
    assert "payments/client.py" in change.paths
    assert change.event_id == "d-1"


def change(**fields: Any) -> RepositoryChange:
    values: dict[str, Any] = {
        "provider": "CodeCommit",
        "repository": "FriendReminders",
        "reference_type": "branch",
        "reference_name": "master",
        "commit_id": "3e9ecf5a1ad7a2c5f8e6b4d2c1a09f8e7d6c5b4a",
        "old_commit_id": "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        "event_id": "event-1",
    }
    return RepositoryChange(**(values | fields))


def declared(document: dict[str, Any]) -> PipelineDeclaration:
    return parse_pipeline(document, "test.json").pipeline


def no_paths() -> set[str]:
    raise AssertionError("no filter here needs the changed files")


def test_without_a_trigger_a_push_to_the_source_branch_starts_the_pipeline() -> None:
    pipeline = declared(watching("app"))
    assert match(pipeline, change(), no_paths).actions == ["Source"]
    other = match(pipeline, change(reference_name="develop"), no_paths)
    assert not other.starts
    assert other.reasons == ["Source: watches branch 'master'"]
    tag = match(pipeline, change(reference_type="tag", reference_name="master"), no_paths)
    assert not tag.starts
    assert "tag push starts a pipeline only through a trigger" in tag.reasons[0]


def test_a_change_in_another_repository_or_a_deleted_branch_starts_nothing() -> None:
    pipeline = declared(watching("app"))
    assert not match(pipeline, change(repository="OtherRepo"), no_paths).starts
    deleted = match(pipeline, change(deleted=True, commit_id=""), no_paths)
    assert not deleted.starts
    assert deleted.reasons == ["branch master was deleted"]


def test_branch_filters_include_by_glob_and_excludes_win() -> None:
    pipeline = declared(
        watching("app", push=[{"branches": {"includes": ["release/**", "main"], "excludes": ["release/old-*"]}}])
    )
    assert match(pipeline, change(reference_name="release/2026/11"), no_paths).starts
    assert match(pipeline, change(reference_name="main"), no_paths).starts
    # Then the trigger replaces BranchName: a push to master is not included
    assert not match(pipeline, change(reference_name="master"), no_paths).starts
    excluded = match(pipeline, change(reference_name="release/old-1"), no_paths)
    assert not excluded.starts
    assert excluded.reasons == ["Source: push[0] does not include branch release/old-1"]


def test_tag_filters_start_on_tags_only() -> None:
    pipeline = declared(watching("app", push=[{"tags": {"includes": ["v*"], "excludes": ["v*-rc*"]}}]))
    assert match(pipeline, change(reference_type="tag", reference_name="v1.4.0"), no_paths).starts
    assert not match(pipeline, change(reference_type="tag", reference_name="v1.5.0-rc1"), no_paths).starts
    branch = match(pipeline, change(), no_paths)
    assert not branch.starts
    assert "filters tags, and this is a branch push" in branch.reasons[0]


def test_file_path_filters_ask_for_the_changed_files_once_and_excludes_win() -> None:
    # Given a trigger on main for files under src/ but not src/docs/
    pipeline = declared(
        watching(
            "app",
            push=[
                {
                    "branches": {"includes": ["master"]},
                    "filePaths": {"includes": ["src/**"], "excludes": ["src/docs/**"]},
                }
            ],
        )
    )
    asked: list[int] = []

    def paths_of(found: set[str]) -> Any:
        def paths() -> set[str]:
            asked.append(1)
            return found

        return paths

    # When a push changes only excluded files, Then it starts nothing
    assert not match(pipeline, change(), paths_of({"src/docs/readme.md", "README.md"})).starts
    # When one changed file is included and not excluded, Then it starts the pipeline
    assert match(pipeline, change(), paths_of({"src/docs/readme.md", "src/app.py"})).starts
    # And a push to another branch never asks for files
    assert not match(pipeline, change(reference_name="develop"), paths_of(set())).starts
    assert len(asked) == 2


def test_several_push_filters_start_the_pipeline_if_any_matches() -> None:
    pipeline = declared(
        watching("app", push=[{"branches": {"includes": ["main"]}}, {"tags": {"includes": ["release-*"]}}])
    )
    assert match(pipeline, change(reference_name="main"), no_paths).starts
    assert match(pipeline, change(reference_type="tag", reference_name="release-7"), no_paths).starts
    assert not match(pipeline, change(reference_name="dev"), no_paths).starts


def test_github_names_compare_without_case_and_detect_changes_false_opts_out() -> None:
    document = watching("pay", provider="CodeStarSourceConnection", repository="Example-Org/Payments", branch="main")
    github = change(provider="GitHub", repository="example-org/payments", reference_name="main")
    assert match(declared(document), github, no_paths).starts
    document["stages"][0]["actions"][0]["configuration"]["DetectChanges"] = "false"
    assert match(declared(document), github, no_paths).reasons == ["Source: DetectChanges is false"]


def test_execution_names_are_stable_per_event_and_valid_for_step_functions() -> None:
    first = change(reference_name="feature/Ünïcode branch with a very long name indeed, and more")
    assert first.execution_name() == first.execution_name()
    assert first.execution_name() != change(event_id="event-2").execution_name()
    name = first.execution_name()
    assert len(name) <= 80
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in name), name


def test_state_machine_names_keep_distinct_pipelines_distinct() -> None:
    assert state_machine_name("FriendReminders") == "stepline-FriendReminders"
    dotted, dashed = state_machine_name("app.web"), state_machine_name("app-web")
    assert dotted != dashed
    assert len(state_machine_name("p" * 100)) == 80


@pytest.fixture
def engine() -> Any:
    engine = Engine(functions=Functions({}))
    yield engine
    engine.close()


def register(engine: Engine, registry: SqliteRegistry, document: dict[str, Any]) -> str:
    pipeline = declared(document)
    compiled = compile_checked(pipeline)
    definition = substitute(
        compiled.definition, {p: f"arn:aws:lambda:us-east-1:111122223333:function:{p}" for p in compiled.placeholders}
    )
    arn = engine.create_state_machine(state_machine_name(pipeline.name), definition)["stateMachineArn"]
    registry.put(
        RegisteredPipeline(
            name=pipeline.name,
            state_machine_arn=arn,
            declaration=pipeline.model_dump(by_alias=True, exclude_none=True, mode="json"),
            registered_at=0.0,
        )
    )
    return str(arn)


def test_a_change_starts_each_matching_pipeline_once_even_when_redelivered(tmp_path: Path, engine: Engine) -> None:
    # Given three registered pipelines on the embedded engine, two watching master
    registry = SqliteRegistry(tmp_path / "pipelines.sqlite")
    main = register(engine, registry, watching("app-main"))
    register(engine, registry, watching("app-develop", branch="develop"))
    also = register(engine, registry, watching("app-audit", executionMode="QUEUED"))
    workflows = EngineWorkflows(engine)
    # When a push to master arrives
    report = start_matching(change(), registry, workflows, None)
    # Then both master pipelines start, with the commit to build in their input
    assert sorted(report.started) == sorted(
        [f"{machine.replace(':stateMachine:', ':execution:')}:{change().execution_name()}" for machine in (main, also)]
    )
    assert report.skipped == {"app-develop": ["Source: watches branch 'develop'"]}
    assert report.warnings == []  # every execution mode is built: none is warned about
    given = json.loads(engine.describe_execution(report.started[0])["input"])
    assert given["trigger"]["type"] == "CloudWatchEvent"
    assert given["trigger"]["revisions"]["Source"]["commitId"] == change().commit_id
    # When the same event is delivered again, Then nothing new starts
    again = start_matching(change(), registry, workflows, None)
    assert again.started == []
    assert sorted(again.already_started) == ["app-audit", "app-main"]
    assert len(engine.list_executions(main)["executions"]) == 1


def _delivered(delivery: str) -> dict[str, Any]:
    """The signed sample push (events/api/github-push.json) with ``delivery`` as its id: the
    delivery id is not covered by GitHub's signature, so anyone holding a captured push can."""
    event = load_event("api/github-push.json")
    event["headers"]["X-GitHub-Delivery"] = delivery
    return event


def test_a_captured_push_replayed_with_a_fresh_delivery_id_starts_nothing(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pipeline watching example-org/payments main, behind the webhook route
    monkeypatch.setenv("STEPLINE_RUNTIME", "local")
    monkeypatch.setenv("STEPLINE_DATA", str(tmp_path / ".stepline"))
    monkeypatch.setenv("STEPLINE_SECRET_STEPLINE_GITHUB_WEBHOOK_SECRET", "It's a Secret to Everybody")
    wiring.reset()
    registry = SqliteRegistry(tmp_path / "pipelines.sqlite")
    machine = register(
        engine,
        registry,
        watching("pay", provider="CodeStarSourceConnection", repository="example-org/payments", branch="main"),
    )
    wiring.install_pushes(PushesToPipelines(registry, EngineWorkflows(engine)))
    try:
        # When GitHub delivers the signed push, Then one execution starts
        first = handle(_delivered("72d3162e-cc78-11e3-81ab-4c9367dc0958"), None)
        assert first["statusCode"] == 202, first["body"]
        assert len(json.loads(first["body"])["started"]) == 1
        # When an attacker re-sends the captured push with a new X-GitHub-Delivery (and again)
        for delivery in ("00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"):
            replay = handle(_delivered(delivery), None)
            # Then the signature still checks out, but no second execution starts at the old commit
            assert replay["statusCode"] == 202, replay["body"]
            assert json.loads(replay["body"])["started"] == []
        assert len(engine.list_executions(machine)["executions"]) == 1
    finally:
        wiring.reset()


def test_github_and_hook_pushes_are_named_by_the_push_and_codecommit_by_its_event() -> None:
    # Given the same move of a branch reported twice under different event ids
    for provider in ("GitHub", "Git"):
        first, again = (
            change(provider=provider, event_id="delivery-1"),
            change(provider=provider, event_id="delivery-2"),
        )
        # Then a GitHub or hook push gets one name: its delivery id is not part of what is signed
        assert first.execution_name() == again.execution_name()
        # And another move of the branch, or another repository, gets another name
        assert first.execution_name() != change(provider=provider, commit_id="f" * 40).execution_name()
        assert first.execution_name() != change(provider=provider, old_commit_id="e" * 40).execution_name()
        assert first.execution_name() != change(provider=provider, repository="Other").execution_name()
        assert first.execution_name() != change(provider=provider, reference_name="develop").execution_name()
    # And a CodeCommit event keeps its EventBridge id: only AWS can emit it (aws.* sources are
    # reserved), so a branch moved back and forth to the same commits starts each time
    assert change(event_id="event-1").execution_name() != change(event_id="event-2").execution_name()
