"""What `stepline deploy` checks before it creates anything: every resource the pipeline names
exists, carries the tag that lets Stepline act on it, and — for the CodeBuild projects and
Lambda functions that read and write artifacts themselves — runs under a role IAM's policy
simulation allows on the artifact bucket. Each problem says exactly what to run to fix it.

The stack's policies reach only resources tagged ``stepline=enabled`` (template.yaml), so an
untagged project would fail at its first build with AccessDenied; this says so at deploy time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from stepline.definition.models import ActionDeclaration, PipelineDeclaration
from stepline.ports.targets import Target, TargetCheckUnavailable, Targets

TAG_KEY, TAG_VALUE = "stepline", "enabled"
# What a build's service role does with artifacts (CodeBuild reads the bucket's ACL and location
# before using it as a source or an artifact location).
BUILD_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
BUILD_BUCKET_ACTIONS = ["s3:GetBucketAcl", "s3:GetBucketLocation"]


@dataclass
class Preflight:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ArtifactBucket:
    name: str
    policy_arn: str  # the stack's ArtifactAccessPolicy

    @property
    def arn(self) -> str:
        partition = self.policy_arn.split(":")[1] if self.policy_arn.startswith("arn:") else "aws"
        return f"arn:{partition}:s3:::{self.name}"


def check_targets(pipeline: PipelineDeclaration, targets: Targets, bucket: ArtifactBucket) -> Preflight:
    report = Preflight()
    objects = f"{bucket.arn}/{pipeline.name}/stepline-access-check.zip"
    for stage in pipeline.stages:
        for action in stage.actions:
            label = f"{stage.name}.{action.name}"
            try:
                _check(action, label, targets, bucket, objects, report)
            except TargetCheckUnavailable as error:
                report.warnings.append(f"{label}: could not check its target ({error}); deploying anyway")
    return report


def _check(
    action: ActionDeclaration, label: str, targets: Targets, bucket: ArtifactBucket, objects: str, report: Preflight
) -> None:
    kind = (action.action_type_id.category, action.action_type_id.provider)
    configuration = action.configuration or {}
    if kind in {("Build", "CodeBuild"), ("Test", "CodeBuild")}:
        name = configuration.get("ProjectName", "")
        project = _found(targets.build_project, name, f"{label}: CodeBuild project {name!r}", report)
        if project is not None:
            _tagged(project, f"{label}: CodeBuild project {name!r}", report)
            _can(
                targets, project, BUILD_OBJECT_ACTIONS, objects, f"{label}: CodeBuild project {name!r}", bucket, report
            )
            _can(
                targets,
                project,
                BUILD_BUCKET_ACTIONS,
                bucket.arn,
                f"{label}: CodeBuild project {name!r}",
                bucket,
                report,
            )
    elif kind in {("Invoke", "Lambda"), ("Deploy", "Lambda")}:
        name = configuration.get("FunctionName", "")
        function = _found(targets.function, name, f"{label}: Lambda function {name!r}", report)
        if function is not None:
            _tagged(function, f"{label}: Lambda function {name!r}", report)
            wanted = (["s3:GetObject"] if action.input_artifacts else []) + (
                ["s3:PutObject"] if action.output_artifacts else []
            )
            if kind[0] == "Invoke" and wanted:
                _can(targets, function, wanted, objects, f"{label}: Lambda function {name!r}", bucket, report)
    elif kind == ("Invoke", "StepFunctions"):
        arn = configuration.get("StateMachineArn", "")
        machine = _found(targets.state_machine, arn, f"{label}: state machine {arn}", report)
        if machine is not None:
            _tagged(machine, f"{label}: state machine {arn}", report)
    elif kind == ("Deploy", "ECS"):
        cluster, service = configuration.get("ClusterName", ""), configuration.get("ServiceName", "")
        found = _found(
            lambda _: targets.service(cluster, service), service, f"{label}: ECS service {cluster}/{service}", report
        )
        if found is not None:
            _tagged(found, f"{label}: ECS service {cluster}/{service}", report)
    elif kind == ("Source", "CodeCommit"):
        name = configuration.get("RepositoryName", "")
        repository = _found(targets.repository, name, f"{label}: CodeCommit repository {name!r}", report)
        if repository is not None:
            _tagged(repository, f"{label}: CodeCommit repository {name!r}", report)


def _found(lookup: Callable[[str], Target | None], name: str, what: str, report: Preflight) -> Target | None:
    target = lookup(name)
    if target is None:
        report.problems.append(f"{what} does not exist in this account and Region")
    else:
        report.checked.append(what)
    return target


def _tagged(target: Target, what: str, report: Preflight) -> None:
    if target.tags.get(TAG_KEY) != TAG_VALUE:
        report.problems.append(
            f"{what} is not tagged {TAG_KEY}={TAG_VALUE}, so Stepline may not act on it; tag it: "
            f"aws resourcegroupstaggingapi tag-resources --resource-arn-list {target.arn} --tags {TAG_KEY}={TAG_VALUE}"
        )


def _can(
    targets: Targets,
    target: Target,
    actions: list[str],
    resource: str,
    what: str,
    bucket: ArtifactBucket,
    report: Preflight,
) -> None:
    if not target.role:
        return
    denied = targets.denied(target.role, actions, resource)
    if denied:
        role_name = target.role.rsplit("/", 1)[-1]
        report.problems.append(
            f"{what} runs as {target.role}, which may not {', '.join(denied)} on the artifact bucket "
            f"{bucket.name}; attach the stack's artifact policy: "
            f"aws iam attach-role-policy --role-name {role_name} --policy-arn {bucket.policy_arn}"
        )
