"""PollForJobs, AcknowledgeJob, GetJobDetails, PutJobSuccessResult, PutJobFailureResult: the
job worker API, over ``stepline.actions.jobs``.

A job's artifacts are named as CodePipeline names them, an S3 location per artifact, and its
``artifactCredentials`` reach exactly those (the ArtifactCredentials port), so a worker written
for AWS downloads its inputs and uploads its outputs with boto3's S3 client unchanged. On AWS
they are the artifact bucket's objects (inputs where earlier actions put them, outputs where
the artifact store would put them) and the credentials a role's, narrowed to them; on one
machine, a bucket this server answers for (``artifacts.py``) and the server's own key.
"""

from __future__ import annotations

from typing import Any

from stepline import wiring
from stepline.actions import jobs as job_actions
from stepline.actions.jobs import JobFinished, JobNotFound, WrongNonce
from stepline.api.codepipeline.errors import AwsError, validation
from stepline.api.codepipeline.protocol import Call, operation
from stepline.errors import ConfigurationError
from stepline.ports.jobs import ActionTypes, ArtifactObject, Job, Jobs
from stepline.settings import settings

ARTIFACTS_BUCKET = "stepline-artifacts"
DEFAULT_BATCH = 1
_ACCOUNT = "000000000000"


def artifact_key(job_id: str, name: str) -> str:
    """The object key of a job's artifact: the job and the artifact's name (which holds no dot)."""
    return f"{job_id}.{name}"


def jobs_store() -> Jobs:
    """The jobs store, or ValidationException naming what is missing where jobs cannot run."""
    try:
        return wiring.jobs()
    except ConfigurationError as error:
        raise validation(str(error)) from None


def types_store() -> ActionTypes:
    try:
        return wiring.action_types()
    except ConfigurationError as error:
        raise validation(str(error)) from None


def _on_aws() -> bool:
    return settings().runtime != "local"


def input_objects(job: Job) -> dict[str, ArtifactObject]:
    objects = {}
    for name, reference in job.input_artifacts.items():
        location = reference.get("location", "")
        if reference.get("type") == "S3" and location.startswith("s3://"):
            bucket, _, key = location.removeprefix("s3://").partition("/")
            objects[name] = ArtifactObject(bucket, key)
        else:
            objects[name] = ArtifactObject(ARTIFACTS_BUCKET, artifact_key(job.id, name))
    return objects


def output_objects(job: Job) -> dict[str, ArtifactObject]:
    """Where the worker puts its outputs: on AWS, the key the artifact store gives an output."""
    if _on_aws():
        bucket = wiring.artifact_bucket()
        return {
            name: ArtifactObject(bucket, f"{job.pipeline}/{job.execution_name}/{name}.zip")
            for name in job.output_artifacts
        }
    return {name: ArtifactObject(ARTIFACTS_BUCKET, artifact_key(job.id, name)) for name in job.output_artifacts}


def _artifacts(objects: dict[str, ArtifactObject]) -> list[dict[str, Any]]:
    return [
        {"name": name, "location": {"type": "S3", "s3Location": {"bucketName": item.bucket, "objectKey": item.key}}}
        for name, item in objects.items()
    ]


def job_data(job: Job) -> dict[str, Any]:
    category, owner, provider, version = job.type_key.split("/")
    reads, writes = input_objects(job), output_objects(job)
    return {
        "actionTypeId": {"category": category, "owner": owner, "provider": provider, "version": version},
        "actionConfiguration": {"configuration": job.configuration},
        "pipelineContext": {
            "pipelineName": job.pipeline,
            "stage": {"name": job.stage},
            "action": {"name": job.action, "actionExecutionId": job.id},
            "pipelineExecutionId": job.execution_name,
        },
        "inputArtifacts": _artifacts(reads),
        "outputArtifacts": _artifacts(writes),
        "artifactCredentials": wiring.artifact_credentials().for_job(
            job.id, list(reads.values()), list(writes.values())
        ),
        "continuationToken": job.continuation_token or None,
    }


