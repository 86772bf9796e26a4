"""AWS's errors in words, for code outside adapters/aws that calls AWS through boto3 clients it was
handed (`stepline deploy`): botocore's exception classes stay here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError


def aws_problem(error: Exception, doing: str) -> str:
    """What went wrong, for a person: missing credentials or Region, or the service's code and message."""
    if isinstance(error, NoCredentialsError):
        return f"{doing}: no AWS credentials found (aws configure, or set AWS_PROFILE)"
    if isinstance(error, NoRegionError):
        return f"{doing}: no AWS Region set (pass --region, or set AWS_REGION)"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{doing}: {details.get('Code', 'error')}: {details.get('Message', error)}"
    return f"{doing}: {error}"


@contextmanager
def aws_errors(doing: str, raising: type[Exception], missing: str | None = None) -> Iterator[None]:
    """Turn an AWS error inside the block into ``raising`` with a sentence saying what failed;
    ``missing`` is the sentence for a resource that "does not exist"."""
    try:
        yield
    except ClientError as error:
        if missing is not None and "does not exist" in str(error):
            raise raising(missing) from None
        raise raising(aws_problem(error, doing)) from None
    except BotoCoreError as error:
        raise raising(aws_problem(error, doing)) from None
