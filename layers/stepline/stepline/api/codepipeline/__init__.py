"""CodePipeline's own API, spoken by Stepline (docs/ARCHITECTURE.md, "The CodePipeline API").

``protocol`` answers ``POST /`` (JSON 1.1, SigV4 in ``sigv4``, shapes checked against
botocore's model in ``shapes``, errors in ``errors``); one module per group of operations
registers its implementations: ``pipelines``, ``executions``, ``state``, ``approvals``,
``levers``, ``action_types`` and ``jobs`` (a job's artifacts: ``artifacts``). Importing this
package registers them all.
"""

from stepline.api.codepipeline import (
    action_types,
    approvals,
    artifacts,
    executions,
    jobs,
    levers,
    pipelines,
    state,
)
from stepline.api.codepipeline.protocol import OPERATIONS, router

__all__ = [
    "OPERATIONS",
    "action_types",
    "approvals",
    "artifacts",
    "executions",
    "jobs",
    "levers",
    "pipelines",
    "router",
    "state",
]
