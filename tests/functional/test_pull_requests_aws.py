"""Pull request triggers on AWS, under moto: CodeCommit's documented "Pull Request State Change"
examples (events/trigger/) are matched against template.yaml's own rule patterns (with moto's
EventBridge pattern matcher), then handed to the trigger function, which starts the pipelines
whose pullRequest filters match in moto's Step Functions, once per event. GetDifferences,
which moto lacks, answers through botocore's Stubber."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from stepline import wiring
from tests.functional.test_triggers_aws import Stack, stack, trigger  # noqa: F401 - the fixture
from tests.helpers import load_event, trigger_rules_routing, watching

pytestmark = pytest.mark.functional


def differences(stubber: Stubber) -> None:
    stubber.add_response(
        "get_differences",
        {"differences": [{"afterBlob": {"path": "src/app.py", "blobId": "b", "mode": "100644"}, "changeType": "M"}]},
        {
            "repositoryName": "MyDemoRepo",
            "beforeCommitSpecifier": "12241970EXAMPLE",
            "afterCommitSpecifier": "2774290EXAMPLE",
        },
    )


@pytest.mark.parametrize("name", ["created", "source-branch-updated", "closed"])
def test_the_template_routes_each_documented_pull_request_event_to_the_trigger(name: str) -> None:
    assert trigger_rules_routing(load_event(f"trigger/codecommit-pull-request-{name}.json")) == [
        "PullRequestStateChange"
    ]


def test_comments_and_approvals_on_a_pull_request_are_not_trigger_rules_routing() -> None:
    event = load_event("trigger/codecommit-pull-request-created.json")
    event["detail"]["event"] = "pullRequestApprovalStateChanged"
    assert trigger_rules_routing(event) == []
    assert trigger_rules_routing(load_event("trigger/codecommit-branch-updated.json")) == ["RepositoryStateChange"]


def test_a_request_starts_the_pipelines_whose_pull_request_filters_match_once(stack: Stack) -> None:  # noqa: F811
    # Given pipelines on MyDemoRepo: previews of requests into master touching src/, and a push pipeline
    stack.register(
        watching(
            "demo-previews",
            repository="MyDemoRepo",
            pull_request=[
                {
                    "events": ["OPEN", "UPDATED"],
                    "branches": {"includes": ["master"]},
                    "filePaths": {"includes": ["src/**"]},
                }
            ],
        )
    )
    stack.register(watching("demo-cleanup", repository="MyDemoRepo", pull_request=[{"events": ["CLOSED"]}]))
    stack.register(watching("demo-main", repository="MyDemoRepo"))
    # When CodeCommit reports the request created (Stubber: GetDifferences, destination to source)
    with Stubber(wiring.client("codecommit")) as stubber:
        differences(stubber)
        answer = trigger("codecommit-pull-request-created.json")
        stubber.assert_no_pending_responses()
    # Then only the previews pipeline starts, on the source branch's commit, the request in its input
    assert stack.started() == {"demo-previews": 1}
    assert answer["skipped"]["demo-main"] == [
        "Source: a pull request starts a pipeline only through a trigger with pullRequest filters"
    ]
    given = stack.input_of("demo-previews")["trigger"]
    assert given["type"] == "CloudWatchEvent"
    assert given["revisions"]["Source"]["referenceName"] == "test-branch"
    assert given["revisions"]["Source"]["commitId"] == "2774290EXAMPLE"
    assert (given["pullRequest"]["number"], given["pullRequest"]["event"]) == ("1", "OPEN")
    assert given["pullRequest"]["destinationBranch"] == "master"
    # When EventBridge delivers it again, Then nothing new starts
    with Stubber(wiring.client("codecommit")) as stubber:
        differences(stubber)
        assert trigger("codecommit-pull-request-created.json")["alreadyStarted"] == ["demo-previews"]
    # When the request is closed, Then the cleanup pipeline starts (it filters no files)
    with Stubber(wiring.client("codecommit")):
        trigger("codecommit-pull-request-closed.json")
    assert stack.started() == {"demo-previews": 1, "demo-cleanup": 1}
