"""S3 and ECR sources on AWS, under moto: AWS's documented "Object Created" and "ECR Image
Action" examples (events/trigger/) are matched against template.yaml's own rule patterns with
moto's EventBridge matcher, then handed to the trigger function, which starts the pipelines
reading that object or tag in moto's Step Functions, once per version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stepline.ports.pipelines import RegisteredPipeline
from stepline.registry import state_machine_name
from tests.functional.test_triggers_aws import ROLE, Stack, stack, trigger  # noqa: F401 - the fixture
from tests.helpers import action, codebuild, load_event, pipeline, trigger_rules_routing

pytestmark = pytest.mark.functional


def test_the_template_routes_s3_versions_of_source_buckets_and_ecr_pushes() -> None:
    assert trigger_rules_routing(load_event("trigger/s3-object-created.json")) == ["ObjectCreated"]
    elsewhere = load_event("trigger/s3-object-created.json") | {"resources": ["arn:aws:s3:::someone-elses-bucket"]}
    assert trigger_rules_routing(elsewhere) == []
    assert trigger_rules_routing(load_event("trigger/ecr-image-push.json")) == ["ImagePushed"]
    deleted = load_event("trigger/ecr-image-push.json")
    deleted["detail"]["action-type"] = "DELETE"
    assert trigger_rules_routing(deleted) == []


def s3_pipeline(name: str, key: str) -> dict[str, Any]:
    source = action(
        "Source", "Source", "S3", configuration={"S3Bucket": "example-bucket", "S3ObjectKey": key}, outputs=["Src"]
    )
    return pipeline(("Source", [source]), ("Build", [codebuild("Build", source="Src")]), name=name)


def test_a_new_object_version_starts_the_pipelines_on_that_key_once(stack: Stack) -> None:  # noqa: F811
    # Given two pipelines on example-bucket: one on example-key, one on another key
    stack.register(s3_pipeline("bundle", "example-key"))
    stack.register(s3_pipeline("other-bundle", "other-key"))
    # When S3 reports the documented new version of example-key
    answer = trigger("s3-object-created.json")
    # Then the pipeline on that key starts, told which version to fetch
    assert stack.started() == {"bundle": 1}
    assert answer["skipped"]["other-bundle"] == ["Source: watches 'other-key', not 'example-key'"]
    assert stack.input_of("bundle")["trigger"]["revisions"]["Source"] == {
        "provider": "S3",
        "bucket": "example-bucket",
        "key": "example-key",
        "versionId": "IYV3p45BT0ac8hjHg1houSdS1a.Mppf",
        "etag": "b1946ac92492d2347c6235b4d2611184",
    }
    # When EventBridge delivers it again, Then nothing new starts
    assert trigger("s3-object-created.json")["alreadyStarted"] == ["bundle"]
    assert stack.started() == {"bundle": 1}


def test_an_ecr_push_starts_the_pipeline_on_that_tag_once(stack: Stack) -> None:  # noqa: F811
    # Given a pipeline whose source is the image my-repository-name:latest. Source/AWS/ECR has
    # no action provider in this build, so its state machine is a stand-in (a Pass state): the
    # trigger only starts it.
    name = "image-release"
    source = action("Image", "Source", "ECR", configuration={"RepositoryName": "my-repository-name"}, outputs=["Img"])
    document = pipeline(("Source", [source]), ("Build", [codebuild("Build", source="Img")]), name=name)
    arn = stack.stepfunctions.create_state_machine(
        name=state_machine_name(name),
        definition=json.dumps({"StartAt": "Go", "States": {"Go": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
    )["stateMachineArn"]
    stack.machines[name] = arn
    stack.registry.put(RegisteredPipeline(name=name, state_machine_arn=arn, declaration=document, registered_at=1.0))
    # When ECR reports the documented push of :latest (twice)
    trigger("ecr-image-push.json")
    trigger("ecr-image-push.json")
    # Then it started once, with the digest pushed
    assert stack.started() == {name: 1}
    revision = stack.input_of(name)["trigger"]["revisions"]["Image"]
    assert revision["imageDigest"] == "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"
