"""A job worker's artifact credentials on one machine: the server's own key (``stepline`` and
the API token, which the worker already signs its CodePipeline requests with); the server
serves only the objects the job names (``api/codepipeline/artifacts.py``)."""

from __future__ import annotations

from stepline.ports.jobs import ArtifactObject


class ServerArtifactCredentials:
    def __init__(self, token: str) -> None:
        self.token = token

    def for_job(self, job_id: str, reads: list[ArtifactObject], writes: list[ArtifactObject]) -> dict[str, str]:
        return {"accessKeyId": "stepline", "secretAccessKey": self.token, "sessionToken": ""}