def _refused(error: Exception) -> AwsError:
    if isinstance(error, JobNotFound):
        return AwsError("JobNotFoundException", str(error))
    if isinstance(error, WrongNonce):
        return AwsError("InvalidNonceException", str(error))
    return AwsError("InvalidJobStateException", str(error))


def _query(declared: dict[str, Any], given: dict[str, str]) -> dict[str, str]:
    """queryParam as CodePipeline takes it: a queryable property of the type, or nothing."""
    queryable = [p["name"] for p in declared.get("actionConfigurationProperties", []) if p.get("queryable")]
    for name in given:
        if name not in queryable:
            raise validation(f"queryParam {name!r} is not a queryable property of this action type")
    if queryable and not given:
        raise validation(f"this action type's queryable property {queryable[0]!r} must be given in queryParam")
    return given


@operation("PollForJobs")
def poll_for_jobs(call: Call) -> dict[str, Any]:
    type_id = call.input["actionTypeId"]
    if type_id["owner"] != "Custom":
        raise AwsError("ValidationException", "only jobs of custom action types (owner Custom) are polled for")
    key = job_actions.type_key(type_id["category"], type_id["provider"], type_id["version"])
    declared = types_store().types().get(key)
    if declared is None:
        raise AwsError("ActionTypeNotFoundException", f"the action type {key} is not registered")
    query = _query(declared, call.input.get("queryParam") or {})
    size = call.input.get("maxBatchSize") or DEFAULT_BATCH
    found = job_actions.poll(jobs_store(), key, size, call.now.timestamp(), query)
    return {"jobs": [{"id": job.id, "data": job_data(job), "nonce": job.nonce, "accountId": _ACCOUNT} for job in found]}


@operation("AcknowledgeJob")
def acknowledge_job(call: Call) -> dict[str, Any]:
    try:
        job = job_actions.acknowledge(jobs_store(), call.input["jobId"], call.input["nonce"])
    except (JobNotFound, WrongNonce, JobFinished) as error:
        raise _refused(error) from None
    return {"status": job.status}


@operation("GetJobDetails")
def get_job_details(call: Call) -> dict[str, Any]:
    found = jobs_store().get(call.input["jobId"])
    if found is None:
        raise AwsError("JobNotFoundException", f"there is no job {call.input['jobId']}")
    job = found[0]
    return {"jobDetails": {"id": job.id, "data": job_data(job), "accountId": _ACCOUNT}}


@operation("PutJobSuccessResult")
def put_job_success_result(call: Call) -> dict[str, Any]:
    job_id = call.input["jobId"]
    store = jobs_store()
    found = store.get(job_id)
    if found is not None and _on_aws():  # S3 saw the uploads, not this server: the outputs are where they go
        for name, item in output_objects(found[0]).items():
            store.record_output(job_id, name, {"type": "S3", "location": f"s3://{item.bucket}/{item.key}"})
    elif found is not None:
        missing = [name for name in found[0].output_artifacts if name not in found[0].produced]
        if missing and not call.input.get("continuationToken"):
            raise AwsError(
                "InvalidJobStateException",
                f"job {job_id} reports success without its output artifacts {', '.join(missing)}: put them first "
                f"(s3://{ARTIFACTS_BUCKET}/{artifact_key(job_id, missing[0])})",
            )
    variables = dict(call.input.get("outputVariables") or {})
    try:
        job_actions.succeed(store, wiring.task_callbacks(), job_id, variables, call.input.get("continuationToken"))
    except (JobNotFound, JobFinished) as error:
        raise _refused(error) from None
    return {}


@operation("PutJobFailureResult")
def put_job_failure_result(call: Call) -> dict[str, Any]:
    details = call.input["failureDetails"]
    try:
        job_actions.fail(
            jobs_store(), wiring.task_callbacks(), call.input["jobId"], details["type"], details["message"]
        )
    except (JobNotFound, JobFinished) as error:
        raise _refused(error) from None
    return {}
