"""Git-based source actions on one machine, against real repositories made in the test."""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path
from typing import Any

import pytest

from stepline.actions.errors import SourceNotFoundError
from stepline.actions.request import ActionRequest
from stepline.actions.source import run_source_action
from stepline.adapters.local.artifacts import LocalArtifactStore
from stepline.adapters.local.sources import LocalGitSources
from stepline.errors import ConfigurationError
from tests.gitrepo import Repo
from tests.helpers import load_event

BINARY = bytes(range(256)) * 4


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repository = Repo(tmp_path / "sample-app")
    repository.commit(
        "Initial app",
        {
            "app.py": "print('v1')\n",
            "assets/logo.png": BINARY,
            "docs/internal.md": "not shipped",
            ".gitattributes": "docs/ export-ignore\n",
        },
    )
    (repository.path / "current").symlink_to("app.py")
    repository.commit("Link the current entry point")
    return repository


def request_for(repo: Repo, **changes: Any) -> ActionRequest:
    event = copy.deepcopy(load_event("source/git-push.json"))
    event["action"]["configuration"]["RepositoryUrl"] = str(repo.path)
    event["trigger"] = changes.pop("trigger", {"type": "StartPipelineExecution"})
    for key, value in changes.items():
        event["action"]["configuration"][key] = value
    return ActionRequest.model_validate(event)


def run(
    tmp_path: Path, request: ActionRequest, mapping: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, bytes]]:
    sources = LocalGitSources(base=tmp_path, cache=tmp_path / "cache", mapping=mapping or {})
    result = run_source_action(request, sources, LocalArtifactStore(tmp_path / "artifacts"))
    location = next(iter(result["artifacts"].values()))["location"]
    with zipfile.ZipFile(location.removeprefix("file://")) as bundle:
        contents = {info.filename: bundle.read(info) for info in bundle.infolist() if not info.is_dir()}
    return result, contents


def test_the_branch_head_is_packed_exactly(tmp_path: Path, repo: Repo) -> None:
    result, contents = run(tmp_path, request_for(repo))
    assert set(contents) == {"app.py", "assets/logo.png", ".gitattributes", "current"}
    assert contents["assets/logo.png"] == BINARY
    assert contents["current"] == b"app.py"  # a symbolic link, stored as a link
    assert result["artifacts"]["SourceCode"]["type"] == "Local"
    head = repo.git("rev-parse", "HEAD").strip()
    assert result["variables"] == {
        "CommitId": head,
        "CommitMessage": "Link the current entry point",
        "BranchName": "main",
        "AuthorDate": "2026-01-01T00:02:00+00:00",
        "CommitterDate": "2026-01-01T00:02:00+00:00",
        "RepositoryName": "sample-app",
    }


def test_the_commit_named_by_the_trigger_wins_over_the_branch_head(tmp_path: Path, repo: Repo) -> None:
    first = repo.git("rev-list", "--max-parents=0", "HEAD").strip()
    repo.commit("Later work", {"app.py": "print('v2')\n"})
    trigger = {
        "type": "GitPush",
        "revisions": {"Checkout": {"referenceType": "branch", "referenceName": "main", "commitId": first}},
    }
    result, contents = run(tmp_path, request_for(repo, trigger=trigger))
    assert result["variables"]["CommitId"] == first
    assert contents["app.py"] == b"print('v1')\n"
    assert "current" not in contents


def test_other_branches_tags_and_empty_commits(tmp_path: Path, repo: Repo) -> None:
    repo.git("checkout", "--quiet", "-b", "release")
    empty = repo.commit("Release marker", allow_empty=True)
    repo.git("tag", "v1.0")
    result, contents = run(tmp_path, request_for(repo, BranchName="release"))
    assert (result["variables"]["CommitId"], result["variables"]["BranchName"]) == (empty, "release")
    assert "app.py" in contents
    tag = {
        "type": "GitPush",
        "revisions": {"Checkout": {"referenceType": "tag", "referenceName": "v1.0", "commitId": "v1.0"}},
    }
    tagged, _ = run(tmp_path, request_for(repo, trigger=tag))
    assert tagged["variables"]["CommitId"] == empty


def test_a_repository_by_url_is_mirrored_and_refreshed(tmp_path: Path, repo: Repo) -> None:
    request = request_for(repo, RepositoryUrl=f"file://{repo.path}")
    first, _ = run(tmp_path, request)
    newer = repo.commit("Newer", {"app.py": "print('v3')\n"})
    second, contents = run(tmp_path, request)
    assert first["variables"]["CommitId"] != newer
    assert second["variables"]["CommitId"] == newer
    assert contents["app.py"] == b"print('v3')\n"


def test_codecommit_and_github_sources_map_to_local_repositories(tmp_path: Path, repo: Repo) -> None:
    codecommit = ActionRequest.model_validate(load_event("source/codecommit-branch-head.json"))
    repo.git("branch", "master")
    result, _ = run(tmp_path, codecommit, {"FriendReminders": str(repo.path)})
    assert set(result["artifacts"]) == {"SourceArtifact"}
    assert result["variables"]["RepositoryName"] == "FriendReminders"
    event = load_event("source/codecommit-branch-head.json")
    event["action"]["actionTypeId"] = {
        "category": "Source",
        "owner": "ThirdParty",
        "provider": "GitHub",
        "version": "1",
    }
    event["action"]["configuration"] = {
        "Owner": "example-org",
        "Repo": "reminders",
        "Branch": "master",
        "OAuthToken": "****",
    }
    github, _ = run(tmp_path, ActionRequest.model_validate(event), {"example-org/reminders": str(repo.path)})
    assert (
        github["variables"]["CommitUrl"]
        == f"https://github.com/example-org/reminders/commit/{github['variables']['CommitId']}"
    )


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"BranchName": "nope"}, SourceNotFoundError, "branch 'nope' does not exist (branches: main)"),
        ({"RepositoryUrl": "/definitely/not/here"}, SourceNotFoundError, "/definitely/not/here does not exist"),
        (
            {"trigger": {"revisions": {"Checkout": {"commitId": "0123456789abcdef0123456789abcdef01234567"}}}},
            SourceNotFoundError,
            "commit 0123456789abcdef0123456789abcdef01234567 is not in the repository",
        ),
    ],
)
def test_missing_things_are_named(
    tmp_path: Path, repo: Repo, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        run(tmp_path, request_for(repo, **changes))
    assert message in str(caught.value)


def test_a_folder_that_is_not_a_repository_and_an_unmapped_codecommit_repository(tmp_path: Path, repo: Repo) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(SourceNotFoundError, match="is not a git repository"):
        run(tmp_path, request_for(repo, RepositoryUrl=str(plain)))
    with pytest.raises(ConfigurationError) as caught:
        run(tmp_path, ActionRequest.model_validate(load_event("source/codecommit-branch-head.json")))
    assert (
        "no local repository is mapped for CodeCommit repository 'FriendReminders': pass --source FriendReminders=PATH"
        in str(caught.value)
    )
