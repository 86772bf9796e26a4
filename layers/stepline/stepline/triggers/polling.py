"""Polling: sources declared ``PollForSourceChanges: "true"`` are checked about once a minute.

CodePipeline polls such sources itself (CodeCommit, S3, GitHub version 1) and does not
document how often; Stepline checks every ``POLL_SECONDS``. Its documented pitfall — a rule
or webhook *and* polling start the pipeline twice for one change — cannot happen here: an
action that polls is started by the poller only (events and webhooks skip it, saying so),
and the poller names the execution after the revision it found, so a poll repeated after a
crash starts nothing twice. The first poll of a source records what it finds and starts
nothing (registering a pipeline does not run it); each later change starts one execution
with that revision, trigger type ``PollForSourceChanges`` as in CodePipeline's history.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from stepline.definition.models import PipelineDeclaration
from stepline.observability import logger
from stepline.ports.pipelines import Registry
from stepline.ports.records import Records
from stepline.ports.sources import SourceHeads
from stepline.ports.workflows import Workflows
from stepline.triggers.matching import polls
from stepline.triggers.starting import TriggerReport, start_one

POLL_SECONDS = 60.0
POLL_EVENT = "Stepline Poll"  # the detail-type of what the poll schedule sends the trigger function
POLLED_PROVIDERS = frozenset({"CodeCommit", "S3", "GitHub"})


@dataclass(frozen=True)
class PolledSource:
    action: str
    provider: str
    configuration: Mapping[str, str]

    def revision(self, head: str) -> dict[str, object]:
        """What the source action fetches, in the shape each provider's trigger path gives it."""
        configuration = self.configuration
        if self.provider == "S3":
            return {
                "provider": "S3",
                "bucket": configuration["S3Bucket"],
                "key": configuration["S3ObjectKey"],
                "versionId": head,
            }
        if self.provider == "GitHub":
            repository, branch = f"{configuration['Owner']}/{configuration['Repo']}", configuration["Branch"]
        else:
            repository, branch = configuration["RepositoryName"], configuration["BranchName"]
        return {
            "provider": self.provider,
            "repositoryName": repository,
            "referenceType": "branch",
            "referenceName": branch,
            "commitId": head,
        }

    def execution_name(self, head: str) -> str:
        where = "\0".join(f"{key}={value}" for key, value in sorted(self.revision("").items()))
        digest = hashlib.sha256(f"poll\0{where}\0{head}".encode()).hexdigest()
        label = re.sub(r"[^A-Za-z0-9_-]", "-", self.action)[:30]
        return f"poll-{label}-{head[:8]}-{digest[:20]}"


def polled_sources(pipeline: PipelineDeclaration) -> list[PolledSource]:
    return [
        PolledSource(action.name, action.action_type_id.provider, action.configuration)
        for action in (pipeline.stages[0].actions if pipeline.stages else [])
        if action.action_type_id.provider in POLLED_PROVIDERS and polls(action)
    ]


def poll(registry: Registry, workflows: Workflows, heads: SourceHeads, seen: Records) -> TriggerReport:
    """Check every polled source once; start what changed since the last check."""
    report = TriggerReport()
    for entry in sorted(registry.all(), key=lambda e: e.name):
        for source in polled_sources(entry.pipeline):
            key = f"poll#{entry.name}#{source.action}"
            try:
                head = heads.head(source.provider, source.configuration)
            except Exception as error:  # one unreadable source (deleted, throttled) must not stop the others
                report.skipped.setdefault(entry.name, []).append(f"{source.action}: cannot be polled: {error}")
                continue
            before = seen.get(key)
            if before is not None and before.get("revision") != head:
                execution_input: dict[str, object] = {
                    "trigger": {
                        "type": "PollForSourceChanges",
                        "eventId": f"poll:{source.action}:{head}",
                        "revisions": {source.action: source.revision(head)},
                    },
                    "variables": {},
                }
                start_one(entry, source.execution_name(head), execution_input, workflows, report)
            if before is None or before.get("revision") != head:
                seen.put(key, {"revision": head})  # after the start: a crash in between polls it again
    if report.started or report.skipped:
        logger.info("sources polled", extra={"started": report.started, "skipped": report.skipped})
    return report
