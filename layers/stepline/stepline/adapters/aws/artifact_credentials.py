"""A job worker's artifact credentials on AWS, as CodePipeline gives them: a role's temporary
credentials narrowed by a session policy to the job's input objects (read) and output objects
(write) in the artifact bucket."""

from __future__ import annotations

import json
from typing import Any

from stepline.ports.jobs import ArtifactObject

DURATION_SECONDS = 3600  # a worker has an hour to fetch and put; AssumeRole's default


def _arns(objects: list[ArtifactObject]) -> list[str]:
    return [f"arn:aws:s3:::{item.bucket}/{item.key}" for item in objects]


class StsArtifactCredentials:
    def __init__(self, client: Any, role_arn: str) -> None:
        self.client = client
        self.role_arn = role_arn

    def for_job(self, job_id: str, reads: list[ArtifactObject], writes: list[ArtifactObject]) -> dict[str, str]:
        statements = []
        if reads:
            statements.append({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": _arns(reads)})
        if writes:
            statements.append({"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": _arns(writes)})
        policy = {
            "Version": "2012-10-17",
            "Statement": statements or [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}],
        }
        issued = self.client.assume_role(
            RoleArn=self.role_arn,
            RoleSessionName=f"stepline-job-{job_id[:8]}",
            Policy=json.dumps(policy),
            DurationSeconds=DURATION_SECONDS,
        )["Credentials"]
        return {
            "accessKeyId": issued["AccessKeyId"],
            "secretAccessKey": issued["SecretAccessKey"],
            "sessionToken": issued["SessionToken"],
        }
