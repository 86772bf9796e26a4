"""Actions that act on an AWS account from this machine (CloudFormation, ECS, Lambda deploys):
said before a run starts when no credentials would let them, instead of a botocore error
mid-pipeline. ``STEPLINE_AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL``) sends them to an emulator
such as moto's server, which takes any credentials."""

from __future__ import annotations

from collections.abc import Mapping

from stepline.adapters.aws import credentials_available
from stepline.definition.models import PipelineDeclaration
from stepline.definition.providers import find_provider


def aws_actions(pipeline: PipelineDeclaration, sources: Mapping[str, str]) -> list[str]:
    """``Stage.Action (Provider)`` of every action that acts on an AWS account: the deploy
    providers, and ECR sources whose repository is not mapped to an image reference file."""
    found = []
    for stage in pipeline.stages:
        for action in stage.actions:
            provider = find_provider(action.action_type_id)
            if provider is None:
                continue
            unmapped_ecr = provider.key == ("Source", "AWS", "ECR") and (
                action.configuration.get("RepositoryName") not in sources
            )
            if provider.acts_on_aws or unmapped_ecr:
                found.append(f"{stage.name}.{action.name} ({action.action_type_id})")
    return found


def missing_credentials(pipeline: PipelineDeclaration, sources: Mapping[str, str]) -> str | None:
    """What to tell the user when some action needs AWS and no credentials are found."""
    actions = aws_actions(pipeline, sources)
    if not actions or credentials_available():
        return None
    return (
        f"no AWS credentials found, and {len(actions)} action{'s' if len(actions) > 1 else ''} act on an AWS "
        f"account: {', '.join(actions)}. Configure credentials (aws configure, AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), map ECR sources to image reference files "
        "(--source REPOSITORY=FILE), or run them against an emulator: "
        "STEPLINE_AWS_ENDPOINT_URL=http://127.0.0.1:5000 (moto_server) with any credentials, e.g. "
        "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
    )
