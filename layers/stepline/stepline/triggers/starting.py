"""Start the pipelines a repository change matches: once per event, whatever redelivers it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache

from stepline.definition.models import ExecutionMode
from stepline.observability import logger
from stepline.ports.pipelines import Registry
from stepline.ports.pushes import GitHubPush
from stepline.ports.sources import ChangedPaths
from stepline.ports.workflows import Workflows, start_new
from stepline.triggers.changes import RepositoryChange, from_github
from stepline.triggers.matching import match

# CodePipeline's names for what started an execution (ListPipelineExecutions' trigger types);
# "GitHook" is Stepline's own, for a push to a repository on this machine.
TRIGGER_TYPES = {"CodeCommit": "CloudWatchEvent", "GitHub": "WebhookV2", "Git": "GitHook"}


@dataclass
class TriggerReport:
    started: list[str] = field(default_factory=list)  # execution ARNs
    already_started: list[str] = field(default_factory=list)  # pipelines this event started before
    skipped: dict[str, list[str]] = field(default_factory=dict)  # pipeline → why not
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "started": self.started,
            "alreadyStarted": self.already_started,
            "skipped": self.skipped,
            "warnings": self.warnings,
        }


def trigger_input(change: RepositoryChange, actions: list[str]) -> dict[str, object]:
    """The execution input: the commit each matching source action fetches."""
    return {
        "trigger": {
            "type": TRIGGER_TYPES[change.provider],
            "eventId": change.event_id,
            "revisions": {action: change.revision() for action in actions},
        },
        "variables": {},
    }


def start_matching(
    change: RepositoryChange, registry: Registry, workflows: Workflows, changed_paths: ChangedPaths | None
) -> TriggerReport:
    report = TriggerReport()

    @cache
    def paths() -> set[str]:
        # Asked once, and only when some pipeline's filters look at files.
        if change.paths is not None:
            return set(change.paths)
        if changed_paths is None:
            return set()
        return changed_paths.between(change.repository, change.old_commit_id, change.commit_id)

    for entry in sorted(registry.all(), key=lambda e: e.name):
        outcome = match(entry.pipeline, change, paths)
        if not outcome.starts:
            report.skipped[entry.name] = outcome.reasons
            continue
        mode = entry.pipeline.execution_mode
        if mode is not ExecutionMode.PARALLEL:
            warning = f"{entry.name}: executionMode {mode.value} is not built yet; executions run side by side"
            report.warnings.append(warning)
            logger.warning(warning)
        payload = json.dumps(trigger_input(change, outcome.actions), sort_keys=True)
        started = start_new(workflows, entry.state_machine_arn, change.execution_name(), payload)
        if started is None:
            report.already_started.append(entry.name)
        else:
            report.started.append(started)
    logger.info(
        "repository change handled",
        extra={
            "repository": change.repository,
            "reference": f"{change.reference_type}/{change.reference_name}",
            "commit": change.commit_id,
            "event": change.event_id,
            "started": report.started,
            "already_started": report.already_started,
            "skipped": report.skipped,
        },
    )
    return report


class PushesToPipelines:
    """The Pushes port the webhook receiver hands verified GitHub pushes to."""

    def __init__(self, registry: Registry, workflows: Workflows) -> None:
        self.registry = registry
        self.workflows = workflows

    def received(self, push: GitHubPush) -> list[str]:
        change = from_github(push)
        if change is None:
            logger.info("push to a ref that is neither a branch nor a tag", extra={"ref": push.ref})
            return []
        # GitHub lists each commit's files, so no repository is asked for changed paths.
        return start_matching(change, self.registry, self.workflows, None).started
