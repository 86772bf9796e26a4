"""The sweeper (every five minutes, EventBridge Scheduler): finish what no event finished.

Builds, ECS deployments, Step Functions executions, CloudFormation operations, CodeDeploy
deployments and Elastic Beanstalk updates whose waiters are older than ``older_than`` seconds
are polled (BatchGetBuilds, DescribeServices, DescribeExecution, DescribeStacks,
BatchGetDeployments, DescribeEnvironments) and those that ended
are answered through the same ``settle`` as their events; decisions on
approvals recorded but never answered are answered again. So a dropped event, or a crash
between a decision and its answer, costs a pipeline minutes, not the task's timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from stepline.actions.approval import answer_unanswered
from stepline.actions.build.codebuild import build_work
from stepline.actions.completions import WorkKind, sweep
from stepline.actions.deploy.beanstalk import environment_work
from stepline.actions.deploy.codedeploy import deployment_work as codedeploy_work
from stepline.actions.deploy.ecs import deployment_work
from stepline.actions.deploy.stack_work import stack_work
from stepline.actions.invoke_states import execution_work
from stepline.ports.approvals import Approvals
from stepline.ports.artifacts import ArtifactStore
from stepline.ports.aws_deploys import CodeDeployments, Environments, Stacks
from stepline.ports.builds import BuildService
from stepline.ports.deployments import ContainerService
from stepline.ports.waiters import TaskCallbacks, Waiters
from stepline.ports.workflows import Workflows

DEFAULT_OLDER_THAN_SECONDS = 5 * 60


class WorkKinds(Mapping[str, WorkKind]):
    """The kinds of work, each built when a waiter of that kind is first polled: a sweep with no
    stack waiting makes no CloudFormation client (building one loads its service model)."""

    def __init__(self, factories: Mapping[str, Callable[[], WorkKind]]) -> None:
        self._factories = factories
        self._built: dict[str, WorkKind] = {}

    def __getitem__(self, kind: str) -> WorkKind:
        if kind not in self._built:
            self._built[kind] = self._factories[kind]()
        return self._built[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)


def work_kinds(
    builds: Callable[[], BuildService],
    ecs: Callable[[], ContainerService],
    workflows: Callable[[], Workflows],
    store: Callable[[], ArtifactStore],
    stacks: Callable[[], Stacks],
    deployments: Callable[[], CodeDeployments],
    environments: Callable[[], Environments],
) -> WorkKinds:
    """Every kind of work, from the functions that make its ports (the wiring's)."""
    return WorkKinds(
        {
            "build": lambda: build_work(builds()),
            "ecs": lambda: deployment_work(ecs()),
            "sfn": lambda: execution_work(workflows(), store()),
            "cfn": lambda: stack_work(stacks(), store()),
            "codedeploy": lambda: codedeploy_work(deployments()),
            "beanstalk": lambda: environment_work(environments()),
        }
    )


def sweep_once(
    waiters: Waiters,
    approvals: Approvals,
    kinds: Mapping[str, WorkKind],
    callbacks: TaskCallbacks,
    now: float,
    older_than: float = DEFAULT_OLDER_THAN_SECONDS,
) -> list[str]:
    """What was answered, a line each."""
    return sweep(waiters, kinds, callbacks, now, older_than) + answer_unanswered(approvals, callbacks, now - older_than)
