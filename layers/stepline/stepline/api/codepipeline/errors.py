"""Errors as AWS's JSON protocol sends them: ``{"__type": …, "message": …}`` with a 4xx/5xx,
so an SDK raises the modelled exception (``PipelineNotFoundException``, ``ValidationException``…)
and the AWS CLI prints ``An error occurred (Type) when calling the Op operation: message``."""

from __future__ import annotations

# Errors of the protocol itself carry Coral's namespace, as AWS sends them; clients keep what
# follows the '#'. Modelled errors of the service are sent by their bare name.
CORAL = "com.amazon.coral.service#"


class AwsError(Exception):
    def __init__(self, kind: str, message: str, status: int = 400) -> None:
        self.kind = kind
        self.message = message
        self.status = status
        super().__init__(f"{kind}: {message}")

    def body(self) -> dict[str, str]:
        return {"__type": self.kind, "message": self.message}


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def pipeline_not_found(name: str) -> AwsError:
    return AwsError("PipelineNotFoundException", f"Account does not have a pipeline with name '{name}'")


def execution_not_found(pipeline: str, execution: str) -> AwsError:
    return AwsError(
        "PipelineExecutionNotFoundException",
        f"Pipeline execution with id '{execution}' does not exist in pipeline with name '{pipeline}'",
    )
