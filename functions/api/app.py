"""The HTTP API (API Gateway REST proxy): approval links, the CLI's JSON API, GitHub webhooks, the console."""

from typing import Any

from stepline.api.app import handle


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, context)
