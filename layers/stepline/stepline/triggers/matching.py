"""Which pipelines a repository change starts, and with which revision for which source action.

A pipeline watches a change when one of its first-stage source actions reads that repository.
With a V2 trigger for that action, its push filters decide (any filter may match; within one,
branches or tags and file paths must all match; excludes win over includes). Without one, a
push to the action's own branch starts it and tags start nothing — CodePipeline's rules, with
file-path filters applied to CodeCommit and plain git too.

A pull request starts a pipeline only through a trigger's ``pullRequest`` filters (any may
match): the request's event must be one the filter lists (all three when it lists none), its
*destination* branch must be included by the branches filter, and one of the files it changes
(destination to source commit) by the file-path filter; excludes win over includes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stepline.definition.globs import any_match
from stepline.definition.models import (
    ActionDeclaration,
    FilterCriteria,
    GitPullRequestFilter,
    GitPushFilter,
    PipelineDeclaration,
    PipelineTriggerDeclaration,
)
from stepline.definition.providers import SourceRepository, local_repository, source_repository
from stepline.triggers.changes import RepositoryChange

# The changed files, asked only when a filter needs them; None when nothing can list them
# (Bitbucket's push and GitLab's and Bitbucket's merge requests name no files).
PathsOf = Callable[[], set[str] | None]
CONNECTION_PROVIDERS = frozenset({"GitHub", "GitLab", "Bitbucket"})
POLLED = "PollForSourceChanges is true: the poller starts it (events would start it twice)"


def polls(action: ActionDeclaration) -> bool:
    """Whether the action asks to be polled (stepline.triggers.polling), not started by events."""
    return action.configuration.get("PollForSourceChanges", "").lower() == "true"


@dataclass
class Match:
    """The outcome for one pipeline: the source actions the change starts it with, or why not."""

    pipeline: str
    actions: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def starts(self) -> bool:
        return bool(self.actions)


def match(
    pipeline: PipelineDeclaration, change: RepositoryChange, paths: PathsOf, sources: Mapping[str, str] | None = None
) -> Match:
    """Whether ``change`` starts ``pipeline``; ``paths`` is asked only if a filter needs them;
    ``sources`` maps its service repositories to local ones (on one machine)."""
    outcome = Match(pipeline.name)
    if change.deleted and change.pull_request is None:
        outcome.reasons.append(f"{change.reference_type} {change.reference_name} was deleted")
        return outcome
    triggers = {trigger.git_configuration.source_action_name: trigger for trigger in pipeline.triggers}
    for action in pipeline.stages[0].actions if pipeline.stages else []:
        repository = source_repository(action)
        if repository is None or not watches(repository, change, sources or {}):
            continue
        if not repository.detects_changes:
            outcome.reasons.append(f"{action.name}: DetectChanges is false")
            continue
        if polls(action):
            outcome.reasons.append(f"{action.name}: {POLLED}")
            continue
        reason = _refusal(repository, triggers.get(action.name), change, paths)
        if reason is None:
            outcome.actions.append(action.name)
        else:
            outcome.reasons.append(f"{action.name}: {reason}")
    if not outcome.actions and not outcome.reasons:
        outcome.reasons.append(f"no source action reads {change.provider} repository {change.repository}")
    return outcome


def watches(repository: SourceRepository, change: RepositoryChange, sources: Mapping[str, str]) -> bool:
    """Whether the source's repository is the one the change happened in: on one machine a
    CodeCommit, connection or GitHub source is watched at the local repository mapped to it."""
    if change.provider == "Git" and repository.host != "Git":
        mapped = local_repository(repository, sources)
        return mapped is not None and _same_location(mapped, change.repository)
    if repository.host == "Connection":
        # A connection's FullRepositoryId names a GitHub, GitLab or Bitbucket repository; the
        # three compare owner and repository names without case.
        return change.provider in CONNECTION_PROVIDERS and repository.name.lower() == change.repository.lower()
    if repository.host != change.provider:
        return False
    named = repository.name
    if change.provider == "GitHub":  # GitHub compares owner and repository names without case
        return named.lower() == change.repository.lower()
    if change.provider == "Git":
        return _same_location(named, change.repository)
    return named == change.repository


def _same_location(configured: str, changed: str) -> bool:
    if configured == changed:
        return True
    if "://" in configured or configured.startswith("git@"):
        return False
    return Path(configured).expanduser().resolve() == Path(changed).expanduser().resolve()


def _refusal(
    repository: SourceRepository,
    trigger: PipelineTriggerDeclaration | None,
    change: RepositoryChange,
    paths: PathsOf,
) -> str | None:
    """Why the change does not start the pipeline through this action; None when it does."""
    if change.pull_request is not None:
        return _pull_request_refusal(trigger, change, paths)
    if trigger is None:
        if change.reference_type == "tag":
            return "a tag push starts a pipeline only through a trigger with a tags filter"
        branch = repository.branch
        return None if change.reference_name == branch else f"watches branch {branch!r}"
    return _any_filter("push", [_filter_refusal(push, change, paths) for push in trigger.git_configuration.push or []])


def _filter_refusal(push: GitPushFilter, change: RepositoryChange, paths: PathsOf) -> str | None:
    if change.reference_type == "tag":
        if push.tags is None:
            return "filters branches, and this is a tag push"
        return _criteria_refusal(push.tags, [change.reference_name], "tag")
    if push.branches is None:
        return "filters tags, and this is a branch push"
    refusal = _criteria_refusal(push.branches, [change.reference_name], "branch")
    if refusal is None and push.file_paths is not None:
        refusal = _paths_refusal(push.file_paths, change, paths)
    return refusal


def _paths_refusal(criteria: FilterCriteria, change: RepositoryChange, paths: PathsOf) -> str | None:
    changed = paths()
    if changed is None:
        return f"filters file paths, and {change.provider} does not say which files this change touches"
    return _criteria_refusal(criteria, sorted(changed), "changed file")


def _criteria_refusal(criteria: FilterCriteria, names: Iterable[str], what: str) -> str | None:
    """None if some name is included and not excluded (no includes: everything is included)."""
    names = list(names)
    for name in names:
        if criteria.excludes and any_match(criteria.excludes, name):
            continue
        if not criteria.includes or any_match(criteria.includes, name):
            return None
    if not names:
        return f"needs a {what}, and the push changed none"
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"does not include {what} {shown}"


def _pull_request_refusal(
    trigger: PipelineTriggerDeclaration | None, change: RepositoryChange, paths: PathsOf
) -> str | None:
    if trigger is None:
        return "a pull request starts a pipeline only through a trigger with pullRequest filters"
    pulls = trigger.git_configuration.pull_request or []
    return _any_filter("pullRequest", [_pull_filter_refusal(pull, change, paths) for pull in pulls])


def _any_filter(kind: str, refusals: list[str | None]) -> str | None:
    """None when some filter passes (refusals holds each filter's reason, None for a pass)."""
    if not refusals:
        return f"its trigger has no {kind} filters"
    if any(refusal is None for refusal in refusals):
        return None
    return "; ".join(f"{kind}[{index}] {refusal}" for index, refusal in enumerate(refusals))


def _pull_filter_refusal(pull: GitPullRequestFilter, change: RepositoryChange, paths: PathsOf) -> str | None:
    request = change.pull_request
    assert request is not None  # the caller checked
    events = [event.value for event in pull.events] if pull.events else ["OPEN", "UPDATED", "CLOSED"]
    if request.event not in events:
        return f"does not include the event {request.event} (it lists {', '.join(events)})"
    refusal = None
    if pull.branches is not None:
        refusal = _criteria_refusal(pull.branches, [request.destination_branch], "destination branch")
    if refusal is None and pull.file_paths is not None:
        refusal = _paths_refusal(pull.file_paths, change, paths)
    return refusal
