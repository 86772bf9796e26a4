"""A job's artifacts through this server, as S3 serves them to a CodePipeline job worker:
``GetObject`` and ``PutObject`` on ``/stepline-artifacts/<job id>.<artifact name>`` (path-style),
SigV4-signed for ``s3`` with the job's ``artifactCredentials``. Only the artifacts a job names
are reachable: its inputs to read, its outputs to write, while the job is open. Errors are S3's
XML (``NoSuchKey``, ``AccessDenied``, ``SignatureDoesNotMatch``…)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from aws_lambda_powertools.event_handler import Response

from stepline import wiring
from stepline.api.codepipeline import sigv4
from stepline.api.codepipeline.errors import AwsError
from stepline.api.codepipeline.jobs import ARTIFACTS_BUCKET
from stepline.api.codepipeline.protocol import router, signed_request
from stepline.ports.artifacts import ArtifactNotFound
from stepline.ports.jobs import Job

_S3_CODES = {
    "InvalidSignatureException": "SignatureDoesNotMatch",
    "UnrecognizedClientException": "InvalidAccessKeyId",
    "com.amazon.coral.service#MissingAuthenticationTokenException": "AccessDenied",
}


def _error(status: int, code: str, message: str) -> Response[str]:
    body = f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    return Response(status, "application/xml", f'<?xml version="1.0" encoding="UTF-8"?>\n{body}')


def _s3_error(error: AwsError) -> Response[str]:
    """AWS's refusal as S3 words it (S3 answers a bad signature 403, not 400)."""
    return _error(error.status if error.status != 400 else 403, _S3_CODES.get(error.kind, error.kind), error.message)


def _job_artifact(key: str) -> tuple[Job, str]:
    job_id, _, name = key.partition(".")
    found = wiring.jobs().get(job_id) if name else None
    if found is None:
        raise AwsError("NoSuchKey", "The specified key does not exist.", 404)
    return found[0], name


def _verified() -> None:
    request = signed_request(router.current_event)
    sigv4.verify(request, wiring.api_token(), datetime.fromtimestamp(wiring.now(), UTC), service="s3")


@router.get(f"/{ARTIFACTS_BUCKET}/<key>")
def get_object(key: str) -> Response[bytes] | Response[str]:
    try:
        _verified()
        job, name = _job_artifact(key)
        reference = job.input_artifacts.get(name) or job.produced.get(name)
        if reference is None:
            raise AwsError("NoSuchKey", f"job {job.id} has no artifact {name} to read", 404)
        with tempfile.TemporaryDirectory(prefix="stepline-job-") as scratch:
            target = Path(scratch) / "artifact.zip"
            wiring.artifact_store().get(reference, target)
            payload = target.read_bytes()
    except ArtifactNotFound:
        return _error(404, "NoSuchKey", f"the artifact {key} is gone")
    except AwsError as error:
        return _error(
            error.status if error.status != 400 else 403, _S3_CODES.get(error.kind, error.kind), error.message
        )
    return Response(200, "application/zip", payload)


@router.put(f"/{ARTIFACTS_BUCKET}/<key>")
def put_object(key: str) -> Response[str]:
    try:
        _verified()
        job, name = _job_artifact(key)
        if name not in job.output_artifacts or job.status not in {"Dispatched", "InProgress"}:
            raise AwsError("AccessDenied", f"job {job.id} may not write an artifact {name} now", 403)
        body = signed_request(router.current_event).body
        with tempfile.TemporaryDirectory(prefix="stepline-job-") as scratch:
            archive = Path(scratch) / f"{name}.zip"
            archive.write_bytes(body)
            reference = wiring.artifact_store().put(job.pipeline, job.execution_name, name, archive)
        wiring.jobs().record_output(job.id, name, reference)
    except AwsError as error:
        return _error(
            error.status if error.status != 400 else 403, _S3_CODES.get(error.kind, error.kind), error.message
        )
    return Response(200, "application/xml", "", {"ETag": '"stepline"'})
