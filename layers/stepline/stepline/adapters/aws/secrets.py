"""Secrets from AWS Secrets Manager; ``name:key`` reads one key of a JSON secret."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from stepline.adapters.aws import error_code


class SecretsManagerSecretStore:
    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, name: str) -> str:
        secret_id, _, key = name.partition(":") if not name.startswith("arn:") else (name, "", "")
        try:
            value = self.client.get_secret_value(SecretId=secret_id)["SecretString"]
        except ClientError as error:
            code = error_code(error)
            raise LookupError(f"secret {secret_id!r} cannot be read from Secrets Manager: {code}") from None
        if not key:
            return str(value)
        try:
            return str(json.loads(value)[key])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise LookupError(f"secret {secret_id!r} has no JSON key {key!r}") from None
